//! Status page subscribers end to end: the real `continuo serve` binary with a temporary
//! configuration and SQLite database, a small SMTP sink and a webhook receiver on
//! 127.0.0.1 (helpers in `common/mod.rs`, shared with `alerting.rs`).
//!
//! - Email double opt-in (the link shows a button; POST confirms), three messages about
//!   one incident (created, customer update, resolved) each with an unsubscribe link and
//!   the List-Unsubscribe headers, nothing for an unconfirmed address, nothing after
//!   unsubscribing; a webhook confirmed by its test delivery receives Statuspage-shaped
//!   JSON; bad input gets a clear reason.
//! - `kill -9` with a subscriber message pending: it arrives after the restart with the
//!   same key.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

mod common;
use common::*;

// ---------------------------------------------------------------------------------------
// Status page subscribers
// ---------------------------------------------------------------------------------------

/// A mail the sink got, parsed: headers and the decoded plain text body.
struct Received {
    to: Vec<String>,
    headers: BTreeMap<String, String>,
    subject: String,
    text: String,
}

fn received(sink: &SmtpSink, to: &str) -> Vec<Received> {
    sink.messages()
        .into_iter()
        .filter(|m| m.recipients.iter().any(|r| r == to))
        .map(|m| {
            let (headers, body) = parse_headers(&m.data);
            let encoding = headers
                .get("content-transfer-encoding")
                .map(|e| e.to_lowercase())
                .unwrap_or_default();
            let text = match encoding.as_str() {
                "base64" => String::from_utf8_lossy(&base64(body)).into_owned(),
                "quoted-printable" => quoted_printable(body),
                _ => body.to_string(),
            };
            let subject = decode_words(headers.get("subject").map_or("", String::as_str));
            Received {
                to: m.recipients.clone(),
                headers,
                subject,
                text: text.replace("\r\n", "\n"),
            }
        })
        .collect()
}

/// The first link in `text` that starts with `prefix`, as a local path.
fn link(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    url.split_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| format!("/{path}"))
        .unwrap_or_else(|| panic!("not a local link: {url}"))
}

fn config(smtp: u16, target: u16) -> String {
    format!(
        r#"
[organization]
name = "Acme Retail"
timezone = "Europe/Amsterdam"
languages = ["en", "nl"]

[server]
database = "sqlite://state/continuo.db"
location = "test-1"
subscriber_email_channel = "mail"
# The test's webhook receiver listens on 127.0.0.1.
allow_private_webhooks = true

[[person]]
id = "anna"
name = "Anna de Vries"
email = "anna@example.test"

[[team]]
id = "ops"
members = ["anna"]

[[channel]]
id = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp}
tls = "none"
from = "Acme status <status@example.test>"
to = "ops@example.test"

[[service]]
id = "shop"
name = "Webshop"
tier = 2
owner = "ops"
rto = "1h"
status_page = {{ component = "Webshop", group = "Shopping" }}

  [[service.check]]
  id = "shop-http"
  kind = "http"
  url = "http://127.0.0.1:{target}/health"
  interval = "1s"
  timeout = "1s"
"#
    )
}

fn post_form(c: &Continuo, path: &str, body: &str) -> (u16, String) {
    http(
        c.port,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body,
    )
}

