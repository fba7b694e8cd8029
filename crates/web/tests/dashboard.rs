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
use continuo_store::access::{ApiToken, User};
use continuo_web::{AppState, credentials};
use reqwest::StatusCode;
use serde_json::{Value, json};
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

const CONFIG: &str = "[organization]\nname = \"Dash Test\"\nregulations = [\"nis2\"]\n\
     [[person]]\nid = \"anna\"\nname = \"Anna de Vries\"\nemail = \"anna@example.com\"\n\
     [[team]]\nid = \"ops\"\nname = \"Operations\"\nmembers = [\"anna\"]\n\
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
        self.as_token(ADMIN, method, path, form, lang).await
    }

    /// A form request with a bearer token and a language.
    async fn as_token(
        &self,
        token: &str,
        method: &str,
        path: &str,
        form: &str,
        lang: &str,
    ) -> (StatusCode, String) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .client
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("Accept-Language", lang)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .expect("request");
        (r.status(), r.text().await.unwrap_or_default())
    }

    /// A JSON call to the API with the admin token; the answer must be `expected`.
    async fn api(&self, path: &str, body: Option<Value>, expected: StatusCode) -> Value {
        let request = match body {
            Some(b) => self.client.post(format!("{}{path}", self.base)).json(&b),
            None => self.client.get(format!("{}{path}", self.base)),
        };
        let r = request.bearer_auth(ADMIN).send().await.expect("API call");
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{path}: {body}");
        body
    }

    /// The incident as the API shows it.
    async fn incident(&self, id: &str) -> Value {
        self.api(&format!("/api/v1/incidents/{id}"), None, StatusCode::OK)
            .await
    }

    /// Declares INC-1 on the database and classifies it significant, so a NIS2 report
    /// is due; returns the first report's key.
    async fn declare_significant(&self) -> String {
        let body = json!({"title": "Orders lost", "services": ["db"]});
        self.api("/api/v1/incidents", Some(body), StatusCode::CREATED)
            .await;
        let body = json!({"significant": true});
        self.api("/api/v1/incidents/INC-1/update", Some(body), StatusCode::OK)
            .await;
        let incident = self.incident("INC-1").await;
        assert_eq!(
            incident["checklist"][0]["steps"].as_array().map(Vec::len),
            Some(3),
            "the database's default recovery steps: {incident}"
        );
        incident["deadlines"][0]["key"]
            .as_str()
            .expect("a NIS2 report is due")
            .to_string()
    }
}

/// What a user may change with the incident forms, and what must stay as it is when a
/// post is refused: everything but the clock-dependent countdowns.
fn changeable(incident: &Value) -> Value {
    json!({
        "checklist": incident["checklist"],
        "roles": incident["roles"],
        "reports": incident["reports"],
        "actions": incident["actions"],
        "review": incident["review"],
        "timeline": incident["timeline"],
    })
}

