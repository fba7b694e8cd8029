//! Status page subscribers end to end: the real `continuo serve` binary with a temporary
//! configuration and SQLite database, a small SMTP sink and a webhook receiver on
//! 127.0.0.1 (helpers as in `alerting.rs`).
//!
//! - Email double opt-in (the link shows a button; POST confirms), three messages about
//!   one incident (created, customer update, resolved) each with an unsubscribe link and
//!   the List-Unsubscribe headers, nothing for an unconfirmed address, nothing after
//!   unsubscribing; a webhook confirmed by its test delivery receives Statuspage-shaped
//!   JSON; bad input gets a clear reason.
//! - `kill -9` with a subscriber message pending: it arrives after the restart with the
//!   same key.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "admin-s3cret";

// ---------------------------------------------------------------------------------------
// Local servers
// ---------------------------------------------------------------------------------------

/// One request an [`HttpServer`] received.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    /// Header names in lower case.
    headers: BTreeMap<String, String>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

type Respond = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// A small HTTP/1.1 server on 127.0.0.1: every request is recorded and answered by
/// `respond`, one connection per request (`Connection: close`). Stopping it closes the
/// listening socket, so connections are refused.
struct HttpServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Starts on `port` (0 for any free port), retrying while the port is still taken.
    fn start(
        port: u16,
        respond: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
    ) -> HttpServer {
        let deadline = Instant::now() + Duration::from_secs(30);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => break l,
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot bind port {port}: {e}");
                    thread::sleep(Duration::from_millis(100));
                }
            }
        };
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let respond: Arc<Respond> = Arc::new(respond);
        let thread = {
            let requests = requests.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let requests = requests.clone();
                            let respond = respond.clone();
                            thread::spawn(move || serve_connection(stream, &requests, &*respond));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        HttpServer {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// A server that answers every request `200 ok`.
    fn ok(port: u16) -> HttpServer {
        HttpServer::start(port, |_| (200, "ok".into()))
    }

    fn requests(&self) -> MutexGuard<'_, Vec<Request>> {
        lock(&self.requests)
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve_connection(stream: TcpStream, requests: &Mutex<Vec<Request>>, respond: &Respond) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    // A TCP check connects and closes without a request: nothing to record.
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, text) = respond(&request);
    lock(requests).push(request);
    let reason = if status < 300 { "OK" } else { "Error" };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let mut stream = &stream;
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// A port that was free a moment ago; nothing listens there.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// One message an [`SmtpSink`] accepted.
#[derive(Clone, Debug)]
struct Mail {
    recipients: Vec<String>,
    data: String,
}

/// A plain ESMTP server on 127.0.0.1 that accepts every message.
struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let port = listener.local_addr().expect("address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                thread::spawn(move || {
                    let _ = smtp_session(stream, &sink);
                });
            }
        });
        SmtpSink { port, messages }
    }

    fn messages(&self) -> Vec<Mail> {
        lock(&self.messages).clone()
    }
}

fn smtp_session(stream: TcpStream, sink: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    out.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let mut recipients = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_uppercase();
        if command.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if command.starts_with("HELO") {
            out.write_all(b"250 sink.test\r\n")?;
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            out.write_all(b"250 ok\r\n")?;
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_matches(['<', '>'])
                .to_string();
            recipients.push(address);
            out.write_all(b"250 ok\r\n")?;
        } else if command == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l)? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                // Dot-stuffing: a leading "." was doubled by the client.
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            lock(sink).push(Mail {
                recipients: recipients.clone(),
                data,
            });
            out.write_all(b"250 queued\r\n")?;
        } else if command == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            // RSET, NOOP and anything else.
            out.write_all(b"250 ok\r\n")?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The binary and its API
// ---------------------------------------------------------------------------------------

/// A running `continuo serve`; killed (SIGKILL) when dropped. Its stderr goes to a file
/// that is printed when a test fails.
struct Continuo {
    child: Child,
    port: u16,
    stderr: PathBuf,
}

