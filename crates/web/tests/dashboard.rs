//! The dashboard's pages and forms over real sockets, without a browser: who may see
//! what, bad input answered with a clear page in the asker's language, and the live
//! stream's refusal of anonymous visitors. (`crates/continuo/tests/browser.rs` drives
//! the same pages in Chromium.)

mod common;

use common::engine_with_alerting;
use continuo_core::access::Role;
use continuo_core::load_text;
use continuo_engine::alerts::Alerting;
use continuo_engine::incidents::IncidentOptions;
use continuo_engine::{Engine, EngineOptions};
use continuo_store::Store;
use continuo_store::access::ApiToken;
use continuo_web::{AppState, credentials};
use reqwest::StatusCode;
use std::sync::Arc;
use tokio::net::TcpListener;

const ADMIN: &str = "admin-s3cret-token";

struct Server {
    base: String,
    client: reqwest::Client,
    store: Store,
    _dir: tempfile::TempDir,
    _engine: Engine,
    _alerting: Alerting,
}

const CONFIG: &str = "[organization]\nname = \"Dash Test\"\n\
     [[team]]\nid = \"ops\"\n\
     [[service]]\nid = \"db\"\nname = \"Orders database\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\n";

async fn start() -> Server {
    continuo_notify::install_crypto_provider();
    let catalog = Arc::new(load_text(CONFIG).expect("valid config"));
    let (engine, alerting) = engine_with_alerting(catalog, IncidentOptions::default()).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("continuo.db").display());
    let store = Store::open(&url).await.expect("open SQLite");
    let state = AppState {
        engine: engine.handle(),
        store: Some(store.clone()),
        reloader: None,
        admin_token: Some(ADMIN.into()),
        alerts: Some(alerting.handle()),
        gateways: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(continuo_web::serve(listener, state, std::future::pending()));
    Server {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        store,
        _dir: dir,
        _engine: engine,
        _alerting: alerting,
    }
}

impl Server {
    /// A request with the admin token (bearer: no CSRF token needed) and a language.
    async fn admin(
        &self,
        method: &str,
        path: &str,
        form: &str,
        lang: &str,
    ) -> (StatusCode, String) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .client
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .header("Accept-Language", lang)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .expect("request");
        (r.status(), r.text().await.unwrap_or_default())
    }
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_come_back() {
    let s = start().await;
    for (path, next) in [
        ("/", "%2F"),
        (
            "/incidents/INC-1?lang=nl",
            "%2Fincidents%2FINC-1%3Flang%3Dnl",
        ),
        ("/checks/x", "%2Fchecks%2Fx"),
    ] {
        let r = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        let location = r.headers()["location"].to_str().expect("location");
        assert_eq!(location, format!("/login?next={next}"), "{path}");
    }
    let r = s
        .client
        .get(format!("{}/events", s.base))
        .send()
        .await
        .expect("GET /events");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .client
        .post(format!("{}/incidents/INC-1/ack", s.base))
        .send()
        .await
        .expect("POST");
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a form post without a session"
    );
    let r = s
        .client
        .get(format!("{}/assets/dashboard.js", s.base))
        .send()
        .await
        .expect("script");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/javascript"))
    );
}

#[tokio::test]
async fn pages_render_in_both_languages_with_a_strict_policy() {
    let s = start().await;
    for (lang, words) in [
        (
            "en",
            [
                "Overview",
                "Services",
                "Orders database",
                "Maintenance windows",
            ],
        ),
        (
            "nl",
            [
                "Overzicht",
                "Diensten",
                "Orders database",
                "Onderhoudsvensters",
            ],
        ),
    ] {
        let r = s
            .client
            .get(format!("{}/", s.base))
            .bearer_auth(ADMIN)
            .header("Accept-Language", lang)
            .send()
            .await
            .expect("GET /");
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_string();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        let html = r.text().await.expect("body");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{html}");
        for w in words {
            assert!(html.contains(w), "{lang}: {w} in {html}");
        }
    }
    // `?lang=` wins over Accept-Language and is kept in a cookie.
    let r = s
        .client
        .get(format!("{}/incidents?lang=nl", s.base))
        .bearer_auth(ADMIN)
        .header("Accept-Language", "en")
        .send()
        .await
        .expect("GET");
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .is_ok_and(|c| c.starts_with("continuo_lang=nl"))
    );
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("Incidenten (laatste 90 dagen)")
    );
}

