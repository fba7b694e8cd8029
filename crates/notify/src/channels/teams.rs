//! Microsoft Teams, through a Workflows webhook ("When a Teams webhook request is
//! received") posting an Adaptive Card.
//!
//! Settings: `url` (required): the workflow's HTTP POST URL.
//!
//! Payload: a message with one Adaptive Card 1.4 attachment. The card shows the subject
//! as a bold title coloured by the event (red firing, orange acknowledged or reminder,
//! green resolved, accent blue for a posture notice, default for a test), the plain
//! text body one text block per line, and `Action.OpenUrl` buttons to acknowledge and to
//! open the dashboard:
//!
//! ```json
//! { "type": "message",
//!   "attachments": [ {
//!     "contentType": "application/vnd.microsoft.card.adaptive",
//!     "contentUrl": null,
//!     "content": {
//!       "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
//!       "type": "AdaptiveCard", "version": "1.4",
//!       "body": [ { "type": "TextBlock", "text": "[FIRING] …", "weight": "Bolder",
//!                   "size": "Medium", "color": "Attention", "wrap": true }, … ],
//!       "actions": [ { "type": "Action.OpenUrl", "title": "Acknowledge", "url": "https://…" } ],
//!       "msteams": { "width": "Full" } } } ] }
//! ```
//!
//! Why a text block per line: Adaptive Card text is markdown, where a single line break
//! is not kept.

use super::{request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeEvent};
use crate::settings::Settings;
use crate::template::Message;
use crate::text;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// A Teams channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The workflow's webhook URL.
    pub url: Url,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        Some(Config {
            url: s.url("url", true)?,
        })
    }
}

/// A ready Teams sender.
pub(crate) struct Teams {
    config: Config,
    client: reqwest::Client,
}

/// The Adaptive Card for `notice`.
pub(crate) fn card(notice: &Notice, message: &Message) -> Value {
    let lang = notice.language;
    let color = match notice.event {
        NoticeEvent::Firing => "Attention",
        NoticeEvent::Acknowledged | NoticeEvent::Reminder => "Warning",
        NoticeEvent::Resolved => "Good",
        NoticeEvent::Test => "Default",
        // Informational: a claim to look at, not an outage.
        NoticeEvent::Posture => "Accent",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": message.subject,
        "weight": "Bolder",
        "size": "Medium",
        "color": color,
        "wrap": true,
    })];
    let mut after_blank = true;
    for line in truncate(&message.text, 20_000).lines() {
        if line.trim().is_empty() {
            after_blank = true;
            continue;
        }
        body.push(json!({
            "type": "TextBlock",
            "text": line,
            "wrap": true,
            "spacing": if after_blank { "Medium" } else { "None" },
        }));
        after_blank = false;
    }
    let mut actions = Vec::new();
    if let Some(url) = &notice.ack_url {
        actions.push(json!({
            "type": "Action.OpenUrl",
            "title": text::acknowledge().get(lang),
            "url": url,
        }));
    }
    if let Some(url) = &notice.dashboard_url {
        actions.push(json!({
            "type": "Action.OpenUrl",
            "title": text::dashboard().get(lang),
            "url": url,
        }));
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "lang": lang.code(),
        "body": body,
        "actions": actions,
        "msteams": { "width": "Full" },
    })
}

/// The request body for `notice`.
pub(crate) fn payload(notice: &Notice, message: &Message) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card(notice, message),
        }],
    })
}

impl Teams {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Teams {
        Teams { config, client }
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
