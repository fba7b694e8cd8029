//! The Matrix channel against a real homeserver: Synapse from PyPI, started here on a
//! free 127.0.0.1 port with SQLite, no federation and no network. A user is registered
//! with the shared secret, logs in, and creates a room with an alias; the channel (its
//! token given as `${MATRIX_TOKEN}`) posts to the alias, and the room's messages are read
//! back: the text as sent, and one event for a notice sent twice.
//!
//! Synapse is looked for in the virtual environment named by `CONTINUO_SYNAPSE_VENV`,
//! else `/opt/synapse` (where `.ci/run` installs it with
//! `python3 -m venv /opt/synapse && /opt/synapse/bin/pip install matrix-synapse`).

#![allow(
    clippy::disallowed_methods,
    reason = "the test starts a real Synapse homeserver, a long-running server the bounded process runner is not for"
)]

use crate::support::{channel_with_env, notice, notifier};
use continuo_core::Lang;
use continuo_notify::{NoticeEvent, SendErrorKind};
use serde_json::{Value, json};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Where Synapse's virtual environment is unless `CONTINUO_SYNAPSE_VENV` says otherwise.
const DEFAULT_VENV: &str = "/opt/synapse";

/// The shared secret that lets the test register users.
const REGISTRATION_SECRET: &str = "continuo-test-registration";

/// The homeserver's name: user ids and aliases end in it.
const SERVER_NAME: &str = "continuo.test";

