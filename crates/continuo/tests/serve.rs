//! `continuo serve` end to end over real sockets: a local HTTP target that stops and
//! comes back, heartbeat pings through the healthchecks.io API and read back through
//! `/api/v1/checks/{id}/pings`, `/metrics` checked by promtool (service health, open
//! incidents), `continuo status`, a graceful SIGTERM that flushes to SQLite, and a
//! second server on the same SQLite database refused.

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary and the tools it works with"
)]

mod common;

use common::{free_port, listening_port, one_service, wait_for};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A tiny HTTP/1.1 server answering `200 ok` until stopped; stopping closes the
/// listening socket so connections are refused.
struct Target {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Target {
    /// Starts on `port` (0 for any free port), retrying for a while if the port is
    /// still taken; returns the target and its port.
    fn start(port: u16) -> (Target, u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => break l,
                Err(e) => {
                    assert!(Instant::now() < deadline, "bind target: {e}");
                    thread::sleep(Duration::from_millis(100));
                }
            }
        };
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 4096];
                        let _ = stream.read(&mut buf);
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        (
            Target {
                stop,
                thread: Some(thread),
            },
            port,
        )
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A minimal HTTP client: method, path, body → (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to continuo");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // Reads of private data need a role: GETs carry the admin token the server was
    // started with; state changes go without it (the test of reload expects a 401).
    let auth = if method == "GET" {
        "Authorization: Bearer s3cret\r\n"
    } else {
        ""
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn check_json(port: u16, id: &str) -> serde_json::Value {
    let (status, body) = http(port, "GET", &format!("/api/v1/checks/{id}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `continuo serve` on a free port chosen by the OS, read from the event that
/// says where it listens (its log, on stderr, is kept in `serve.log`).
fn serve(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["serve", "-c", "continuo.toml", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("LANG")
        .env_remove("CONTINUO_LANG")
        .env_remove("RUST_LOG")
        .env("CONTINUO_ADMIN_TOKEN", "s3cret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start continuo serve");
    let stderr = child.stderr.take().expect("stderr");
    let port = listening_port(stderr, &dir.join("serve.log"))
        .unwrap_or_else(|log| panic!("no address in the log:\n{log}"));
    let server = Server { child, port };
    wait_for("the server to listen", 60, || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    server
}

/// Runs `continuo status` against the server on `port`, in English.
fn run_status(port: u16) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["status", "--url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .env_remove("LANG")
        .env_remove("CONTINUO_LANG")
        // The API's private reads need a role; the admin token has every role.
        .env("CONTINUO_ADMIN_TOKEN", "s3cret")
        .output()
        .expect("continuo status runs")
}

const UUID: &str = "5b1f9a52-3c7d-4e8f-9a0b-1c2d3e4f5a6b";

fn config(target_port: u16) -> String {
    format!(
        r#"{}
[[service.check]]
id = "web-http"
kind = "http"
url = "http://127.0.0.1:{target_port}/"
interval = "1s"
timeout = "500ms"
fail_threshold = 2
recover_threshold = 2
expect = {{ status = [200], body_contains = "ok" }}

[[service]]
id = "backup"
tier = 3
owner = "ops"
rto = "1d"

[[service.check]]
id = "backup-job"
kind = "heartbeat"
uuid = "{UUID}"
period = "1h"
grace = "10m"
"#,
        one_service("Serve Test", "web")
    )
}

#[test]
fn serve_detects_a_stopped_target_takes_pings_and_shuts_down_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("state")).expect("state dir");
    let (target, target_port) = Target::start(0);
    std::fs::write(dir.path().join("continuo.toml"), config(target_port)).expect("write");
    let mut server = serve(dir.path());
    let port = server.port;

    // Up, then down after the failure threshold once the target stops, then up again.
    wait_for("web-http up", 60, || {
        check_json(port, "web-http")["status"] == "up"
    });
    target.stop();
    wait_for("web-http down", 60, || {
        check_json(port, "web-http")["status"] == "down"
    });
    let down = check_json(port, "web-http");
    let message = down["last"]["message"]
        .as_str()
        .unwrap_or("")
        .to_lowercase();
    assert!(message.contains("refused"), "{down}");
    let (target, _) = Target::start(target_port);
    wait_for("web-http up again", 60, || {
        check_json(port, "web-http")["status"] == "up"
    });
    target.stop();

    // Heartbeat: start, then success with a body and a run id.
    let (status, body) = http(port, "GET", &format!("/ping/{UUID}/start?rid=r1"), "");
    assert_eq!((status, body.as_str()), (200, "OK"));
    let (status, _) = http(
        port,
        "POST",
        &format!("/ping/{UUID}?rid=r1"),
        "backup done: 3 GB",
    );
    assert_eq!(status, 200);
    let beat = check_json(port, "backup-job");
    assert_eq!(beat["status"], "up", "{beat}");
    assert_eq!(beat["last"]["message"], "backup done: 3 GB");
    // HEAD works too; an exit status > 0 is a failure.
    let (status, _) = http(port, "HEAD", &format!("/ping/{UUID}/0"), "");
    assert_eq!(status, 200);
    let (status, _) = http(port, "POST", &format!("/ping/{UUID}/2"), "disk full");
    assert_eq!(status, 200);
    assert_eq!(check_json(port, "backup-job")["status"], "down");
    let (status, _) = http(port, "GET", &format!("/ping/{UUID}"), "");
    assert_eq!(status, 200);
    assert_eq!(check_json(port, "backup-job")["status"], "up");

    // Unknown uuids and bad actions reveal nothing: the same 404 as any unknown path.
    let unknown = http(
        port,
        "GET",
        "/ping/00000000-0000-4000-8000-000000000000",
        "",
    );
    let bad_action = http(port, "GET", &format!("/ping/{UUID}/explode"), "");
    let nowhere = http(port, "GET", "/no/such/page", "");
    assert_eq!(unknown.0, 404);
    assert_eq!(unknown, nowhere);
    assert_eq!(bad_action, nowhere);

    // Observations are readable through the API (once the writer's batch is written).
    wait_for("five stored observations", 60, || {
        let (status, body) = http(
            port,
            "GET",
            "/api/v1/checks/web-http/observations?limit=5",
            "",
        );
        assert_eq!(status, 200, "{body}");
        let list: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        list["observations"].as_array().map(Vec::len) == Some(5)
    });
    let (status, _) = http(
        port,
        "GET",
        "/api/v1/checks/web-http/observations?limit=x",
        "",
    );
    assert_eq!(status, 400);
    let (status, _) = http(port, "GET", "/api/v1/checks/nope/observations", "");
    assert_eq!(status, 404);

    // Reload needs the admin token.
    assert_eq!(http(port, "POST", "/api/v1/reload", "").0, 401);

    // /readyz names every supervised task and whether alerting pages from memory.
    let (status, ready) = http(port, "GET", "/readyz", "");
    assert_eq!(status, 200, "{ready}");
    let ready: serde_json::Value = serde_json::from_str(&ready).expect("readyz is JSON");
    let tasks: Vec<&str> = ready["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["healthy"] == true && t["restarts"] == 0)
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        tasks,
        [
            "engine.coordinator",
            "alerting.decider",
            "alerting.dispatcher",
            "evidence.availability",
            "evidence.posture"
        ],
        "{ready}"
    );
    assert_eq!(ready["alerting"]["degraded"], false, "{ready}");

    // Service health follows the checks within a quarter of a second (the engine
    // recomputes it when dirty): wait for the heartbeat's service to catch up with the
    // last ping. (The web target is stopped again, so `web` may be going down.)
    wait_for("the backup service operational", 60, || {
        let (_, body) = http(port, "GET", "/api/v1/services", "");
        let services: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        services["services"].as_array().is_some_and(|list| {
            list.iter()
                .any(|s| s["id"] == "backup" && s["health"] == "operational")
        })
    });
    // /metrics is valid Prometheus text format according to promtool.
    let (status, metrics) = http(port, "GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("continuo_probe_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("continuo_heartbeat_pings_total{kind=\"start\"} 1"),
        "{metrics}"
    );
    // Alerting's figures are in the same registry and encoding as the engine's.
    for sample in [
        "continuo_alerts{state=\"firing\"} ",
        "continuo_notifications_sent_total ",
        "continuo_notification_failures_total ",
        "continuo_notifications_dead_total ",
        "continuo_outbox_items{state=\"pending\"} ",
        "continuo_alerting_degraded 0",
        "continuo_alerting_decision_seconds_count ",
        "continuo_alerting_commit_seconds_bucket{le=\"0.0005\"} ",
        "continuo_task_restarts_total{task=\"alerting.decider\"} 0",
        "continuo_task_restarts_total{task=\"engine.coordinator\"} 0",
        "continuo_task_healthy{task=\"alerting.dispatcher\"} 1",
        // Every service's health as a state set: 1 for the health it has now.
        "continuo_service_health{service=\"web\",health=\"operational\"} ",
        "continuo_service_health{service=\"web\",health=\"down\"} ",
        "continuo_service_health{service=\"backup\",health=\"operational\"} 1",
        "continuo_service_health{service=\"backup\",health=\"impacted\"} 0",
        // Open incidents by severity, every severity present.
        "continuo_incidents_open{severity=\"SEV1\"} ",
        "continuo_incidents_open{severity=\"SEV2\"} ",
        "continuo_incidents_open{severity=\"SEV3\"} ",
        "continuo_incidents_open{severity=\"SEV4\"} ",
    ] {
        assert!(
            metrics.lines().any(|line| line.starts_with(sample)),
            "no `{sample}` sample in:\n{metrics}"
        );
    }
    promtool_accepts(&metrics);
    // One health per service reads 1.
    for service in ["web", "backup"] {
        let prefix = format!("continuo_service_health{{service=\"{service}\",");
        let ones = metrics
            .lines()
            .filter(|l| l.starts_with(&prefix) && l.ends_with(" 1"))
            .count();
        assert_eq!(ones, 1, "{service}:\n{metrics}");
    }
    // The open incidents by severity are those the API lists as open (the web outage
    // above opened one). The target is down again, so one may open meanwhile: compare
    // a scrape with the lists read just before and after it, when they agree.
    let open_by_severity = || {
        let (status, body) = http(port, "GET", "/api/v1/incidents?status=open", "");
        assert_eq!(status, 200, "{body}");
        let open: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        (1..=4)
            .map(|severity| {
                open["incidents"]
                    .as_array()
                    .expect("incidents")
                    .iter()
                    .filter(|i| i["severity"] == severity)
                    .count()
            })
            .collect::<Vec<_>>()
    };
    let mut agreed = None;
    wait_for(
        "the open incidents to hold still around a scrape",
        60,
        || {
            let before = open_by_severity();
            let (_, scraped) = http(port, "GET", "/metrics", "");
            let after = open_by_severity();
            let stable = before == after;
            agreed = stable.then_some((after, scraped));
            stable
        },
    );
    let (listed, scraped) = agreed.expect("a scrape between equal lists");
    for (severity, n) in (1..=4).zip(listed) {
        let sample = format!("continuo_incidents_open{{severity=\"SEV{severity}\"}} {n}");
        assert!(
            scraped.lines().any(|line| line == sample),
            "no `{sample}` in:\n{scraped}"
        );
    }
    // The heartbeat's pings through the API: the finish carries its run time.
    let (status, body) = http(port, "GET", "/api/v1/checks/backup-job/pings", "");
    assert_eq!(status, 200, "{body}");
    let pings: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let kinds: Vec<&str> = pings["pings"]
        .as_array()
        .expect("pings")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["success", "fail", "success", "success", "start"],
        "{pings}"
    );
    assert_eq!(pings["pings"][1]["exit_code"], 2, "{pings}");
    assert_eq!(pings["pings"][1]["body"], "disk full", "{pings}");
    assert!(pings["pings"][3]["run_time_ms"].is_i64(), "{pings}");

    // `continuo status` shows the live state.
    let status_out = run_status(port);
    assert_eq!(status_out.status.code(), Some(0));
    let shown = String::from_utf8_lossy(&status_out.stdout);
    assert!(shown.contains("web-http"), "{shown}");
    assert!(shown.contains("backup-job"), "{shown}");

    // SIGTERM: graceful exit, buffered writes flushed to SQLite.
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exit = server.child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0));
    let _ = server.port;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = format!(
            "sqlite://{}",
            dir.path().join("state/continuo.db").display()
        );
        let store = continuo_store::Store::open(&url).await.expect("open store");
        let pings = store.pings("backup-job", 10).await.expect("pings");
        assert_eq!(pings.len(), 5, "{pings:?}");
        let finished = pings
            .iter()
            .find(|p| p.rid.as_deref() == Some("r1") && p.duration_ms.is_some())
            .expect("the start/finish pair has a duration");
        assert!(finished.duration_ms.is_some_and(|d| d >= 0));
        let observations = store.observations("web-http", 1000).await.expect("obs");
        // One success, two failures, two successes at least.
        assert!(observations.len() >= 5, "{}", observations.len());
        let transitions = store
            .transitions("web-http", 100)
            .await
            .expect("transitions");
        let path: Vec<_> = transitions.iter().map(|t| t.transition.to.name()).collect();
        assert!(path.contains(&"down"), "{path:?}");
        assert!(path.contains(&"up"), "{path:?}");
    });
}