/// A valid post for each new incident form (`{key}` stands for the report's key).
const NEW_FORMS: [(&str, &str); 6] = [
    ("/incidents/INC-1/checklist", "service=db&step=1"),
    (
        "/incidents/INC-1/roles",
        "role=incident_commander&person=anna",
    ),
    ("/incidents/INC-1/reports", "key={key}"),
    ("/incidents/INC-1/actions", "title=Alarm+on+disk+use"),
    ("/incidents/INC-1/actions/done", "number=1"),
    ("/incidents/INC-1/review", "summary=The+disk+filled+up"),
];

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
    // Regression (issue 16, item 9): a note had no limit below the body cap.
    let long_note = format!("text={}", "x".repeat(10_001));
    let cases: [(&str, &str, &str, StatusCode, &str); 9] = [
        (
            "/incidents/INC-9/note",
            &long_note,
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`text` is 10001 tekens lang; er worden er hoogstens 10000 aangenomen",
        ),
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

/// What an incident must show after a form was posted.
type Changed = Box<dyn Fn(&Value) -> bool>;

/// Each new incident form, posted by a responder, changes the incident as the API then
/// shows it, and answers with a redirect back to the incident.
#[tokio::test]
async fn a_responder_ticks_assigns_submits_follows_up_and_reviews() {
    let s = start().await;
    let key = s.declare_significant().await;
    let rob = add_token(&s.store, "rob", Role::Responder).await;
    let steps = |i: &Value, n: usize| i["checklist"][0]["steps"][n]["done"].clone();
    let action = |i: &Value| i["actions"][0].clone();
    let cases: Vec<(&str, String, Changed)> = vec![
        (
            "/incidents/INC-1/checklist",
            "service=db&step=2".into(),
            Box::new(move |i| steps(i, 1)["by"] == "rob" && steps(i, 0).is_null()),
        ),
        (
            "/incidents/INC-1/checklist",
            "service=db&step=2&done=false".into(),
            Box::new(move |i| steps(i, 1).is_null()),
        ),
        (
            "/incidents/INC-1/roles",
            "role=incident_commander&person=anna".into(),
            Box::new(|i| i["roles"] == json!({"incident_commander": "anna"})),
        ),
        (
            "/incidents/INC-1/reports",
            format!("key={key}"),
            Box::new(|i| i["deadlines"][0]["submitted"]["by"] == "rob"),
        ),
        (
            "/incidents/INC-1/actions",
            "title=Alarm+on+disk+use&owner=ops&due=2026-12-01".into(),
            Box::new(move |i| {
                action(i)["id"] == 1
                    && action(i)["title"] == "Alarm on disk use"
                    && action(i)["owner"] == "ops"
                    && action(i)["due"] == "2026-12-01"
                    && action(i)["done"].is_null()
            }),
        ),
        (
            "/incidents/INC-1/actions/done",
            "number=1".into(),
            Box::new(move |i| action(i)["done"]["by"] == "rob"),
        ),
        (
            "/incidents/INC-1/actions/done",
            "number=1&done=false".into(),
            Box::new(move |i| action(i)["done"].is_null()),
        ),
        (
            "/incidents/INC-1/review",
            "summary=The+disk+filled+up&went_well=Fast+failover%0D%0A%0D%0AClear+updates&malicious=no"
                .into(),
            Box::new(|i| {
                i["review"]["summary"] == "The disk filled up"
                    && i["review"]["went_well"] == json!(["Fast failover", "Clear updates"])
                    && i["review"]["malicious"] == false
                    && i["review"]["cross_border"].is_null()
            }),
        ),
        (
            "/incidents/INC-1/review",
            "trigger=A+batch+job".into(),
            Box::new(|i| {
                i["review"]["summary"] == "The disk filled up"
                    && i["review"]["trigger"] == "A batch job"
            }),
        ),
    ];
    for (path, form, changed) in cases {
        let (status, body) = s.as_token(&rob, "POST", path, &form, "en").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path} {form}: {body}");
        let incident = s.incident("INC-1").await;
        assert!(changed(&incident), "{path} {form}: {incident}");
    }
    // The page shows what the forms wrote, and prefills the review form.
    let (_, html) = s.as_token(&rob, "GET", "/incidents/INC-1", "", "en").await;
    for seen in [
        "Anna de Vries",
        "Alarm on disk use",
        "Operations",
        "2026-12-01",
        ">The disk filled up</textarea>",
        ">Fast failover\nClear updates</textarea>",
        ">A batch job</textarea>",
        "<option value=\"no\" selected>",
        "Action item 1 reopened: Alarm on disk use",
        "action=\"/incidents/INC-1/checklist\"",
    ] {
        assert!(html.contains(seen), "{seen} in {html}");
    }
    // The postmortem link works for the same user, in the language it names.
    let link = "/api/v1/incidents/INC-1/postmortem?lang=nl";
    assert!(html.contains(link), "{html}");
    let (status, markdown) = s.as_token(&rob, "GET", link, "", "en").await;
    assert_eq!(status, StatusCode::OK, "{markdown}");
    assert!(
        markdown.contains("The disk filled up")
            && markdown.contains("## Aanleiding\n\nA batch job"),
        "{markdown}"
    );
    // Audited like every other change.
    let audit = s.api("/api/v1/audit", None, StatusCode::OK).await;
    for path in NEW_FORMS.map(|(p, _)| p) {
        assert!(
            audit["entries"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e.to_string().contains(path))),
            "{path} in {audit}"
        );
    }
}

