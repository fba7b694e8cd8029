//! Mattermost incoming webhook.
//!
//! Settings: `url` (required): the incoming webhook URL
//! (`https://mattermost.example.com/hooks/xxx-generatedkey-xxx`); `username` and
//! `icon_url`: who the post appears to come from (the server must allow webhooks to
//! override them); `channel`: a channel name (`town-square`) or `@user` instead of the
//! webhook's own channel.
//!
//! Payload: `text` is the subject in bold (what notifications and the channel list
//! show); one attachment holds the plain text body with a colour bar for the event (red
//! firing, orange acknowledged or reminder, green resolved, blue posture, grey test):
//!
//! ```json
//! { "text": "**[FIRING] Payments API is down**",
//!   "attachments": [ { "fallback": "[FIRING] Payments API is down", "color": "#d93025",
//!                      "text": "Payments API is down: …\nAcknowledge: https://…" } ],
//!   "username": "Continuo" }
//! ```
//!
//! Every `@` that starts a word in the notice is followed by an invisible word joiner, so
//! an alert's text cannot mention `@channel` or `@all`. Mattermost has no published rate
//! limit for webhooks; when an administrator turns its limiter on, the default is 10
//! requests a second, which the 100 ms spacing keeps under.

use super::{defuse_mentions, event_color_hex, request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::Notice;
use crate::settings::Settings;
use crate::template::Message;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// A Mattermost channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The incoming webhook URL.
    pub url: Url,
    /// The name posts appear under, instead of the webhook's.
    pub username: Option<String>,
    /// The picture posts appear with, instead of the webhook's.
    pub icon_url: Option<Url>,
    /// The channel to post in, instead of the webhook's.
    pub channel: Option<String>,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let url = s.url("url", true);
        let username = s.text("username");
        let icon_url = s.url("icon_url", false);
        let channel = s.text("channel");
        if !s.is_clean() {
            return None;
        }
        Some(Config {
            url: url?,
            username,
            icon_url,
            channel,
        })
    }
}

/// A ready Mattermost sender.
pub(crate) struct Mattermost {
    config: Config,
    client: reqwest::Client,
}

/// Mattermost's posts hold at most 16383 characters; the body stays well under it.
const MAX_TEXT: usize = 12_000;

/// The request body for `notice`.
pub(crate) fn payload(config: &Config, notice: &Notice, message: &Message) -> Value {
    let subject = defuse_mentions(&truncate(&message.subject, 500));
    let mut payload = json!({
        "text": format!("**{subject}**"),
        "attachments": [{
            "fallback": subject,
            "color": event_color_hex(notice.event),
            "text": defuse_mentions(&truncate(&message.text, MAX_TEXT)),
        }],
    });
    if let Some(username) = &config.username {
        payload["username"] = json!(username);
    }
    if let Some(icon_url) = &config.icon_url {
        payload["icon_url"] = json!(icon_url.as_str());
    }
    if let Some(channel) = &config.channel {
        payload["channel"] = json!(channel);
    }
    payload
}

impl Mattermost {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Mattermost {
        Mattermost { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let req = request(&self.client, Method::POST, self.config.url.clone(), notice)
            .json(&payload(&self.config, notice, message));
        http::deliver(req).await
    }
}