impl Continuo {
    /// Starts `continuo serve` in `dir` (with `continuo.toml` and a `state` folder) on a
    /// free port chosen by the OS, read from its first line.
    fn start(dir: &Path) -> Continuo {
        let stderr = dir.join(format!("stderr-{}.log", free_port()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_continuo"))
            .args(["serve", "-c", "continuo.toml", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env_remove("LANG")
            .env_remove("LC_ALL")
            .env_remove("CONTINUO_LANG")
            .env("CONTINUO_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start continuo serve");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("read the first line");
        // Keep reading, so the server's later lines do not meet a closed pipe.
        thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let port = first
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "continuo serve did not start: {first:?}\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        let server = Continuo {
            child,
            port,
            stderr,
        };
        wait_for("continuo to listen", 30, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        server
    }

    /// `kill -9`: no shutdown, no flush.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL continuo");
        self.child.wait().expect("wait for continuo");
    }

    fn get(&self, path: &str) -> Value {
        // Private reads need a role; the admin token has every role.
        let (status, body) = self.admin("GET", path, "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    fn admin(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        http(self.port, method, path, &[("Authorization", &auth)], body)
    }
}

impl Drop for Continuo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- continuo stderr ---\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
        }
    }
}

/// A minimal HTTP client: (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head.to_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Polls until `f` holds, failing with `what` after `seconds`.
fn wait_for(what: &str, seconds: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A temporary folder with `continuo.toml` and an empty `state` folder.
fn workspace(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("state")).expect("state dir");
    std::fs::write(dir.path().join("continuo.toml"), config).expect("write config");
    dir
}

/// A message's top-level headers (lower-case names, unfolded) and its body.
fn parse_headers(text: &str) -> (BTreeMap<String, String>, &str) {
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .unwrap_or((text, ""));
    let mut headers = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            headers.insert(name, value);
        }
        if let Some((name, value)) = line.split_once(':') {
            current = Some((name.trim().to_lowercase(), value.trim().to_string()));
        }
    }
    if let Some((name, value)) = current {
        headers.insert(name, value);
    }
    (headers, body)
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for sextet in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A header value with RFC 2047 encoded words (`=?utf-8?b?...?=`) decoded.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let Some(end) = rest[start + 2..].find("?=").map(|e| start + 2 + e) else {
            break;
        };
        // White space between two encoded words is not part of the text.
        let before = &rest[..start];
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        after_word = true;
        let word = &rest[start + 2..end];
        let mut fields = word.splitn(3, '?');
        let (_, encoding, text) = (fields.next(), fields.next(), fields.next().unwrap_or(""));
        match encoding.map(str::to_lowercase).as_deref() {
            Some("b") => out.push_str(&String::from_utf8_lossy(&base64(text))),
            _ => out.push_str(&quoted_printable(&text.replace('_', " "))),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------
// Status page subscribers
// ---------------------------------------------------------------------------------------

/// A mail the sink got, parsed: headers and the decoded plain text body.
struct Received {
    to: Vec<String>,
    headers: BTreeMap<String, String>,
    subject: String,
    text: String,
}

fn received(sink: &SmtpSink, to: &str) -> Vec<Received> {
    sink.messages()
        .into_iter()
        .filter(|m| m.recipients.iter().any(|r| r == to))
        .map(|m| {
            let (headers, body) = parse_headers(&m.data);
            let encoding = headers
                .get("content-transfer-encoding")
                .map(|e| e.to_lowercase())
                .unwrap_or_default();
            let text = match encoding.as_str() {
                "base64" => String::from_utf8_lossy(&base64(body)).into_owned(),
                "quoted-printable" => quoted_printable(body),
                _ => body.to_string(),
            };
            let subject = decode_words(headers.get("subject").map_or("", String::as_str));
            Received {
                to: m.recipients.clone(),
                headers,
                subject,
                text: text.replace("\r\n", "\n"),
            }
        })
        .collect()
}

/// The first link in `text` that starts with `prefix`, as a local path.
fn link(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    url.split_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| format!("/{path}"))
        .unwrap_or_else(|| panic!("not a local link: {url}"))
}