fn subscribers(c: &Continuo) -> Vec<Value> {
    c.get("/api/v1/subscribers")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn state_of(c: &Continuo, address: &str) -> String {
    subscribers(c)
        .iter()
        .find(|s| s["address"] == address)
        .and_then(|s| s["state"].as_str())
        .unwrap_or("absent")
        .to_string()
}

fn declare(c: &Continuo, title: &str) -> String {
    let (status, body) = c.admin(
        "POST",
        "/api/v1/incidents",
        &json!({"title": title, "services": ["shop"], "by": "anna"}).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Webhook requests other than the test delivery, as JSON.
fn payloads(receiver: &HttpServer) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .map(Request::json)
        .filter(|p| p.get("incident").is_some() || p.get("component_update").is_some())
        .collect()
}

#[test]
fn subscribers_confirm_hear_of_an_incident_in_three_messages_and_unsubscribe() {
    let sink = SmtpSink::start();
    let mut target = HttpServer::ok(0);
    let hook = HttpServer::ok(0);
    let dir = workspace(&config(sink.port, target.port));
    let continuo = Continuo::start(dir.path());

    // Bad input: a clear reason, in the asked language, never a panic.
    let (status, body) = post_form(&continuo, "/status/subscribe", "email=nope&language=nl");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("geen e-mailadres"), "{body}");
    let (status, body) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        r#"{"email": "klant@example.org", "components": ["nothing"]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not a component"), "{body}");
    let (status, body) = http(continuo.port, "POST", "/status/subscribe", &[], "{not json");
    assert_eq!(status, 400, "{body}");
    // The admin list needs the admin role.
    let (status, _) = http(continuo.port, "GET", "/api/v1/subscribers", &[], "");
    assert_eq!(status, 401);

    // Email with double opt-in (Dutch), one that never confirms, and a webhook.
    let (status, body) = post_form(
        &continuo,
        "/status/subscribe",
        "email=klant%40example.org&language=nl&components=shop",
    );
    assert_eq!(status, 202, "{body}");
    let (status, answer) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        r#"{"email": "stil@example.org"}"#,
    );
    assert_eq!(status, 202, "{answer}");
    let hook_url = format!("http://127.0.0.1:{}/hook", hook.port);
    let (status, body) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        &json!({ "url": hook_url }).to_string(),
    );
    assert_eq!(status, 202, "{body}");

    wait_for("the confirmation mails", 30, || {
        received(&sink, "klant@example.org").len() == 1
            && received(&sink, "stil@example.org").len() == 1
    });
    let confirmation = &received(&sink, "klant@example.org")[0];
    assert!(
        confirmation.subject.contains("Bevestig"),
        "{}",
        confirmation.subject
    );
    assert!(confirmation.headers.contains_key("list-unsubscribe"));
    let confirm = link(&confirmation.text, "http://127.0.0.1");
    assert!(confirm.starts_with("/status/confirm/"), "{confirm}");
    // A mail scanner following the link confirms nothing.
    let (status, page) = http(continuo.port, "GET", &confirm, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "pending");
    let (status, page) = http(continuo.port, "POST", &confirm, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("bevestigd"), "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "confirmed");
    // The link works once.
    let (status, _) = http(continuo.port, "POST", &confirm, &[], "");
    assert_eq!(status, 404);
    // Subscribing a confirmed address again answers the same and sends nothing.
    let (status, again) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        r#"{"email": "klant@example.org", "language": "en"}"#,
    );
    assert_eq!((status, again.as_str()), (202, answer.as_str()));

    // The webhook is confirmed by answering its test delivery.
    wait_for("the webhook to be confirmed", 30, || {
        state_of(&continuo, &hook_url) == "confirmed"
    });
    let test = hook.requests()[0].json();
    assert!(test["meta"]["unsubscribe"].as_str().is_some(), "{test}");
    assert_eq!(test["page"]["status_indicator"], "none");
    assert_eq!(state_of(&continuo, "stil@example.org"), "pending");

    // An incident: declared, a customer update and an internal one, resolved.
    let id = declare(&continuo, "Checkout fails");
    for (audience, message) in [
        ("internal", "the primary database ran out of disk"),
        ("customers", "We found the cause and are fixing it."),
    ] {
        let (status, body) = continuo.admin(
            "POST",
            &format!("/api/v1/incidents/{id}/update"),
            &json!({"audience": audience, "message": message, "status": "identified", "by": "anna"})
                .to_string(),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = continuo.admin(
        "POST",
        &format!("/api/v1/incidents/{id}/resolve"),
        r#"{"by": "anna"}"#,
    );
    assert_eq!(status, 200, "{body}");

    wait_for("three messages to the subscriber", 30, || {
        received(&sink, "klant@example.org").len() >= 4
    });
    wait_for("three payloads to the webhook", 30, || {
        payloads(&hook).len() >= 3
    });
    let mails = received(&sink, "klant@example.org");
    assert_eq!(mails.len(), 4, "the confirmation and three messages");
    let subjects: Vec<&str> = mails[1..].iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "[Acme Retail] Nieuwe storing: Checkout fails",
            "[Acme Retail] Update: Checkout fails",
            "[Acme Retail] Opgelost: Checkout fails",
        ]
    );
    for mail in &mails[1..] {
        assert_eq!(mail.to, ["klant@example.org"]);
        assert!(mail.text.contains("/status/unsubscribe/"), "{}", mail.text);
        assert!(
            !mail.text.contains("disk"),
            "internal update leaked: {}",
            mail.text
        );
        let header = &mail.headers["list-unsubscribe"];
        assert!(header.contains("/status/unsubscribe/"), "{header}");
        assert_eq!(
            mail.headers["list-unsubscribe-post"],
            "List-Unsubscribe=One-Click"
        );
    }
    assert!(
        mails[2].text.contains("We found the cause"),
        "{}",
        mails[2].text
    );
    // The one who never confirmed got nothing but the request to confirm.
    assert_eq!(received(&sink, "stil@example.org").len(), 1);

    // Statuspage-shaped webhooks.
    let sent = payloads(&hook);
    assert_eq!(sent.len(), 3, "{sent:?}");
    let statuses: Vec<&str> = sent
        .iter()
        .map(|p| p["incident"]["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["investigating", "identified", "resolved"]);
    let last = &sent[2];
    for field in ["meta", "page"] {
        assert!(last.get(field).is_some(), "{field}: {last}");
    }
    for field in ["status_indicator", "status_description", "id"] {
        assert!(last["page"].get(field).is_some(), "page.{field}: {last}");
    }
    for field in [
        "id",
        "name",
        "status",
        "impact",
        "created_at",
        "updated_at",
        "resolved_at",
        "shortlink",
        "incident_updates",
        "components",
    ] {
        assert!(
            last["incident"].get(field).is_some(),
            "incident.{field}: {last}"
        );
    }
    let updates = last["incident"]["incident_updates"]
        .as_array()
        .expect("updates");
    // Only updates for customers, newest first: resolved without a closing word, the
    // incident ends with Continuo's own; the internal one never appears.
    assert_eq!(updates.len(), 2, "only the customer updates: {updates:?}");
    assert_eq!(updates[0]["status"], "resolved", "{updates:?}");
    assert_eq!(updates[0]["body"], "This incident has been resolved.");
    assert!(
        updates[1]["body"]
            .as_str()
            .is_some_and(|b| b.contains("We found the cause and are fixing it.")),
        "{updates:?}"
    );
    assert_eq!(last["incident"]["components"][0]["name"], "Webshop");
    for request in hook.requests().iter() {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/hook")
        );
        assert!(request.header("idempotency-key").is_some());
    }

    // Unsubscribing: the page shows a button, the one-click POST acts; no more mail.
    let text = &mails[3].text;
    let start = text
        .find("/status/unsubscribe/")
        .expect("an unsubscribe link");
    let unsubscribe: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let (status, page) = http(continuo.port, "GET", &unsubscribe, &[], "");
    assert_eq!(status, 200, "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "confirmed");
    let (status, page) = http(
        continuo.port,
        "POST",
        &unsubscribe,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "List-Unsubscribe=One-Click",
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(state_of(&continuo, "klant@example.org"), "unsubscribed");
    let (status, _) = http(
        continuo.port,
        "GET",
        "/status/unsubscribe/x.forged",
        &[],
        "",
    );
    assert_eq!(status, 404);
    declare(&continuo, "Search is slow");
    wait_for("the webhook to hear of the second incident", 30, || {
        payloads(&hook).len() >= 4
    });
    // Every item was decided (and then sent) through the outbox.
    let outbox = continuo.get("/api/v1/outbox?limit=200");
    let keys: Vec<String> = outbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["key"].as_str().map(str::to_string))
        .collect();
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("sub/{id}/resolved/"))),
        "{keys:?}"
    );
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        received(&sink, "klant@example.org").len(),
        4,
        "nothing after unsubscribing"
    );

    // The admin removes a subscriber.
    let pending = subscribers(&continuo)
        .into_iter()
        .find(|s| s["address"] == "stil@example.org")
        .expect("the pending subscriber");
    let sid = pending["id"].as_str().expect("id");
    let (status, body) = continuo.admin("DELETE", &format!("/api/v1/subscribers/{sid}"), "");
    assert_eq!(status, 204, "{body}");
    assert_eq!(state_of(&continuo, "stil@example.org"), "absent");

    // The component goes down: the webhook hears of its status change.
    target.stop();
    wait_for("a component update at the webhook", 60, || {
        payloads(&hook)
            .iter()
            .any(|p| p["component_update"]["new_status"] == "major_outage")
    });
    let update = payloads(&hook)
        .into_iter()
        .find(|p| p.get("component_update").is_some())
        .expect("a component update");
    assert_eq!(update["component_update"]["old_status"], "operational");
    assert_eq!(update["component_update"]["component_id"], "webshop");
    assert_eq!(update["component"]["name"], "Webshop");
    assert_eq!(update["component"]["status"], "major_outage");
    assert_eq!(update["page"]["status_indicator"], "critical");
}