/// Bad input to the new forms is answered with what is wrong, in the asker's language,
/// and changes nothing.
#[tokio::test]
async fn bad_input_to_the_new_forms_is_answered_clearly_and_changes_nothing() {
    let s = start().await;
    s.declare_significant().await;
    s.admin("POST", "/incidents/INC-1/actions", "title=First", "en")
        .await;
    let before = changeable(&s.incident("INC-1").await);
    let cases: [(&str, &str, &str, StatusCode, &str); 20] = [
        (
            "/incidents/INC-1/checklist",
            "service=db&step=4",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`db` has steps 1 to 3, not 4.",
        ),
        (
            "/incidents/INC-1/checklist",
            "service=db&step=0",
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`db` heeft stappen 1 tot en met 3, niet 0.",
        ),
        (
            "/incidents/INC-1/checklist",
            "service=db&step=two",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "The step is a number from 1, not `two`.",
        ),
        (
            "/incidents/INC-1/checklist",
            "service=web&step=1",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`web` is not on the recovery checklist of this incident.",
        ),
        (
            "/incidents/INC-1/checklist",
            "service=db&step=1&done=maybe",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`done` is yes or no, not `maybe`.",
        ),
        (
            "/incidents/INC-1/roles",
            "role=incident_commander&person=nobody",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "There is no person `nobody` in the catalog.",
        ),
        (
            "/incidents/INC-1/roles",
            "role=incident_commander&person=nobody",
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Er is geen persoon `nobody` in de catalogus.",
        ),
        (
            "/incidents/INC-1/roles",
            "role=chef&person=anna",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "operations_lead or scribe, not `chef`.",
        ),
        (
            "/incidents/INC-1/reports",
            "key=dora-initial",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "This incident has no report `dora-initial` due.",
        ),
        (
            "/incidents/INC-1/actions",
            "title=+&owner=ops",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Give the action item a title.",
        ),
        (
            "/incidents/INC-1/actions",
            "title=",
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Geef het actiepunt een titel.",
        ),
        (
            "/incidents/INC-1/actions",
            "title=Alarm&owner=ghost",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "There is no person or team `ghost` in the catalog.",
        ),
        (
            "/incidents/INC-1/actions",
            "title=Alarm&due=2026-02-30",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "The due date `2026-02-30` is not a date like 2026-12-01.",
        ),
        (
            "/incidents/INC-1/actions",
            "title=Alarm&due=tomorrow&lang=nl",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "De streefdatum `tomorrow` is geen datum zoals 2026-12-01.",
        ),
        (
            "/incidents/INC-1/actions/done",
            "number=7",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "This incident has no action item 7.",
        ),
        (
            "/incidents/INC-1/actions/done",
            "number=first",
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Het nummer van het actiepunt is een getal, niet `first`.",
        ),
        (
            "/incidents/INC-1/review",
            "summary=+&went_well=%0A",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Write at least one review note.",
        ),
        (
            "/incidents/INC-1/review",
            "",
            "nl",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Schrijf minstens één evaluatienotitie.",
        ),
        (
            "/incidents/INC-1/review",
            "summary=x&malicious=perhaps",
            "en",
            StatusCode::UNPROCESSABLE_ENTITY,
            "`malicious` is yes or no, not `perhaps`.",
        ),
        (
            "/incidents/INC-9/checklist",
            "service=db&step=1",
            "en",
            StatusCode::NOT_FOUND,
            "no incident with id `INC-9`",
        ),
    ];
    for (path, form, lang, status, message) in cases {
        let (got, html) = s.admin("POST", path, form, lang).await;
        assert_eq!(got, status, "{path} {form}: {html}");
        assert!(html.contains(message), "{path} {form}: {message} in {html}");
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(
            html.contains("href=\"/incidents/"),
            "a way back to the incident: {html}"
        );
    }
    assert_eq!(changeable(&s.incident("INC-1").await), before);
}

