//! `continuo user`, `continuo token` and `continuo audit` as an operator runs them (the
//! real binary, exit statuses, both languages), and end to end: a user added with the CLI
//! signs in to `continuo serve`, and a token made with the CLI calls its API.

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary and the tools it works with"
)]

mod common;

use common::{listening_port, wait_for, workspace};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

fn config() -> String {
    "[organization]\nname = \"Users Test\"\ntimezone = \"UTC\"\n\
     [server]\ndatabase = \"sqlite://state/continuo.db\"\n\
     [[team]]\nid = \"ops\"\n\
     [[service]]\nid = \"wiki\"\ntier = 4\nowner = \"ops\"\nrto = \"1d\"\n"
        .to_string()
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_continuo"));
    c.args(args)
        .current_dir(dir)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("CONTINUO_LANG")
        .env_remove("CONTINUO_CONFIG")
        .env_remove("CONTINUO_DATABASE")
        .env_remove("CONTINUO_TOKEN")
        .env_remove("CONTINUO_ADMIN_TOKEN")
        .env("USER", "tester")
        .env("NO_COLOR", "1");
    c
}

/// Runs the binary with `stdin` as its standard input.
fn run(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the continuo binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn setup() -> tempfile::TempDir {
    workspace(&config())
}

#[test]
fn users_are_added_listed_changed_and_removed_with_clear_errors() {
    let dir = setup();
    let d = dir.path();
    let add = |name: &str, role: &str, password: &str| {
        run(
            d,
            &["user", "add", name, "--role", role, "--password-stdin"],
            &format!("{password}\n"),
        )
    };
    let ok = add("Anna", "admin", PASSWORD);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("added anna as admin"),
        "{}",
        text(&ok.stdout)
    );

    // Bad input: a clear message and exit status 1 (2 for what clap refuses).
    for (args, password, expected, code) in [
        (
            ("anna", "viewer"),
            PASSWORD,
            "there is already a user `anna`",
            1,
        ),
        (
            ("bram", "viewer"),
            "short",
            "the password has 5 characters; it needs at least 12",
            1,
        ),
        (("bram", "viewer"), "", "the password is empty", 1),
        (
            ("bram jansen", "viewer"),
            PASSWORD,
            "holds ` `; use letters, digits",
            1,
        ),
        (
            ("bram", "root"),
            PASSWORD,
            "`root` is not a role; use viewer, responder or admin",
            2,
        ),
    ] {
        let out = add(args.0, args.1, password);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Without a terminal and without --password-stdin, it says what to do.
    let out = run(d, &["user", "add", "bram", "--role", "viewer"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--password-stdin"),
        "{}",
        text(&out.stderr)
    );

    assert_eq!(add("bram", "viewer", PASSWORD).status.code(), Some(0));
    let list = run(d, &["user", "list"], "");
    let listed = text(&list.stdout);
    assert!(
        listed.contains("anna") && listed.contains("admin"),
        "{listed}"
    );
    assert!(
        listed.contains("bram") && listed.contains("viewer"),
        "{listed}"
    );

    let role = run(d, &["user", "role", "bram", "responder"], "");
    assert_eq!(role.status.code(), Some(0), "{}", text(&role.stderr));
    let passwd = run(
        d,
        &["user", "passwd", "bram", "--password-stdin"],
        "another good password\n",
    );
    assert_eq!(passwd.status.code(), Some(0), "{}", text(&passwd.stderr));
    let remove = run(d, &["user", "remove", "bram"], "");
    assert_eq!(remove.status.code(), Some(0));
    let again = run(d, &["user", "remove", "bram"], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("there is no user `bram`"));

    // In Dutch.
    let nl = run(d, &["--lang", "nl", "user", "remove", "bram"], "");
    assert!(
        text(&nl.stderr).contains("fout: er is geen gebruiker `bram`"),
        "{}",
        text(&nl.stderr)
    );

    // Every change is in the audit log, by the operator at the keyboard.
    let audit = run(d, &["audit", "--json"], "");
    let log: serde_json::Value = serde_json::from_slice(&audit.stdout).expect("json");
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "user.remove",
            "user.passwd",
            "user.role",
            "user.add",
            "user.add"
        ]
    );
    assert_eq!(log["entries"][0]["actor"], "cli:tester");
}

