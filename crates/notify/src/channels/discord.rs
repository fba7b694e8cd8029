//! Discord webhook.
//!
//! Settings: `url` (required): the webhook URL
//! (`https://discord.com/api/webhooks/<id>/<token>`); `username` and `avatar_url`: who
//! the message appears to come from, instead of the webhook's name and picture.
//!
//! Payload: `content` is the subject in bold (what notifications show, at most 2000
//! characters); one embed holds the plain text body with a colour for the event (red
//! firing, orange acknowledged or reminder, green resolved, blue posture, grey test) and
//! the time of the notice:
//!
//! ```json
//! { "content": "**[FIRING] Payments API is down**",
//!   "embeds": [ { "description": "Payments API is down: …", "color": 14233637,
//!                 "timestamp": "2026-11-25T13:15:05Z" } ],
//!   "allowed_mentions": { "parse": [] } }
//! ```
//!
//! `allowed_mentions` with nothing to parse means no text in a notice can ping
//! `@everyone`, `@here`, a role or a user. A posture notice pages nobody: it carries the
//! flag `SUPPRESS_NOTIFICATIONS` (4096), so it arrives without a push or a sound.
//! Without `?wait=true` Discord answers `204 No Content`; nothing in its answer is
//! needed. Discord limits a webhook to about 5 requests every 2 seconds (hence 400 ms
//! between sends); its 429 says how long to wait in `Retry-After` and in the body's
//! `retry_after` (seconds, fractional), honoured in that order.

use super::{event_color, request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeEvent};
use crate::settings::Settings;
use crate::template::Message;
use crate::text;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// Discord's message flag that delivers a message without a push notification.
const SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;

/// A Discord channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The webhook URL.
    pub url: Url,
    /// The name messages appear under, instead of the webhook's.
    pub username: Option<String>,
    /// The picture messages appear with, instead of the webhook's.
    pub avatar_url: Option<Url>,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let url = s.url("url", true);
        let username = s.text("username");
        let avatar_url = s.url("avatar_url", false);
        if !s.is_clean() {
            return None;
        }
        Some(Config {
            url: url?,
            username,
            avatar_url,
        })
    }
}

/// A ready Discord sender.
pub(crate) struct Discord {
    config: Config,
    client: reqwest::Client,
}

/// The request body for `notice`.
pub(crate) fn payload(config: &Config, notice: &Notice, message: &Message) -> Value {
    // `content` allows 2000 characters, an embed's description 4096.
    let mut payload = json!({
        "content": format!("**{}**", truncate(&message.subject, 1_990)),
        "embeds": [{
            "description": truncate(&message.text, 4_000),
            "color": event_color(notice.event),
            "timestamp": text::rfc3339(notice.at_ms),
        }],
        "allowed_mentions": { "parse": [] },
    });
    if notice.event == NoticeEvent::Posture {
        payload["flags"] = json!(SUPPRESS_NOTIFICATIONS);
    }
    if let Some(username) = &config.username {
        payload["username"] = json!(username);
    }
    if let Some(avatar_url) = &config.avatar_url {
        payload["avatar_url"] = json!(avatar_url.as_str());
    }
    payload
}

impl Discord {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Discord {
        Discord { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let req = request(&self.client, Method::POST, self.config.url.clone(), notice)
            .json(&payload(&self.config, notice, message));
        let reply = http::exchange(req).await?;
        http::classify_hinted(reply, |body| {
            body["retry_after"]
                .as_f64()
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        })
    }
}