fn config(smtp: u16, target: u16) -> String {
    format!(
        r#"
[organization]
name = "Acme Retail"
timezone = "Europe/Amsterdam"
languages = ["en", "nl"]

[server]
database = "sqlite://state/continuo.db"
location = "test-1"
subscriber_email_channel = "mail"
# The test's webhook receiver listens on 127.0.0.1.
allow_private_webhooks = true

[[person]]
id = "anna"
name = "Anna de Vries"
email = "anna@example.test"

[[team]]
id = "ops"
members = ["anna"]

[[channel]]
id = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp}
tls = "none"
from = "Acme status <status@example.test>"
to = "ops@example.test"

[[service]]
id = "shop"
name = "Webshop"
tier = 2
owner = "ops"
rto = "1h"
status_page = {{ component = "Webshop", group = "Shopping" }}

  [[service.check]]
  id = "shop-http"
  kind = "http"
  url = "http://127.0.0.1:{target}/health"
  interval = "1s"
  timeout = "1s"
"#
    )
}

fn post_form(c: &Continuo, path: &str, body: &str) -> (u16, String) {
    http(
        c.port,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body,
    )
}

fn subscribers(c: &Continuo) -> Vec<Value> {
    c.get("/api/v1/subscribers")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn state_of(c: &Continuo, address: &str) -> String {
    subscribers(c)
        .iter()
        .find(|s| s["address"] == address)
        .and_then(|s| s["state"].as_str())
        .unwrap_or("absent")
        .to_string()
}

fn declare(c: &Continuo, title: &str) -> String {
    let (status, body) = c.admin(
        "POST",
        "/api/v1/incidents",
        &json!({"title": title, "services": ["shop"], "by": "anna"}).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Webhook requests other than the test delivery, as JSON.
fn payloads(receiver: &HttpServer) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .map(Request::json)
        .filter(|p| p.get("incident").is_some() || p.get("component_update").is_some())
        .collect()
}

#[test]
fn subscribers_confirm_hear_of_an_incident_in_three_messages_and_unsubscribe() {
    let sink = SmtpSink::start();
    let mut target = HttpServer::ok(0);
    let hook = HttpServer::ok(0);
    let dir = workspace(&config(sink.port, target.port));
    let continuo = Continuo::start(dir.path());

    // Bad input: a clear reason, in the asked language, never a panic.
    let (status, body) = post_form(&continuo, "/status/subscribe", "email=nope&language=nl");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("geen e-mailadres"), "{body}");
    let (status, body) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        r#"{"email": "klant@example.org", "components": ["nothing"]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not a component"), "{body}");
    let (status, body) = http(continuo.port, "POST", "/status/subscribe", &[], "{not json");
    assert_eq!(status, 400, "{body}");
    // The admin list needs the admin role.
    let (status, _) = http(continuo.port, "GET", "/api/v1/subscribers", &[], "");
    assert_eq!(status, 401);

    // Email with double opt-in (Dutch), one that never confirms, and a webhook.
    let (status, body) = post_form(
        &continuo,
        "/status/subscribe",
        "email=klant%40example.org&language=nl&components=shop",
    );
    assert_eq!(status, 202, "{body}");
    let (status, answer) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        r#"{"email": "stil@example.org"}"#,
    );
    assert_eq!(status, 202, "{answer}");
    let hook_url = format!("http://127.0.0.1:{}/hook", hook.port);
    let (status, body) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        &json!({ "url": hook_url }).to_string(),
    );
    assert_eq!(status, 202, "{body}");

    wait_for("the confirmation mails", 30, || {
        received(&sink, "klant@example.org").len() == 1
            && received(&sink, "stil@example.org").len() == 1
    });
    let confirmation = &received(&sink, "klant@example.org")[0];
    assert!(
        confirmation.subject.contains("Bevestig"),
        "{}",
        confirmation.subject
    );
    assert!(confirmation.headers.contains_key("list-unsubscribe"));
    let confirm = link(&confirmation.text, "http://127.0.0.1");
    assert!(confirm.starts_with("/status/confirm/"), "{confirm}");
    // A mail scanner following the link confirms nothing.
    let (status, page) = http(continuo.port, "GET", &confirm, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "pending");
    let (status, page) = http(continuo.port, "POST", &confirm, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("bevestigd"), "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "confirmed");
    // The link works once.
    let (status, _) = http(continuo.port, "POST", &confirm, &[], "");
    assert_eq!(status, 404);
    // Subscribing a confirmed address again answers the same and sends nothing.
    let (status, again) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        r#"{"email": "klant@example.org", "language": "en"}"#,
    );
    assert_eq!((status, again.as_str()), (202, answer.as_str()));

    // The webhook is confirmed by answering its test delivery.
    wait_for("the webhook to be confirmed", 30, || {
        state_of(&continuo, &hook_url) == "confirmed"
    });
    let test = hook.requests()[0].json();
    assert!(test["meta"]["unsubscribe"].as_str().is_some(), "{test}");
    assert_eq!(test["page"]["status_indicator"], "none");
    assert_eq!(state_of(&continuo, "stil@example.org"), "pending");

    // An incident: declared, a customer update and an internal one, resolved.
    let id = declare(&continuo, "Checkout fails");
    for (audience, message) in [
        ("internal", "the primary database ran out of disk"),
        ("customers", "We found the cause and are fixing it."),
    ] {
        let (status, body) = continuo.admin(
            "POST",
            &format!("/api/v1/incidents/{id}/update"),
            &json!({"audience": audience, "message": message, "status": "identified", "by": "anna"})
                .to_string(),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = continuo.admin(
        "POST",
        &format!("/api/v1/incidents/{id}/resolve"),
        r#"{"by": "anna"}"#,
    );
    assert_eq!(status, 200, "{body}");

    wait_for("three messages to the subscriber", 30, || {
        received(&sink, "klant@example.org").len() >= 4
    });
    wait_for("three payloads to the webhook", 30, || {
        payloads(&hook).len() >= 3
    });
    let mails = received(&sink, "klant@example.org");
    assert_eq!(mails.len(), 4, "the confirmation and three messages");
    let subjects: Vec<&str> = mails[1..].iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "[Acme Retail] Nieuwe storing: Checkout fails",
            "[Acme Retail] Update: Checkout fails",
            "[Acme Retail] Opgelost: Checkout fails",
        ]
    );
    for mail in &mails[1..] {
        assert_eq!(mail.to, ["klant@example.org"]);
        assert!(mail.text.contains("/status/unsubscribe/"), "{}", mail.text);
        assert!(
            !mail.text.contains("disk"),
            "internal update leaked: {}",
            mail.text
        );
        let header = &mail.headers["list-unsubscribe"];
        assert!(header.contains("/status/unsubscribe/"), "{header}");
        assert_eq!(
            mail.headers["list-unsubscribe-post"],
            "List-Unsubscribe=One-Click"
        );
    }
    assert!(
        mails[2].text.contains("We found the cause"),
        "{}",
        mails[2].text
    );
    // The one who never confirmed got nothing but the request to confirm.
    assert_eq!(received(&sink, "stil@example.org").len(), 1);

    // Statuspage-shaped webhooks.
    let sent = payloads(&hook);
    assert_eq!(sent.len(), 3, "{sent:?}");
    let statuses: Vec<&str> = sent
        .iter()
        .map(|p| p["incident"]["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["investigating", "identified", "resolved"]);
    let last = &sent[2];
    for field in ["meta", "page"] {
        assert!(last.get(field).is_some(), "{field}: {last}");
    }
    for field in ["status_indicator", "status_description", "id"] {
        assert!(last["page"].get(field).is_some(), "page.{field}: {last}");
    }
    for field in [
        "id",
        "name",
        "status",
        "impact",
        "created_at",
        "updated_at",
        "resolved_at",
        "shortlink",
        "incident_updates",
        "components",
    ] {
        assert!(
            last["incident"].get(field).is_some(),
            "incident.{field}: {last}"
        );
    }
    let updates = last["incident"]["incident_updates"]
        .as_array()
        .expect("updates");
    assert_eq!(updates.len(), 1, "only the customer update: {updates:?}");
    assert!(
        updates[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("We found the cause and are fixing it.")),
        "{updates:?}"
    );
    assert_eq!(last["incident"]["components"][0]["name"], "Webshop");
    for request in hook.requests().iter() {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/hook")
        );
        assert!(request.header("idempotency-key").is_some());
    }

    // Unsubscribing: the page shows a button, the one-click POST acts; no more mail.
    let text = &mails[3].text;
    let start = text
        .find("/status/unsubscribe/")
        .expect("an unsubscribe link");
    let unsubscribe: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let (status, page) = http(continuo.port, "GET", &unsubscribe, &[], "");
    assert_eq!(status, 200, "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "confirmed");
    let (status, page) = http(
        continuo.port,
        "POST",
        &unsubscribe,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "List-Unsubscribe=One-Click",
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "unsubscribed");
    let (status, _) = http(
        continuo.port,
        "GET",
        "/status/unsubscribe/x.forged",
        &[],
        "",
    );
    assert_eq!(status, 404);
    declare(&continuo, "Search is slow");
    wait_for("the webhook to hear of the second incident", 30, || {
        payloads(&hook).len() >= 4
    });
    // Every item was decided (and then sent) through the outbox.
    let outbox = continuo.get("/api/v1/outbox?limit=200");
    let keys: Vec<String> = outbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["key"].as_str().map(str::to_string))
        .collect();
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("sub/{id}/resolved/"))),
        "{keys:?}"
    );
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        received(&sink, "klant@example.org").len(),
        4,
        "nothing after unsubscribing"
    );

    // The admin removes a subscriber.
    let pending = subscribers(&continuo)
        .into_iter()
        .find(|s| s["address"] == "stil@example.org")
        .expect("the pending subscriber");
    let sid = pending["id"].as_str().expect("id");
    let (status, body) = continuo.admin("DELETE", &format!("/api/v1/subscribers/{sid}"), "");
    assert_eq!(status, 204, "{body}");
    assert_eq!(state_of(&continuo, "stil@example.org"), "absent");

    // The component goes down: the webhook hears of its status change.
    target.stop();
    wait_for("a component update at the webhook", 60, || {
        payloads(&hook)
            .iter()
            .any(|p| p["component_update"]["new_status"] == "major_outage")
    });
    let update = payloads(&hook)
        .into_iter()
        .find(|p| p.get("component_update").is_some())
        .expect("a component update");
    assert_eq!(update["component_update"]["old_status"], "operational");
    assert_eq!(update["component_update"]["component_id"], "webshop");
    assert_eq!(update["component"]["name"], "Webshop");
    assert_eq!(update["component"]["status"], "major_outage");
    assert_eq!(update["page"]["status_indicator"], "critical");
}