#[test]
fn tokens_are_printed_once_listed_without_secrets_and_revoked() {
    let dir = setup();
    let d = dir.path();
    let out = run(
        d,
        &["token", "add", "--name", "grafana", "--role", "viewer"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert!(
        token.starts_with("continuo_") && token.len() == 9 + 16 + 1 + 64,
        "{token}"
    );
    assert!(text(&out.stderr).contains("not shown again"));

    let dup = run(
        d,
        &["token", "add", "--name", "grafana", "--role", "admin"],
        "",
    );
    assert_eq!(dup.status.code(), Some(1));
    assert!(text(&dup.stderr).contains("there is already a token `grafana`"));

    let list = text(&run(d, &["token", "list"], "").stdout);
    assert!(
        list.contains("grafana") && list.contains("never used"),
        "{list}"
    );
    assert!(
        !list.contains(&token[26..]),
        "the secret is never shown again"
    );

    assert_eq!(
        run(d, &["token", "revoke", "grafana"], "").status.code(),
        Some(0)
    );
    let again = run(d, &["token", "revoke", "grafana"], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&run(d, &["token", "list"], "").stdout).contains("revoked"));
}

struct Served {
    child: std::process::Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `continuo serve` on a free port chosen by the OS, read from the event that
/// says where it listens (its log, on stderr, is kept in `serve.log`).
fn serve(dir: &Path) -> Served {
    let mut child = command(
        dir,
        &["serve", "-c", "continuo.toml", "--listen", "127.0.0.1:0"],
    )
    .env_remove("RUST_LOG")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start continuo serve");
    let stderr = child.stderr.take().expect("stderr");
    let port = listening_port(stderr, &dir.join("serve.log"))
        .unwrap_or_else(|log| panic!("no address in the log:\n{log}"));
    wait_for("the server to listen", 60, || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Served { child, port }
}

/// One HTTP/1.1 request; returns status, headers and body.
fn http(port: u16, request_head: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{request_head}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = text(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

#[test]
fn a_user_and_a_token_made_with_the_cli_work_on_the_running_server() {
    let dir = setup();
    let d = dir.path();
    let added = run(
        d,
        &[
            "user",
            "add",
            "rob",
            "--role",
            "responder",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(added.status.code(), Some(0), "{}", text(&added.stderr));
    let made = run(
        d,
        &["token", "add", "--name", "status-cli", "--role", "viewer"],
        "",
    );
    let token = text(&made.stdout).trim().to_string();
    let server = serve(d);
    let port = server.port;

    // `continuo status` reads the API with the token from CONTINUO_TOKEN.
    let status = command(d, &["status", "--url", &format!("http://127.0.0.1:{port}")])
        .env("CONTINUO_TOKEN", &token)
        .output()
        .expect("status");
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let without = command(d, &["status", "--url", &format!("http://127.0.0.1:{port}")])
        .output()
        .expect("status");
    assert_eq!(without.status.code(), Some(1));

    // rob signs in with the form, as a browser does.
    let (code, head, page) = http(port, "GET /login HTTP/1.1", "");
    assert_eq!(code, 200);
    let login_cookie = set_cookie(&head, "continuo_login").expect("login cookie");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf field")
        .to_string();
    let form = format!(
        "user=rob&password={}&csrf={csrf}",
        PASSWORD.replace(' ', "+")
    );
    let (code, head, _) = http(
        port,
        &format!(
            "POST /login HTTP/1.1\r\nOrigin: http://127.0.0.1:{port}\r\nCookie: continuo_login={login_cookie}\r\nContent-Type: application/x-www-form-urlencoded"
        ),
        &form,
    );
    assert_eq!(code, 303, "{head}");
    let session = set_cookie(&head, "continuo_session").expect("session cookie");
    let (code, _, body) = http(
        port,
        &format!("GET /api/v1/services HTTP/1.1\r\nCookie: continuo_session={session}"),
        "",
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("wiki"), "{body}");

    // The audit log shows the sign-in, read with `continuo audit`.
    drop(server);
    let audit = text(&run(d, &["audit"], "").stdout);
    assert!(
        audit.contains("user:rob") && audit.contains("session.sign_in"),
        "{audit}"
    );
}
