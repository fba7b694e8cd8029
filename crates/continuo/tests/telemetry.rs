//! What `continuo serve` logs: with `--log-format json` every line on stderr is one JSON
//! object (timestamp, level, target, message, fields); what operators must be able to
//! follow — a check's transition, an alert opened and fired, a page queued, its failed
//! delivery — and a gateway that cannot accept connections each appear as an event with
//! the fields that tie them together (service, check, alert, channel, key).

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary under prlimit"
)]

mod common;

use common::*;
use serde_json::Value;
use std::net::TcpStream;

/// Every line of `log` as a JSON object; panics on a line that is not one.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{log}"));
            assert!(value.is_object(), "not an object: {line:?}");
            value
        })
        .collect()
}

/// The first event whose message is `message`.
fn event<'a>(events: &'a [Value], message: &str) -> Option<&'a Value> {
    events.iter().find(|e| e["message"] == message)
}

#[test]
fn serve_logs_json_lines_and_a_failed_delivery_is_an_event() {
    let mut db = HttpServer::ok(0);
    let unanswered = free_port();
    let dir = workspace(&db_paging_a_webhook("Telemetry Test", unanswered, db.port));
    let mut continuo = Continuo::start_with(dir.path(), &["--log-format", "json"]);
    wait_for("db-tcp up", 30, || {
        continuo.get("/api/v1/checks/db-tcp")["status"] == "up"
    });
    // The database goes away: its alert pages the webhook, which nobody answers.
    db.stop();

    wait_for("a delivery failed event", 60, || {
        continuo.log().contains("delivery failed")
    });
    assert_eq!(continuo.terminate(), Some(0));
    wait_for("the shutdown event", 10, || {
        continuo.log().contains("shutting down")
    });

    let log = continuo.log();
    let events = json_lines(&log);
    for e in &events {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(e.get(key).is_some(), "no `{key}` in {e}");
        }
    }
    // The listening address is an event with the address as a field.
    let listening = events
        .iter()
        .find(|e| e.get("address").is_some())
        .unwrap_or_else(|| panic!("no listening event:\n{log}"));
    assert_eq!(listening["level"], "INFO", "{listening}");
    assert_eq!(
        listening["address"].as_str(),
        Some(format!("127.0.0.1:{}", continuo.port).as_str()),
        "{listening}"
    );
    assert!(
        listening["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Continuo serving Telemetry Test on http://")),
        "{listening}"
    );
    // The delivery that failed says where to and why, as fields.
    let failed =
        event(&events, "delivery failed").unwrap_or_else(|| panic!("no delivery failed:\n{log}"));
    assert_eq!(failed["level"], "WARN", "{failed}");
    assert_eq!(failed["channel"], "hook", "{failed}");
    assert!(
        failed["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("continuo_engine")),
        "{failed}"
    );
    assert!(
        failed["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "shutting down: flushing buffered writes"),
        "{log}"
    );

    // The story of the outage, event by event: the check went down, the alert about
    // its service opened and fired, a page to the webhook was queued, and its delivery
    // failed — one alert id and one key through all of it.
    let down = events
        .iter()
        .find(|e| e["message"] == "check transition" && e["to"] == "down")
        .unwrap_or_else(|| panic!("no transition to down:\n{log}"));
    assert_eq!(down["level"], "INFO", "{down}");
    assert_eq!(down["check"], "db-tcp", "{down}");
    assert_eq!(down["service"], "db", "{down}");
    assert_eq!(down["from"], "up", "{down}");
    assert!(
        down["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{down}"
    );
    let opened =
        event(&events, "alert opened").unwrap_or_else(|| panic!("no alert opened:\n{log}"));
    assert_eq!(opened["level"], "INFO", "{opened}");
    assert_eq!(opened["service"], "db", "{opened}");
    let alert = opened["alert"]
        .as_str()
        .expect("the alert's id")
        .to_string();
    let fired = event(&events, "alert fired").unwrap_or_else(|| panic!("no alert fired:\n{log}"));
    assert_eq!(fired["level"], "WARN", "{fired}");
    assert_eq!(fired["alert"], alert.as_str(), "{fired}");
    assert_eq!(fired["service"], "db", "{fired}");
    let queued = events
        .iter()
        .find(|e| e["message"] == "page queued" && e["event"] == "firing")
        .unwrap_or_else(|| panic!("no page queued:\n{log}"));
    assert_eq!(queued["level"], "INFO", "{queued}");
    assert_eq!(queued["alert"], alert.as_str(), "{queued}");
    assert_eq!(queued["channel"], "hook", "{queued}");
    assert_eq!(queued["recipient"], "channel:hook", "{queued}");
    assert_eq!(failed["key"], queued["key"], "{failed}\n{queued}");
    assert_eq!(failed["alert"], alert.as_str(), "{failed}");
    // In that order.
    let at = |wanted: &Value| events.iter().position(|e| e == wanted);
    assert!(at(down) < at(fired), "{log}");
    assert!(at(fired) < at(queued), "{log}");
    assert!(at(queued) < at(failed), "{log}");
}

#[test]
fn a_gateway_that_cannot_accept_says_so() {
    let primary = HttpServer::start(0, |_| (200, "primary".into()));
    let gateway = free_port();
    let config = format!(
        r#"{}
[[service.endpoint]]
name = "p1"
url = "http://127.0.0.1:{p}"
role = "primary"

[[gateway]]
id = "shop-gw"
listen = "127.0.0.1:{gateway}"
service = "shop"
"#,
        one_service("Accept Test", "shop"),
        p = primary.port,
    );
    let dir = workspace(&config);
    let continuo = Continuo::start(dir.path());
    wait_for("the gateway to listen", 30, || {
        TcpStream::connect(("127.0.0.1", gateway)).is_ok()
    });

    // No file descriptor left for the process: the kernel still completes the clients'
    // connections (the listen backlog), but the gateway's accept fails.
    let pid = continuo.pid().to_string();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's descriptors")
        .count();
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={open}:{open}")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(limited.success());
    let _clients: Vec<TcpStream> = (0..8)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", gateway)).ok())
        .collect();

    wait_for("an accept failed event", 30, || {
        continuo
            .log()
            .lines()
            .any(|l| l.contains("accept failed") && l.contains("gateway=shop-gw"))
    });
    let log = continuo.log();
    let line = log
        .lines()
        .find(|l| l.contains("accept failed"))
        .unwrap_or_default();
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("error="), "{line}");
}
