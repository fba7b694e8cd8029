//! Opsgenie Alert API.
//!
//! Settings: `api_key` (required: an API integration's key, sent as
//! `Authorization: GenieKey <key>`), `region` (`us`, the default, or `eu`), `url` (the API's
//! base URL; overrides `region`, so give one or the other).
//!
//! One Opsgenie alert per Continuo alert, addressed by `alias` = the notice's `alert_key`:
//!
//! | notice | request |
//! | --- | --- |
//! | firing | `POST /v2/alerts` (create; Opsgenie deduplicates an open alert by alias) |
//! | acknowledged | `POST /v2/alerts/<alias>/acknowledge?identifierType=alias` |
//! | resolved | `POST /v2/alerts/<alias>/close?identifierType=alias` |
//! | reminder | `POST /v2/alerts/<alias>/notes?identifierType=alias` with the text |
//! | test | `POST /v2/alerts` with priority `P5` and tag `test` |
//! | posture | `POST /v2/alerts` with priority `P5` (informational) and tag `posture` |
//!
//! Create body:
//!
//! ```json
//! { "message": "[FIRING] Payments API is down — impacts Checkout", "alias": "<alert_key>",
//!   "description": "<text>", "tags": ["continuo", "firing", "tier-1"],
//!   "details": { "service": "payments", "tier": "1", "impacted": "Checkout", "level": "1",
//!                "summary": "connection refused", "ack_url": "…", "idempotency_key": "…" },
//!   "entity": "Payments API", "source": "Continuo", "priority": "P1" }
//! ```
//!
//! Priority follows the root cause's tier (1 → `P1` … 4 → `P4`), except for the
//! notices that page nobody: test and posture are `P5`. A posture notice's alias is
//! `posture/<claim>/<subject>`, so a claim that breaches again while its alert is still
//! open adds to that alert; no notice closes it (people do, once the claim is looked
//! after). `level` is left out of the details when it is 0. Acknowledge and close
//! send `{ "source": "Continuo", "user": <acknowledged_by>, "note": <subject> }`.

use super::{join, request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeEvent};
use crate::settings::Settings;
use crate::template::Message;
use continuo_core::tr;
use reqwest::Method;
use serde_json::{Map, Value, json};
use url::Url;

/// Opsgenie's API in the US region (the default).
pub const US_URL: &str = "https://api.opsgenie.com";
/// Opsgenie's API in the EU region.
pub const EU_URL: &str = "https://api.eu.opsgenie.com";

/// An Opsgenie channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The integration's API key.
    pub api_key: String,
    /// The API's base URL, from `url` or `region`.
    pub url: Url,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let api_key = s.required_text("api_key");
        let region = s.choice("region", &["us", "eu"]);
        let url = match s.url("url", false) {
            Some(_) if s.has("region") => {
                s.problem(
                    "url",
                    tr!(
                        "give either `url` or `region`, not both: `url` would override the region",
                        "geef `url` of `region`, niet allebei: `url` zou de regio vervangen"
                    ),
                );
                None
            }
            Some(url) => Some(url),
            None if s.has("url") => None,
            None => Url::parse(if region == Some("eu") { EU_URL } else { US_URL }).ok(),
        };
        Some(Config {
            api_key: api_key?,
            url: url?,
        })
    }
}

/// A ready Opsgenie sender.
pub(crate) struct Opsgenie {
    config: Config,
    client: reqwest::Client,
}

/// The create-alert body for `notice`.
pub(crate) fn create(notice: &Notice, message: &Message) -> Value {
    let priority = match notice.event {
        // P5 is Opsgenie's informational priority: nothing here is meant to wake anyone.
        NoticeEvent::Test | NoticeEvent::Posture => "P5".to_string(),
        _ => format!("P{}", notice.service.tier.clamp(1, 5)),
    };
    let mut details = Map::new();
    let mut detail = |key: &str, value: String| {
        details.insert(key.to_string(), Value::String(truncate(&value, 8000)));
    };
    detail("service", notice.service.id.clone());
    detail("tier", notice.service.tier.to_string());
    if !notice.impacted.is_empty() {
        let names: Vec<&str> = notice.impacted.iter().map(|s| s.name.as_str()).collect();
        detail("impacted", names.join(", "));
    }
    if notice.level > 0 {
        detail("level", notice.level.to_string());
    }
    detail("summary", notice.summary.clone());
    detail("idempotency_key", notice.idempotency_key.clone());
    if let Some(url) = &notice.ack_url {
        detail("ack_url", url.clone());
    }
    if let Some(url) = &notice.dashboard_url {
        detail("dashboard_url", url.clone());
    }
    json!({
        "message": truncate(&message.subject, 130),
        "alias": truncate(&notice.alert_key, 512),
        "description": truncate(&message.text, 15_000),
        "tags": ["continuo", notice.event.name(), format!("tier-{}", notice.service.tier)],
        "details": details,
        "entity": truncate(&notice.service.name, 512),
        "source": "Continuo",
        "priority": priority,
    })
}

/// The body of an acknowledge, close or note request.
fn action_body(notice: &Notice, note: &str) -> Value {
    let mut body = json!({ "source": "Continuo", "note": truncate(note, 25_000) });
    if let Some(user) = &notice.acknowledged_by {
        body["user"] = json!(truncate(user, 100));
    }
    body
}

impl Opsgenie {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Opsgenie {
        Opsgenie { config, client }
    }

    /// `/v2/alerts/<alias>/<action>?identifierType=alias`, the alias percent-encoded as one
    /// path segment.
    fn alert_url(&self, alias: &str, action: &str) -> Url {
        let mut url = join(&self.config.url, "/v2/alerts");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(alias).push(action);
        }
        url.query_pairs_mut().append_pair("identifierType", "alias");
        url
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let (url, body) = match notice.event {
            NoticeEvent::Firing | NoticeEvent::Test | NoticeEvent::Posture => (
                join(&self.config.url, "/v2/alerts"),
                create(notice, message),
            ),
            NoticeEvent::Acknowledged => (
                self.alert_url(&notice.alert_key, "acknowledge"),
                action_body(notice, &message.subject),
            ),
            NoticeEvent::Resolved => (
                self.alert_url(&notice.alert_key, "close"),
                action_body(notice, &message.subject),
            ),
            NoticeEvent::Reminder => (
                self.alert_url(&notice.alert_key, "notes"),
                action_body(notice, &message.text),
            ),
        };
        let req = request(&self.client, Method::POST, url, notice)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("GenieKey {}", self.config.api_key),
            )
            .json(&body);
        http::deliver(req).await
    }
}
