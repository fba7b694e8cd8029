//! The harness shared by the end-to-end tests of the `continuo` binary (`alerting.rs`,
//! `subscribers.rs` and, for a few helpers, the others): a recording HTTP server, a small
//! SMTP sink, a running `continuo serve` with its API, a minimal HTTP client, polling, a
//! temporary workspace, and decoding of the mail the sink received.
//!
//! Each test binary includes this module and uses only part of it.

#![allow(dead_code)]
#![allow(
    clippy::disallowed_methods,
    reason = "the end-to-end harness starts, signals and limits the real `continuo` binary"
)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The admin token every [`Continuo`] is started with.
pub const ADMIN_TOKEN: &str = "admin-s3cret";

// ---------------------------------------------------------------------------------------
// Local servers
// ---------------------------------------------------------------------------------------

/// One request an [`HttpServer`] received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub type Respond = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// A small HTTP/1.1 server on 127.0.0.1: every request is recorded and answered by
/// `respond`, one connection per request (`Connection: close`). Stopping it closes the
/// listening socket, so connections are refused.
pub struct HttpServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Starts on `port` (0 for any free port), retrying while the port is still taken.
    pub fn start(
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
    pub fn ok(port: u16) -> HttpServer {
        HttpServer::start(port, |_| (200, "ok".into()))
    }

    pub fn requests(&self) -> MutexGuard<'_, Vec<Request>> {
        lock(&self.requests)
    }

    pub fn stop(&mut self) {
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

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn serve_connection(stream: TcpStream, requests: &Mutex<Vec<Request>>, respond: &Respond) {
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// One message an [`SmtpSink`] accepted.
#[derive(Clone, Debug)]
pub struct Mail {
    pub recipients: Vec<String>,
    pub data: String,
}

/// A plain ESMTP server on 127.0.0.1 that accepts every message.
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
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

    pub fn messages(&self) -> Vec<Mail> {
        lock(&self.messages).clone()
    }
}

pub fn smtp_session(stream: TcpStream, sink: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
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

/// Reads the log of a starting `continuo serve` (its stderr, where its events go) until
/// the event saying where it listens, and gives that port; every line, that one and all
/// later ones, is kept in the file `log` (appended by a thread, so the server never
/// meets a full or closed pipe). Without such an event before the stream ends, gives
/// what the server wrote instead.
pub fn listening_port(stderr: std::process::ChildStderr, log: &Path) -> Result<u16, String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let mut reader = BufReader::new(stderr);
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return Err(seen),
            Ok(_) => {}
        }
        file.write_all(line.as_bytes()).expect("write the log");
        seen.push_str(&line);
        let port = line.split("http://127.0.0.1:").nth(1).and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
        if let Some(port) = port {
            thread::spawn(move || std::io::copy(&mut reader, &mut file));
            return Ok(port);
        }
    }
}

/// A running `continuo serve`; killed (SIGKILL) when dropped. Its stderr (its log) goes
/// to a file that is printed when a test fails.
pub struct Continuo {
    child: Child,
    pub port: u16,
    stderr: PathBuf,
}

impl Continuo {
    /// Starts `continuo serve` in `dir` (with `continuo.toml` and a `state` folder) on a
    /// free port chosen by the OS, read from the event that says where it listens.
    pub fn start(dir: &Path) -> Continuo {
        Continuo::start_with(dir, &[])
    }

    /// [`Continuo::start`] with more arguments for `serve` (such as `--log-format json`).
    /// `CONTINUO_TEST_BINARY` names another build to start instead of this one: the
    /// fault suite run against an older commit shows which faults it fails.
    pub fn start_with(dir: &Path, args: &[&str]) -> Continuo {
        Continuo::start_under(dir, &[], args)
    }

    /// [`Continuo::start_with`] under a wrapper command that runs the binary as its last
    /// argument, such as `prlimit --nofile=1024:20000`.
    pub fn start_under(dir: &Path, wrapper: &[&str], args: &[&str]) -> Continuo {
        let binary: std::ffi::OsString = std::env::var_os("CONTINUO_TEST_BINARY")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_continuo").into());
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .args(["serve", "-c", "continuo.toml", "--listen", "127.0.0.1:0"])
            .args(args);
        Continuo::spawn(dir, command)
    }

