//! Sign-in, roles, API tokens, CSRF, rate limits, body limits and the audit log, through
//! the real router over real sockets on 127.0.0.1, with a cookie-keeping client as a
//! browser would be. The cases that touch the store run on SQLite and on the local
//! PostgreSQL (`postgres://postgres@127.0.0.1:5432/test`, a schema per test), through the
//! store's shared harness (`continuo_store::testing`).
//!
//! No timing thresholds: rate limits are set to refill once an hour where a test counts
//! on them, and idle sessions are made idle by moving their last use back in the store.

mod common;

use common::{engine_with_alerting, serve_router};
use continuo_core::access::Role;
use continuo_core::load_text;
use continuo_engine::Engine;
use continuo_engine::alerts::Alerting;
use continuo_engine::incidents::IncidentOptions;
use continuo_store::access::{ApiToken, User};
use continuo_store::testing::TestDb;
use continuo_store::{Store, backends};
use continuo_web::{AppState, Limits, credentials, quota};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin-s3cret-token";
const PASSWORD: &str = "correct horse battery";
const EVIL: &str = "http://evil.example";

backends!(
    sign_in_acts_with_the_users_role_and_signs_out,
    a_forged_cross_site_form_post_is_refused,
    api_tokens_carry_their_role_and_stop_when_revoked,
    sessions_end_when_idle_or_when_the_password_changes,
);

struct Server {
    base: String,
    store: Store,
    _engine: Engine,
    _alerting: Alerting,
}

const CONFIG: &str = "[[team]]\nid = \"ops\"\n\
     [[service]]\nid = \"db\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\n";

/// The router on 127.0.0.1 with alerting, the given store and sign-in limits.
async fn start_with(store: Store, server_toml: &str, limits: Limits) -> Server {
    continuo_notify::install_crypto_provider();
    let catalog =
        Arc::new(load_text(&format!("[server]\n{server_toml}\n{CONFIG}")).expect("valid config"));
    let (engine, alerting) = engine_with_alerting(catalog, IncidentOptions::default()).await;
    let state = AppState {
        engine: engine.handle(),
        store: Some(store.clone()),
        reloader: None,
        admin_token: Some(ADMIN.into()),
        alerts: Some(alerting.handle()),
        gateways: None,
    };
    let base = serve_router(continuo_web::router_with(state, limits)).await;
    Server {
        base,
        store,
        _engine: engine,
        _alerting: alerting,
    }
}

async fn start(db: &TestDb) -> Server {
    start_with(db.store.clone(), "", Limits::default()).await
}

