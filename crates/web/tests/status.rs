//! The public status page, its Statuspage-compatible API, the Atom feed, the badges and
//! the live stream, over real sockets on 127.0.0.1 with SQLite: exact Statuspage key
//! sets and enum values, the page without JavaScript, Dutch by Accept-Language, 304 on
//! If-None-Match, "no data" days, and that nothing private ever leaves.

mod common;

use common::{client, engine_with_alerting, serve_router};
use continuo_core::load_text;
use continuo_engine::Engine;
use continuo_engine::alerts::Alerting;
use continuo_engine::incidents::IncidentOptions;
use continuo_store::Store;
use continuo_web::AppState;
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin-s3cret";
const UUID: &str = "5f0c2f8e-1c1e-4b0e-9a51-7d1f5a0c9e11";
/// Private things that must never reach a public response.
const PRIVATE_NOTE: &str = "PRIVATE-NOTE-vendor-owes-us";
const INTERNAL_UPDATE: &str = "INTERNAL-UPDATE-db-primary-corrupt";
const PERSON: &str = "Geheime Gerrit";
const RUNBOOK: &str = "RUNBOOK-SECRET-restart-with-root-password";
const HIDDEN_SERVICE: &str = "Hidden ledger";
const CUSTOMER_UPDATE: &str = "Payments are slower than usual; we are on it.";
const DAY: i64 = 86_400_000;

struct Server {
    base: String,
    client: reqwest::Client,
    _engine: Engine,
    _alerting: Alerting,
    _dir: tempfile::TempDir,
}

fn config() -> String {
    format!(
        r##"[organization]
name = "Acme Retail"
timezone = "Europe/Amsterdam"

[status_page]
title = "Acme status"
description = "Live status of Acme's services"
accent = "#0A5C36"

[[person]]
id = "gerrit"
name = "{PERSON}"
email = "gerrit@example.com"

[[team]]
id = "ops"
members = ["gerrit"]

[[service]]
id = "payments"
name = "Payments API"
tier = 1
owner = "ops"
rto = "15m"
runbook = "runbooks/payments.md"
status_page = {{ component = "Payments", group = "Shop" }}

  [[service.check]]
  id = "payments-beat"
  kind = "heartbeat"
  uuid = "{UUID}"
  period = "1h"
  grace = "10m"

[[service]]
id = "checkout"
name = "Webshop checkout"
tier = 2
owner = "ops"
rto = "1h"
status_page = {{ component = "Checkout", group = "Shop" }}

[[service]]
id = "ledger"
name = "{HIDDEN_SERVICE}"
tier = 1
owner = "ops"
rto = "1h"

[[maintenance]]
id = "db-upgrade"
title = "Checkout database upgrade"
services = ["checkout"]
from = "2099-01-10T02:00:00Z"
until = "2099-01-10T03:00:00Z"
"##
    )
}