/// Crash safety: a message for a subscriber whose webhook is down stays in the outbox
/// through `kill -9`, and arrives after the restart with the key it had before.
#[test]
fn a_pending_subscriber_message_survives_kill_9() {
    let sink = SmtpSink::start();
    let target = HttpServer::ok(0);
    let mut hook = HttpServer::ok(0);
    let hook_port = hook.port;
    let dir = workspace(&config(sink.port, target.port));
    let continuo = Continuo::start(dir.path());
    let hook_url = format!("http://127.0.0.1:{hook_port}/hook");
    let (status, body) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        &json!({ "url": hook_url, "language": "nl" }).to_string(),
    );
    assert_eq!(status, 202, "{body}");
    wait_for("the webhook to be confirmed", 30, || {
        state_of(&continuo, &hook_url) == "confirmed"
    });
    hook.stop();
    let id = declare(&continuo, "Checkout fails");
    let key = format!("sub/{id}/created/");
    wait_for("the failed attempt to be recorded", 30, || {
        continuo.get("/api/v1/outbox?state=pending")["items"]
            .as_array()
            .is_some_and(|items| {
                items.iter().any(|i| {
                    i["key"].as_str().is_some_and(|k| k.starts_with(&key))
                        && i["attempts"].as_u64() >= Some(1)
                })
            })
    });
    continuo.kill();
    let hook = HttpServer::ok(hook_port);
    let _continuo = Continuo::start(dir.path());
    wait_for("the message after the restart", 60, || {
        !payloads(&hook).is_empty()
    });
    let request = hook.requests().last().cloned().expect("a request");
    assert!(
        request
            .header("idempotency-key")
            .is_some_and(|k| k.starts_with(&key)),
        "{:?}",
        request.headers
    );
    assert_eq!(request.json()["incident"]["id"], id.as_str());
}

