//! The inbound hooks at their boundary: tokens, malformed payloads and the answers each
//! sender expects (PagerDuty Events API v2: 202 with the dedup key, 400 with reasons;
//! Alertmanager webhook v4), and the admin-only operator calls. The real router over
//! real sockets; alerting with the in-memory outbox and no channels.

mod common;

use serde_json::{Value, json};

const TOKEN: &str = "hooks-s3cret";
const ADMIN: &str = "admin-s3cret";

type Server = common::Served;

async fn start() -> Server {
    let config = format!(
        "[server]\nhooks_token = \"{TOKEN}\"\n\
         [[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"db\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\n\
         [[service]]\nid = \"erp\"\ntier = 3\nowner = \"ops\"\nrto = \"4h\"\n\
         [[route]]\nmatch = {{ source = \"backup-host\" }}\nservice = \"erp\"\n"
    );
    common::serve_with_alerting(&config, ADMIN).await
}

impl Server {
    async fn post(&self, path: &str, body: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("get");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.json().await.expect("json")
    }

    async fn alerts(&self) -> Vec<Value> {
        let response = self
            .client
            .get(format!("{}/api/v1/alerts", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("alerts");
        let body: Value = response.json().await.expect("json");
        body["alerts"].as_array().cloned().unwrap_or_default()
    }
}

fn event(action: &str, dedup: Option<&str>, payload: Value) -> String {
    let mut e = json!({ "routing_key": TOKEN, "event_action": action, "payload": payload });
    if let Some(k) = dedup {
        e["dedup_key"] = json!(k);
    }
    e.to_string()
}

#[tokio::test]
async fn pagerduty_events_are_validated_and_take_the_alert_path() {
    let s = start().await;
    let good =
        json!({ "summary": "Backup of erp failed", "source": "backup-host", "severity": "error" });

    // Wrong routing key: refused as PagerDuty does, with a reason.
    let mut wrong: Value =
        serde_json::from_str(&event("trigger", None, good.clone())).expect("json");
    wrong["routing_key"] = json!("nope");
    let (status, body) = s.post("/v2/enqueue", &wrong.to_string(), None).await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "invalid event");
    assert_eq!(body["errors"], json!(["'routing_key' is invalid"]));

    // Not JSON at all, and a trigger missing everything: every reason listed.
    let (status, body) = s.post("/v2/enqueue", "{not json", None).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .expect("reason")
            .starts_with("the body is not JSON")
    );
    let (status, body) = s
        .post("/v2/enqueue", &event("trigger", None, json!({})), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!([
            "'payload.summary' is missing or blank",
            "'payload.source' is missing or blank",
            "'payload.severity' must be critical, error, warning or info"
        ])
    );
    let (status, body) = s
        .post(
            "/v2/enqueue",
            &event("snooze", Some("k"), good.clone()),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["'event_action' must be trigger, acknowledge or resolve"])
    );
    let (status, body) = s
        .post("/v2/enqueue", &event("resolve", None, json!({})), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["'dedup_key' is required for acknowledge and resolve"])
    );
    // Every reason in one list: a wrong key and a bad timestamp together.
    let mut both: Value = serde_json::from_str(&event(
        "trigger",
        None,
        json!({ "summary": "x", "source": "backup-host", "severity": "info", "timestamp": "noon" }),
    ))
    .expect("json");
    both["routing_key"] = json!("nope");
    let (status, body) = s.post("/v2/enqueue", &both.to_string(), None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!([
            "'routing_key' is invalid",
            "'payload.timestamp' must be an RFC 3339 timestamp (e.g. 2026-12-06T10:15:00Z), not \"noon\""
        ])
    );
    assert!(
        s.alerts().await.is_empty(),
        "nothing invalid opened an alert"
    );
    // A valid trigger no route takes (and no default route here) is accepted, not
    // refused as invalid: it is kept where operators see it.
    let stray = json!({ "summary": "Queue stuck", "source": "elsewhere", "severity": "info" });
    let (status, body) = s
        .post("/v2/enqueue", &event("trigger", None, stray), None)
        .await;
    assert_eq!(status, 202, "{body}");
    assert!(s.alerts().await.is_empty(), "no service to open it on");
    let unrouted = s.get_json("/api/v1/inbound/unrouted").await;
    assert_eq!(unrouted["total"], 1, "{unrouted}");
    assert_eq!(unrouted["unrouted"][0]["source"], "events");
    assert_eq!(unrouted["unrouted"][0]["summary"], "Queue stuck");
    assert_eq!(unrouted["unrouted"][0]["labels"]["source"], "elsewhere");

    // A valid trigger: 202 with a generated dedup key, routed by source to erp.
    let (status, body) = s
        .post("/v2/enqueue", &event("trigger", None, good.clone()), None)
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "success");
    let key = body["dedup_key"].as_str().expect("dedup key").to_string();
    // The same key again does not open a second alert.
    let (status, _) = s
        .post(
            "/v2/enqueue",
            &event("trigger", Some(&key), good.clone()),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let alerts = s.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["service"], "erp");
    assert_eq!(alerts[0]["summary"], "Backup of erp failed");
    assert_eq!(alerts[0]["state"], "firing");

    // Acknowledge and resolve by dedup key.
    let (status, body) = s
        .post(
            "/v2/enqueue",
            &event("acknowledge", Some(&key), json!({})),
            None,
        )
        .await;
    assert_eq!(
        (status, body["dedup_key"].as_str()),
        (202, Some(key.as_str()))
    );
    assert_eq!(s.alerts().await[0]["state"], "acknowledged");
    let (status, _) = s
        .post(
            "/v2/enqueue",
            &event("resolve", Some(&key), json!({})),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let alerts = s.alerts().await;
    assert_eq!(alerts[0]["state"], "resolved");
    assert_eq!(alerts[0]["resolved"]["by"], "events");
}