async fn start() -> Server {
    let catalog = Arc::new(load_text(&config()).expect("valid config"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("continuo.db").display());
    let store = Store::open(&url).await.expect("open SQLite");
    seed_rollups(&url).await;
    let incidents = IncidentOptions {
        runbook: Arc::new(|_| Some(format!("1. {RUNBOOK}\n2. call {PERSON}\n"))),
        ..IncidentOptions::default()
    };
    let (engine, alerting) = engine_with_alerting(catalog, incidents).await;
    let state = AppState {
        engine: engine.handle(),
        store: Some(store),
        reloader: None,
        admin_token: Some(ADMIN.into()),
        alerts: Some(alerting.handle()),
        gateways: None,
    };
    let base = serve_router(continuo_web::router(state)).await;
    continuo_notify::install_crypto_provider();
    Server {
        base,
        client: client(),
        _engine: engine,
        _alerting: alerting,
        _dir: dir,
    }
}

/// Payments has measurements yesterday (one failure in 1000) and three days ago; every
/// other day of the 90 has none.
async fn seed_rollups(url: &str) {
    let now = jiff::Timestamp::now().as_millisecond();
    let today = now - now.rem_euclid(DAY);
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
    for (bucket, count, failures) in [(today - DAY, 1000, 1), (today - 3 * DAY, 500, 0)] {
        sqlx::query(
            "INSERT INTO rollups (check_id, location, resolution, bucket_ms, count, failures, degraded, sum_us, max_us) \
             VALUES ('payments-beat', 'here', 'day', $1, $2, $3, 0, 0, 0)",
        )
        .bind(bucket)
        .bind(count)
        .bind(failures)
        .execute(&mut conn)
        .await
        .expect("insert rollup");
    }
    conn.close().await.expect("close");
}

impl Server {
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    async fn text(&self, path: &str) -> String {
        let response = self.get(path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.expect("body")
    }

    /// The body of `path` once it contains `text` (health is recomputed every 250 ms
    /// and the public view reused for a second).
    async fn eventually(&self, path: &str, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let body = self.text(path).await;
            if body.contains(text) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} never showed {text:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn json(&self, path: &str) -> Value {
        let response = self.get(path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"].to_str().expect("ascii"),
            "application/json"
        );
        response.json().await.expect("json")
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let value: Value = response.json().await.expect("json");
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    async fn ping(&self, action: &str) {
        let response = self.get(&format!("/ping/{UUID}{action}"), &[]).await;
        assert_eq!(response.status(), 200);
    }

    /// An incident on payments with a customer update, an internal update, a note and
    /// a runbook-derived checklist; returns its id.
    async fn incident(&self) -> String {
        let declared = self
            .post(
                "/api/v1/incidents",
                json!({"title": "Payments slow", "services": ["payments"], "severity": "SEV2", "by": "gerrit"}),
            )
            .await;
        let id = declared["id"].as_str().expect("id").to_string();
        self.post(
            &format!("/api/v1/incidents/{id}/update"),
            json!({"status": "identified", "audience": "customers", "message": CUSTOMER_UPDATE, "by": "gerrit"}),
        )
        .await;
        self.post(
            &format!("/api/v1/incidents/{id}/update"),
            json!({"audience": "internal", "message": INTERNAL_UPDATE, "by": "gerrit"}),
        )
        .await;
        self.post(
            &format!("/api/v1/incidents/{id}/notes"),
            json!({"text": PRIVATE_NOTE, "by": "gerrit"}),
        )
        .await;
        id
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

const COMPONENT_KEYS: [&str; 13] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
];
const INCIDENT_KEYS: [&str; 13] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
];
const UPDATE_KEYS: [&str; 11] = [
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
];

fn check_component(c: &Value) {
    let is_group = c["group"] == json!(true);
    let mut expected = set(&COMPONENT_KEYS);
    if is_group {
        expected.insert("components".into());
    }
    assert_eq!(keys(c), expected, "{c}");
    assert!(
        [
            "operational",
            "degraded_performance",
            "partial_outage",
            "major_outage",
            "under_maintenance"
        ]
        .contains(&c["status"].as_str().expect("status")),
        "{c}"
    );
}

fn check_incident(i: &Value) {
    assert_eq!(keys(i), set(&INCIDENT_KEYS), "{i}");
    assert!(
        [
            "investigating",
            "identified",
            "monitoring",
            "resolved",
            "postmortem"
        ]
        .contains(&i["status"].as_str().expect("status"))
    );
    assert!(
        ["none", "minor", "major", "critical"].contains(&i["impact"].as_str().expect("impact"))
    );
    for u in i["incident_updates"].as_array().expect("updates") {
        assert_eq!(keys(u), set(&UPDATE_KEYS), "{u}");
    }
    for c in i["components"].as_array().expect("components") {
        check_component(c);
    }
}

fn check_maintenance(m: &Value) {
    let mut expected = set(&INCIDENT_KEYS);
    expected.insert("scheduled_for".into());
    expected.insert("scheduled_until".into());
    assert_eq!(keys(m), expected, "{m}");
    assert!(
        ["scheduled", "in_progress", "verifying", "completed"]
            .contains(&m["status"].as_str().expect("status"))
    );
}

#[tokio::test]
async fn summary_json_has_statuspage_keys_and_values() {
    let server = start().await;
    server.ping("").await;
    let id = server.incident().await;
    server
        .eventually("/api/v2/summary.json", "operational")
        .await;
    let summary = server.json("/api/v2/summary.json").await;
    assert_eq!(
        keys(&summary),
        set(&[
            "page",
            "components",
            "incidents",
            "scheduled_maintenances",
            "status"
        ])
    );
    assert_eq!(
        keys(&summary["page"]),
        set(&["id", "name", "url", "time_zone", "updated_at"])
    );
    assert_eq!(summary["page"]["name"], "Acme status");
    assert_eq!(summary["page"]["time_zone"], "Europe/Amsterdam");
    assert_eq!(keys(&summary["status"]), set(&["indicator", "description"]));
    // SEV2 open incident → major.
    assert_eq!(summary["status"]["indicator"], "major");
    let components = summary["components"].as_array().expect("components");
    for c in components {
        check_component(c);
    }
    let names: Vec<&str> = components
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Payments", "Checkout", "Shop"]);
    assert_eq!(components[0]["status"], "operational");
    assert_eq!(components[0]["group_id"], components[2]["id"]);
    assert_eq!(components[2]["components"], json!(["payments", "checkout"]));
    let incidents = summary["incidents"].as_array().expect("incidents");
    assert_eq!(incidents.len(), 1);
    check_incident(&incidents[0]);
    assert_eq!(incidents[0]["id"], id.to_ascii_lowercase());
    assert_eq!(incidents[0]["impact"], "major");
    assert_eq!(incidents[0]["status"], "identified");
    let updates = incidents[0]["incident_updates"]
        .as_array()
        .expect("updates");
    assert_eq!(updates.len(), 1, "only the customer update: {updates:?}");
    assert!(
        updates[0]["body"]
            .as_str()
            .expect("body")
            .contains(CUSTOMER_UPDATE)
    );
    for m in summary["scheduled_maintenances"].as_array().expect("list") {
        check_maintenance(m);
    }

    // The other documents have Statuspage's shapes too.
    let status = server.json("/api/v2/status.json").await;
    assert_eq!(keys(&status), set(&["page", "status"]));
    let list = server.json("/api/v2/components.json").await;
    assert_eq!(keys(&list), set(&["page", "components"]));
    for path in [
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
    ] {
        let list = server.json(path).await;
        assert_eq!(keys(&list), set(&["page", "incidents"]));
        for i in list["incidents"].as_array().expect("incidents") {
            check_incident(i);
        }
    }
    let all = server.json("/api/v2/scheduled-maintenances.json").await;
    let upcoming = server
        .json("/api/v2/scheduled-maintenances/upcoming.json")
        .await;
    let active = server
        .json("/api/v2/scheduled-maintenances/active.json")
        .await;
    for list in [&all, &upcoming, &active] {
        assert_eq!(keys(list), set(&["page", "scheduled_maintenances"]));
        for m in list["scheduled_maintenances"].as_array().expect("list") {
            check_maintenance(m);
        }
    }
    let upcoming = upcoming["scheduled_maintenances"].as_array().expect("list");
    // The configured window is in 2099: beyond the 30-day horizon, so not listed yet.
    assert!(upcoming.iter().all(|m| m["status"] == "scheduled"));
    assert!(
        active["scheduled_maintenances"]
            .as_array()
            .expect("list")
            .is_empty()
    );
    let missing = server.get("/api/v2/nothing.json", &[]).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_page_works_without_javascript_and_speaks_dutch() {
    let server = start().await;
    server.ping("/fail").await;
    server.incident().await;
    server.eventually("/status", "Major outage").await;
    let response = server.get("/status", &[]).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "public, max-age=5");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("script-src 'self'")
    );
    let html = response.text().await.expect("body");
    for expected in [
        "<main",
        "<h1>Acme status</h1>",
        "Payments",
        "Checkout",
        "Shop",
        "Payments slow",
        CUSTOMER_UPDATE,
        "Major outage",
        "--accent: #0a5c36",
        "lang=\"en\"",
        "hreflang=\"nl\"",
    ] {
        assert!(html.contains(expected), "missing {expected:?}");
    }
    // No external assets: nothing is loaded from another origin.
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(external), "external asset: {external}");
    }

    let dutch = server
        .get("/status", &[("accept-language", "nl-NL,nl;q=0.9,en;q=0.5")])
        .await
        .text()
        .await
        .expect("body");
    assert!(dutch.contains("lang=\"nl\""));
    assert!(dutch.contains("Ernstige storing"), "Dutch status words");
    assert!(dutch.contains("Huidige storingen"));
    assert!(dutch.contains("?lang=en"), "switch link to English");
    let switched = server.text("/status?lang=nl").await;
    assert!(switched.contains("lang=\"nl\""));
    let script = server.get("/status/status.js", &[]).await;
    assert_eq!(script.status(), 200);
    assert!(script.text().await.expect("js").contains("EventSource"));
}

#[tokio::test]
async fn an_unchanged_page_is_not_modified() {
    let server = start().await;
    for path in ["/status", "/api/v2/summary.json", "/badge/payments.svg"] {
        let first = server.get(path, &[]).await;
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().expect("ascii").to_string();
        let again = server.get(path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().expect("ascii"), etag);
        let other = server.get(path, &[("if-none-match", "\"other\"")]).await;
        assert_eq!(other.status(), 200);
    }
}

#[tokio::test]
async fn days_without_measurements_are_no_data_not_uptime() {
    let server = start().await;
    let html = server.text("/status").await;
    // Payments: 2 days with data (1499 of 1500 good), 88 without.
    assert!(
        html.contains("99.93% uptime over 2 of the last 90 days with data"),
        "honest percentage"
    );
    assert_eq!(
        html.matches("<i class=\"n\"></i>").count(),
        88 + 90,
        "no-data days"
    );
    assert!(html.contains("Last 90 days: 2 with data, 88 without (no data)."));
    assert!(
        html.contains("Not fully up: "),
        "the day with a failure, in words"
    );
    assert!(html.contains("Last 90 days: 0 with data, 90 without (no data)."));
    // Checkout has no measurements at all.
    assert!(html.contains("No measurements in the last 90 days"));
    let badge = server.get("/badge/checkout/uptime.svg", &[]).await;
    assert!(badge.text().await.expect("svg").contains("no data"));
    let components = server.json("/api/v2/components.json").await;
    assert!(components["components"][0]["start_date"].is_string());
    assert!(components["components"][1]["start_date"].is_null());
}

#[tokio::test]
async fn badges_are_svg() {
    let server = start().await;
    server.ping("").await;
    server
        .eventually("/badge/payments.svg", "Operational")
        .await;
    for (path, text) in [
        ("/badge/payments.svg", "Operational"),
        ("/badge/payments/uptime.svg", "99.93%"),
        ("/badge/checkout.svg", "Not yet measured"),
    ] {
        let response = server.get(path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        let svg = response.text().await.expect("svg");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(text), "{path}: {svg}");
        assert!(svg.len() < 2048, "small");
        roxmltree::Document::parse(&svg).expect("well-formed SVG");
    }
    for missing in [
        "/badge/ledger.svg",
        "/badge/nothing.svg",
        "/badge/payments",
        "/badge/payments/other.svg",
    ] {
        assert_eq!(server.get(missing, &[]).await.status(), 404, "{missing}");
    }
}

#[tokio::test]
async fn the_feed_is_atom() {
    let server = start().await;
    let id = server.incident().await;
    let response = server.get("/status/feed.atom", &[]).await;
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let xml = response.text().await.expect("feed");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let feed = doc.root_element();
    let atom = "http://www.w3.org/2005/Atom";
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(feed.tag_name().namespace(), Some(atom));
    for required in ["id", "title", "updated"] {
        assert!(
            feed.children().any(|n| n.has_tag_name((atom, required))),
            "feed needs {required}"
        );
    }
    let entries: Vec<_> = feed
        .children()
        .filter(|n| n.has_tag_name((atom, "entry")))
        .collect();
    assert_eq!(entries.len(), 1);
    let entry = entries[0];
    for required in ["id", "title", "updated"] {
        assert!(entry.children().any(|n| n.has_tag_name((atom, required))));
    }
    let title = entry
        .children()
        .find(|n| n.has_tag_name((atom, "title")))
        .and_then(|n| n.text());
    assert_eq!(title, Some("Payments slow"));
    let content = entry
        .children()
        .find(|n| n.has_tag_name((atom, "content")))
        .and_then(|n| n.text())
        .expect("content");
    assert!(content.contains(CUSTOMER_UPDATE));
    assert!(xml.contains(&id.to_ascii_lowercase()));
}

#[tokio::test]
async fn nothing_private_reaches_a_public_response() {
    let server = start().await;
    server.ping("/fail").await;
    let id = server.incident().await;
    // The private things exist: the private API shows them.
    let private = server
        .client
        .get(format!("{}/api/v1/incidents/{id}", server.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    for secret in [PRIVATE_NOTE, INTERNAL_UPDATE, RUNBOOK] {
        assert!(private.contains(secret), "the test needs {secret} to exist");
    }
    let mut paths: Vec<String> = [
        "/status",
        "/status?lang=nl",
        "/status/feed.atom",
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
        "/badge/payments.svg",
        "/badge/payments/uptime.svg",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    paths.push("/badge/checkout.svg".into());
    for path in &paths {
        let body = server.text(path).await;
        for secret in [
            PRIVATE_NOTE,
            INTERNAL_UPDATE,
            RUNBOOK,
            PERSON,
            "gerrit",
            HIDDEN_SERVICE,
            "ledger",
            "payments-beat",
            UUID,
        ] {
            assert!(!body.contains(secret), "{path} leaks {secret}");
        }
    }
}

#[tokio::test]
async fn the_live_stream_sends_a_change_when_health_changes() {
    let server = start().await;
    server.ping("").await;
    // Let the first health reach the view before the stream takes its fingerprint.
    server.eventually("/status", "Operational").await;
    let mut stream = server.get("/status/events?lang=en", &[]).await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    server.ping("/fail").await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while !(seen.contains("event: change") && seen.contains("Major outage")) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no change event; got {seen:?}"))
            .expect("stream")
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("data: "));
}

#[tokio::test]
async fn the_live_stream_sends_a_change_when_a_customer_update_is_posted() {
    let server = start().await;
    let mut stream = server.get("/status/events?lang=nl", &[]).await;
    assert_eq!(stream.status(), 200);
    server.incident().await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains("event: change") && seen.contains(CUSTOMER_UPDATE)) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no change event; got {seen:?}"))
            .expect("stream")
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("Huidige storingen"),
        "in the stream's language"
    );
    for secret in [PRIVATE_NOTE, INTERNAL_UPDATE, RUNBOOK, PERSON] {
        assert!(!seen.contains(secret), "the stream leaks {secret}");
    }
}

/// Issue 16: every answer says `nosniff`, and the small HTML pages that set no policy of
/// their own (a subscription link, here an unknown one) forbid framing and loading;
/// pages with their own policy keep it.
#[tokio::test]
async fn every_answer_is_nosniff_and_every_html_page_has_a_policy() {
    let server = start().await;
    for path in [
        "/healthz",
        "/api/v2/summary.json",
        "/status",
        "/no-such-path",
    ] {
        let response = server.get(path, &[]).await;
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
    let link = server.get("/status/confirm/not-a-token", &[]).await;
    let headers = link.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html"),
        "{headers:?}"
    );
    let policy = headers["content-security-policy"].to_str().expect("ascii");
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    let page = server.get("/status", &[]).await;
    let own = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        own.contains("script-src 'self'"),
        "the page's own policy: {own}"
    );
}

