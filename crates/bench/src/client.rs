//! A small keep-alive HTTP/1.1 client: one connection per load worker, reused for every
//! request of that worker. It drives blackbox_exporter, the ping API and Alertmanager; it is plain
//! hyper so the client costs as little CPU as possible on a 2-core machine where it
//! shares the cores with what it measures.

use crate::sys::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio::net::TcpStream;

/// One keep-alive connection to `addr`, opened on first use.
pub struct Connection {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// A response: status and body.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
}

impl Connection {
    /// A connection to `addr`, not yet opened.
    pub fn new(addr: SocketAddr) -> Connection {
        Connection { addr, sender: None }
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(self.addr)
                .await
                .context(format!("connecting to {}", self.addr))?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .context("HTTP handshake")?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| "no connection".to_string())
    }

    /// Sends one request and reads the whole answer. No retry: a ping must not be sent
    /// twice, or the stored count would not match.
    pub async fn request(&mut self, method: Method, path: &str, body: Bytes) -> Result<Answer> {
        self.send(method, path, None, body).await
    }

    /// Like [`Connection::request`], a `POST` of a JSON body.
    pub async fn post_json(&mut self, path: &str, body: Bytes) -> Result<Answer> {
        self.send(Method::POST, path, Some("application/json"), body)
            .await
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Answer> {
        let host = self.addr.to_string();
        let sender = self.open().await?;
        sender.ready().await.context("waiting for the connection")?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, host);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(Full::new(body))
            .context("building a request")?;
        let result = sender.send_request(request).await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                self.sender = None;
                return Err(format!("request to {path} failed: {e}"));
            }
        };
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading a response body")?
            .to_bytes();
        Ok(Answer { status, body })
    }
}