/// Crash safety: a message for a subscriber whose webhook is down stays in the outbox
/// through `kill -9`, and arrives after the restart with the key it had before.
#[test]
fn a_pending_subscriber_message_survives_kill_9() {
    let sink = SmtpSink::start();
    let target = HttpServer::ok(0);
    let mut hook = HttpServer::ok(0);
    let hook_port = hook.port;
    let dir = workspace(&config(sink.port, target.port));
    let continuo = Continuo::start(dir.path());
    let hook_url = format!("http://127.0.0.1:{hook_port}/hook");
    let (status, body) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        &json!({ "url": hook_url, "language": "nl" }).to_string(),
    );
    assert_eq!(status, 202, "{body}");
    wait_for("the webhook to be confirmed", 30, || {
        state_of(&continuo, &hook_url) == "confirmed"
    });
    hook.stop();
    let id = declare(&continuo, "Checkout fails");
    let key = format!("sub/{id}/created/");
    wait_for("the failed attempt to be recorded", 30, || {
        continuo.get("/api/v1/outbox?state=pending")["items"]
            .as_array()
            .is_some_and(|items| {
                items.iter().any(|i| {
                    i["key"].as_str().is_some_and(|k| k.starts_with(&key))
                        && i["attempts"].as_u64() >= Some(1)
                })
            })
    });
    continuo.kill();
    let hook = HttpServer::ok(hook_port);
    let _continuo = Continuo::start(dir.path());
    wait_for("the message after the restart", 60, || {
        !payloads(&hook).is_empty()
    });
    let request = hook.requests().last().cloned().expect("a request");
    assert!(
        request
            .header("idempotency-key")
            .is_some_and(|k| k.starts_with(&key)),
        "{:?}",
        request.headers
    );
    assert_eq!(request.json()["incident"]["id"], id.as_str());
}
