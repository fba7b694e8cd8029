//! Generic JSON webhook: one request per notice, with a versioned payload.
//!
//! Settings: `url` (required), `method` (`POST`, `PUT` or `PATCH`; default `POST`),
//! `headers` (a table of extra headers), `secret` (signs every request).
//!
//! # Payload, version 1
//!
//! ```json
//! {
//!   "version": 1,
//!   "idempotency_key": "7f3c…",
//!   "alert_key": "payments",
//!   "event": "firing",
//!   "language": "en",
//!   "organization": "Acme Retail",
//!   "service": { "id": "payments", "name": "Payments API", "tier": 1 },
//!   "impacted": [ { "id": "checkout", "name": "Checkout", "tier": 1 } ],
//!   "summary": "connection refused",
//!   "started_at": "2026-11-25T13:03:00Z",
//!   "started_ms": 1795611780000,
//!   "at": "2026-11-25T13:15:05Z",
//!   "at_ms": 1795612505000,
//!   "timezone": "Europe/Amsterdam",
//!   "level": 1,
//!   "ack_url": "https://continuo.example.com/ack/…",
//!   "dashboard_url": null,
//!   "acknowledged_by": null,
//!   "recipient": null,
//!   "title": "[FIRING] Payments API is down — impacts Checkout",
//!   "text": "Payments API is down: connection refused\n\n…"
//! }
//! ```
//!
//! `event` is one of `firing`, `acknowledged`, `resolved`, `reminder`, `test`, `posture`.
//! A `posture` notice says that a continuity claim is breached or has gone stale and
//! pages nobody: `summary` is the verdict in one line (`RTO breached: 2 h 5 min against
//! 1 h (incident INC-3)`), `started_at` is when the verdict changed, `alert_key` is
//! `posture/<claim>/<subject>`, `level` is 0 and `ack_url` is `null`; an
//! organisation-wide claim has `service.id` `organization`. Optional
//! fields are `null` when unknown; `recipient` is `{ "id", "name", "email"?, "phone"? }`.
//! `title` and `text` are the rendered subject and plain text body in `language`. Times
//! are UTC. Fields may be added within a version; a change that removes or changes a
//! field raises `version`. A resend of the same notice has the same `idempotency_key`
//! (also in the `Idempotency-Key` header); receivers should deduplicate on it.
//!
//! # Signature
//!
//! With `secret` set, every request carries
//!
//! - `X-Continuo-Timestamp: <unix seconds when sent>`
//! - `X-Continuo-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`
//!
//! where `<body>` is the exact bytes of the request body. To verify: compute the HMAC over
//! the timestamp header, a `.` and the raw body, compare it in constant time with the hex
//! after `sha256=`, and reject timestamps more than a few minutes from your clock (that
//! stops replays; a legitimate retry is signed anew).

use super::request;
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeService, Recipient};
use crate::settings::Settings;
use crate::template::Message;
use hmac::{KeyInit, Mac};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Serialize;
use url::Url;

/// The payload version this module writes.
pub const PAYLOAD_VERSION: u32 = 1;

/// A webhook channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to send.
    pub url: Url,
    /// `POST` (default), `PUT` or `PATCH`.
    pub method: Method,
    /// Extra headers, sent as given.
    pub headers: HeaderMap,
    /// Key of the HMAC-SHA256 signature; no signature without it.
    pub secret: Option<String>,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let url = s.url("url", true);
        let method = match s.choice("method", &["post", "put", "patch"]) {
            Some("put") => Method::PUT,
            Some("patch") => Method::PATCH,
            _ => Method::POST,
        };
        let headers = http::headers(s, "headers");
        let secret = s.text("secret");
        Some(Config {
            url: url?,
            method,
            headers,
            secret,
        })
    }
}

/// A ready webhook sender.
pub(crate) struct Webhook {
    config: Config,
    client: reqwest::Client,
}

/// The version 1 payload (see the module documentation).
#[derive(Serialize)]
struct Payload<'a> {
    version: u32,
    idempotency_key: &'a str,
    alert_key: &'a str,
    event: &'static str,
    language: &'static str,
    organization: &'a str,
    service: &'a NoticeService,
    impacted: &'a [NoticeService],
    summary: &'a str,
    started_at: String,
    started_ms: i64,
    at: String,
    at_ms: i64,
    timezone: &'a str,
    level: u32,
    ack_url: Option<&'a str>,
    dashboard_url: Option<&'a str>,
    acknowledged_by: Option<&'a str>,
    recipient: Option<&'a Recipient>,
    title: &'a str,
    text: &'a str,
}

/// The request body for `notice`.
pub(crate) fn payload(notice: &Notice, message: &Message) -> Vec<u8> {
    let payload = Payload {
        version: PAYLOAD_VERSION,
        idempotency_key: &notice.idempotency_key,
        alert_key: &notice.alert_key,
        event: notice.event.name(),
        language: notice.language.code(),
        organization: &notice.organization,
        service: &notice.service,
        impacted: &notice.impacted,
        summary: &notice.summary,
        started_at: crate::text::rfc3339(notice.started_ms),
        started_ms: notice.started_ms,
        at: crate::text::rfc3339(notice.at_ms),
        at_ms: notice.at_ms,
        timezone: &notice.timezone,
        level: notice.level,
        ack_url: notice.ack_url.as_deref(),
        dashboard_url: notice.dashboard_url.as_deref(),
        acknowledged_by: notice.acknowledged_by.as_deref(),
        recipient: notice.recipient.as_ref(),
        title: &message.subject,
        text: &message.text,
    };
    // Plain strings, numbers and maps with string keys always serialise.
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `<timestamp>.<body>`).
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    type HmacSha256 = hmac::Hmac<sha2::Sha256>;
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

impl Webhook {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Webhook {
        Webhook { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let body = payload(notice, message);
        let mut req = request(
            &self.client,
            self.config.method.clone(),
            self.config.url.clone(),
            notice,
        )
        .headers(self.config.headers.clone())
        .header(CONTENT_TYPE, "application/json")
        .header("X-Continuo-Event", notice.event.name());
        if let Some(secret) = &self.config.secret {
            let timestamp = jiff::Timestamp::now().as_second().to_string();
            let signature = signature(secret.as_bytes(), &timestamp, &body);
            req = req
                .header("X-Continuo-Timestamp", timestamp)
                .header("X-Continuo-Signature", signature);
        }
        http::deliver(req.body(body)).await
    }
}
