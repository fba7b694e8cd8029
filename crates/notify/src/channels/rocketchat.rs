//! Rocket.Chat incoming webhook.
//!
//! Settings: `url` (required): the integration's webhook URL
//! (`https://chat.example.com/hooks/<id>/<token>`); `alias`: the name posts appear
//! under; `avatar`: the URL of the picture they appear with; `channel`: `#channel` or
//! `@user` instead of the integration's own channel.
//!
//! Payload: `text` is the subject in bold; one attachment holds the plain text body with
//! a colour bar for the event (red firing, orange acknowledged or reminder, green
//! resolved, blue posture, grey test):
//!
//! ```json
//! { "text": "*[FIRING] Payments API is down*",
//!   "attachments": [ { "color": "#d93025", "text": "Payments API is down: …" } ],
//!   "alias": "Continuo" }
//! ```
//!
//! Rocket.Chat answers `{"success": true}`; an answer with `"success": false` is a refusal
//! even when its status is 200 (an integration script can answer that way). Every `@`
//! that starts a word in the notice is followed by an invisible word joiner, so an
//! alert's text cannot mention `@all` or `@here`. Rocket.Chat publishes no limit for
//! incoming webhooks; 100 ms between posts leaves a small server room.

use super::{defuse_mentions, event_color_hex, request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::Notice;
use crate::settings::Settings;
use crate::template::Message;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// A Rocket.Chat channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The integration's webhook URL.
    pub url: Url,
    /// The name posts appear under.
    pub alias: Option<String>,
    /// The picture posts appear with.
    pub avatar: Option<Url>,
    /// The channel to post in, instead of the integration's.
    pub channel: Option<String>,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let url = s.url("url", true);
        let alias = s.text("alias");
        let avatar = s.url("avatar", false);
        let channel = s.text("channel");
        if !s.is_clean() {
            return None;
        }
        Some(Config {
            url: url?,
            alias,
            avatar,
            channel,
        })
    }
}

/// A ready Rocket.Chat sender.
pub(crate) struct RocketChat {
    config: Config,
    client: reqwest::Client,
}

/// Rocket.Chat's default message size limit is 5000 characters.
const MAX_TEXT: usize = 4_500;

/// The request body for `notice`.
pub(crate) fn payload(config: &Config, notice: &Notice, message: &Message) -> Value {
    let subject = defuse_mentions(&truncate(&message.subject, 400));
    let mut payload = json!({
        "text": format!("*{subject}*"),
        "attachments": [{
            "color": event_color_hex(notice.event),
            "text": defuse_mentions(&truncate(&message.text, MAX_TEXT)),
        }],
    });
    if let Some(alias) = &config.alias {
        payload["alias"] = json!(alias);
    }
    if let Some(avatar) = &config.avatar {
        payload["avatar"] = json!(avatar.as_str());
    }
    if let Some(channel) = &config.channel {
        payload["channel"] = json!(channel);
    }
    payload
}

impl RocketChat {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> RocketChat {
        RocketChat { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let req = request(&self.client, Method::POST, self.config.url.clone(), notice)
            .json(&payload(&self.config, notice, message));
        let reply = http::exchange(req).await?;
        let refused = reply.status.is_success()
            && serde_json::from_str::<Value>(&reply.body)
                .is_ok_and(|v| v.get("success") == Some(&Value::Bool(false)));
        if refused {
            return Err(SendError::permanent(format!(
                "{} but refused: {}",
                http::status_line(reply.status),
                http::snippet(&reply.body)
            )));
        }
        http::classify(reply)
    }
}
