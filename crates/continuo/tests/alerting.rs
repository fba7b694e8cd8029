//! Alerting end to end: the real `continuo serve` binary with a temporary configuration
//! and SQLite database, against real receivers on 127.0.0.1 (an HTTP server that records
//! webhook requests, a small SMTP sink, Debian's `prometheus-alertmanager`).
//!
//! - A failing database pages once for the root cause, naming the services that depend
//!   on it; the impacted services are not paged; acknowledging (signed link or API) and
//!   recovery reach the same receiver, every notification with its own idempotency key.
//! - A real Alertmanager creates and resolves an alert through `/hooks/alertmanager`.
//! - `kill -9` with 500 notifications pending: after a restart every one is delivered
//!   with the key it had before the kill.
//! - Email arrives with text and HTML parts in each recipient's language.

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary and the tools it works with"
)]

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

mod common;
use common::*;

// Helpers only these tests use; the rest of the harness is in `common/mod.rs`.

impl Continuo {
    fn check_status(&self, id: &str) -> String {
        self.get(&format!("/api/v1/checks/{id}"))["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn alerts(&self) -> Vec<Value> {
        self.get("/api/v1/alerts")["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// `http://127.0.0.1:<port>/<path>` as (port, path).
fn split_url(url: &str) -> (u16, String) {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a local URL: {url}"));
    let (port, path) = rest.split_once('/').unwrap_or((rest, ""));
    (port.parse().expect("port"), format!("/{path}"))
}

/// The webhook payloads a receiver got, with their `Idempotency-Key` header checked
/// against the payload's key.
fn notifications(receiver: &HttpServer) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .map(|r| {
            assert_eq!(r.method, "POST", "{r:?}");
            let payload = r.json();
            assert_eq!(
                r.header("idempotency-key"),
                payload["idempotency_key"].as_str(),
                "the header and the payload carry the same key: {r:?}"
            );
            assert_eq!(r.header("x-continuo-event"), payload["event"].as_str());
            payload
        })
        .collect()
}

fn with_event(receiver: &HttpServer, event: &str) -> Vec<Value> {
    notifications(receiver)
        .into_iter()
        .filter(|n| n["event"] == event)
        .collect()
}

fn impacted_ids(notice: &Value) -> Vec<String> {
    let mut ids: Vec<String> = notice["impacted"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

// ---------------------------------------------------------------------------------------
// 1. Root cause grouping
// ---------------------------------------------------------------------------------------

/// Alerts that are open or paged someone: leaves out a symptom's alert that closed
/// quietly during its grouping wait once its service turned out to be impacted.
fn paging_alerts(alerts: Vec<Value>) -> Vec<Value> {
    alerts
        .into_iter()
        .filter(|a| {
            let quiet = a["state"] == "resolved"
                && a["notified"].as_array().is_some_and(Vec::is_empty)
                && a["resolved"]["by"]
                    .as_str()
                    .is_some_and(|b| b.starts_with("continuo: impacted by"));
            !quiet
        })
        .collect()
}

/// A database service with a TCP check, and two web services that hard-depend on it;
/// `web_checks` gives each web service an HTTP check of its own against the given port.
fn grouping_config(receiver: u16, db: u16, web_checks: Option<(u16, u16)>) -> String {
    let check = |id: &str, port: u16| {
        // The same threshold as the database: the web targets fail the moment the
        // database stops and may be seen down first. A new root cause waits its
        // grouping time (its dependencies' detection time) before paging, so the web
        // services turn out to be impacted and are never paged on their own.
        format!(
            r#"
[[service.check]]
id = "{id}"
kind = "http"
url = "http://127.0.0.1:{port}/"
interval = "1s"
timeout = "500ms"
fail_threshold = 1
recover_threshold = 1
"#
        )
    };
    let (shop_check, admin_check) = match web_checks {
        Some((shop, admin)) => (check("shop-http", shop), check("admin-http", admin)),
        None => (String::new(), String::new()),
    };
    format!(
        r#"{}
[[service]]
id = "shop"
name = "Web shop"
tier = 1
owner = "ops"
rto = "1h"
depends_on = ["db"]
{shop_check}
[[service]]
id = "admin"
name = "Admin portal"
tier = 2
owner = "ops"
rto = "4h"
depends_on = ["db"]
{admin_check}"#,
        db_paging_a_webhook("Grouping Test", receiver, db)
    )
}

/// A web target that needs the database: 200 while it can connect to it, 503 after.
fn web_target(db: u16) -> HttpServer {
    let db: SocketAddr = ([127, 0, 0, 1], db).into();
    HttpServer::start(0, move |_| {
        match TcpStream::connect_timeout(&db, Duration::from_millis(300)) {
            Ok(_) => (200, "ok".into()),
            Err(e) => (503, format!("database unreachable: {e}")),
        }
    })
}

/// Checks one notification about the database alert.
fn assert_about_db(notice: &Value, alert_id: &str, event: &str) {
    assert_eq!(notice["version"], 1, "{notice}");
    assert_eq!(notice["event"], event, "{notice}");
    assert_eq!(notice["alert_key"], alert_id, "{notice}");
    assert_eq!(notice["service"]["id"], "db", "{notice}");
    assert_eq!(notice["service"]["name"], "Orders database", "{notice}");
    assert_eq!(notice["organization"], "Grouping Test", "{notice}");
}

#[test]
fn a_failing_database_pages_once_naming_its_impacted_services_and_a_signed_link_acknowledges() {
    let receiver = HttpServer::ok(0);
    let mut db = HttpServer::ok(0);
    let db_port = db.port;
    let dir = workspace(&grouping_config(receiver.port, db_port, None));
    let continuo = Continuo::start(dir.path());

    wait_for("db-tcp up", 30, || continuo.check_status("db-tcp") == "up");
    db.stop();

    wait_for("a firing notification", 30, || {
        !with_event(&receiver, "firing").is_empty()
    });
    let alerts = continuo.alerts();
    assert_eq!(alerts.len(), 1, "one alert for the root cause: {alerts:?}");
    let alert = &alerts[0];
    let alert_id = alert["id"].as_str().expect("alert id").to_string();
    assert_eq!(alert["service"], "db", "{alert}");
    assert_eq!(alert["state"], "firing", "{alert}");
    assert_eq!(alert["impacted"], json!(["admin", "shop"]), "{alert}");

    let firing = with_event(&receiver, "firing");
    assert_eq!(firing.len(), 1, "{firing:?}");
    let firing = &firing[0];
    assert_about_db(firing, &alert_id, "firing");
    assert_eq!(impacted_ids(firing), ["admin", "shop"], "{firing}");
    assert_eq!(firing["level"], 1, "{firing}");
    let title = firing["title"].as_str().unwrap_or("");
    assert!(title.contains("Orders database"), "{title}");
    assert!(
        title.contains("Web shop") && title.contains("Admin portal"),
        "{title}"
    );

    // The signed link: a GET only shows what it would do (mail scanners follow links),
    // a POST acknowledges.
    let ack_url = firing["ack_url"]
        .as_str()
        .expect("ack_url in the firing payload");
    let (link_port, link_path) = split_url(ack_url);
    assert_eq!(link_port, continuo.port, "{ack_url}");
    assert!(link_path.starts_with("/ack/"), "{ack_url}");
    let (status, page) = http(link_port, "GET", &link_path, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(page.contains("Orders database"), "{page}");
    assert_eq!(
        continuo.alerts()[0]["state"],
        "firing",
        "a GET changes nothing"
    );
    let (status, page) = http(link_port, "POST", &link_path, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Acknowledged"), "{page}");
    let (status, _) = http(link_port, "POST", &format!("{link_path}0"), &[], "");
    assert_eq!(status, 403, "an altered link is refused");

    wait_for("an acknowledged notification", 30, || {
        !with_event(&receiver, "acknowledged").is_empty()
    });
    let alert = &continuo.alerts()[0];
    assert_eq!(alert["state"], "acknowledged", "{alert}");
    assert_eq!(alert["acknowledged"]["by"], "link:channel:hook", "{alert}");
    let acknowledged = &with_event(&receiver, "acknowledged")[0];
    assert_about_db(acknowledged, &alert_id, "acknowledged");
    assert_eq!(acknowledged["acknowledged_by"], "link:channel:hook");

    // The database comes back: the resolution reaches the same receiver.
    let _db = HttpServer::ok(db_port);
    wait_for("a resolved notification", 30, || {
        !with_event(&receiver, "resolved").is_empty()
    });
    let resolved = &with_event(&receiver, "resolved")[0];
    assert_about_db(resolved, &alert_id, "resolved");
    assert_eq!(impacted_ids(resolved), ["admin", "shop"], "{resolved}");
    assert!(resolved["ack_url"].is_null(), "{resolved}");
    let alerts = continuo.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["state"], "resolved", "{alerts:?}");

    // Three notifications, all about the database, each with its own key.
    let all = notifications(&receiver);
    let events: Vec<&str> = all.iter().filter_map(|n| n["event"].as_str()).collect();
    assert_eq!(events, ["firing", "acknowledged", "resolved"], "{all:?}");
    assert!(receiver.requests().iter().all(|r| r.path == "/hook"));
    let keys: BTreeSet<&str> = all
        .iter()
        .filter_map(|n| n["idempotency_key"].as_str())
        .collect();
    assert_eq!(keys.len(), 3, "distinct idempotency keys: {keys:?}");
}

#[test]
fn impacted_services_whose_own_checks_fail_are_not_paged_and_the_api_acknowledges() {
    let receiver = HttpServer::ok(0);
    let mut db = HttpServer::ok(0);
    let db_port = db.port;
    let shop = web_target(db_port);
    let admin = web_target(db_port);
    let dir = workspace(&grouping_config(
        receiver.port,
        db_port,
        Some((shop.port, admin.port)),
    ));
    let continuo = Continuo::start(dir.path());

    for check in ["db-tcp", "shop-http", "admin-http"] {
        wait_for(&format!("{check} up"), 30, || {
            continuo.check_status(check) == "up"
        });
    }
    db.stop();

    // The web services' own checks go down too; they join the database's alert.
    wait_for("a firing notification", 30, || {
        !with_event(&receiver, "firing").is_empty()
    });
    for check in ["shop-http", "admin-http"] {
        wait_for(&format!("{check} down"), 30, || {
            continuo.check_status(check) == "down"
        });
    }
    wait_for("both web services listed as impacted", 30, || {
        continuo.alerts()[0]["impacted"] == json!(["admin", "shop"])
    });
    let alerts = paging_alerts(continuo.alerts());
    assert_eq!(alerts.len(), 1, "no alerts of their own: {alerts:?}");
    let alert_id = alerts[0]["id"].as_str().expect("id").to_string();
    assert_eq!(alerts[0]["service"], "db");

    // Acknowledge through the API: the admin token is required.
    let path = format!("/api/v1/alerts/{alert_id}/ack");
    let (status, _) = http(continuo.port, "POST", &path, &[], "");
    assert_eq!(status, 401);
    let (status, body) = continuo.admin("POST", &path, r#"{"by": "anna"}"#);
    assert_eq!(status, 200, "{body}");
    let acked: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(acked["state"], "acknowledged", "{acked}");
    assert_eq!(acked["acknowledged"]["by"], "anna", "{acked}");
    let (status, _) = continuo.admin("POST", "/api/v1/alerts/no-such-alert/ack", "");
    assert_eq!(status, 404);
    wait_for("an acknowledged notification", 30, || {
        !with_event(&receiver, "acknowledged").is_empty()
    });
    let acknowledged = &with_event(&receiver, "acknowledged")[0];
    assert_about_db(acknowledged, &alert_id, "acknowledged");
    assert_eq!(acknowledged["acknowledged_by"], "anna");

    // The database comes back, then the web services: one resolution, naming both, and
    // still no alert for the web services (their recovery comes after the database's).
    let _db = HttpServer::ok(db_port);
    wait_for("a resolved notification", 30, || {
        !with_event(&receiver, "resolved").is_empty()
    });
    for check in ["db-tcp", "shop-http", "admin-http"] {
        wait_for(&format!("{check} up again"), 30, || {
            continuo.check_status(check) == "up"
        });
    }
    let resolved = &with_event(&receiver, "resolved")[0];
    assert_about_db(resolved, &alert_id, "resolved");
    assert_eq!(impacted_ids(resolved), ["admin", "shop"], "{resolved}");

    let alerts = paging_alerts(continuo.alerts());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["state"], "resolved");
    let all = notifications(&receiver);
    let events: Vec<&str> = all.iter().filter_map(|n| n["event"].as_str()).collect();
    assert_eq!(events, ["firing", "acknowledged", "resolved"], "{all:?}");
    assert!(all.iter().all(|n| n["service"]["id"] == "db"), "{all:?}");
    let keys: BTreeSet<&str> = all
        .iter()
        .filter_map(|n| n["idempotency_key"].as_str())
        .collect();
    assert_eq!(keys.len(), 3, "distinct idempotency keys: {keys:?}");
}

// ---------------------------------------------------------------------------------------
// 2. A real Alertmanager
// ---------------------------------------------------------------------------------------

/// Debian's Alertmanager, found on the `PATH`.
const ALERTMANAGER: &str = "prometheus-alertmanager";
/// How to get it.
const ALERTMANAGER_INSTALL: &str = "install Debian's prometheus-alertmanager (it brings amtool)";
const HOOKS_TOKEN: &str = "hooks-s3cret";

/// A running Alertmanager; killed when dropped.
struct Alertmanager {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Alertmanager {
    fn start(dir: &Path, webhook_url: &str) -> Alertmanager {
        let config = format!(
            r#"
global:
  resolve_timeout: 5s
route:
  receiver: continuo
  group_by: ['alertname', 'service']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: continuo
    webhook_configs:
      - url: '{webhook_url}'
        send_resolved: true
        http_config:
          authorization:
            credentials: '{HOOKS_TOKEN}'
"#
        );
        let config_path = dir.join("alertmanager.yml");
        std::fs::write(&config_path, config).expect("write alertmanager.yml");
        let storage = dir.join("alertmanager-data");
        std::fs::create_dir_all(&storage).expect("storage dir");
        let port = free_port();
        let log = dir.join("alertmanager.log");
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start prometheus-alertmanager");
        let alertmanager = Alertmanager { child, port, log };
        wait_for("Alertmanager to be ready", 30, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/-/ready", &[], "").0 == 200
        });
        alertmanager
    }

    /// Posts one alert about `service`, ending at `ends_ms`.
    fn post_alert(&self, service: &str, starts_ms: i64, ends_ms: i64) {
        let at = |ms| {
            jiff::Timestamp::from_millisecond(ms)
                .expect("timestamp")
                .to_string()
        };
        let alerts = json!([{
            "labels": { "alertname": "PaymentsErrorRate", "service": service },
            "annotations": { "summary": "payments error rate above 5%" },
            "startsAt": at(starts_ms),
            "endsAt": at(ends_ms),
        }]);
        let (status, body) = http(
            self.port,
            "POST",
            "/api/v2/alerts",
            &[],
            &alerts.to_string(),
        );
        assert_eq!(status, 200, "Alertmanager refused the alert: {body}");
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- alertmanager log ---\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

#[test]
fn a_real_alertmanager_opens_and_resolves_an_alert() {
    if skip_without("a_real_alertmanager", ALERTMANAGER, ALERTMANAGER_INSTALL) {
        return;
    }
    let receiver = HttpServer::ok(0);
    let dir = workspace(&format!(
        r#"
[organization]
name = "Alertmanager Test"
timezone = "UTC"

[server]
database = "sqlite://state/continuo.db"
location = "test-1"
hooks_token = "{HOOKS_TOKEN}"

[[team]]
id = "ops"
escalation = "page-hook"

[[escalation]]
id = "page-hook"
levels = [{{ after = "0m", notify = ["channel:hook"] }}]

[[channel]]
id = "hook"
kind = "webhook"
url = "http://127.0.0.1:{}/hook"

[[service]]
id = "payments"
name = "Payments API"
tier = 2
owner = "ops"
rto = "1h"
"#,
        receiver.port
    ));
    let continuo = Continuo::start(dir.path());
    let alertmanager = Alertmanager::start(
        dir.path(),
        &format!("http://127.0.0.1:{}/hooks/alertmanager", continuo.port),
    );

    // The hook wants the hooks token, as a bearer token or `?token=`.
    let empty = r#"{"version":"4","groupKey":"{}:{}","status":"firing","alerts":[]}"#;
    let (status, _) = http(continuo.port, "POST", "/hooks/alertmanager", &[], empty);
    assert_eq!(status, 401);
    let path = format!("/hooks/alertmanager?token={HOOKS_TOKEN}");
    let (status, body) = http(continuo.port, "POST", &path, &[], empty);
    assert_eq!(status, 200, "{body}");

    let now = jiff::Timestamp::now().as_millisecond();
    alertmanager.post_alert("payments", now, now + 3_600_000);
    wait_for("an open alert from Alertmanager", 30, || {
        continuo
            .alerts()
            .iter()
            .any(|a| a["service"] == "payments" && a["state"] == "firing")
    });
    let alert = continuo.alerts()[0].clone();
    assert_eq!(alert["origin"]["kind"], "inbound", "{alert}");
    assert_eq!(alert["origin"]["source"], "alertmanager", "{alert}");
    assert_eq!(alert["summary"], "payments error rate above 5%", "{alert}");
    let alert_id = alert["id"].as_str().expect("id").to_string();
    wait_for("a firing notification", 30, || {
        !with_event(&receiver, "firing").is_empty()
    });
    let firing = &with_event(&receiver, "firing")[0];
    assert_eq!(firing["alert_key"], alert_id.as_str(), "{firing}");
    assert_eq!(firing["service"]["id"], "payments", "{firing}");
    assert_eq!(
        firing["summary"], "payments error rate above 5%",
        "{firing}"
    );

    // Resolved: the same alert, ending now.
    alertmanager.post_alert("payments", now, jiff::Timestamp::now().as_millisecond());
    wait_for("Continuo to resolve the alert", 30, || {
        continuo
            .alerts()
            .iter()
            .any(|a| a["id"] == alert_id.as_str() && a["state"] == "resolved")
    });
    wait_for("a resolved notification", 30, || {
        !with_event(&receiver, "resolved").is_empty()
    });
    let resolved = &with_event(&receiver, "resolved")[0];
    assert_eq!(resolved["alert_key"], alert_id.as_str(), "{resolved}");
    assert_eq!(continuo.alerts().len(), 1, "one alert for the whole story");
    assert_eq!(with_event(&receiver, "firing").len(), 1, "paged once");
}

const AMTOOL: &str = "amtool";

/// `amtool alert add` against `alertmanager`, with the given extra arguments.
fn amtool(alertmanager: &Alertmanager, args: &[&str]) {
    let output = Command::new(AMTOOL)
        .arg(format!(
            "--alertmanager.url=http://127.0.0.1:{}",
            alertmanager.port
        ))
        .args(["alert", "add"])
        .args(args)
        .output()
        .expect("run amtool");
    assert!(
        output.status.success(),
        "amtool {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn an_amtool_alert_on_green_checks_holds_its_incident_until_the_alert_resolves() {
    let test = "an_amtool_alert_on_green_checks";
    if skip_without(test, ALERTMANAGER, ALERTMANAGER_INSTALL)
        || skip_without(test, AMTOOL, ALERTMANAGER_INSTALL)
    {
        return;
    }
    let receiver = HttpServer::ok(0);
    let target = HttpServer::ok(0);
    let dir = workspace(&format!(
        r#"
[organization]
name = "Amtool Test"
timezone = "UTC"

[server]
database = "sqlite://state/continuo.db"
location = "test-1"
hooks_token = "{HOOKS_TOKEN}"

[[team]]
id = "ops"
escalation = "page-hook"

[[escalation]]
id = "page-hook"
levels = [{{ after = "0m", notify = ["channel:hook"] }}]

[[channel]]
id = "hook"
kind = "webhook"
url = "http://127.0.0.1:{}/hook"

[[route]]
service = "payments"

[[service]]
id = "payments"
name = "Payments API"
tier = 2
owner = "ops"
rto = "30m"

  [[service.check]]
  id = "payments-http"
  kind = "http"
  url = "http://127.0.0.1:{}/"
  interval = "1s"

# Needs payments, has no checks: nothing has seen it fail.
[[service]]
id = "checkout"
name = "Checkout"
tier = 2
owner = "ops"
rto = "1h"
depends_on = ["payments"]
"#,
        receiver.port, target.port
    ));
    let continuo = Continuo::start(dir.path());
    let alertmanager = Alertmanager::start(
        dir.path(),
        &format!("http://127.0.0.1:{}/hooks/alertmanager", continuo.port),
    );
    wait_for("the payments check to be up", 30, || {
        continuo.check_status("payments-http") == "up"
    });
    // Fired with amtool, started 40 minutes ago, with no service label: the default
    // route takes it.
    let now = jiff::Timestamp::now().as_millisecond();
    let started = now - now.rem_euclid(1_000) - 40 * 60_000;
    let at = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .expect("timestamp")
            .to_string()
    };
    let start = format!("--start={}", at(started));
    amtool(
        &alertmanager,
        &[
            "alertname=PaymentsLatency",
            "team=payments",
            "--annotation=summary=p99 latency above 2 s",
            &start,
        ],
    );
    let open_incident = || -> Option<Value> {
        continuo.get("/api/v1/incidents")["incidents"]
            .as_array()
            .and_then(|list| list.first().cloned())
    };
    wait_for("an incident from the amtool alert", 30, || {
        open_incident().is_some()
    });
    // The page names what payments takes down, though nothing has seen checkout fail.
    wait_for("a firing page", 30, || {
        !with_event(&receiver, "firing").is_empty()
    });
    let firing = &with_event(&receiver, "firing")[0];
    assert_eq!(impacted_ids(firing), ["checkout"], "{firing}");
    // The checks stay green; the incident stays open and the service down.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(continuo.check_status("payments-http"), "up");
    let incident = open_incident().expect("incident");
    let id = incident["id"].as_str().expect("id").to_string();
    let full = continuo.get(&format!("/api/v1/incidents/{id}"));
    assert_ne!(full["status"], "resolved", "{full}");
    assert_eq!(full["services"][0]["service"], "payments", "{full}");
    assert_eq!(full["services"][0]["up_ms"], Value::Null, "{full}");
    assert_eq!(full["milestones"]["mitigated_ms"], Value::Null, "{full}");
    assert_eq!(full["services"][0]["down_ms"], started, "{full}");

    // Resolved with amtool: the alert ends now.
    let end = format!("--end={}", at(jiff::Timestamp::now().as_millisecond()));
    amtool(
        &alertmanager,
        &[
            "alertname=PaymentsLatency",
            "team=payments",
            "--annotation=summary=p99 latency above 2 s",
            &start,
            &end,
        ],
    );
    wait_for("the incident to resolve with the alert", 60, || {
        continuo.get(&format!("/api/v1/incidents/{id}"))["status"] == "resolved"
    });
    let full = continuo.get(&format!("/api/v1/incidents/{id}"));
    let took = full["services"][0]["up_ms"].as_i64().expect("up") - started;
    assert!(took >= 40 * 60_000, "recovery took {took} ms: {full}");
    // The postmortem reports the alert's real duration, against the RTO.
    let (status, md) = continuo.admin(
        "GET",
        &format!("/api/v1/incidents/{id}/postmortem?lang=en"),
        "",
    );
    assert_eq!(status, 200, "{md}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| Payments API"))
        .unwrap_or_else(|| panic!("no impact row for payments:\n{md}"));
    assert!(row.contains("40 min"), "{row}");
    assert!(row.contains("RTO breached"), "{row}");
}

// ---------------------------------------------------------------------------------------
// 3. The outbox under kill -9
// ---------------------------------------------------------------------------------------

#[test]
fn after_kill_9_with_500_notifications_pending_every_one_is_delivered_with_its_key() {
    const CHANNELS: usize = 10;
    const EVENTS: usize = 50;
    // Nothing listens here until after the kill: every attempt before it fails.
    let receiver_port = free_port();
    let mut config = format!(
        r#"
[organization]
name = "Outbox Test"
timezone = "UTC"

[server]
database = "sqlite://state/continuo.db"
location = "test-1"
hooks_token = "{HOOKS_TOKEN}"

[[team]]
id = "ops"
escalation = "page-everything"

[[escalation]]
id = "page-everything"
levels = [{{ after = "0m", notify = [{}] }}]

[[service]]
id = "batch"
name = "Batch jobs"
tier = 3
owner = "ops"
rto = "1d"

[[route]]
match = {{ source = "x" }}
service = "batch"
"#,
        (0..CHANNELS)
            .map(|i| format!("\"channel:hook-{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for i in 0..CHANNELS {
        config.push_str(&format!(
            "\n[[channel]]\nid = \"hook-{i}\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{receiver_port}/hook/{i}\"\n"
        ));
    }
    let dir = workspace(&config);
    let continuo = Continuo::start(dir.path());

    for i in 0..EVENTS {
        let event = json!({
            "routing_key": HOOKS_TOKEN,
            "event_action": "trigger",
            "dedup_key": format!("burst-{i}"),
            "payload": { "summary": format!("job {i} failed"), "source": "x", "severity": "critical" },
        });
        let (status, body) = http(
            continuo.port,
            "POST",
            "/v2/enqueue",
            &[],
            &event.to_string(),
        );
        assert_eq!(status, 202, "{body}");
    }
    let total = CHANNELS * EVENTS;
    wait_for("500 pending notifications", 30, || {
        continuo.get_admin_json("/api/v1/outbox?state=pending&limit=1")["counts"]["pending"]
            == total
    });
    let listed = continuo.get_admin_json("/api/v1/outbox?state=pending&limit=1000");
    let before: BTreeSet<String> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["key"].as_str().expect("key").to_string())
        .collect();
    assert_eq!(before.len(), total, "{}", listed["counts"]);
    assert_eq!(listed["counts"]["sent"], 0, "{}", listed["counts"]);

    continuo.kill();
    let receiver = HttpServer::ok(receiver_port);
    let continuo = Continuo::start(dir.path());

    let received = || -> BTreeSet<String> {
        receiver
            .requests()
            .iter()
            .filter_map(|r| r.header("idempotency-key").map(str::to_string))
            .collect()
    };
    wait_for("every notification at the receiver", 50, || {
        received().len() >= total
    });
    assert_eq!(
        received(),
        before,
        "the keys before the kill are the keys received"
    );
    // Each request's header matches its payload, and went to its own channel's URL.
    for request in receiver.requests().iter() {
        let payload = request.json();
        assert_eq!(
            request.header("idempotency-key"),
            payload["idempotency_key"].as_str()
        );
        let channel = request.path.trim_start_matches("/hook/");
        let key = payload["idempotency_key"].as_str().unwrap_or("");
        assert!(
            key.ends_with(&format!("/hook-{channel}")),
            "{key} at {}",
            request.path
        );
    }
    wait_for("the outbox to record every delivery", 30, || {
        continuo.get_admin_json("/api/v1/outbox?limit=1")["counts"]["sent"] == total
    });
}

impl Continuo {
    fn get_admin_json(&self, path: &str) -> Value {
        let (status, body) = self.admin("GET", path, "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

// ---------------------------------------------------------------------------------------
// 4. Email in the recipient's language
// ---------------------------------------------------------------------------------------

/// A parsed message: top-level headers (lower-case names, unfolded) and the decoded
/// bodies of its parts by content type.
struct ParsedMail {
    headers: BTreeMap<String, String>,
    parts: BTreeMap<String, String>,
}

fn parse_mail(data: &str) -> ParsedMail {
    let (headers, body) = parse_headers(data);
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("not multipart: {content_type}\n{data}"));
    let mut parts = BTreeMap::new();
    for part in body.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (part_headers, part_body) = parse_headers(part.trim_start_matches(['\r', '\n']));
        let kind = part_headers
            .get("content-type")
            .and_then(|t| t.split(';').next())
            .unwrap_or("")
            .trim()
            .to_lowercase();
        let encoding = part_headers
            .get("content-transfer-encoding")
            .map(|e| e.to_lowercase())
            .unwrap_or_default();
        let decoded = match encoding.as_str() {
            "base64" => String::from_utf8_lossy(&base64(part_body)).into_owned(),
            "quoted-printable" => quoted_printable(part_body),
            _ => part_body.to_string(),
        };
        parts.insert(kind, decoded);
    }
    ParsedMail { headers, parts }
}

#[test]
fn email_reaches_each_person_in_their_own_language_with_text_and_html() {
    let sink = SmtpSink::start();
    let mut target = HttpServer::ok(0);
    let dir = workspace(&format!(
        r#"
[organization]
name = "Mail Test"
timezone = "Europe/Amsterdam"
languages = ["en", "nl"]

[server]
database = "sqlite://state/continuo.db"
location = "test-1"

[[person]]
id = "anna"
name = "Anna de Vries"
email = "anna@example.test"
language = "nl"

[[person]]
id = "chen"
name = "Chen Li"
email = "chen@example.test"
language = "en"

[[team]]
id = "ops"
members = ["anna", "chen"]
escalation = "mail-people"

[[escalation]]
id = "mail-people"
levels = [{{ after = "0m", notify = ["person:anna", "person:chen"] }}]

[[channel]]
id = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {}
tls = "none"
from = "Continuo <continuo@example.test>"
to = "ops@example.test"

[[service]]
id = "payments"
name = "Payments API"
tier = 2
owner = "ops"
rto = "1h"

[[service.check]]
id = "payments-http"
kind = "http"
url = "http://127.0.0.1:{}/"
interval = "1s"
timeout = "500ms"
fail_threshold = 1
"#,
        sink.port, target.port
    ));
    let continuo = Continuo::start(dir.path());
    wait_for("payments-http up", 30, || {
        continuo.check_status("payments-http") == "up"
    });
    target.stop();

    wait_for("two messages in the SMTP sink", 30, || {
        sink.messages().len() >= 2
    });
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let to = |address: &str| {
        let mail = messages
            .iter()
            .find(|m| m.recipients == [address])
            .unwrap_or_else(|| panic!("no message to {address}: {messages:?}"));
        parse_mail(&mail.data)
    };

    let anna = to("anna@example.test");
    let subject = decode_words(&anna.headers["subject"]);
    assert!(
        subject.starts_with("[STORING] Payments API ligt eruit"),
        "{subject}"
    );
    assert_eq!(anna.headers["content-language"], "nl");
    assert_eq!(anna.headers["x-continuo-event"], "firing");
    assert!(
        anna.headers["to"].contains("anna@example.test"),
        "{:?}",
        anna.headers
    );
    assert!(
        anna.headers["content-type"].starts_with("multipart/alternative"),
        "{:?}",
        anna.headers
    );
    let text = &anna.parts["text/plain"];
    assert!(text.contains("Payments API ligt eruit"), "{text}");
    assert!(text.contains("Bevestigen: http://127.0.0.1:"), "{text}");
    let html = &anna.parts["text/html"];
    assert!(
        html.contains("<html") && html.contains("ligt eruit"),
        "{html}"
    );

    let chen = to("chen@example.test");
    let subject = decode_words(&chen.headers["subject"]);
    assert!(
        subject.starts_with("[FIRING] Payments API is down"),
        "{subject}"
    );
    assert_eq!(chen.headers["content-language"], "en");
    let text = &chen.parts["text/plain"];
    assert!(text.contains("Payments API is down"), "{text}");
    assert!(!text.contains("ligt eruit"), "{text}");
    assert!(chen.parts["text/html"].contains("is down"));

    // The same alert threads both messages; each has its own id.
    assert_eq!(anna.headers["references"], chen.headers["references"]);
    assert_ne!(anna.headers["message-id"], chen.headers["message-id"]);
    assert_eq!(continuo.alerts().len(), 1);
}

/// The CLI against a running server: (exit code, stdout).
fn cli(port: u16, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(args)
        .args(["--url", &format!("http://127.0.0.1:{port}")])
        .env("CONTINUO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("CONTINUO_LANG", "en")
        .output()
        .expect("run continuo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), stdout)
}

#[test]
fn a_dead_target_opens_a_sev1_incident_that_is_acknowledged_updated_resolved_and_written_up() {
    const HOUR: i64 = 3_600_000;
    let receiver = HttpServer::ok(0);
    let mut db = HttpServer::ok(0);
    let db_port = db.port;
    // Under NIS2, with a SEV1 plan; the admin portal's RTO is one second, so its
    // recovery is measured as breached, while the database's 30 minutes are met.
    let config = grouping_config(receiver.port, db_port, None)
        .replace(
            "languages = [\"en\"]",
            "languages = [\"en\", \"nl\"]\nregulations = [\"nis2\"]",
        )
        .replace("rto = \"4h\"", "rto = \"1s\"")
        + r#"
[[response_plan]]
id = "major"
severity = ["SEV1"]
roles = { incident_commander = "team:ops" }
notify = ["channel:hook"]
significant = true
update_every = "30m"
"#;
    let dir = workspace(&config);
    let continuo = Continuo::start(dir.path());
    wait_for("db-tcp up", 30, || continuo.check_status("db-tcp") == "up");
    db.stop();

    let incidents = |c: &Continuo| {
        c.get("/api/v1/incidents")["incidents"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    wait_for("an incident", 30, || !incidents(&continuo).is_empty());
    let list = incidents(&continuo);
    assert_eq!(list.len(), 1, "one incident for one root cause: {list:?}");
    let inc = &list[0];
    let id = inc["id"].as_str().expect("id").to_string();
    assert_eq!(inc["severity"], 1, "tier 1, three services: SEV1: {inc}");
    assert_eq!(inc["status"], "investigating");
    let services: Vec<(&str, bool)> = inc["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| (s["service"].as_str().unwrap_or(""), s["root_cause"] == true))
        .collect();
    assert_eq!(
        services,
        [("db", true), ("admin", false), ("shop", false)],
        "{inc}"
    );
    assert_eq!(inc["roles"]["incident_commander"], "anna", "{inc}");
    // NIS2 deadlines count from detection: 24 h, 72 h, one calendar month.
    let detected = inc["milestones"]["detected_ms"].as_i64().expect("detected");
    let started = inc["milestones"]["started_ms"].as_i64().expect("started");
    assert!(started <= detected, "{inc}");
    let due: Vec<(String, i64)> = inc["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap_or("").to_string(),
                d["due_ms"].as_i64().unwrap_or(0) - detected,
            )
        })
        .collect();
    assert_eq!(due[0], ("nis2-early-warning".to_string(), 24 * HOUR));
    assert_eq!(due[1], ("nis2-notification".to_string(), 72 * HOUR));
    assert_eq!(due[2].0, "nis2-final-report");
    assert!(
        (28 * 24 * HOUR..=31 * 24 * HOUR).contains(&due[2].1),
        "{due:?}"
    );
    assert!(
        inc["deadlines"][0]["countdown"]["en"]
            .as_str()
            .is_some_and(|c| c.starts_with("in 23 h") || c.starts_with("in 1 d")),
        "{inc}"
    );
    // The crisis team was called out through the outbox.
    wait_for("the callout", 30, || {
        notifications(&receiver).iter().any(|n| {
            n["summary"]
                .as_str()
                .is_some_and(|s| s.contains("crisis team activated"))
        })
    });

    // Acknowledged through the incident API: the alert stops escalating too.
    let (status, body) = continuo.admin(
        "POST",
        &format!("/api/v1/incidents/{id}/ack"),
        r#"{"by": "anna"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        continuo.port,
        "POST",
        &format!("/api/v1/incidents/{id}/ack"),
        &[],
        "{}",
    );
    assert_eq!(status, 401, "changes need the admin token: {body}");
    assert_eq!(continuo.alerts()[0]["state"], "acknowledged");

    // A status update for customers, in both languages.
    let (status, body) = continuo.admin(
        "POST",
        &format!("/api/v1/incidents/{id}/update"),
        r#"{"status": "identified", "audience": "customers", "message": "A disk filled up.", "by": "anna"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let inc: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(inc["status"], "identified");
    let update = &inc["updates"][0];
    assert!(
        update["body"]["en"]
            .as_str()
            .is_some_and(|t| t.contains("We have found the cause")
                && t.contains("A disk filled up.")
                && t.contains("Next update by")),
        "{update}"
    );
    assert!(
        update["body"]["nl"]
            .as_str()
            .is_some_and(|t| t.contains("We hebben de oorzaak")),
        "{update}"
    );
    let (status, body) = continuo.admin(
        "POST",
        &format!("/api/v1/incidents/{id}/update"),
        r#"{"status": "fixed"}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("`status` is investigating"), "{body}");

    // The database comes back once the admin portal's one-second RTO has passed; the
    // alert resolves and the incident with it.
    thread::sleep(Duration::from_millis(2_500));
    let _db = HttpServer::ok(db_port);
    wait_for("the incident to resolve", 60, || {
        continuo.get(&format!("/api/v1/incidents/{id}"))["status"] == "resolved"
    });
    let inc = continuo.get(&format!("/api/v1/incidents/{id}"));
    for key in [
        "started_ms",
        "detected_ms",
        "acknowledged_ms",
        "mitigated_ms",
        "resolved_ms",
    ] {
        assert!(inc["milestones"][key].is_i64(), "{key}: {inc}");
    }
    let verdicts: BTreeMap<String, String> = inc["recovery"]
        .as_array()
        .expect("recovery")
        .iter()
        .map(|r| {
            (
                r["service"].as_str().unwrap_or("").to_string(),
                r["recovery"]["verdict"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(verdicts["db"], "met", "{inc}");
    assert_eq!(verdicts["admin"], "breached", "{inc}");

    // The postmortem shows every milestone with measured durations and a verdict per
    // service, in English and Dutch; the CLI writes the same document.
    let (status, md) = continuo.admin(
        "GET",
        &format!("/api/v1/incidents/{id}/postmortem?lang=en"),
        "",
    );
    assert_eq!(status, 200, "{md}");
    for needle in [
        "## Summary",
        "## Impact",
        "## Root causes",
        "## Trigger",
        "## Resolution",
        "## Detection",
        "## Action items",
        "### What went well",
        "### Where we got lucky",
        "## Timeline",
        "| Started (first failing observation) |",
        "| Detected |",
        "| Acknowledged |",
        "| Mitigated |",
        "| Resolved |",
        "time to detect:",
        "time to acknowledge:",
        "time to mitigate:",
        "time to resolve:",
        "**RTO met**",
        "**RTO breached (by ",
        "NIS2 early warning",
    ] {
        assert!(md.contains(needle), "postmortem lacks {needle:?}:\n{md}");
    }
    let orders = md
        .lines()
        .find(|l| l.starts_with("| Orders database (root cause)"))
        .unwrap_or_else(|| panic!("no database row:\n{md}"));
    assert!(orders.contains("**RTO met**"), "{orders}");
    let admin = md
        .lines()
        .find(|l| l.starts_with("| Admin portal"))
        .unwrap_or_else(|| panic!("no admin row:\n{md}"));
    assert!(admin.contains("**RTO breached (by "), "{admin}");
    let (status, nl) = continuo.admin(
        "GET",
        &format!("/api/v1/incidents/{id}/postmortem?lang=nl"),
        "",
    );
    assert_eq!(status, 200);
    assert!(
        nl.contains("**RTO gehaald**") && nl.contains("## Tijdlijn"),
        "{nl}"
    );
    let out = dir.path().join("postmortem.md");
    let out_text = out.display().to_string();
    cli(
        continuo.port,
        &[
            "incident",
            "postmortem",
            &id,
            "--out",
            &out_text,
            "--action",
            "Alarm on disk use;anna;2026-12-01",
        ],
    );
    let written = std::fs::read_to_string(&out).expect("postmortem file");
    assert!(
        written.contains("| 1 | Alarm on disk use | anna | 2026-12-01 | no |"),
        "{written}"
    );
    let (_, listed) = cli(continuo.port, &["incident", "list"]);
    assert!(
        listed.contains(&id) && listed.contains("resolved"),
        "{listed}"
    );
    let (_, figures) = cli(continuo.port, &["incident", "stats", "--json"]);
    let figures: Value = serde_json::from_str(&figures).expect("stats json");
    assert_eq!(figures["all"]["incidents"], 1, "{figures}");
    assert_eq!(figures["all"]["rto_breaches"], 1, "{figures}");
    assert_eq!(figures["by_service"]["db"]["rto_met"], 1, "{figures}");
}

#[test]
fn a_gateway_failover_is_on_the_services_timeline_and_the_open_incident() {
    let mut primary = HttpServer::start(0, |_| (200, "primary".into()));
    let backup = HttpServer::start(0, |_| (200, "backup".into()));
    let gw = free_port();
    let config = format!(
        r#"
[organization]
name = "Failover Test"
timezone = "UTC"
languages = ["en", "nl"]

[server]
database = "sqlite://state/continuo.db"
location = "test-1"

[[person]]
id = "anna"
name = "Anna"

[[team]]
id = "ops"
members = ["anna"]

[[service]]
id = "shop"
name = "Web shop"
tier = 1
owner = "ops"
rto = "15m"

[[service.endpoint]]
url = "http://127.0.0.1:{p}"
role = "primary"

[[service.endpoint]]
url = "http://127.0.0.1:{b}"
role = "backup"

[[gateway]]
id = "shop-gw"
listen = "127.0.0.1:{gw}"
service = "shop"
eject_after = 1
check_interval = "200ms"
check_fast_interval = "100ms"
"#,
        p = primary.port,
        b = backup.port,
    );
    let dir = workspace(&config);
    let continuo = Continuo::start(dir.path());
    wait_for("the gateway to listen", 30, || {
        TcpStream::connect(("127.0.0.1", gw)).is_ok()
    });
    let (status, body) = http(gw, "GET", "/", &[], "");
    assert_eq!((status, body.as_str()), (200, "primary"));

    // An incident is open for the shop when its primary dies.
    let (status, body) = continuo.admin(
        "POST",
        "/api/v1/incidents",
        r#"{"title": "Shop primary unstable", "services": ["shop"], "by": "anna"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    primary.stop();
    // Clients keep being answered, by the backup.
    wait_for("the backup to answer", 30, || {
        http(gw, "GET", "/", &[], "").1 == "backup"
    });

    let events = |c: &Continuo| {
        c.get("/api/v1/services/shop/events")["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    wait_for("the failover on the service's timeline", 30, || {
        events(&continuo).iter().any(|e| {
            e["text"]["en"]
                .as_str()
                .is_some_and(|t| t.contains("failover finished in"))
        })
    });
    let listed = events(&continuo);
    assert!(
        listed
            .iter()
            .all(|e| e["text"]["nl"].as_str().is_some_and(|t| !t.is_empty())),
        "{listed:?}"
    );
    let inc = continuo.get(&format!("/api/v1/incidents/{id}"));
    let failovers: Vec<&str> = inc["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "failover")
        .filter_map(|e| e["text"]["en"].as_str())
        .collect();
    assert!(
        failovers
            .iter()
            .any(|t| t.contains("failover to the backup tier started")),
        "{failovers:?}"
    );
    assert!(
        failovers.iter().any(|t| t.contains("failover finished in")),
        "{failovers:?}"
    );
    assert!(
        inc["milestones"]["mitigated_ms"].is_i64(),
        "a failover mitigates: {inc}"
    );
    // The gateway's own view and its metrics.
    let gateways = continuo.get("/api/v1/gateways");
    assert!(gateways.to_string().contains("shop-gw"), "{gateways}");
    let (_, metrics) = http(continuo.port, "GET", "/metrics", &[], "");
    assert!(metrics.contains("failover"), "{metrics}");
    let (_, status) = cli(continuo.port, &["gateway", "status"]);
    assert!(status.contains("shop-gw"), "{status}");
    let (status, body) = continuo.admin("GET", "/api/v1/services/nope/events", "");
    assert_eq!(status, 404, "{body}");
    let (status, body) = http(
        continuo.port,
        "GET",
        "/api/v1/services/shop/events",
        &[],
        "",
    );
    assert_eq!(status, 401, "a service's timeline is private: {body}");
}

#[test]
fn gateways_follow_a_reload_and_unchanged_ones_keep_running() {
    let primary = HttpServer::start(0, |_| (200, "primary".into()));
    let backup = HttpServer::start(0, |_| (200, "backup".into()));
    let (first, second) = (free_port(), free_port());
    let config = |gateways: &str| {
        format!(
            r#"{}
[[service.endpoint]]
name = "p1"
url = "http://127.0.0.1:{p}"
role = "primary"

[[service.endpoint]]
url = "http://127.0.0.1:{b}"
role = "backup"
{gateways}"#,
            one_service("Reload Test", "shop"),
            p = primary.port,
            b = backup.port,
        )
    };
    let gateway = |id: &str, port: u16| {
        format!("\n[[gateway]]\nid = \"{id}\"\nlisten = \"127.0.0.1:{port}\"\nservice = \"shop\"\n")
    };
    let dir = workspace(&config(""));
    let continuo = Continuo::start(dir.path());
    assert_eq!(continuo.get("/api/v1/gateways")["gateways"], json!([]));

    // A gateway added by a reload starts.
    std::fs::write(
        dir.path().join("continuo.toml"),
        config(&gateway("one", first)),
    )
    .expect("write");
    let (status, body) = continuo.admin("POST", "/api/v1/reload", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(http(first, "GET", "/", &[], "").1, "primary");
    // Drained, then the config gains a second gateway: the first keeps its state.
    let (status, body) = continuo.admin("POST", "/api/v1/gateways/one/endpoints/p1/drain", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(http(first, "GET", "/", &[], "").1, "backup");
    std::fs::write(
        dir.path().join("continuo.toml"),
        config(&(gateway("one", first) + &gateway("two", second))),
    )
    .expect("write");
    let (status, body) = continuo.admin("POST", "/api/v1/reload", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        http(first, "GET", "/", &[], "").1,
        "backup",
        "unchanged: still drained"
    );
    assert_eq!(http(second, "GET", "/", &[], "").1, "primary");
    // Removed from the config: it stops listening.
    std::fs::write(
        dir.path().join("continuo.toml"),
        config(&gateway("two", second)),
    )
    .expect("write");
    let (status, body) = continuo.admin("POST", "/api/v1/reload", "");
    assert_eq!(status, 200, "{body}");
    wait_for("gateway one to stop listening", 30, || {
        TcpStream::connect(("127.0.0.1", first)).is_err()
    });
    let ids: Vec<String> = continuo.get("/api/v1/gateways")["gateways"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|g| g["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids, ["two"]);
}
