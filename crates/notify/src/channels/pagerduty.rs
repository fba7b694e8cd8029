//! PagerDuty Events API v2.
//!
//! Settings: `routing_key` (required: the integration key of a service's Events API v2
//! integration), `url` (default `https://events.pagerduty.com`; the EU service region is
//! `https://events.eu.pagerduty.com`). Alert events go to `<url>/v2/enqueue`, change
//! events to `<url>/v2/change/enqueue`.
//!
//! Events map to actions on one PagerDuty alert, deduplicated by `dedup_key` = the
//! notice's `alert_key`, except posture notices, which are change events:
//!
//! | notice | `event_action` |
//! | --- | --- |
//! | firing | `trigger` |
//! | reminder | `trigger` (PagerDuty folds it into the open alert; it keeps it open) |
//! | acknowledged | `acknowledge` |
//! | resolved | `resolve` |
//! | test | `trigger` with severity `info` |
//! | posture | a change event (no action, no `dedup_key`) |
//!
//! A trigger carries the full payload:
//!
//! ```json
//! { "routing_key": "…", "event_action": "trigger", "dedup_key": "<alert_key>",
//!   "payload": { "summary": "[FIRING] Payments API is down — impacts Checkout",
//!                "source": "payments", "severity": "critical",
//!                "timestamp": "2026-11-25T13:03:00Z", "component": "Payments API",
//!                "group": "Acme Retail", "class": "firing",
//!                "custom_details": { "summary": "connection refused", "tier": 1,
//!                                    "impacted": ["Checkout"], "level": 1, "started": "…",
//!                                    "idempotency_key": "…", "text": "…" } },
//!   "client": "Continuo", "client_url": "<dashboard_url>",
//!   "links": [ { "href": "<ack_url>", "text": "Acknowledge" } ] }
//! ```
//!
//! Severity follows the root cause's tier: 1 `critical`, 2 `error`, 3 `warning`, 4 `info`.
//! Acknowledge and resolve carry only `routing_key`, `event_action` and `dedup_key`.
//!
//! Why a posture notice is a change event: a trigger, even with severity `info`, opens an
//! incident that follows the service's escalation policy, and a posture notice must page
//! nobody. A change event shows on the service's timeline and notifies no one:
//!
//! ```json
//! { "routing_key": "…",
//!   "payload": { "summary": "[CONTINUITY] Payments API — RTO breached: 2 h 5 min against 1 h (incident INC-3)",
//!                "source": "payments", "timestamp": "2026-11-25T13:03:00Z",
//!                "custom_details": { "summary": "RTO breached: …", "service": "Payments API",
//!                                    "tier": 1, "alert_key": "posture/rto/payments",
//!                                    "started": "…", "idempotency_key": "…", "text": "…" } },
//!   "links": [ { "href": "<dashboard_url>", "text": "Open dashboard" } ] }
//! ```
//!
//! `timestamp` is when the claim's verdict changed.

use super::{join, request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeEvent};
use crate::settings::Settings;
use crate::template::Message;
use crate::text;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// Where PagerDuty's Events API lives unless `url` says otherwise.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com";

/// A PagerDuty channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The integration (routing) key.
    pub routing_key: String,
    /// The Events API's base URL.
    pub url: Url,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let routing_key = s.required_text("routing_key");
        let url = match s.url("url", false) {
            Some(url) => Some(url),
            None if s.has("url") => None,
            None => Url::parse(DEFAULT_URL).ok(),
        };
        Some(Config {
            routing_key: routing_key?,
            url: url?,
        })
    }
}

/// A ready PagerDuty sender.
pub(crate) struct Pagerduty {
    config: Config,
    client: reqwest::Client,
}

/// PagerDuty's severity for a tier.
fn severity(tier: u8) -> &'static str {
    match tier {
        0 | 1 => "critical",
        2 => "error",
        3 => "warning",
        _ => "info",
    }
}

/// Where alert events go, below the configured URL.
const ALERT_PATH: &str = "/v2/enqueue";
/// Where change events go, below the configured URL.
const CHANGE_PATH: &str = "/v2/change/enqueue";

/// The path (below the configured URL) and body of the event for `notice`.
pub(crate) fn event(
    routing_key: &str,
    notice: &Notice,
    message: &Message,
) -> (&'static str, Value) {
    let action = match notice.event {
        NoticeEvent::Firing | NoticeEvent::Reminder | NoticeEvent::Test => "trigger",
        NoticeEvent::Acknowledged => "acknowledge",
        NoticeEvent::Resolved => "resolve",
        NoticeEvent::Posture => {
            return (CHANGE_PATH, change_event(routing_key, notice, message));
        }
    };
    if action != "trigger" {
        let event = json!({
            "routing_key": routing_key,
            "event_action": action,
            "dedup_key": notice.alert_key,
        });
        return (ALERT_PATH, event);
    }
    let severity = match notice.event {
        NoticeEvent::Test => "info",
        _ => severity(notice.service.tier),
    };
    let impacted: Vec<&str> = notice.impacted.iter().map(|s| s.name.as_str()).collect();
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": notice.alert_key,
        "payload": {
            "summary": truncate(&message.subject, 1024),
            "source": notice.service.id,
            "severity": severity,
            "timestamp": text::rfc3339(notice.started_ms),
            "component": notice.service.name,
            "group": notice.organization,
            "class": notice.event.name(),
            "custom_details": {
                "summary": notice.summary,
                "service": notice.service.name,
                "tier": notice.service.tier,
                "impacted": impacted,
                "level": notice.level,
                "started": text::local_time(notice.started_ms, &notice.timezone),
                "idempotency_key": notice.idempotency_key,
                "text": message.text,
            },
        },
        "client": "Continuo",
    });
    if let Some(url) = &notice.dashboard_url {
        event["client_url"] = json!(url);
    }
    if let Some(url) = &notice.ack_url {
        event["links"] = json!([{ "href": url, "text": text::acknowledge().get(notice.language) }]);
    }
    (ALERT_PATH, event)
}

/// The change event for a posture notice (see the module documentation).
fn change_event(routing_key: &str, notice: &Notice, message: &Message) -> Value {
    let mut event = json!({
        "routing_key": routing_key,
        "payload": {
            "summary": truncate(&message.subject, 1024),
            "source": notice.service.id,
            "timestamp": text::rfc3339(notice.started_ms),
            "custom_details": {
                "summary": notice.summary,
                "service": notice.service.name,
                "tier": notice.service.tier,
                "alert_key": notice.alert_key,
                "started": text::local_time(notice.started_ms, &notice.timezone),
                "idempotency_key": notice.idempotency_key,
                "text": message.text,
            },
        },
    });
    if let Some(url) = &notice.dashboard_url {
        event["links"] = json!([{ "href": url, "text": text::dashboard().get(notice.language) }]);
    }
    event
}

impl Pagerduty {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Pagerduty {
        Pagerduty { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let (path, body) = event(&self.config.routing_key, notice, message);
        let url = join(&self.config.url, path);
        let req = request(&self.client, Method::POST, url, notice).json(&body);
        http::deliver(req).await
    }
}
