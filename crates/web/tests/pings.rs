//! A heartbeat's pings as operators read them (issue 17, item 3): `GET
//! /api/v1/checks/{id}/pings` and the check's dashboard page give each ping's time,
//! kind, exit status, body as stored (and whether it was cut), and for a finished run
//! its run time from the matching `/start`, over real sockets with pings sent through
//! the public ping API and stored in SQLite.

use continuo_core::access::Role;
use continuo_core::load_text;
use continuo_engine::{Engine, EngineOptions};
use continuo_store::Store;
use continuo_store::access::ApiToken;
use continuo_store::writer::{Writer, WriterConfig};
use continuo_web::{AppState, credentials};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

const ADMIN: &str = "admin-s3cret-token";
const UUID: &str = "5b0c7e4a-1d2f-4e6a-9b8c-0d1e2f3a4b5c";
/// Small, so a long body is cut.
const BODY_LIMIT: usize = 64;

const CONFIG: &str = r#"
[organization]
name = "Ping Test"
timezone = "UTC"

[[team]]
id = "ops"

[[service]]
id = "backup"
tier = 3
owner = "ops"
rto = "1d"

[[service.check]]
id = "backup-job"
kind = "heartbeat"
uuid = "5b0c7e4a-1d2f-4e6a-9b8c-0d1e2f3a4b5c"
period = "1h"
grace = "10m"

[[service.check]]
id = "backup-port"
kind = "tcp"
target = "127.0.0.1:9"
interval = "1h"
"#;

struct Server {
    base: String,
    client: reqwest::Client,
    viewer: String,
    _dir: tempfile::TempDir,
    _engine: Engine,
}

async fn start() -> Server {
    continuo_notify::install_crypto_provider();
    let catalog = Arc::new(load_text(CONFIG).expect("valid config"));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("continuo.db").display());
    let store = Store::open(&url).await.expect("open SQLite");
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    let mut options = EngineOptions::new("here", ".");
    options.ping_body_limit = BODY_LIMIT;
    let engine = Engine::start(catalog, options, Some(writer));
    let made = credentials::new_api_token().expect("token");
    let token = ApiToken {
        id: made.id,
        name: "reader".into(),
        role: Role::Viewer,
        secret_hash: made.secret_hash,
        created_by: "test".into(),
        created_ms: 0,
        last_used_ms: None,
        revoked_ms: None,
    };
    assert!(store.add_token(&token).await.expect("add token"));
    let state = AppState {
        engine: engine.handle(),
        store: Some(store),
        reloader: None,
        admin_token: Some(ADMIN.into()),
        alerts: None,
        gateways: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        axum::serve(
            listener,
            continuo_web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Server {
        base,
        client: reqwest::Client::new(),
        viewer: made.token,
        _dir: dir,
        _engine: engine,
    }
}

impl Server {
    /// Sends a ping (`suffix` after the uuid) with `body`; it is stored when answered 200.
    async fn ping(&self, suffix: &str, body: &str) {
        let r = self
            .client
            .post(format!("{}/ping/{UUID}{suffix}", self.base))
            .body(body.to_string())
            .send()
            .await
            .expect("ping");
        assert_eq!(r.status(), StatusCode::OK, "ping {suffix}");
    }

    /// A GET as the viewer: status and body.
    async fn get(&self, path: &str, lang: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.viewer)
            .header("Accept-Language", lang)
            .send()
            .await
            .expect("GET");
        (r.status(), r.text().await.expect("body"))
    }

    async fn pings(&self) -> Value {
        let (status, body) = self.get("/api/v1/checks/backup-job/pings", "en").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).expect("JSON")
    }
}

/// The pings of one job's life: a run with a start and a finish, a log line, a failure
/// by exit status, a body too long to keep whole.
async fn send_a_jobs_pings(server: &Server) {
    server.ping("/start?rid=run-1", "").await;
    server.ping("/log?rid=run-1", "step 2 of 3: copying").await;
    server.ping("?rid=run-1", "backup done: 3 GB").await;
    server.ping("/3", "disk full").await;
    server.ping("/fail", &"x".repeat(200)).await;
}