/// Bad input gets a page that says what is wrong, in the asker's language; never a panic.
#[tokio::test]
async fn bad_form_input_is_answered_clearly() {
    let s = start().await;
    let cases: [(&str, &str, &str, StatusCode, &str); 8] = [
        (
            "/incidents/INC-9/ack",
            "",
            "en",
            StatusCode::NOT_FOUND,
            "no incident with id `INC-9`",
        ),
        (
            "/incidents/INC-9/note",
            "text=",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "The note is empty.",
        ),
        (
            "/incidents/INC-9/update",
            "status=broken",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "not `broken`",
        ),
        (
            "/incidents/INC-9/update",
            "",
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Schrijf een bericht of kies een status.",
        ),
        (
            "/maintenance",
            "title=Upgrade",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`services` must name at least one service",
        ),
        (
            "/maintenance",
            "title=Upgrade&services=nope",
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Het venster is niet geldig",
        ),
        (
            "/maintenance",
            "title=Upgrade&services=db&duration=soon",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`duration`",
        ),
        (
            "/outbox/requeue",
            "key=k",
            "en",
            StatusCode::NOT_FOUND,
            "No dead-lettered notification with key `k`.",
        ),
    ];
    for (path, form, lang, status, message) in cases {
        let (got, html) = s.admin("POST", path, form, lang).await;
        assert_eq!(got, status, "{path} {form}: {html}");
        assert!(html.contains(message), "{path} {form}: {message} in {html}");
        assert!(html.contains("role=\"alert\""), "{html}");
    }
    let (got, html) = s.admin("GET", "/incidents/INC-404", "", "nl").await;
    assert_eq!(got, StatusCode::NOT_FOUND);
    assert!(html.contains("Geen incident `INC-404`."), "{html}");
}

#[tokio::test]
async fn forms_act_like_the_api() {
    let s = start().await;
    let declared = s
        .client
        .post(format!("{}/api/v1/incidents", s.base))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"title": "Orders lost", "services": ["db"]}))
        .send()
        .await
        .expect("declare");
    assert_eq!(declared.status(), StatusCode::CREATED);
    for (path, form) in [
        ("/incidents/INC-1/ack", ""),
        (
            "/incidents/INC-1/update",
            "status=identified&audience=internal&message=Disk+full",
        ),
        ("/incidents/INC-1/note", "text=Vendor+called"),
        ("/incidents/INC-1/resolve", "message=Fixed"),
        ("/maintenance", "title=Upgrade&services=db&duration=2h"),
    ] {
        let (status, body) = s.admin("POST", path, form, "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}: {body}");
    }
    let (_, html) = s.admin("GET", "/incidents/INC-1", "", "en").await;
    for seen in ["Disk full", "Vendor called", "Fixed", "Resolved"] {
        assert!(html.contains(seen), "{seen} in {html}");
    }
    let (_, html) = s.admin("GET", "/", "", "en").await;
    assert!(
        html.contains("Upgrade") && html.contains("End now"),
        "{html}"
    );
    let id = html
        .split("action=\"/maintenance/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("window id")
        .to_string();
    let (status, _) = s
        .admin("POST", &format!("/maintenance/{id}/end"), "", "en")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

async fn add_token(store: &Store, name: &str, role: Role) -> String {
    let made = credentials::new_api_token().expect("token");
    let token = ApiToken {
        id: made.id,
        name: name.into(),
        role,
        secret_hash: made.secret_hash,
        created_by: "test".into(),
        created_ms: 0,
        last_used_ms: None,
        revoked_ms: None,
    };
    assert!(store.add_token(&token).await.expect("add token"));
    made.token
}

/// A viewer reads but does not act: no forms, and a refused post says why in a page.
#[tokio::test]
async fn a_viewer_sees_no_forms_and_is_told_why_a_post_is_refused() {
    let s = start().await;
    let viewer = add_token(&s.store, "wall-screen", Role::Viewer).await;
    let page = s
        .client
        .get(format!("{}/", s.base))
        .bearer_auth(&viewer)
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("body");
    assert!(!page.contains("action=\"/maintenance\""), "{page}");
    assert!(page.contains("The outbox is shown to admins."), "{page}");
    for (lang, message) in [
        (
            "en",
            "this needs the responder role; wall-screen has the viewer role",
        ),
        ("nl", "hiervoor is de rol"),
    ] {
        let r = s
            .client
            .post(format!("{}/maintenance", s.base))
            .bearer_auth(&viewer)
            .header("Accept-Language", lang)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("title=x&services=db")
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let html = r.text().await.expect("body");
        assert!(
            html.contains(message) && html.contains("role=\"alert\""),
            "{html}"
        );
    }
}

/// Regression guard: an open dashboard's event stream must not hold up a graceful
/// shutdown (the stream would otherwise never end).
#[tokio::test]
async fn an_open_event_stream_does_not_hold_up_shutdown() {
    continuo_notify::install_crypto_provider();
    let catalog = Arc::new(load_text(CONFIG).expect("valid config"));
    let engine = Engine::start(catalog, EngineOptions::new("here", "."), None);
    let state = AppState {
        engine: engine.handle(),
        store: None,
        reloader: None,
        admin_token: Some(ADMIN.into()),
        alerts: None,
        gateways: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(continuo_web::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let mut stream = reqwest::Client::new()
        .get(format!("{base}/events"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("GET /events");
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/event-stream"))
    );
    stop.send(()).expect("stop");
    // The stream ends (no more chunks), and the server returns. The bound only turns a
    // hang into a failure; it measures nothing.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Ok(Some(_)) = stream.chunk().await {}
        server.await
    })
    .await
    .expect("the event stream ended and the server shut down");
    ended.expect("server task").expect("served until shutdown");
}