#[tokio::test]
async fn alertmanager_hook_needs_the_token_and_a_v4_payload() {
    let s = start().await;
    let payload = |status: &str| {
        json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"DiskFull\"}",
            "status": status,
            "receiver": "continuo",
            "alerts": [{
                "status": status,
                "labels": { "alertname": "DiskFull", "service": "db" },
                "annotations": { "summary": "Disk 95% full on db-1" },
                "startsAt": "2026-11-25T10:00:00Z",
                "fingerprint": "abc123"
            }]
        })
        .to_string()
    };
    let (status, _) = s
        .post("/hooks/alertmanager", &payload("firing"), None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = s
        .post("/hooks/alertmanager", &payload("firing"), Some("wrong"))
        .await;
    assert_eq!(status, 401);
    let (status, body) = s
        .post("/hooks/alertmanager", "{\"version\": \"4\"}", Some(TOKEN))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .starts_with("not an Alertmanager webhook payload"),
        "{body}"
    );
    let old = payload("firing").replace("\"version\":\"4\"", "\"version\":\"3\"");
    let (status, body) = s.post("/hooks/alertmanager", &old, Some(TOKEN)).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("version `3`"),
        "{body}"
    );

    let (status, body) = s
        .post("/hooks/alertmanager", &payload("firing"), Some(TOKEN))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], 1);
    let alerts = s.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["service"], "db");
    assert_eq!(alerts[0]["summary"], "Disk 95% full on db-1");
    // Alertmanager repeats the group: nothing new.
    let (_, body) = s
        .post("/hooks/alertmanager", &payload("firing"), Some(TOKEN))
        .await;
    assert_eq!(body["changed"], 0);
    // The scheme is case-insensitive (RFC 7235), as for API tokens: one Bearer parser.
    let lowercase = s
        .client
        .post(format!("{}/hooks/alertmanager", s.base))
        .header("content-type", "application/json")
        .header("authorization", format!("bearer {TOKEN}"))
        .body(payload("firing"))
        .send()
        .await
        .expect("request");
    assert_eq!(lowercase.status().as_u16(), 200);
    let (status, _) = s
        .post("/hooks/alertmanager", &payload("resolved"), Some(TOKEN))
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.alerts().await[0]["state"], "resolved");
}

#[tokio::test]
async fn operator_calls_need_the_admin_token_and_name_what_is_wrong() {
    let s = start().await;
    let window = json!({ "title": "Disk swap", "services": ["db"], "duration": "2h" }).to_string();
    let (status, _) = s.post("/api/v1/maintenance", &window, None).await;
    assert_eq!(status, 401);
    let (status, body) = s.post("/api/v1/maintenance", &window, Some(ADMIN)).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(
        body["until_ms"].as_i64().expect("until") - body["from_ms"].as_i64().expect("from"),
        7_200_000
    );
    let bad = json!({ "title": "x", "services": ["dbb"], "duration": "2h" }).to_string();
    let (status, body) = s.post("/api/v1/maintenance", &bad, Some(ADMIN)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("`services`: no service with id `dbb`"))
    );
    let neither = json!({ "title": "x", "services": ["db"] }).to_string();
    let (status, body) = s.post("/api/v1/maintenance", &neither, Some(ADMIN)).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("`until` or `duration`")
    );
    let (status, body) = s
        .post(&format!("/api/v1/maintenance/{id}/end"), "", Some(ADMIN))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = s.post("/api/v1/alerts/nope/ack", "", Some(ADMIN)).await;
    assert_eq!(status, 404);
    let (status, body) = s.post("/api/v1/alerts/nope/ack", "{bad", Some(ADMIN)).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn an_overlong_dedup_key_is_refused_not_replaced() {
    let s = start().await;
    let long = "k".repeat(256);
    let good = json!({ "summary": "x", "source": "backup-host", "severity": "info" });
    let (status, body) = s
        .post("/v2/enqueue", &event("trigger", Some(&long), good), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["'dedup_key' is longer than 255 characters"])
    );
    let huge =
        json!({ "title": "x", "services": ["db"], "duration": "100000000000000d" }).to_string();
    let (status, body) = s.post("/api/v1/maintenance", &huge, Some(ADMIN)).await;
    assert_eq!(status, 422, "{body}");
}