#[tokio::test]
async fn the_api_lists_each_ping_with_its_kind_body_and_run_time() {
    let server = start().await;
    send_a_jobs_pings(&server).await;
    let answer = server.pings().await;
    assert_eq!(answer["check"], "backup-job");
    assert_eq!(answer["body_limit"], BODY_LIMIT);
    let pings = answer["pings"].as_array().expect("pings");
    let kinds: Vec<&str> = pings
        .iter()
        .map(|p| p["kind"].as_str().unwrap_or("?"))
        .collect();
    // Newest first.
    assert_eq!(
        kinds,
        ["fail", "fail", "success", "log", "start"],
        "{answer}"
    );

    let (cut, exit, finish, log, start) = (&pings[0], &pings[1], &pings[2], &pings[3], &pings[4]);
    assert_eq!(
        cut["body"].as_str().map(str::len),
        Some(BODY_LIMIT),
        "{cut}"
    );
    assert_eq!(cut["body_truncated"], true, "{cut}");
    assert_eq!(cut["exit_code"], Value::Null);

    assert_eq!(exit["exit_code"], 3, "{exit}");
    assert_eq!(exit["body"], "disk full");
    assert_eq!(exit["body_truncated"], false);
    assert_eq!(
        exit["run_time_ms"],
        Value::Null,
        "no /start before it: {exit}"
    );

    assert_eq!(log["body"], "step 2 of 3: copying");
    assert_eq!(log["rid"], "run-1");
    assert_eq!(log["run_time_ms"], Value::Null);

    // The finish is paired with its start: its run began when the start arrived.
    assert_eq!(finish["body"], "backup done: 3 GB");
    assert_eq!(finish["rid"], "run-1");
    let run_time = finish["run_time_ms"].as_i64().expect("a run time");
    assert!(run_time >= 0, "{finish}");
    assert_eq!(finish["started_ms"], start["at_ms"], "{answer}");
    assert_eq!(
        finish["at_ms"].as_i64().expect("at") - run_time,
        start["at_ms"].as_i64().expect("at")
    );
    assert_eq!(start["body"], "");
    assert_eq!(start["body_truncated"], false);
    assert_eq!(start["source"], "127.0.0.1");

    // At most `limit`, the newest.
    let (status, body) = server
        .get("/api/v1/checks/backup-job/pings?limit=2", "en")
        .await;
    assert_eq!(status, StatusCode::OK);
    let two: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(two["pings"].as_array().map(Vec::len), Some(2));
    assert_eq!(two["pings"][1]["exit_code"], 3);
}

#[tokio::test]
async fn the_api_refuses_what_has_no_pings_clearly() {
    let server = start().await;
    for (path, lang, status, words) in [
        (
            "/api/v1/checks/nope/pings",
            "en",
            StatusCode::NOT_FOUND,
            "no check `nope`",
        ),
        (
            "/api/v1/checks/backup-port/pings",
            "en",
            StatusCode::NOT_FOUND,
            "is a tcp check, not a heartbeat",
        ),
        (
            "/api/v1/checks/backup-port/pings",
            "nl",
            StatusCode::NOT_FOUND,
            "geen heartbeat",
        ),
        (
            "/api/v1/checks/backup-job/pings?limit=0",
            "en",
            StatusCode::BAD_REQUEST,
            "`limit` must be a number from 1 to 10000",
        ),
    ] {
        let (got, body) = server.get(path, lang).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(words), "{path}: {body}");
    }
    // Without a role: nothing.
    let r = server
        .client
        .get(format!("{}/api/v1/checks/backup-job/pings", server.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_check_page_shows_the_pings_and_calls_a_runs_duration_its_run_time() {
    let server = start().await;
    send_a_jobs_pings(&server).await;
    let (status, page) = server.get("/checks/backup-job", "en").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for words in [
        "Recent pings",
        "Run time",
        "Exit code",
        "backup done: 3 GB",
        "step 2 of 3: copying",
        "disk full",
        "<td>3</td>",
        "(cut at the limit)",
        "ping-start",
        "ping-success",
        "ping-fail",
        "ping-log",
    ] {
        assert!(page.contains(words), "no {words:?} in:\n{page}");
    }
    // A run's duration is not a latency.
    assert!(!page.contains("Latency"), "{page}");
    assert!(!page.contains("latency"), "{page}");

    let (status, page) = server.get("/checks/backup-job", "nl").await;
    assert_eq!(status, StatusCode::OK);
    for words in [
        "Recente pings",
        "Looptijd",
        "Afsluitcode",
        "gelukt",
        "mislukt",
        "(afgekapt op de grens)",
    ] {
        assert!(page.contains(words), "no {words:?} in:\n{page}");
    }
    assert!(!page.contains("atentie"), "{page}");

    // An active check still shows latency, and no pings section.
    let (status, page) = server.get("/checks/backup-port", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Recent pings"), "{page}");
}
