//! Real backends on 127.0.0.1 for the gateway tests: HTTP servers that record what they
//! saw and can be killed (every connection dropped at once) and restarted on the same
//! port (alone or as a primary/backup pair), the same over HTTPS with a throwaway CA
//! ([`TestCa`]), a TCP echo server, and a wait helper.

#![allow(dead_code, clippy::unwrap_used)]

use bytes::Bytes;
use continuo_core::catalog::Role;
use continuo_gateway::{EndpointSpec, GatewayEvent};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// One request a backend saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// An HTTP backend that answers its name. `/health` answers 200, `/slow` never answers,
/// `/ws` upgrades and echoes bytes, `/fail` answers 503.
pub struct Backend {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Present for an HTTPS backend: its certificate.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// TLS handshakes that failed (a client that did not trust the certificate).
    pub failed_handshakes: Arc<Mutex<usize>>,
    /// The serving task and what stops it.
    task: Option<(JoinHandle<()>, tokio::sync::oneshot::Sender<()>)>,
}

impl Backend {
    pub async fn start(name: &'static str) -> Backend {
        Backend::start_at(name, "127.0.0.1:0".parse().unwrap(), Arc::default(), None).await
    }

    /// The same backend over HTTPS, presenting `ca`'s server certificate.
    pub async fn start_https(name: &'static str, ca: &TestCa) -> Backend {
        Backend::start_at(
            name,
            "127.0.0.1:0".parse().unwrap(),
            Arc::default(),
            Some(ca.acceptor()),
        )
        .await
    }

    async fn start_at(
        name: &'static str,
        addr: SocketAddr,
        seen: Arc<Mutex<Vec<Seen>>>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Backend {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = seen.clone();
        let failed_handshakes: Arc<Mutex<usize>> = Arc::default();
        let failed = failed_handshakes.clone();
        let acceptor = tls.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // The connections live in this set: stopping drops them all, as a killed
            // process would.
            let mut connections = JoinSet::new();
            loop {
                let stream = tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                };
                let log = log.clone();
                let acceptor = acceptor.clone();
                let failed = failed.clone();
                connections.spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| answer(name, log.clone(), req));
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let Some(acceptor) = acceptor else {
                        let _ = builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await;
                        return;
                    };
                    match acceptor.accept(stream).await {
                        Ok(stream) => {
                            let _ = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                                .await;
                        }
                        Err(_) => *failed.lock().unwrap() += 1,
                    }
                });
                while connections.try_join_next().is_some() {}
            }
            // Every connection is closed before `kill` returns: a pooled connection must
            // not answer one more request from a backend that is already dead.
            connections.shutdown().await;
            drop(listener);
        });
        Backend {
            name,
            addr,
            seen,
            tls,
            failed_handshakes,
            task: Some((task, stop)),
        }
    }

    /// Kills it: the listener and every open connection are closed when this returns.
    pub async fn kill(&mut self) {
        if let Some((task, stop)) = self.task.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill().await;
        *self = Backend::start_at(self.name, self.addr, self.seen.clone(), self.tls.take()).await;
    }

    /// Requests seen, except health checks.
    pub fn served(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path != "/health")
            .cloned()
            .collect()
    }

    pub fn count(&self) -> usize {
        self.served().len()
    }

    pub fn endpoint(&self, role: Role) -> EndpointSpec {
        EndpointSpec {
            name: self.name.to_string(),
            address: self.addr.to_string(),
            role,
            tls: self.tls.is_some(),
        }
    }
}

/// The usual pair: a backend named `primary` and one named `backup`, started in that
/// order, with their endpoints (`primary` as [`Role::Primary`], `backup` as
/// [`Role::Backup`]) for a gateway spec.
pub async fn two_backends() -> (Backend, Backend, Vec<EndpointSpec>) {
    let primary = Backend::start("primary").await;
    let backup = Backend::start("backup").await;
    let endpoints = vec![
        primary.endpoint(Role::Primary),
        backup.endpoint(Role::Backup),
    ];
    (primary, backup, endpoints)
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some((task, _)) = self.task.take() {
            task.abort();
        }
    }
}

async fn answer(
    name: &'static str,
    log: Arc<Mutex<Vec<Seen>>>,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let method = req.method().to_string();
    if path == "/ws" {
        log.lock().unwrap().push(Seen {
            method,
            path,
            headers,
            body: Vec::new(),
        });
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let mut io = TokioIo::new(upgraded);
                let mut buf = [0u8; 1024];
                while let Ok(n) = io.read(&mut buf).await {
                    if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        });
        return Ok(Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .body(Full::new(Bytes::new()))
            .unwrap());
    }
    let body = req.into_body().collect().await?.to_bytes().to_vec();
    log.lock().unwrap().push(Seen {
        method,
        path: path.clone(),
        headers,
        body,
    });
    match path.as_str() {
        "/slow" => std::future::pending().await,
        "/fail" => Ok(Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body(Full::new(Bytes::from(name)))
            .unwrap()),
        _ => Ok(Response::builder()
            .header("proxy-authenticate", "Basic")
            .header("x-backend", name)
            .body(Full::new(Bytes::from(name)))
            .unwrap()),
    }
}

/// A TCP server that answers every line with `<name>:<line>`.
pub async fn tcp_echo(name: &'static str) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            connections.spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut reply = format!("{name}:").into_bytes();
                    reply.extend_from_slice(&buf[..n]);
                    if stream.write_all(&reply).await.is_err() {
                        break;
                    }
                }
            });
            while connections.try_join_next().is_some() {}
        }
    });
    (addr, task)
}

/// Polls until `ready` holds. The limit is a safety net against a hung test, far above
/// anything the behaviour needs; it is not a performance claim.
/// Asks `addr` for a WebSocket upgrade of `/ws`; gives the open stream and the answer's
/// head, lowercased.
pub async fn websocket_upgrade(addr: SocketAddr) -> (tokio::net::TcpStream, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"GET /ws HTTP/1.1\r\nHost: shop\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    (stream, String::from_utf8_lossy(&head).to_ascii_lowercase())
}

pub async fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..3_000 {
        if ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

/// The names of the events, in order.
pub fn event_names(events: &[GatewayEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

pub fn client() -> reqwest::Client {
    continuo_net::tls::install_default_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A throwaway certificate authority and a server certificate it signed for 127.0.0.1
/// and localhost (rcgen with aws-lc-rs: no ring).
pub struct TestCa {
    /// The CA certificate in PEM, as a `ca_file` holds it.
    pub pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Continuo gateway test CA");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &issuer).unwrap();
        TestCa {
            pem: issuer.pem(),
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
        }
    }

    /// The CA certificate, as the gateway's spec holds it after reading `ca_file`.
    pub fn certs(&self) -> Vec<CertificateDer<'static>> {
        rustls_pemfile::certs(&mut self.pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A TLS acceptor presenting the server certificate.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}
