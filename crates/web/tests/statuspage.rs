//! The Statuspage v2 API tells the truth over time, as a Statuspage consumer (a widget,
//! an aggregator, a status page of status pages) sees it over real sockets with SQLite:
//! `created_at` is when a thing first appeared and never moves (not across rebuilds,
//! not across a restart), an upcoming maintenance's document keeps its entity tag
//! between changes and its updates are real, a resolved incident's newest update says
//! resolved, the API is English unless asked otherwise while `/status` keeps the
//! organisation's first language, and links come from `[server] public_url`, never
//! from the request's `Host` header.

mod common;

use common::{client, engine_with_alerting, serve_router};
use continuo_core::load_text;
use continuo_core::subscribers::rfc3339;
use continuo_engine::Engine;
use continuo_engine::alerts::Alerting;
use continuo_engine::incidents::IncidentOptions;
use continuo_store::Store;
use continuo_web::AppState;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin-s3cret";
const PUBLIC_URL: &str = "https://status.acme.test";
const DAY: i64 = 86_400_000;

struct Server {
    base: String,
    client: reqwest::Client,
    _engine: Engine,
    _alerting: Alerting,
}

/// Dutch first; a maintenance window two days from `now`.
fn config(now_ms: i64) -> String {
    let from = rfc3339(now_ms - now_ms.rem_euclid(3_600_000) + 2 * DAY);
    let until = rfc3339(now_ms - now_ms.rem_euclid(3_600_000) + 2 * DAY + 3_600_000);
    format!(
        r#"[organization]
name = "Acme Retail"
timezone = "Europe/Amsterdam"
languages = ["nl", "en"]

[server]
public_url = "{PUBLIC_URL}/"

[[team]]
id = "ops"

[[service]]
id = "payments"
name = "Payments API"
tier = 1
owner = "ops"
rto = "15m"
status_page = {{ component = "Payments", group = "Shop" }}

[[service]]
id = "checkout"
name = "Webshop checkout"
tier = 2
owner = "ops"
rto = "1h"
status_page = {{ component = "Checkout", group = "Shop" }}

[[maintenance]]
id = "db-upgrade"
title = "Checkout database upgrade"
services = ["checkout"]
from = "{from}"
until = "{until}"
"#
    )
}