/// A viewer sees roles, action items and review notes, but no forms for them, and a post
/// to any of the new forms is refused and changes nothing.
#[tokio::test]
async fn a_viewer_sees_the_follow_up_but_cannot_post_it() {
    let s = start().await;
    let key = s.declare_significant().await;
    s.admin(
        "POST",
        "/incidents/INC-1/roles",
        "role=scribe&person=anna",
        "en",
    )
    .await;
    s.admin("POST", "/incidents/INC-1/actions", "title=First", "en")
        .await;
    s.admin(
        "POST",
        "/incidents/INC-1/review",
        "summary=The+disk+filled+up",
        "en",
    )
    .await;
    let vera = add_token(&s.store, "vera", Role::Viewer).await;
    let (status, html) = s.as_token(&vera, "GET", "/incidents/INC-1", "", "nl").await;
    assert_eq!(status, StatusCode::OK);
    for seen in [
        "Crisisrollen",
        "Anna de Vries",
        "Actiepunten",
        "First",
        "Evaluatienotities",
        "The disk filled up",
        "/api/v1/incidents/INC-1/postmortem?lang=en",
    ] {
        assert!(html.contains(seen), "{seen} in {html}");
    }
    assert!(!html.contains("<form class=\"block\""), "{html}");
    let before = changeable(&s.incident("INC-1").await);
    for (path, form) in NEW_FORMS {
        let form = form.replace("{key}", &key);
        assert!(
            !html.contains(&format!("action=\"{path}\"")),
            "{path} in {html}"
        );
        let (status, page) = s.as_token(&vera, "POST", path, &form, "en").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {page}");
        assert!(
            page.contains("this needs the responder role; vera has the viewer role"),
            "{path}: {page}"
        );
    }
    assert_eq!(changeable(&s.incident("INC-1").await), before);
}

/// A signed-in responder's post without the session's CSRF token is refused and changes
/// nothing; with the token from the page it goes through. The postmortem link works with
/// the session cookie alone.
#[tokio::test]
async fn the_new_forms_need_the_sessions_csrf_token() {
    let s = start().await;
    let key = s.declare_significant().await;
    let user = User {
        name: "rob".into(),
        role: Role::Responder,
        password_hash: credentials::hash_password("correct horse battery").expect("hash"),
        created_ms: 0,
        updated_ms: 0,
    };
    assert!(s.store.add_user(&user).await.expect("add user"));
    // An action item, so the page has a form to complete it.
    let (status, _) = s
        .admin("POST", "/incidents/INC-1/actions", "title=First", "en")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |path: &str| {
        let request = browser.get(format!("{}{path}", s.base));
        async move {
            let r = request.send().await.expect("GET");
            (r.status(), r.text().await.expect("body"))
        }
    };
    let post = |path: &str, fields: Vec<(String, String)>| {
        let request = browser
            .post(format!("{}{path}", s.base))
            .header("Origin", &s.base)
            .form(&fields);
        async move {
            let r = request.send().await.expect("POST");
            (r.status(), r.text().await.expect("body"))
        }
    };
    let (_, login) = get("/login").await;
    let fields = vec![
        ("user".to_string(), "rob".to_string()),
        ("password".to_string(), "correct horse battery".to_string()),
        ("csrf".to_string(), hidden(&login, "csrf")),
    ];
    let (status, body) = post("/login", fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, page) = get("/incidents/INC-1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = hidden(&page, "csrf");
    let before = changeable(&s.incident("INC-1").await);
    let fields_of = |form: &str| -> Vec<(String, String)> {
        url::form_urlencoded::parse(form.replace("{key}", &key).as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    for (path, form) in NEW_FORMS {
        assert!(page.contains(&format!("action=\"{path}\"")), "{path}");
        let (status, body) = post(path, fields_of(form)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.contains("security token"), "{path}: {body}");
    }
    assert_eq!(changeable(&s.incident("INC-1").await), before);
    let mut with_token = fields_of(NEW_FORMS[0].1);
    with_token.push(("csrf".into(), csrf));
    let (status, body) = post(NEW_FORMS[0].0, with_token).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let incident = s.incident("INC-1").await;
    assert_eq!(
        incident["checklist"][0]["steps"][0]["done"]["by"], "rob",
        "{incident}"
    );
    let (status, markdown) = get("/api/v1/incidents/INC-1/postmortem?lang=en").await;
    assert_eq!(status, StatusCode::OK, "{markdown}");
    assert!(markdown.contains("INC-1"), "{markdown}");
}

/// The value of the first hidden field `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the hidden field") + marker.len();
    let end = html[start..].find('"').expect("its end") + start;
    html[start..end].to_string()
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
