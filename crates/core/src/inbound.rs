//! Inbound alerts from other monitoring systems, routed to services: Alertmanager's
//! webhook (v4) grouped per service, and events in PagerDuty's Events API v2 checked and
//! routed by their labels. Pure: tokens, request bodies and answers stay in `web`.
//!
//! Routing: a `service` label that names a service wins, then a `component` label that
//! names one (PagerDuty's `payload.component`); otherwise the first `[[route]]` whose
//! matchers all match the labels, and last the default route (a `[[route]]` without
//! `match`). A PagerDuty-style sender may also address a service directly with its
//! `integration_key` as the `routing_key` ([`by_integration_key`]).

use crate::alerting::Inbound;
use crate::catalog::Catalog;
use serde::Deserialize;
use std::collections::BTreeMap;

/// An inbound alert's labels, name to value.
pub type Labels = BTreeMap<String, String>;

/// The service `labels` route to: a `service` or `component` label naming a service,
/// else the first `[[route]]` with matchers that all match, else the default route;
/// `None` when nothing takes them.
pub fn route(catalog: &Catalog, labels: &Labels) -> Option<String> {
    for label in ["service", "component"] {
        if let Some(s) = labels.get(label)
            && catalog.service(s).is_some()
        {
            return Some(s.clone());
        }
    }
    let matching = catalog.routes.iter().find(|r| {
        !r.is_default()
            && r.matchers
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|l| l == v))
    });
    matching
        .or_else(|| catalog.routes.iter().find(|r| r.is_default()))
        .map(|r| r.service.value.clone())
}

/// The service whose `integration_key` is `key`, compared in constant time.
pub fn by_integration_key<'c>(catalog: &'c Catalog, key: &str) -> Option<&'c str> {
    let mut found = None;
    for service in &catalog.services {
        if let Some(k) = &service.integration_key
            && !k.value.is_empty()
            && crate::hash::same_secret(k.value.as_bytes(), key.as_bytes())
        {
            found = found.or(Some(service.id.value.as_str()));
        }
    }
    found
}

/// An instant as senders write it (RFC 3339), in unix milliseconds; `None` when absent,
/// unreadable, or Alertmanager's "unset" (`0001-01-01T00:00:00Z`).
pub fn instant(text: Option<&str>) -> Option<i64> {
    let t: jiff::Timestamp = text?.parse().ok()?;
    (t.as_millisecond() > 0).then_some(t.as_millisecond())
}

/// An Alertmanager webhook payload (version 4), as far as Continuo reads it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerPayload {
    /// The payload's version; only `4` is understood.
    pub version: String,
    /// The group's key: with the service, the deduplication key of the Continuo alert.
    pub group_key: String,
    /// `firing` or `resolved` for the whole group.
    pub status: String,
    /// The group's alerts.
    pub alerts: Vec<AlertmanagerAlert>,
}

/// One alert of an Alertmanager group.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Its labels (`alertname`, `job`, `service`, ...).
    #[serde(default)]
    pub labels: Labels,
    /// Its annotations (`summary`, `description`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started.
    pub starts_at: Option<String>,
    /// Alertmanager's identity of the alert; by default its labels.
    pub fingerprint: Option<String>,
}

/// What an inbound batch means: one event per service it routes to, and the alert
/// names no route takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Routed {
    /// One event per routed service.
    pub events: Vec<Inbound>,
    /// The `alertname` of each alert that no route takes.
    pub unrouted: Vec<String>,
}

