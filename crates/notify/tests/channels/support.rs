//! What every channel test needs: channels decoded from configuration text the way a
//! user's file is, notices, a real HTTP receiver on 127.0.0.1 that records what arrives
//! and answers what a test tells it to, a TLS test CA, and an SMTP sink.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use continuo_core::Lang;
use continuo_core::catalog::{Channel, Located, SettingValue};
use continuo_core::load_text;
use continuo_notify::{Notice, NoticeEvent, Notifier, Templates};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The channel described by the fields of one `[[channel]]` table, decoded by core.
pub fn channel(fields: &str) -> Channel {
    let text = format!("[[channel]]\n{fields}\n");
    let catalog =
        load_text(&text).unwrap_or_else(|e| panic!("invalid test channel:\n{text}\n{e:?}"));
    catalog.channels[0].clone()
}

/// The channel described by `fields`, decoded by core with `env` as the environment, so
/// `${VAR}` in a setting reads from it the way a user's secrets do.
pub fn channel_with_env(fields: &str, env: &[(&str, &str)]) -> Channel {
    struct OneFile(String);
    impl continuo_core::SourceProvider for OneFile {
        fn read(&self, path: &std::path::Path) -> Result<String, String> {
            match path.to_str() {
                Some("continuo.toml") => Ok(self.0.clone()),
                _ => Err("No such file or directory".into()),
            }
        }
        fn glob(&self, _pattern: &std::path::Path) -> Result<Vec<PathBuf>, String> {
            Ok(Vec::new())
        }
        fn exists(&self, path: &std::path::Path) -> bool {
            path.to_str() == Some("continuo.toml")
        }
    }
    let text = format!("[[channel]]\n{fields}\n");
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    };
    let outcome = continuo_core::load(
        std::path::Path::new("continuo.toml"),
        &OneFile(text.clone()),
        &lookup,
    );
    assert!(
        !outcome.diagnostics.has_errors(),
        "invalid test channel:\n{text}\n{:?}",
        outcome.diagnostics
    );
    outcome.catalog.expect("a catalog").channels[0].clone()
}

/// `channel` with one more setting, for settings core does not list yet (`timeout`,
/// `ca_file`, `parse_mode`), placed at the channel's id.
pub fn with(mut channel: Channel, key: &str, value: SettingValue) -> Channel {
    let loc = channel.id.loc.clone();
    channel
        .settings
        .insert(key.to_string(), Located::new(value, loc));
    channel
}

/// A text setting value.
pub fn text(value: &str) -> SettingValue {
    SettingValue::Text(value.to_string())
}

/// Builds a channel with the built-in templates.
pub fn notifier(channel: &Channel) -> Notifier {
    Notifier::build(channel, Arc::new(Templates::builtin()))
        .unwrap_or_else(|e| panic!("cannot build channel: {e}"))
}

/// The example notice for `event` in `lang`, with a key of its own.
pub fn notice(event: NoticeEvent, lang: Lang) -> Notice {
    let mut notice = Notice::example(event, lang);
    notice.idempotency_key = format!("n-{}-{}", event.name(), lang.code());
    notice.alert_key = "payments-42".into();
    notice
}

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `POST`.
    pub method: Method,
    /// `/v2/enqueue`.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Every header.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
}

impl Recorded {
    /// A header's value, which must be there.
    #[track_caller]
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no header {name} in {:?}", self.headers))
            .to_str()
            .expect("a text header")
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer the receiver gives.
#[derive(Clone, Debug)]
pub struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Answer {
    /// An answer with this status and body.
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.push((name, value.to_string()));
        self
    }
}

#[derive(Default)]
struct ReceiverState {
    requests: Mutex<Vec<Recorded>>,
    answers: Mutex<VecDeque<Answer>>,
}

/// A real HTTP server on 127.0.0.1 that records every request and answers with the
/// queued answers in order, then `200 ok`.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
}

async fn record(
    State(state): State<Arc<ReceiverState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.requests.lock().expect("lock").push(Recorded {
        method,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        body,
    });
    let answer = state
        .answers
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| Answer::new(200, "ok"));
    let mut response = (
        StatusCode::from_u16(answer.status).expect("status"),
        answer.body,
    )
        .into_response();
    for (name, value) in answer.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    response
}

impl Receiver {
    /// Starts a receiver.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(ReceiverState::default());
        let app = Router::new().fallback(record).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state }
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Queues the answer to the next request not yet answered.
    pub fn answer(&self, answer: Answer) {
        self.state.answers.lock().expect("lock").push_back(answer);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// The one request so far.
    #[track_caller]
    pub fn only(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request: {requests:#?}");
        requests[0].clone()
    }
}

/// An address where nothing listens: connecting is refused.
pub async fn refusing_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    addr
}

/// A server that accepts connections and never answers; kept open while the guard lives.
pub async fn silent_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    (addr, task)
}

/// A certificate authority made for one test, and a server certificate it signed for
/// 127.0.0.1 and localhost.
pub struct TestCa {
    /// The CA certificate in PEM, as a `ca_file` holds it.
    pub pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl TestCa {
    /// A new CA and server certificate.
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Continuo test CA");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("leaf params");
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().expect("leaf key");
        let cert = leaf.signed_by(&key, &issuer).expect("leaf certificate");
        TestCa {
            pem: issuer.pem(),
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
        }
    }

    /// Writes the CA certificate to a file in `dir`.
    pub fn write(&self, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).expect("write CA file");
        path
    }

    /// A TLS acceptor presenting the server certificate.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .expect("server certificate");
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// An HTTPS server that answers every request `200 ok` and records request heads.
pub async fn https_server(ca: &TestCa) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let acceptor = ca.acceptor();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut reader = BufReader::new(tls);
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body).await;
                seen.lock().expect("lock").push(head);
                let mut tls = reader.into_inner();
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, heads)
}