    /// Starts `command` (a `continuo serve` in `dir`, perhaps under a wrapper such as
    /// `prlimit`) with the harness's environment, and waits until it listens.
    pub fn spawn(dir: &Path, mut command: Command) -> Continuo {
        let stderr = dir.join(format!("stderr-{}.log", free_port()));
        let mut child = command
            .current_dir(dir)
            .env_remove("LANG")
            .env_remove("LC_ALL")
            .env_remove("CONTINUO_LANG")
            .env_remove("RUST_LOG")
            .env("CONTINUO_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start continuo serve");
        let port = listening_port(child.stderr.take().expect("stderr"), &stderr);
        let port = match port {
            Ok(port) => port,
            Err(log) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("continuo serve did not start:\n{log}");
            }
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

    /// What the server logged so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM: a graceful shutdown; gives the exit code once the server has stopped.
    pub fn terminate(&mut self) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        self.child.wait().expect("wait for continuo").code()
    }

    /// `kill -9`: no shutdown, no flush.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL continuo");
        self.child.wait().expect("wait for continuo");
    }

    pub fn get(&self, path: &str) -> Value {
        // Private reads need a role; the admin token has every role.
        let (status, body) = self.admin("GET", path, "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    pub fn admin(&self, method: &str, path: &str, body: &str) -> (u16, String) {
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
pub fn http(
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

pub fn dechunk(mut body: &str) -> String {
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
pub fn wait_for(what: &str, seconds: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A temporary folder with `continuo.toml` and an empty `state` folder.
pub fn workspace(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("state")).expect("state dir");
    std::fs::write(dir.path().join("continuo.toml"), config).expect("write config");
    dir
}

/// A message's top-level headers (lower-case names, unfolded) and its body.
pub fn parse_headers(text: &str) -> (BTreeMap<String, String>, &str) {
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

pub fn base64(text: &str) -> Vec<u8> {
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

pub fn quoted_printable(text: &str) -> String {
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
pub fn decode_words(value: &str) -> String {
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

/// A configuration with one tier-1 service, `db` ("Orders database"), whose TCP check of
/// `127.0.0.1:{db}` (every second) is down at the first miss and up at the first success,
/// owned by a team that pages the webhook channel `hook` (`http://127.0.0.1:{hook}/hook`)
/// at once. Tests append more services.
pub fn db_paging_a_webhook(organization: &str, hook: u16, db: u16) -> String {
    format!(
        r#"
[organization]
name = "{organization}"
timezone = "UTC"
languages = ["en"]

[server]
database = "sqlite://state/continuo.db"
location = "test-1"
secret = "a-link-secret-for-tests"

[[person]]
id = "anna"
name = "Anna de Vries"

[[team]]
id = "ops"
members = ["anna"]
escalation = "page-hook"

[[escalation]]
id = "page-hook"
levels = [{{ after = "0m", notify = ["channel:hook"] }}]

[[channel]]
id = "hook"
kind = "webhook"
url = "http://127.0.0.1:{hook}/hook"

[[service]]
id = "db"
name = "Orders database"
tier = 1
owner = "ops"
rto = "30m"

[[service.check]]
id = "db-tcp"
kind = "tcp"
target = "127.0.0.1:{db}"
interval = "1s"
timeout = "500ms"
fail_threshold = 1
recover_threshold = 1
"#
    )
}

/// The start of a small configuration: an organisation, a SQLite store in `state/`, the
/// team `ops`, and one tier-2 service `service` it owns with an RTO of an hour; tests
/// append the service's checks, endpoints and more.
pub fn one_service(organization: &str, service: &str) -> String {
    format!(
        r#"
[organization]
name = "{organization}"
timezone = "UTC"

[server]
database = "sqlite://state/continuo.db"
location = "test-1"

[[team]]
id = "ops"

[[service]]
id = "{service}"
tier = 2
owner = "ops"
rto = "1h"
"#
    )
}

/// Whether a test that needs a missing tool must fail rather than skip: in CI (`CI` set,
/// as `.ci/run` runs), where every test must run.
pub fn tools_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether `program` can be run from the `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let candidate = dir.join(program);
            std::fs::metadata(&candidate).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

/// Whether `test` must skip because `program` is not on the `PATH`: it prints one line
/// saying what to install; in CI a missing program fails the test instead.
pub fn skip_without(test: &str, program: &str, install: &str) -> bool {
    if on_path(program) {
        return false;
    }
    assert!(
        !tools_required(),
        "{test}: `{program}` is not on the PATH ({install}); CI runs every test"
    );
    // Straight to the process's stderr: the test harness captures `eprintln!` of a test
    // that passes, and this line is for the person running the tests.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("skipped {test}: `{program}` is not on the PATH; {install}, or run bash .ci/run\n")
            .as_bytes(),
    );
    true
}