/// What a gzip body decompresses to.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip body");
    out
}

#[tokio::test]
async fn a_client_that_accepts_gzip_gets_the_same_bytes_compressed_under_their_own_tag() {
    let server = start().await;
    for path in ["/status", "/api/v2/summary.json", "/status/status.js"] {
        let plain = server.get(path, &[]).await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain_tag = plain.headers()["etag"].to_str().expect("ascii").to_string();
        let plain_body = plain.bytes().await.expect("body");

        let packed = server
            .get(
                path,
                &[("accept-encoding", "br;q=1.0, gzip;q=0.8, *;q=0.1")],
            )
            .await;
        assert_eq!(packed.status(), 200, "{path}");
        assert_eq!(packed.headers()["content-encoding"], "gzip", "{path}");
        let vary = packed.headers()["vary"]
            .to_str()
            .expect("ascii")
            .to_lowercase();
        assert!(vary.contains("accept-encoding"), "{path}: {vary}");
        let packed_tag = packed.headers()["etag"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert_ne!(packed_tag, plain_tag, "{path}: one tag per representation");
        let packed_body = packed.bytes().await.expect("body");
        assert!(packed_body.len() < plain_body.len(), "{path}");
        assert_eq!(gunzip(&packed_body), plain_body, "{path}");

        // Revalidation names the representation the client holds.
        let again = server
            .get(
                path,
                &[("accept-encoding", "gzip"), ("if-none-match", &packed_tag)],
            )
            .await;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().expect("ascii"), packed_tag);

        // Refused gzip, or only other codings: the identity body.
        for accept in ["gzip;q=0, *;q=1", "br, deflate", "identity"] {
            let refused = server.get(path, &[("accept-encoding", accept)]).await;
            assert!(
                refused.headers().get("content-encoding").is_none(),
                "{path} {accept}"
            );
            assert_eq!(refused.bytes().await.expect("body"), plain_body, "{path}");
        }
    }
}