async fn add_user(store: &Store, name: &str, role: Role) {
    let hash = credentials::hash_password(PASSWORD).expect("hash");
    let user = User {
        name: name.into(),
        role,
        password_hash: hash,
        created_ms: 0,
        updated_ms: 0,
    };
    assert!(store.add_user(&user).await.expect("add user"));
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

/// A browser: keeps cookies, does not follow redirects, sends the Origin it is told.
struct Browser {
    client: reqwest::Client,
    base: String,
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

impl Browser {
    fn new(server: &Server) -> Browser {
        Browser::from_address(server, "127.0.0.1")
    }

    /// A browser whose requests come from `ip` (a loopback address).
    fn from_address(server: &Server, ip: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .local_address(ip.parse::<std::net::IpAddr>().expect("address"))
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            base: server.base.clone(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        (r.status(), r.text().await.expect("body"))
    }

    /// The sign-in form's CSRF token, from the page as a browser would read it.
    async fn login_form(&self) -> String {
        let (status, html) = self.get("/login").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        hidden(&html, "csrf").expect("the form has a csrf field")
    }

    async fn post_form(
        &self,
        path: &str,
        origin: Option<&str>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        if let Some(o) = origin {
            request = request.header("Origin", o);
        }
        request.send().await.expect("POST")
    }

    async fn sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        let csrf = self.login_form().await;
        self.post_form(
            "/login",
            Some(&self.base.clone()),
            &[("user", user), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    /// The session's CSRF token, as the signed-in page shows it.
    async fn session_csrf(&self) -> String {
        let (_, html) = self.get("/login").await;
        hidden(&html, "csrf").expect("signed in: the sign-out form has a csrf field")
    }

    /// A JSON call the way the dashboard's scripts will make it: same origin, CSRF
    /// token in a header.
    async fn post_json(&self, path: &str, body: &Value, csrf: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .json(body);
        if let Some(c) = csrf {
            request = request.header("X-CSRF-Token", c);
        }
        let r = request.send().await.expect("POST");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

async fn api(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{}{path}", server.base));
    if let Some(t) = bearer {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.json(&b);
    }
    let r = request.send().await.expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn audit(server: &Server) -> Vec<Value> {
    let (status, body) = api(
        server,
        reqwest::Method::GET,
        "/api/v1/audit",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["entries"].as_array().cloned().unwrap_or_default()
}

fn window() -> Value {
    json!({ "title": "Disk swap", "services": ["db"], "duration": "2h" })
}

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

async fn sign_in_acts_with_the_users_role_and_signs_out(db: &TestDb) {
    let server = start(db).await;
    add_user(&server.store, "vera", Role::Viewer).await;
    add_user(&server.store, "rob", Role::Responder).await;

    // Not signed in: private reads are refused.
    let anonymous = Browser::new(&server);
    let (status, _) = anonymous.get("/api/v1/alerts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A viewer signs in: the session cookie is HttpOnly, SameSite, not Secure over http.
    let vera = Browser::new(&server);
    let r = vera.sign_in("Vera", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = cookies(r.headers());
    let session = set
        .iter()
        .find(|c| c.starts_with("continuo_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http: {session}");
    let (status, _) = vera.get("/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = vera.get("/login").await;
    assert!(page.contains("Signed in as vera (viewer)"), "{page}");
    // ... but may not act.
    let csrf = vera.session_csrf().await;
    let (status, body) = vera
        .post_json("/api/v1/maintenance", &window(), Some(&csrf))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("needs the responder role")),
        "{body}"
    );

    // A responder may, and the window is created in their name.
    let rob = Browser::new(&server);
    assert_eq!(
        rob.sign_in("rob", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let csrf = rob.session_csrf().await;
    let (status, body) = rob
        .post_json("/api/v1/maintenance", &window(), Some(&csrf))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("window id").to_string();
    // ... but not an admin's outbox.
    let (status, _) = rob.get("/api/v1/outbox").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Sign out: the same cookie no longer works.
    let r = rob
        .post_form("/logout", Some(&server.base), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = rob.get("/api/v1/alerts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A wrong password is refused with the same words as an unknown user.
    let mallory = Browser::new(&server);
    let wrong = mallory.sign_in("rob", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_text = wrong.text().await.expect("page");
    let unknown = mallory.sign_in("nobody", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong_text.contains("Wrong user name or password."));
    assert!(
        unknown
            .text()
            .await
            .expect("page")
            .contains("Wrong user name or password.")
    );

    // Everything is in the audit log: who, role, what, target, from where.
    let entries = audit(&server).await;
    let find = |action: &str, actor: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action && e["actor"] == actor)
            .unwrap_or_else(|| panic!("no {action} by {actor} in {entries:#?}"))
            .clone()
    };
    let created = find("maintenance.create", "user:rob");
    assert_eq!(
        (
            created["role"].as_str(),
            created["outcome"].as_i64(),
            created["address"].as_str()
        ),
        (Some("responder"), Some(201), Some("127.0.0.1"))
    );
    assert_eq!(find("maintenance.create", "user:vera")["outcome"], 403);
    assert_eq!(find("session.sign_in", "user:vera")["role"], "viewer");
    find("session.sign_out", "user:rob");
    assert_eq!(find("session.sign_in_failed", "user:rob")["outcome"], 401);
    find("session.sign_in_failed", "user:nobody");
    // Ending the window by API token shows up under the token's name.
    let token = add_token(&server.store, "maint-bot", Role::Responder).await;
    let (status, _) = api(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/maintenance/{id}/end"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let entries = audit(&server).await;
    assert!(
        entries.iter().any(|e| e["action"] == "maintenance.end"
            && e["actor"] == "token:maint-bot"
            && e["target"] == format!("/api/v1/maintenance/{id}/end")),
        "{entries:#?}"
    );
}

async fn a_forged_cross_site_form_post_is_refused(db: &TestDb) {
    let server = start(db).await;
    add_user(&server.store, "rob", Role::Responder).await;
    let rob = Browser::new(&server);
    assert_eq!(
        rob.sign_in("rob", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let csrf = rob.session_csrf().await;

    // A page on another site posts a form to us; the browser attaches rob's cookie (as
    // one that ignores SameSite would). Refused, whether or not it guessed a token.
    for (origin, fields) in [
        (Some(EVIL), vec![]),
        (Some(EVIL), vec![("csrf", "0".repeat(64))]),
        (Some(EVIL), vec![("csrf", csrf.clone())]),
        // Our own origin but no token, or another session's token.
        (Some(server.base.as_str()), vec![]),
        (
            Some(server.base.as_str()),
            vec![("csrf", credentials::csrf_token("another session"))],
        ),
        // Neither Origin nor Referer.
        (None, vec![("csrf", csrf.clone())]),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for path in ["/api/v1/maintenance", "/logout"] {
            let r = rob.post_form(path, origin, &fields).await;
            assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "{path} from {origin:?} with {fields:?}"
            );
        }
    }
    // Still signed in: nothing above signed rob out or changed anything.
    let (status, body) = rob.get("/api/v1/maintenance").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.matches("Disk swap").count(), 0);
    // A JSON call from another origin, even with the right token, is refused too.
    let r = rob
        .client
        .post(format!("{}/api/v1/maintenance", server.base))
        .header("Origin", EVIL)
        .header("X-CSRF-Token", &csrf)
        .json(&window())
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The sign-in form itself needs its token and our origin.
    let csrf_login = Browser::new(&server).login_form().await;
    let stranger = Browser::new(&server);
    let r = stranger
        .post_form(
            "/login",
            Some(EVIL),
            &[
                ("user", "rob"),
                ("password", PASSWORD),
                ("csrf", &csrf_login),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        cookies(r.headers())
            .iter()
            .all(|c| !c.starts_with("continuo_session="))
    );
    // The refused forgeries are in the audit log, under the user whose cookie they rode.
    let refused = audit(&server)
        .await
        .into_iter()
        .filter(|e| e["actor"] == "user:rob" && e["outcome"] == 403)
        .count();
    assert_eq!(
        refused, 13,
        "six forged form posts to two paths, one forged JSON call"
    );
    // The real form, from our page, works: signing out.
    let r = rob
        .post_form("/logout", Some(&server.base), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn api_tokens_carry_their_role_and_stop_when_revoked(db: &TestDb) {
    let server = start(db).await;
    let viewer = add_token(&server.store, "grafana", Role::Viewer).await;
    let responder = add_token(&server.store, "pager-bot", Role::Responder).await;
    let admin = add_token(&server.store, "ops-admin", Role::Admin).await;
    use reqwest::Method;

    let (status, body) = api(
        &server,
        Method::GET,
        "/api/v1/services",
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["services"].is_array());
    let (status, _) = api(
        &server,
        Method::POST,
        "/api/v1/alerts/nope/ack",
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A responder passes the role check (the alert does not exist: 404).
    let (status, _) = api(
        &server,
        Method::POST,
        "/api/v1/alerts/nope/ack",
        Some(&responder),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api(
        &server,
        Method::POST,
        "/api/v1/outbox/retry?key=k",
        Some(&responder),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for token in [admin.as_str(), ADMIN] {
        let (status, body) = api(
            &server,
            Method::POST,
            "/api/v1/outbox/retry?key=k",
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    let (status, _) = api(
        &server,
        Method::GET,
        "/api/v1/audit",
        Some(&responder),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A token with one character changed, a made-up one, and a revoked one are refused.
    let mut tampered = responder.clone();
    let last = if tampered.ends_with('0') { "1" } else { "0" };
    tampered.replace_range(tampered.len() - 1.., last);
    assert!(
        server
            .store
            .revoke_token("grafana", 1)
            .await
            .expect("revoke")
    );
    for bad in [tampered.as_str(), "continuo_nonsense", viewer.as_str(), "x"] {
        let (status, body) = api(&server, Method::GET, "/api/v1/checks", Some(bad), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("not valid"))
        );
    }
    // Use is recorded.
    let tokens = server.store.tokens().await.expect("tokens");
    let used = tokens
        .iter()
        .find(|t| t.name == "pager-bot")
        .expect("token");
    assert!(used.last_used_ms.is_some() || tokio_yield_until_used(&server.store).await);
}

/// The last-use update runs beside the request; wait for it (bounded).
async fn tokio_yield_until_used(store: &Store) -> bool {
    for _ in 0..200 {
        let tokens = store.tokens().await.expect("tokens");
        if tokens
            .iter()
            .any(|t| t.name == "pager-bot" && t.last_used_ms.is_some())
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn sessions_end_when_idle_or_when_the_password_changes(db: &TestDb) {
    let server = start(db).await;
    add_user(&server.store, "rob", Role::Responder).await;
    let sign_in = async |password: &str| {
        let b = Browser::new(&server);
        let r = b.sign_in("rob", password).await;
        let cookie = cookies(r.headers())
            .into_iter()
            .find_map(|c| {
                c.strip_prefix("continuo_session=")
                    .and_then(|v| v.split(';').next())
                    .map(str::to_string)
            })
            .expect("session cookie");
        (b, cookie)
    };
    // Idle longer than `session_idle` (1 h by default): moved back in the store.
    let (b, cookie) = sign_in(PASSWORD).await;
    assert_eq!(b.get("/api/v1/alerts").await.0, StatusCode::OK);
    let hash = credentials::sha256_hex(cookie.as_bytes());
    server
        .store
        .touch_session(&hash, 0)
        .await
        .expect("move back");
    let (status, body) = b.get("/api/v1/alerts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("session has ended"), "{body}");
    assert_eq!(server.store.session(&hash).await.expect("read"), None);
    // Signing out of an ended session just forgets the cookie.
    let r = b
        .post_form("/logout", Some(&server.base), &[("csrf", "stale")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        cookies(r.headers())
            .iter()
            .any(|c| c.starts_with("continuo_session=;") && c.contains("Max-Age=0")),
        "{:?}",
        cookies(r.headers())
    );

    // A new password ends every session of the user, and the old one stops working.
    let (first, _) = sign_in(PASSWORD).await;
    let (second, _) = sign_in(PASSWORD).await;
    assert_eq!(first.get("/api/v1/alerts").await.0, StatusCode::OK);
    let new_password = "a brand new password";
    let hash = credentials::hash_password(new_password).expect("hash");
    server
        .store
        .set_password("rob", &hash, 1)
        .await
        .expect("passwd");
    for b in [&first, &second] {
        assert_eq!(b.get("/api/v1/alerts").await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        Browser::new(&server)
            .sign_in("rob", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Removing the user ends their sessions too.
    let (b, _) = sign_in(new_password).await;
    assert_eq!(b.get("/api/v1/alerts").await.0, StatusCode::OK);
    assert!(server.store.remove_user("rob").await.expect("remove"));
    assert_eq!(b.get("/api/v1/alerts").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn private_reads_need_a_role_and_public_endpoints_do_not() {
    let db = TestDb::sqlite().await;
    let server = start(&db).await;
    use reqwest::Method;
    for path in [
        "/api/v1/services",
        "/api/v1/checks",
        "/api/v1/checks/x",
        "/api/v1/alerts",
        "/api/v1/oncall",
        "/api/v1/maintenance",
        "/api/v1/outbox",
        "/api/v1/audit",
    ] {
        let (status, body) = api(&server, Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains("/login")),
            "{body}"
        );
    }
    for path in [
        "/api/v1/reload",
        "/api/v1/maintenance",
        "/api/v1/alerts/a/ack",
        "/api/v1/alerts/a/resolve",
        "/api/v1/maintenance/m/end",
        "/api/v1/outbox/retry?key=k",
    ] {
        let (status, _) = api(&server, Method::POST, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Public endpoints answer as they always did.
    let client = reqwest::Client::new();
    for (path, expected) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/metrics", 200),
        ("/ping/4f2c1a9e-0000-4000-8000-000000000000", 404),
    ] {
        let r = client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status().as_u16(), expected, "{path}");
    }
    // A Dutch browser gets Dutch errors.
    let r = client
        .get(format!("{}/api/v1/alerts", server.base))
        .header("Accept-Language", "nl-NL,nl;q=0.9")
        .send()
        .await
        .expect("GET");
    let body: Value = r.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("log in op /login")),
        "{body}"
    );
    db.finish().await;
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_user_and_per_address() {
    let db = TestDb::sqlite().await;
    let hour = Duration::from_secs(3_600);
    let limits = Limits {
        sign_in_per_address: quota(hour, 6),
        sign_in_per_pair: quota(hour, 3),
        ..Limits::default()
    };
    let server = start_with(db.store.clone(), "", limits).await;
    add_user(&server.store, "anna", Role::Viewer).await;
    add_user(&server.store, "bram", Role::Viewer).await;
    let b = Browser::new(&server);
    for _ in 0..3 {
        assert_eq!(
            b.sign_in("anna", "wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The fourth try for anna is refused before the password is even looked at.
    let r = b.sign_in("anna", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert!(
        r.text()
            .await
            .expect("page")
            .contains("Too many sign-in attempts for this user")
    );
    // Another user is not locked out by anna's attempts ...
    assert_eq!(
        b.sign_in("bram", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    // ... until this address has used its six attempts (another browser, same address).
    let b = Browser::new(&server);
    assert_eq!(
        b.sign_in("bram", "wrong password!").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = b.sign_in("bram", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.expect("page").contains("from your address"));
    db.finish().await;
}

/// Issue 16, failure 6: six wrong passwords from one address locked the user out from
/// everywhere. Now the (address, user) pair is throttled, and the right password from
/// another address still signs in.
#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_lock_the_user_out_of_another() {
    let db = TestDb::sqlite().await;
    let server = start_with(db.store.clone(), "", Limits::default()).await;
    add_user(&server.store, "anna", Role::Admin).await;
    let stranger = Browser::from_address(&server, "127.0.0.1");
    for _ in 0..6 {
        assert_eq!(
            stranger.sign_in("anna", "wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The stranger's address is throttled for anna, even with the right password ...
    let r = stranger.sign_in("anna", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    // ... and anna, from her own address, signs in at once.
    let anna = Browser::from_address(&server, "127.0.0.2");
    assert_eq!(
        anna.sign_in("anna", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    db.finish().await;
}

/// The per-user backstop: once a user's failures from everywhere use up its budget,
/// addresses that failed for the user are refused; an address that did not fail is not.
#[tokio::test]
async fn the_per_user_backstop_refuses_only_addresses_that_failed() {
    let db = TestDb::sqlite().await;
    let hour = Duration::from_secs(3_600);
    let limits = Limits {
        sign_in_per_user: quota(hour, 3),
        ..Limits::default()
    };
    let server = start_with(db.store.clone(), "", limits).await;
    add_user(&server.store, "anna", Role::Viewer).await;
    // Four failures spread over two addresses use up anna's budget of three.
    let first = Browser::from_address(&server, "127.0.0.3");
    let second = Browser::from_address(&server, "127.0.0.4");
    for b in [&first, &second, &first, &second] {
        assert_eq!(
            b.sign_in("anna", "wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    for b in [&first, &second] {
        let r = b.sign_in("anna", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            r.text()
                .await
                .expect("page")
                .contains("Too many sign-in attempts for this user")
        );
    }
    // An address with no failures for anna signs in.
    let good = Browser::from_address(&server, "127.0.0.5");
    assert_eq!(
        good.sign_in("anna", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    db.finish().await;
}

#[tokio::test]
async fn public_endpoints_are_rate_limited_per_address() {
    let db = TestDb::sqlite().await;
    // One request a second, bursts of ten.
    let server = start_with(db.store.clone(), "public_rate_limit = 1", Limits::default()).await;
    let client = reqwest::Client::new();
    let ping = format!("{}/ping/4f2c1a9e-0000-4000-8000-000000000000", server.base);
    let mut statuses = Vec::new();
    // Far more requests than the burst; bounded however slow the machine is.
    for _ in 0..200 {
        let status = client.post(&ping).send().await.expect("ping").status();
        statuses.push(status.as_u16());
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(&statuses[..10], &[404; 10], "the burst passes");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Private and operational endpoints are not counted against it.
    assert_eq!(
        client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("GET")
            .status(),
        StatusCode::OK
    );
    db.finish().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let db = TestDb::sqlite().await;
    let server = start(&db).await;
    let client = reqwest::Client::new();
    let big_form = format!("user=anna&password={}", "x".repeat(20 * 1024));
    let r = client
        .post(format!("{}/login", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("Origin", &server.base)
        .body(big_form)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let big_json = json!({ "title": "x".repeat(2 << 20), "services": ["db"], "duration": "1h" });
    let r = client
        .post(format!("{}/api/v1/maintenance", server.base))
        .bearer_auth(ADMIN)
        .json(&big_json)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    db.finish().await;
}

#[tokio::test]
async fn the_sign_in_page_speaks_dutch_and_english_and_marks_cookies_secure_behind_https() {
    let db = TestDb::sqlite().await;
    let server = start_with(
        db.store.clone(),
        "trusted_proxies = [\"127.0.0.1\"]",
        Limits::default(),
    )
    .await;
    let client = reqwest::Client::new();
    let get = async |lang_header: Option<&str>, query: &str, proto: Option<&str>| {
        let mut request = client.get(format!("{}/login{query}", server.base));
        if let Some(l) = lang_header {
            request = request.header("Accept-Language", l);
        }
        if let Some(p) = proto {
            request = request.header("X-Forwarded-Proto", p);
        }
        let r = request.send().await.expect("GET");
        let set = cookies(r.headers());
        let csp = r
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (r.text().await.expect("page"), set, csp)
    };
    let (nl, _, csp) = get(Some("nl-BE,nl;q=0.9,en;q=0.5"), "", None).await;
    assert!(
        nl.contains("<html lang=\"nl\">") && nl.contains("Wachtwoord"),
        "{nl}"
    );
    assert!(nl.contains("hreflang=\"en\""), "a switch to English");
    assert!(
        csp.contains("default-src 'none'"),
        "no external assets: {csp}"
    );
    let (en, set, _) = get(Some("nl"), "?lang=en", None).await;
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Password"),
        "{en}"
    );
    assert!(set.iter().all(|c| !c.contains("Secure")), "{set:?}");
    // Behind a trusted proxy that terminated TLS, cookies are Secure.
    let (_, set, _) = get(None, "", Some("https")).await;
    assert!(
        set.iter()
            .any(|c| c.starts_with("continuo_login=") && c.contains("; Secure")),
        "{set:?}"
    );
    // No external assets: nothing is loaded from anywhere.
    assert!(!en.contains("src=") && !en.contains("<link"), "{en}");
    db.finish().await;
}