/// How the SMTP sink protects connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkTls {
    /// Offers STARTTLS and requires it before AUTH.
    StartTls,
    /// TLS from the first byte.
    Implicit,
    /// No TLS at all.
    None,
}

/// One message the sink accepted.
#[derive(Clone, Debug)]
pub struct Captured {
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipients.
    pub rcpt_to: Vec<String>,
    /// The message as sent (dot-unstuffed).
    pub data: Vec<u8>,
    /// User and password, when the client authenticated.
    pub auth: Option<(String, String)>,
    /// True when the message came over TLS.
    pub over_tls: bool,
}

/// A small ESMTP server on 127.0.0.1: EHLO, STARTTLS (real TLS with the test CA's
/// certificate), AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps every
/// accepted message; `rcpt_reply` makes it answer RCPT with that line instead of 250.
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<Captured>>>,
}

#[derive(Clone)]
struct SinkConfig {
    tls: SinkTls,
    rcpt_reply: Option<&'static str>,
    acceptor: tokio_rustls::TlsAcceptor,
    messages: Arc<Mutex<Vec<Captured>>>,
}

impl SmtpSink {
    /// Starts a sink.
    pub async fn start(ca: &TestCa, tls: SinkTls, rcpt_reply: Option<&'static str>) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let config = SinkConfig {
            tls,
            rcpt_reply,
            acceptor: ca.acceptor(),
            messages: messages.clone(),
        };
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let config = config.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(socket, config).await;
                });
            }
        });
        SmtpSink { addr, messages }
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<Captured> {
        self.messages.lock().expect("lock").clone()
    }
}

async fn smtp_session(socket: TcpStream, config: SinkConfig) -> std::io::Result<()> {
    if config.tls == SinkTls::Implicit {
        let tls = config.acceptor.accept(socket).await?;
        smtp_dialogue(tls, true, true, &config).await?;
        return Ok(());
    }
    if let Some(plain) = smtp_dialogue(socket, false, true, &config).await? {
        let tls = config.acceptor.accept(plain).await?;
        smtp_dialogue(tls, true, false, &config).await?;
    }
    Ok(())
}

/// Reads one line; `None` at the end of the stream.
async fn read_line<S: AsyncRead + Unpin>(
    reader: &mut BufReader<S>,
) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

fn decode(b64: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The SMTP conversation on one stream. Returns the stream when the client asked for
/// STARTTLS, so the caller can wrap it in TLS and go on.
async fn smtp_dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    over_tls: bool,
    greet: bool,
    config: &SinkConfig,
) -> std::io::Result<Option<S>> {
    let mut io = BufReader::new(stream);
    if greet {
        io.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    }
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut auth = None;
    while let Some(line) = read_line(&mut io).await? {
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut r = String::from("250-sink.test\r\n");
            if !over_tls && config.tls == SinkTls::StartTls {
                r.push_str("250-STARTTLS\r\n");
            }
            if over_tls || config.tls == SinkTls::None {
                r.push_str("250-AUTH PLAIN LOGIN\r\n");
            }
            r.push_str("250 8BITMIME\r\n");
            r
        } else if upper == "STARTTLS" {
            io.write_all(b"220 2.0.0 go ahead\r\n").await?;
            io.flush().await?;
            return Ok(Some(io.into_inner()));
        } else if let Some(rest) = upper.strip_prefix("AUTH PLAIN") {
            let encoded = if rest.trim().is_empty() {
                io.write_all(b"334 \r\n").await?;
                read_line(&mut io).await?.unwrap_or_default()
            } else {
                line["AUTH PLAIN".len()..].trim().to_string()
            };
            let decoded = decode(&encoded);
            let mut parts = decoded.split('\0').skip(1);
            auth = Some((
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            ));
            "235 2.7.0 authenticated\r\n".into()
        } else if upper.starts_with("AUTH LOGIN") {
            io.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let user = decode(&read_line(&mut io).await?.unwrap_or_default());
            io.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let password = decode(&read_line(&mut io).await?.unwrap_or_default());
            auth = Some((user, password));
            "235 2.7.0 authenticated\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = line["MAIL FROM:".len()..].trim().to_string();
            rcpt_to.clear();
            "250 2.1.0 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            match config.rcpt_reply {
                Some(reply) => format!("{reply}\r\n"),
                None => {
                    rcpt_to.push(line["RCPT TO:".len()..].trim().to_string());
                    "250 2.1.5 ok\r\n".into()
                }
            }
        } else if upper == "DATA" {
            io.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = Vec::new();
            loop {
                let mut raw = Vec::new();
                if io.read_until(b'\n', &mut raw).await? == 0 {
                    return Ok(None);
                }
                if raw == b".\r\n" {
                    break;
                }
                let unstuffed = if raw.starts_with(b"..") {
                    &raw[1..]
                } else {
                    &raw[..]
                };
                data.extend_from_slice(unstuffed);
            }
            let mut messages = config.messages.lock().expect("lock");
            messages.push(Captured {
                mail_from: mail_from.clone(),
                rcpt_to: rcpt_to.clone(),
                data,
                auth: auth.clone(),
                over_tls,
            });
            format!("250 2.0.0 Ok: queued as Q{}\r\n", messages.len())
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 ok\r\n".into()
        } else if upper == "QUIT" {
            io.write_all(b"221 2.0.0 bye\r\n").await?;
            io.flush().await?;
            return Ok(None);
        } else {
            "502 5.5.2 command not recognized\r\n".into()
        };
        io.write_all(reply.as_bytes()).await?;
        io.flush().await?;
    }
    Ok(None)
}