/// Synapse's virtual environment, when Synapse can be imported from it.
fn synapse_venv() -> Result<PathBuf, String> {
    let venv = std::env::var_os("CONTINUO_SYNAPSE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV));
    let python = venv.join("bin/python");
    let install = format!(
        "install it with `python3 -m venv {0} && {0}/bin/pip install matrix-synapse` (.ci/run does), or set CONTINUO_SYNAPSE_VENV to a virtual environment that has it",
        venv.display()
    );
    if !python.exists() {
        return Err(format!(
            "Synapse is missing: {} does not exist; {install}",
            python.display()
        ));
    }
    let imported = Command::new(&python)
        .args(["-c", "import synapse.app.homeserver"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !imported {
        return Err(format!(
            "Synapse is missing: {} cannot import synapse; {install}",
            python.display()
        ));
    }
    Ok(venv)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A running Synapse; killed when dropped, its log shown when the test failed.
struct Synapse {
    child: Child,
    venv: PathBuf,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Synapse {
    /// Writes a configuration, generates the signing key and starts the homeserver.
    async fn start(venv: PathBuf) -> Synapse {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path();
        let port = free_port();
        let at = |name: &str| root.join(name).display().to_string();
        // Only the client API, on loopback; no federation, no key servers, no stats; rate
        // limits out of the way of a test that sends a few messages quickly.
        let config = format!(
            r#"server_name: "{SERVER_NAME}"
pid_file: "{pid}"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{db}"
media_store_path: "{media}"
signing_key_path: "{key}"
registration_shared_secret: "{REGISTRATION_SECRET}"
macaroon_secret_key: "continuo-test-macaroon"
form_secret: "continuo-test-form"
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
url_preview_enabled: false
rc_message: {{ per_second: 1000, burst_count: 1000 }}
rc_registration: {{ per_second: 1000, burst_count: 1000 }}
rc_login:
  address: {{ per_second: 1000, burst_count: 1000 }}
  account: {{ per_second: 1000, burst_count: 1000 }}
  failed_attempts: {{ per_second: 1000, burst_count: 1000 }}
"#,
            pid = at("homeserver.pid"),
            db = at("homeserver.db"),
            media = at("media"),
            key = at("signing.key"),
        );
        let config_path = root.join("homeserver.yaml");
        std::fs::write(&config_path, config).expect("write homeserver.yaml");
        let python = venv.join("bin/python");
        let keys = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "--generate-keys", "-c"])
            .arg(&config_path)
            .output()
            .expect("run synapse --generate-keys");
        assert!(
            keys.status.success(),
            "synapse --generate-keys failed: {}",
            String::from_utf8_lossy(&keys.stderr)
        );
        let log = root.join("synapse.log");
        let child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start synapse");
        let mut synapse = Synapse {
            child,
            venv,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        synapse.wait_until_ready().await;
        synapse
    }

    /// Waits until the client API answers; fails when Synapse exits first. Startup is
    /// slow on a busy machine, so the bound is generous: it only ends a hung start.
    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let url = format!("{}/_matrix/client/versions", self.base);
        for _ in 0..600 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Synapse exited at start ({status})");
            }
            if let Ok(answer) = client.get(&url).send().await
                && answer.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("Synapse did not answer on {url}");
    }

    /// Registers a user with the shared secret (Synapse's own tool computes the HMAC).
    fn register(&self, user: &str, password: &str) {
        let output = Command::new(self.venv.join("bin/python"))
            .args(["-m", "synapse._scripts.register_new_matrix_user"])
            .args(["-k", REGISTRATION_SECRET, "-u", user, "-p", password])
            .arg("--no-admin")
            .arg(&self.base)
            .output()
            .expect("run register_new_matrix_user");
        assert!(
            output.status.success(),
            "registering {user} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A request to the client API with `token`; the answer's status and JSON.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let client = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = client.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("Synapse answers");
        let status = answer.status().as_u16();
        let text = answer.text().await.expect("an answer body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Logs `user` in with a password; their new access token.
    async fn login(&self, user: &str, password: &str) -> String {
        let (status, answer) = self
            .call(
                "POST",
                "/_matrix/client/v3/login",
                "",
                Some(json!({
                    "type": "m.login.password",
                    "identifier": { "type": "m.id.user", "user": user },
                    "password": password,
                })),
            )
            .await;
        assert_eq!(status, 200, "login failed: {answer}");
        answer["access_token"]
            .as_str()
            .expect("a token")
            .to_string()
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- synapse log ---\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

#[tokio::test]
async fn matrix_posts_to_a_real_synapse_once_per_notice() {
    // The test's own client (registering, reading the room) needs the process's TLS
    // provider chosen, as the binary does at start.
    continuo_notify::install_crypto_provider();
    let venv = match synapse_venv() {
        Ok(venv) => venv,
        Err(why) => skip_or_fail!("{why}"),
    };
    let synapse = Synapse::start(venv).await;
    synapse.register("continuo", "continuo-pw");
    let reader = synapse.login("continuo", "continuo-pw").await;
    let (status, room) = synapse
        .call(
            "POST",
            "/_matrix/client/v3/createRoom",
            &reader,
            Some(json!({ "room_alias_name": "ops", "name": "Ops", "preset": "private_chat" })),
        )
        .await;
    assert_eq!(status, 200, "createRoom failed: {room}");
    let room_id = room["room_id"].as_str().expect("a room id").to_string();

    // The channel posts with a token of its own, read from the environment.
    let token = synapse.login("continuo", "continuo-pw").await;
    let fields = format!(
        "id = \"ops-room\"\nkind = \"matrix\"\nhomeserver = \"{}\"\naccess_token = \"${{MATRIX_TOKEN}}\"\nroom = \"#ops:{SERVER_NAME}\"",
        synapse.base
    );
    let matrix = notifier(&channel_with_env(&fields, &[("MATRIX_TOKEN", &token)]));

    let firing = notice(NoticeEvent::Firing, Lang::Nl);
    let first = matrix.send(&firing).await.expect("delivered");
    // A resend of the same notice (say the first answer was lost) is the same
    // transaction: Synapse answers with the same event and posts nothing new.
    let again = matrix.send(&firing).await.expect("delivered again");
    assert!(
        first.detail.starts_with("HTTP 200 OK (event $"),
        "{}",
        first.detail
    );
    assert_eq!(again.detail, first.detail);
    let posture = {
        let mut notice = notice(NoticeEvent::Posture, Lang::En);
        notice.alert_key = "posture/rto/payments".into();
        notice
    };
    matrix.send(&posture).await.expect("delivered");

    // The room as a member reads it.
    let (status, page) = synapse
        .call(
            "GET",
            &format!(
                "/_matrix/client/v3/rooms/{}/messages?dir=f&limit=100",
                url_segment(&room_id)
            ),
            &reader,
            None,
        )
        .await;
    assert_eq!(status, 200, "messages failed: {page}");
    let messages: Vec<&Value> = page["chunk"]
        .as_array()
        .expect("a chunk")
        .iter()
        .filter(|e| e["type"] == "m.room.message")
        .collect();
    assert_eq!(messages.len(), 2, "one event per notice: {messages:#?}");

    let page_event = messages[0];
    assert_eq!(page_event["sender"], format!("@continuo:{SERVER_NAME}"));
    assert!(
        first
            .detail
            .contains(page_event["event_id"].as_str().expect("id"))
    );
    let content = &page_event["content"];
    assert_eq!(content["msgtype"], "m.text");
    assert_eq!(content["format"], "org.matrix.custom.html");
    let body = content["body"].as_str().expect("body");
    assert!(
        body.starts_with(
            "[STORING] Payments API ligt eruit — raakt Checkout, Webshop\n\nPayments API ligt eruit: connection refused\n"
        ),
        "{body}"
    );
    assert!(body.contains("Bevestigen: https://continuo.example.com/ack/example-token"));
    assert!(
        content["formatted_body"]
            .as_str()
            .expect("html")
            .starts_with("<strong>[STORING] Payments API ligt eruit — raakt Checkout, Webshop</strong><br><br>")
    );

    let notice_event = &messages[1]["content"];
    assert_eq!(notice_event["msgtype"], "m.notice");
    assert!(
        notice_event["body"]
            .as_str()
            .expect("body")
            .starts_with("[CONTINUITY] Payments API — RTO breached")
    );

    // What the real server refuses is not worth a retry, and says why.
    let nowhere = notifier(&channel_with_env(
        &fields.replace("#ops:", "#nowhere:"),
        &[("MATRIX_TOKEN", &token)],
    ));
    let error = nowhere.send(&firing).await.expect_err("no such room");
    assert_eq!(error.kind, SendErrorKind::Permanent, "{error:?}");
    assert!(
        error.message.starts_with(&format!(
            "cannot resolve the room alias #nowhere:{SERVER_NAME}: HTTP 404 Not Found"
        )) && error.message.contains("M_NOT_FOUND"),
        "{}",
        error.message
    );
    // By room id this time, so the refusal is the send's own.
    let by_id = fields.replace(&format!("#ops:{SERVER_NAME}"), &room_id);
    let stale = notifier(&channel_with_env(
        &by_id,
        &[("MATRIX_TOKEN", "syt_not_a_token")],
    ));
    let error = stale.send(&firing).await.expect_err("unknown token");
    assert_eq!(error.kind, SendErrorKind::Permanent, "{error:?}");
    assert!(
        error.message.contains("M_UNKNOWN_TOKEN"),
        "{}",
        error.message
    );
    assert!(
        !error.message.contains("syt_not_a_token"),
        "{}",
        error.message
    );
}

/// `!id:server` as one path segment.
fn url_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'!' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
