//! Real servers on 127.0.0.1 for probes to talk to: an HTTP application (plain or over
//! TLS) that records what it receives, a port that accepts and never answers, and a port
//! nobody listens on.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How long `/slow` waits before answering.
pub const SLOW: Duration = Duration::from_millis(300);

/// One request as the test server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
}

/// The test application. Routes:
/// - `/ok`: 200, text, header `x-app: continuo-test/1.2`;
/// - `/json`: 200, a small JSON document;
/// - `/slow`: 200 after [`SLOW`];
/// - `/status/N`: status N;
/// - `/hop/N`: a redirect to `/hop/N-1`, and `/hop/0` is 200 "arrived";
/// - anything else: 404.
pub struct HttpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Plain HTTP.
    pub async fn start() -> HttpServer {
        HttpServer::start_with(None).await
    }

    /// HTTPS with the given server configuration.
    pub async fn start_tls(config: Arc<rustls::ServerConfig>) -> HttpServer {
        HttpServer::start_with(Some(TlsAcceptor::from(config))).await
    }

    async fn start_with(tls: Option<TlsAcceptor>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let seen = Arc::new(Seen::default());
        let task = tokio::spawn(accept_loop(listener, tls, seen.clone()));
        HttpServer { addr, seen, task }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `https://127.0.0.1:PORT` + `path`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    /// Requests received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.requests.lock().expect("lock").clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, seen: Arc<Seen>) {
    while let Ok((stream, _)) = listener.accept().await {
        seen.connections.fetch_add(1, Ordering::SeqCst);
        let tls = tls.clone();
        let seen = seen.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    // A client that rejects our certificate ends here; that is the test.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(TokioIo::new(stream), seen).await;
                    }
                }
                None => serve(TokioIo::new(stream), seen).await,
            }
        });
    }
}

async fn serve<I>(io: I, seen: Arc<Seen>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |request| respond(request, seen.clone()));
    let _ = http1::Builder::new().serve_connection(io, service).await;
}

async fn respond(
    request: Request<Incoming>,
    seen: Arc<Seen>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = request.method().to_string();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_string(), ToString::to_string);
    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = request.into_body().collect().await?.to_bytes().to_vec();
    seen.requests.lock().expect("lock").push(Recorded {
        method,
        target: target.clone(),
        headers,
        body,
    });
    let reply = |status: u16, content_type: &str, body: &str| {
        Response::builder()
            .status(StatusCode::from_u16(status).expect("status"))
            .header("content-type", content_type)
            .header("x-app", "continuo-test/1.2")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("response")
    };
    let path = target.split('?').next().unwrap_or_default();
    let response = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["", "ok"] => reply(200, "text/plain", "hello from the test server, build 42"),
        ["", "json"] => reply(
            200,
            "application/json",
            r#"{"status":"ok","db":{"up":true,"replicas":2},"version":"1.2.3"}"#,
        ),
        ["", "slow"] => {
            tokio::time::sleep(SLOW).await;
            reply(200, "text/plain", "slow but fine")
        }
        ["", "status", code] => reply(code.parse().unwrap_or(500), "text/plain", "as asked"),
        ["", "hop", "0"] => reply(200, "text/plain", "arrived"),
        ["", "hop", n] => {
            let next = n.parse::<u32>().unwrap_or(1) - 1;
            let mut r = reply(302, "text/plain", "moved");
            r.headers_mut().insert(
                "location",
                format!("/hop/{next}").parse().expect("header value"),
            );
            r
        }
        // `/redirect/<status>` answers that redirect status towards `/hop/0`.
        ["", "redirect", code] => {
            let mut r = reply(code.parse().unwrap_or(302), "text/plain", "moved");
            r.headers_mut()
                .insert("location", "/hop/0".parse().expect("header value"));
            r
        }
        _ => reply(404, "text/plain", "no such page"),
    };
    Ok(response)
}

/// A port that accepts connections and then neither reads nor answers.
pub struct SilentServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SilentServer {
    /// Starts it.
    pub async fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let mut held: Vec<TcpStream> = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        SilentServer { addr, task }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An address on 127.0.0.1 where nothing listens: bound for a moment, then released.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("local address")
}