async fn start(database: &str, now_ms: i64) -> Server {
    let catalog = Arc::new(load_text(&config(now_ms)).expect("valid config"));
    let store = Store::open(database).await.expect("open SQLite");
    let (engine, alerting) = engine_with_alerting(catalog, IncidentOptions::default()).await;
    let state = AppState {
        engine: engine.handle(),
        store: Some(store),
        reloader: None,
        admin_token: Some(ADMIN.into()),
        alerts: Some(alerting.handle()),
        gateways: None,
    };
    let base = serve_router(continuo_web::router(state)).await;
    Server {
        base,
        client: client(),
        _engine: engine,
        _alerting: alerting,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

impl Server {
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    async fn json(&self, path: &str, headers: &[(&str, &str)]) -> (String, Value) {
        let response = self.get(path, headers).await;
        assert_eq!(response.status(), 200, "{path}");
        let etag = response.headers()["etag"]
            .to_str()
            .expect("ascii")
            .to_string();
        (etag, response.json().await.expect("json"))
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
}

/// `created_at` of every component and group, by id.
fn created(components: &Value) -> Vec<(String, String)> {
    components
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().expect("id").to_string(),
                c["created_at"].as_str().expect("created_at").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn created_at_never_moves_and_an_upcoming_maintenance_keeps_its_tag() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("continuo.db").display());
    let now = now_ms();
    let server = start(&database, now).await;
    let (_, first) = server.json("/api/v2/components.json", &[]).await;
    let (tag, upcoming) = server
        .json("/api/v2/scheduled-maintenances/upcoming.json", &[])
        .await;
    // The view is rebuilt after a second; nothing shown changed.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (_, again) = server.json("/api/v2/components.json", &[]).await;
    assert_eq!(created(&first["components"]), created(&again["components"]));
    let (tag_again, upcoming_again) = server
        .json("/api/v2/scheduled-maintenances/upcoming.json", &[])
        .await;
    assert_eq!(upcoming, upcoming_again);
    assert_eq!(tag, tag_again, "the same document keeps its tag");

    // The window's document says what was announced, for the component it touches.
    let window = &upcoming["scheduled_maintenances"][0];
    assert_eq!(window["status"], "scheduled", "{upcoming}");
    assert_eq!(window["created_at"], window["updated_at"]);
    let updates = window["incident_updates"].as_array().expect("updates");
    assert_eq!(updates.len(), 1, "{window}");
    assert_eq!(updates[0]["status"], "scheduled");
    assert_eq!(updates[0]["created_at"], window["created_at"]);
    let body = updates[0]["body"].as_str().expect("body");
    assert!(
        body.starts_with("Checkout database upgrade: maintenance is scheduled from "),
        "{body}"
    );
    assert_eq!(
        updates[0]["affected_components"],
        json!([{ "code": "checkout", "name": "Checkout", "old_status": "operational", "new_status": "operational" }])
    );

    // A restart on the same database: the same creation times.
    drop(server);
    let restarted = start(&database, now).await;
    let (_, after) = restarted.json("/api/v2/components.json", &[]).await;
    assert_eq!(created(&first["components"]), created(&after["components"]));
    let (_, upcoming_after) = restarted
        .json("/api/v2/scheduled-maintenances/upcoming.json", &[])
        .await;
    assert_eq!(
        upcoming_after["scheduled_maintenances"][0]["created_at"],
        window["created_at"]
    );
}

#[tokio::test]
async fn the_api_is_english_and_absolute_whatever_the_host() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("continuo.db").display());
    let server = start(&database, now_ms()).await;
    let forged = [("host", "evil.example")];
    let (_, status) = server.json("/api/v2/status.json", &forged).await;
    assert_eq!(status["page"]["url"], format!("{PUBLIC_URL}/status"));
    // Statuspage speaks English: so does the API without Accept-Language, though the
    // organisation's first language is Dutch.
    assert_eq!(status["status"]["description"], "All Systems Operational");
    let (_, dutch) = server
        .json("/api/v2/status.json", &[("accept-language", "nl")])
        .await;
    assert_eq!(
        dutch["status"]["description"],
        "Alle systemen werken normaal"
    );
    // The page keeps the organisation's first language.
    let page = server.get("/status", &[]).await.text().await.expect("html");
    assert!(page.contains("<html lang=\"nl\""), "{page}");
    // The feed's ids and links come from public_url too.
    let feed = server
        .get("/status/feed.atom", &forged)
        .await
        .text()
        .await
        .expect("atom");
    assert!(!feed.contains("evil.example"), "{feed}");
    assert!(
        feed.contains(&format!("href=\"{PUBLIC_URL}/status/feed.atom\"")),
        "{feed}"
    );
}

#[tokio::test]
async fn a_resolved_incident_ends_with_a_resolved_update_for_its_components() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("continuo.db").display());
    let server = start(&database, now_ms()).await;
    let declared = server
        .post(
            "/api/v1/incidents",
            json!({"title": "Payments slow", "services": ["payments"], "severity": "SEV2", "by": "api"}),
        )
        .await;
    let id = declared["id"].as_str().expect("id").to_string();
    server
        .post(
            &format!("/api/v1/incidents/{id}/update"),
            json!({"status": "identified", "audience": "customers", "message": "Payments are slow; we found why.", "by": "api"}),
        )
        .await;
    // Resolved without a word for customers.
    server
        .post(
            &format!("/api/v1/incidents/{id}/resolve"),
            json!({"by": "api"}),
        )
        .await;
    let mut incident = Value::Null;
    for _ in 0..50 {
        let (_, list) = server.json("/api/v2/incidents.json", &[]).await;
        incident = list["incidents"][0].clone();
        if incident["status"] == "resolved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(incident["status"], "resolved", "{incident}");
    let updates = incident["incident_updates"].as_array().expect("updates");
    let statuses: Vec<&str> = updates
        .iter()
        .map(|u| u["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["resolved", "identified"], "newest first");
    assert_eq!(updates[0]["body"], "This incident has been resolved.");
    assert_eq!(updates[0]["created_at"], incident["resolved_at"]);
    assert_eq!(
        updates[0]["affected_components"][0]["code"], "payments",
        "{incident}"
    );
}
