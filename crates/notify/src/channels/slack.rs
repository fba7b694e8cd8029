//! Slack incoming webhook.
//!
//! Settings: `url` (required): the incoming webhook URL
//! (`https://hooks.slack.com/services/…`).
//!
//! Payload: `text` is the subject (Slack shows it in notifications and where blocks
//! cannot be shown); `blocks` hold a header with the subject, a section with the plain
//! text body (as mrkdwn, with `&`, `<` and `>` escaped so the notice cannot inject links
//! or mentions), and link buttons to acknowledge and to open the dashboard when the
//! notice has those links:
//!
//! ```json
//! { "text": "[FIRING] Payments API is down",
//!   "blocks": [
//!     { "type": "header", "text": { "type": "plain_text", "text": "[FIRING] Payments API is down" } },
//!     { "type": "section", "text": { "type": "mrkdwn", "text": "Payments API is down: …" } },
//!     { "type": "actions", "elements": [
//!       { "type": "button", "text": { "type": "plain_text", "text": "Acknowledge" },
//!         "url": "https://…", "style": "primary" } ] } ] }
//! ```

use super::{request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::Notice;
use crate::settings::Settings;
use crate::template::Message;
use crate::text;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// A Slack channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The incoming webhook URL.
    pub url: Url,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        Some(Config {
            url: s.url("url", true)?,
        })
    }
}

/// A ready Slack sender.
pub(crate) struct Slack {
    config: Config,
    client: reqwest::Client,
}

/// Escapes the three characters Slack's mrkdwn gives a meaning to.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The request body for `notice`.
pub(crate) fn payload(notice: &Notice, message: &Message) -> Value {
    let lang = notice.language;
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": { "type": "plain_text", "text": truncate(&message.subject, 150), "emoji": true },
        }),
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate(&escape(&message.text), 3000) },
        }),
    ];
    let mut buttons = Vec::new();
    if let Some(url) = &notice.ack_url {
        buttons.push(json!({
            "type": "button",
            "text": { "type": "plain_text", "text": text::acknowledge().get(lang) },
            "url": url,
            "style": "primary",
        }));
    }
    if let Some(url) = &notice.dashboard_url {
        buttons.push(json!({
            "type": "button",
            "text": { "type": "plain_text", "text": text::dashboard().get(lang) },
            "url": url,
        }));
    }
    if !buttons.is_empty() {
        blocks.push(json!({ "type": "actions", "elements": buttons }));
    }
    json!({ "text": escape(&message.subject), "blocks": blocks })
}

impl Slack {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Slack {
        Slack { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let req = request(&self.client, Method::POST, self.config.url.clone(), notice)
            .json(&payload(notice, message));
        http::deliver(req).await
    }
}