/// One Continuo event per group and service: the group's alerts are deduplicated by
/// fingerprint; the event fires while any of them does, with their summaries and the
/// earliest start.
pub fn alertmanager(catalog: &Catalog, payload: &AlertmanagerPayload) -> Routed {
    // Per routed service: fingerprints firing with their summaries, earliest start.
    #[derive(Default)]
    struct Group {
        firing: BTreeMap<String, String>,
        started: Option<i64>,
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut unrouted = Vec::new();
    for alert in &payload.alerts {
        let Some(service) = route(catalog, &alert.labels) else {
            unrouted.push(
                alert
                    .labels
                    .get("alertname")
                    .cloned()
                    .unwrap_or_else(|| "(no alertname)".into()),
            );
            continue;
        };
        let group = groups.entry(service).or_default();
        let fingerprint = alert.fingerprint.clone().unwrap_or_else(|| {
            alert
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        });
        if alert.status == "firing" && payload.status != "resolved" {
            let name = alert.labels.get("alertname").cloned().unwrap_or_default();
            let text = alert
                .annotations
                .get("summary")
                .or_else(|| alert.annotations.get("description"))
                .cloned()
                .unwrap_or(name);
            group.firing.insert(fingerprint, text);
            if let Some(s) = instant(alert.starts_at.as_deref()) {
                group.started = Some(group.started.map_or(s, |g| g.min(s)));
            }
        }
    }
    let events = groups
        .into_iter()
        .map(|(service, group)| {
            let mut texts: Vec<&String> = group.firing.values().collect();
            texts.dedup();
            let summary = match texts.as_slice() {
                [] => String::new(),
                [one] => (*one).clone(),
                many => format!(
                    "{} alerts: {}",
                    many.len(),
                    many.iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            };
            Inbound {
                source: "alertmanager".into(),
                key: format!("{}|{service}", payload.group_key),
                service,
                summary,
                firing: !group.firing.is_empty(),
                started_ms: group.started,
            }
        })
        .collect();
    Routed { events, unrouted }
}

/// What an Events API v2 event asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventAction {
    /// Open (or keep firing) the alert with the event's key.
    Trigger,
    /// Acknowledge the open alert with the event's key.
    Acknowledge,
    /// Resolve the alert with the event's key.
    Resolve,
}

impl EventAction {
    /// Reads `event_action`.
    pub fn from_name(name: &str) -> Option<EventAction> {
        match name {
            "trigger" => Some(EventAction::Trigger),
            "acknowledge" => Some(EventAction::Acknowledge),
            "resolve" => Some(EventAction::Resolve),
            _ => None,
        }
    }
}

/// An Events API v2 event, as far as Continuo reads it (the JSON is read in `web`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// `event_action` as sent.
    pub action: String,
    /// `dedup_key`, when given and not empty.
    pub dedup_key: Option<String>,
    /// `payload.summary`.
    pub summary: Option<String>,
    /// `payload.source`.
    pub source: Option<String>,
    /// `payload.severity`.
    pub severity: Option<String>,
    /// `payload.timestamp`.
    pub timestamp: Option<String>,
    /// The labels routing sees: `payload.source`, `component`, `group`, `class` and
    /// `severity`, then the text values of `payload.custom_details`.
    pub labels: Labels,
}

/// What is wrong with an event, in the words of the Events API's own answers; empty
/// when it is valid.
pub fn check_event(event: &Event) -> Vec<String> {
    let mut errors = Vec::new();
    let action = EventAction::from_name(&event.action);
    if action.is_none() {
        errors.push("'event_action' must be trigger, acknowledge or resolve".to_string());
    }
    if event
        .dedup_key
        .as_ref()
        .is_some_and(|k| k.chars().count() > 255)
    {
        errors.push("'dedup_key' is longer than 255 characters".into());
    }
    if action == Some(EventAction::Trigger) {
        let summary = event.summary.as_deref().unwrap_or_default();
        if summary.is_empty() {
            errors.push("'payload.summary' is missing or blank".into());
        } else if summary.chars().count() > 1_024 {
            errors.push("'payload.summary' is longer than 1024 characters".into());
        }
        if event.source.as_deref().is_none_or(str::is_empty) {
            errors.push("'payload.source' is missing or blank".into());
        }
        let severity = event.severity.as_deref().unwrap_or_default();
        if !["critical", "error", "warning", "info"].contains(&severity) {
            errors.push("'payload.severity' must be critical, error, warning or info".into());
        }
        if let Some(error) = timestamp_error(event.timestamp.as_deref()) {
            errors.push(error);
        }
    } else if event.dedup_key.is_none() && action.is_some() {
        errors.push("'dedup_key' is required for acknowledge and resolve".into());
    }
    errors
}

/// Why `payload.timestamp` is refused: present but not an RFC 3339 instant.
pub fn timestamp_error(text: Option<&str>) -> Option<String> {
    let text = text?;
    text.parse::<jiff::Timestamp>().err().map(|_| {
        format!("'payload.timestamp' must be an RFC 3339 timestamp (e.g. 2026-12-06T10:15:00Z), not {text:?}")
    })
}

/// Why an event that must open an alert goes nowhere.
pub fn no_route(labels: &Labels) -> String {
    format!(
        "no [[route]] sends this event to a service (labels: {})",
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