/// One public projection: a declared SEV1 on healthy checks reads the same indicator on
/// `/api/v2/status.json` and in the subscriber webhook's payload, with the same page id.
#[test]
fn a_declared_sev1_reads_the_same_indicator_on_the_page_and_in_the_webhook() {
    let sink = SmtpSink::start();
    let target = HttpServer::ok(0);
    let hook = HttpServer::ok(0);
    let dir = workspace(&config(sink.port, target.port));
    let continuo = Continuo::start(dir.path());

    let hook_url = format!("http://127.0.0.1:{}/hook", hook.port);
    let (status, body) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[],
        &json!({ "url": hook_url }).to_string(),
    );
    assert_eq!(status, 202, "{body}");
    wait_for("the webhook to be confirmed", 30, || {
        state_of(&continuo, &hook_url) == "confirmed"
    });
    // The checks are healthy: nothing but the incident can raise the indicator.
    wait_for("the component to be measured operational", 30, || {
        continuo.get("/api/v2/components.json")["components"][0]["status"] == "operational"
            && continuo.get("/api/v2/status.json")["status"]["indicator"] == "none"
    });

    let (status, body) = continuo.admin(
        "POST",
        "/api/v1/incidents",
        &json!({"title": "Checkout fails", "services": ["shop"], "severity": "SEV1", "by": "anna"})
            .to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, body) = continuo.admin(
        "POST",
        &format!("/api/v1/incidents/{id}/update"),
        &json!({"audience": "customers", "message": "We are looking into it.", "status": "investigating", "by": "anna"})
            .to_string(),
    );
    assert_eq!(status, 200, "{body}");

    wait_for("the customer update at the webhook", 30, || {
        payloads(&hook).iter().any(|p| {
            p["incident"]["incident_updates"]
                .as_array()
                .is_some_and(|u| !u.is_empty())
        })
    });
    let webhook = payloads(&hook)
        .into_iter()
        .find(|p| {
            p["incident"]["incident_updates"]
                .as_array()
                .is_some_and(|u| !u.is_empty())
        })
        .expect("a payload with the customer update");
    // The page's view is cached for a second: wait for it to show the incident.
    wait_for("the page to show the incident", 10, || {
        continuo.get("/api/v2/incidents/unresolved.json")["incidents"]
            .as_array()
            .is_some_and(|i| !i.is_empty())
    });
    let page = continuo.get("/api/v2/status.json");
    assert_eq!(page["status"]["indicator"], "critical", "{page}");
    assert_eq!(
        webhook["page"]["status_indicator"], page["status"]["indicator"],
        "{webhook}"
    );
    assert_eq!(
        webhook["page"]["status_description"], page["status"]["description"],
        "{webhook}"
    );
    assert_eq!(webhook["page"]["id"], page["page"]["id"], "{webhook}");
    assert_eq!(webhook["incident"]["page_id"], page["page"]["id"]);
    assert_eq!(webhook["incident"]["impact"], "critical");
}