#[test]
fn serve_refuses_an_invalid_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("continuo.toml"),
        "[[service]]\nid = \"x\"\ntier = 9\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["serve", "-c", "continuo.toml", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("LANG")
        .env_remove("CONTINUO_LANG")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid configuration; not starting"), "{err}");
    assert!(err.contains("continuo.toml:3:8"), "{err}");
}

#[test]
fn status_says_when_no_server_answers() {
    // A port that was free a moment ago; nothing listens there.
    let port = free_port();
    let out = run_status(port);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("nothing answers at http://127.0.0.1:{port}"))
            && err.contains("continuo serve"),
        "{err}"
    );
}

/// Starts a second `continuo serve` on the configuration in `dir` (another port) and
/// waits for it to end; `lang` is its `CONTINUO_LANG`.
fn second_serve(dir: &Path, lang: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["serve", "-c", "continuo.toml", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("RUST_LOG")
        .env("CONTINUO_LANG", lang)
        .env("CONTINUO_ADMIN_TOKEN", "s3cret")
        .stdout(Stdio::null())
        .output()
        .expect("the second continuo serve runs")
}

/// Regression test for issue 17, item 3: two servers on one SQLite database each paged
/// everything. A second `serve` now refuses to start, in the user's language, naming
/// the database, while the first goes on serving; once the first is gone (even by
/// `kill -9`, which leaves no chance to clean up) a new one starts.
#[test]
fn a_second_serve_on_the_same_sqlite_database_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("state")).expect("state dir");
    std::fs::write(
        dir.path().join("continuo.toml"),
        one_service("Lock Test", "web"),
    )
    .expect("write");
    let mut first = serve(dir.path());
    let database = dir.path().join("state/continuo.db");

    let out = second_serve(dir.path(), "en");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: another Continuo already serves the database"),
        "{err}"
    );
    assert!(err.contains(&database.display().to_string()), "{err}");
    assert!(err.contains("not starting"), "{err}");
    let out = second_serve(dir.path(), "nl");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fout: een andere Continuo bedient de database"),
        "{err}"
    );
    assert!(err.contains(&database.display().to_string()), "{err}");

    // The first one is untouched.
    let (status, _) = http(first.port, "GET", "/healthz", "");
    assert_eq!(status, 200);
    let (status, _) = http(first.port, "GET", "/api/v1/checks", "");
    assert_eq!(status, 200);

    // A crash leaves no stale lock: the next server starts.
    first.child.kill().expect("kill -9");
    first.child.wait().expect("wait");
    let next = serve(dir.path());
    let (status, _) = http(next.port, "GET", "/healthz", "");
    assert_eq!(status, 200);
}

/// promtool finds `metrics` valid Prometheus text; without promtool on the PATH the
/// check is skipped with one line (a failure in CI).
fn promtool_accepts(metrics: &str) {
    if common::skip_without(
        "the promtool check of /metrics",
        "promtool",
        "install Debian's prometheus (it brings promtool)",
    ) {
        return;
    }
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package `prometheus`) must be installed; .ci/run installs it");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(metrics.as_bytes())
        .expect("write metrics");
    let checked = promtool.wait_with_output().expect("promtool runs");
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
