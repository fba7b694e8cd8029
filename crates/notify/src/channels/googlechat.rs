//! Google Chat incoming webhook.
//!
//! Settings: `url` (required): the space's webhook URL, as Google Chat shows it
//! (`https://chat.googleapis.com/v1/spaces/<space>/messages?key=…&token=…`).
//!
//! Request: `POST <url>&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD` with
//!
//! ```json
//! { "text": "*[FIRING] Payments API is down*\n\nPayments API is down: …",
//!   "thread": { "threadKey": "payments-42" },
//!   "cardsV2": [ { "cardId": "continuo-links", "card": { "sections": [ { "widgets": [
//!     { "buttonList": { "buttons": [
//!       { "text": "Acknowledge", "onClick": { "openLink": { "url": "https://…" } } } ] } } ] } ] } } ] }
//! ```
//!
//! The thread key is the notice's alert key, so every message about one alert (firing,
//! reminders, acknowledged, resolved) lands in one thread, and each posture claim in its
//! own; in a space without threads the option falls back to a new message. The card holds
//! buttons to acknowledge and to open the dashboard, and is left out when the notice has
//! neither link. A mention of everyone (`<users/all>`) in the notice is made inert with
//! an invisible character. Google Chat allows one message a second per space, hence the
//! 1 s spacing; its 429 is retried like any other.

use super::{request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::Notice;
use crate::settings::Settings;
use crate::template::Message;
use crate::text;
use continuo_core::tr;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

/// A Google Chat channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The space's webhook URL, with its `key` and `token`.
    pub url: Url,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let url = s.url("url", true)?;
        let has = |name: &str| url.query_pairs().any(|(k, v)| k == name && !v.is_empty());
        if !(has("key") && has("token")) {
            s.problem(
                "url",
                tr!(
                    "a Google Chat webhook URL carries `key` and `token` in its query (…/messages?key=…&token=…): copy the whole URL from the space's webhook settings",
                    "een webhook-URL van Google Chat heeft `key` en `token` in de query (…/messages?key=…&token=…): kopieer de hele URL uit de webhookinstellingen van de ruimte"
                ),
            );
            return None;
        }
        Some(Config { url })
    }
}

/// A ready Google Chat sender.
pub(crate) struct GoogleChat {
    config: Config,
    client: reqwest::Client,
}

/// The webhook URL with the reply option that threads messages by key; a `threadKey` or
/// reply option already in it is replaced, so the body's key decides.
pub(crate) fn post_url(webhook: &Url) -> Url {
    let kept: Vec<(String, String)> = webhook
        .query_pairs()
        .filter(|(k, _)| k != "messageReplyOption" && k != "threadKey")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = webhook.clone();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
    url
}

/// `<users/all>` and other mentions, made inert.
fn defuse(text: &str) -> String {
    text.replace("<users/", "<\u{2060}users/")
}

/// The request body for `notice`.
pub(crate) fn payload(notice: &Notice, message: &Message) -> Value {
    let lang = notice.language;
    // Google Chat's text holds 4096 characters.
    let text = format!(
        "*{}*\n\n{}",
        truncate(&message.subject, 300),
        truncate(&message.text, 3_700)
    );
    let mut payload = json!({
        "text": defuse(&text),
        "thread": { "threadKey": truncate(&notice.alert_key, 4_000) },
    });
    let mut buttons = Vec::new();
    if let Some(url) = &notice.ack_url {
        buttons.push(json!({
            "text": text::acknowledge().get(lang),
            "onClick": { "openLink": { "url": url } },
        }));
    }
    if let Some(url) = &notice.dashboard_url {
        buttons.push(json!({
            "text": text::dashboard().get(lang),
            "onClick": { "openLink": { "url": url } },
        }));
    }
    if !buttons.is_empty() {
        payload["cardsV2"] = json!([{
            "cardId": "continuo-links",
            "card": { "sections": [{ "widgets": [{ "buttonList": { "buttons": buttons } }] }] },
        }]);
    }
    payload
}

impl GoogleChat {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> GoogleChat {
        GoogleChat { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let req = request(
            &self.client,
            Method::POST,
            post_url(&self.config.url),
            notice,
        )
        .json(&payload(notice, message));
        http::deliver(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_option_replaces_one_in_the_url() {
        let url = Url::parse(
            "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t%3D&threadKey=x&messageReplyOption=REPLY_MESSAGE_OR_FAIL",
        )
        .expect("url");
        assert_eq!(
            post_url(&url).as_str(),
            "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t%3D&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        );
    }
}