/// A catalog with a default route and a service addressed by its integration key, and
/// an escalation that pages a channel, so "pages someone" can be seen on the alert.
async fn start_with_default_route() -> Server {
    let config = format!(
        "[server]\nhooks_token = \"{TOKEN}\"\n\
         [[channel]]\nid = \"ops-room\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n\
         [[escalation]]\nid = \"pager\"\nlevels = [{{ after = \"0m\", notify = [\"channel:ops-room\"] }}]\n\
         [[team]]\nid = \"ops\"\nescalation = \"pager\"\n\
         [[service]]\nid = \"platform\"\ntier = 2\nowner = \"ops\"\nrto = \"1h\"\n\
         [[service]]\nid = \"db\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\nintegration_key = \"db-integration-key\"\n\
         [[route]]\nservice = \"platform\"\n\
         [[route]]\nmatch = {{ source = \"db-host\" }}\nservice = \"db\"\n"
    );
    common::serve_with_alerting(&config, ADMIN).await
}

#[tokio::test]
async fn what_no_route_takes_pages_the_default_route() {
    let s = start_with_default_route().await;
    // An Events v2 trigger that matches no route.
    let stray = json!({ "summary": "Queue stuck", "source": "elsewhere", "severity": "error" });
    let (status, body) = s
        .post("/v2/enqueue", &event("trigger", Some("q1"), stray), None)
        .await;
    assert_eq!(status, 202, "{body}");
    // An Alertmanager alert that matches no route either.
    let am = json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"CertExpiry\"}",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": "CertExpiry", "job": "blackbox" },
            "annotations": { "summary": "Certificate expires in 3 days" },
            "startsAt": "2026-12-06T08:00:00Z",
            "fingerprint": "f1"
        }]
    });
    let (status, body) = s
        .post("/hooks/alertmanager", &am.to_string(), Some(TOKEN))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unrouted"], json!([]), "the default route took it");
    let alerts = s.alerts().await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    for alert in &alerts {
        assert_eq!(alert["service"], "platform", "{alert}");
        assert_eq!(alert["state"], "firing", "{alert}");
        assert_eq!(
            alert["notified"],
            json!([{ "kind": "channel", "id": "ops-room" }]),
            "the default route pages someone: {alert}"
        );
    }
    let unrouted = s.get_json("/api/v1/inbound/unrouted").await;
    assert_eq!(unrouted["total"], 0, "{unrouted}");
}

#[tokio::test]
async fn an_integration_key_addresses_its_service_directly() {
    let s = start_with_default_route().await;
    // Labels that would route to the default route; the key names `db`.
    let e = json!({
        "routing_key": "db-integration-key",
        "event_action": "trigger",
        "dedup_key": "repl-lag",
        "payload": { "summary": "Replication lag 10 min", "source": "monitor-7", "severity": "critical" }
    });
    let (status, body) = s.post("/v2/enqueue", &e.to_string(), None).await;
    assert_eq!(status, 202, "{body}");
    let alerts = s.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["service"], "db");
    // A key nobody has is refused.
    let mut wrong = e.clone();
    wrong["routing_key"] = json!("db-integration-kez");
    let (status, body) = s.post("/v2/enqueue", &wrong.to_string(), None).await;
    assert_eq!(
        (status, &body["errors"]),
        (400, &json!(["'routing_key' is invalid"]))
    );
    // Resolving with the service's key closes it.
    let mut resolve = e.clone();
    resolve["event_action"] = json!("resolve");
    let (status, _) = s.post("/v2/enqueue", &resolve.to_string(), None).await;
    assert_eq!(status, 202);
    assert_eq!(s.alerts().await[0]["state"], "resolved");
}

#[tokio::test]
async fn change_events_go_on_the_service_timeline_and_page_nobody() {
    let s = start_with_default_route().await;
    let change = json!({
        "routing_key": "db-integration-key",
        "payload": {
            "summary": "Deployed schema migration 42",
            "source": "ci-pipeline",
            "timestamp": "2026-12-01T09:00:00Z"
        }
    });
    let (status, body) = s
        .post("/v2/change/enqueue", &change.to_string(), None)
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "success");
    // Invalid ones are refused with every reason.
    let bad = json!({ "routing_key": "nope", "payload": { "timestamp": "soon" } });
    let (status, body) = s.post("/v2/change/enqueue", &bad.to_string(), None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!([
            "'routing_key' is invalid",
            "'payload.summary' is missing or blank",
            "'payload.timestamp' must be an RFC 3339 timestamp (e.g. 2026-12-06T10:15:00Z), not \"soon\""
        ])
    );
    assert!(s.alerts().await.is_empty(), "a change pages nobody");
    // On the service's own timeline, at the time the sender gave.
    let mut events = Value::Null;
    for _ in 0..100 {
        events = s.get_json("/api/v1/services/db/events").await;
        if events["events"].as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let first = &events["events"][0];
    assert_eq!(first["kind"], "change", "{events}");
    assert_eq!(first["at_ms"], 1_796_115_600_000_i64, "{events}");
    assert_eq!(
        first["text"]["en"],
        "Change reported by ci-pipeline: Deployed schema migration 42"
    );
    assert_eq!(
        first["text"]["nl"],
        "Wijziging gemeld door ci-pipeline: Deployed schema migration 42"
    );
}
