//! Telegram bot.
//!
//! Settings: `bot_token` (required, from BotFather: `123456:ABC-…`), `chat_id` (required: a
//! number such as `-1001234567890`, or `@channelname`), `url` (default
//! `https://api.telegram.org`), `parse_mode` (`html`, the default, or `none`).
//!
//! Request: `POST <url>/bot<token>/sendMessage` with
//!
//! ```json
//! { "chat_id": "-1001234567890", "parse_mode": "HTML",
//!   "text": "<b>[FIRING] Payments API is down</b>\n\nPayments API is down: …",
//!   "link_preview_options": { "is_disabled": true } }
//! ```
//!
//! With `parse_mode = "html"` the subject is bold and every `&`, `<` and `>` of the
//! notice is escaped, so nothing in it can break or inject markup; with `none` the text is
//! sent as is and `parse_mode` is left out. Telegram's `parameters.retry_after` (on a 429)
//! is honoured like a `Retry-After` header. The token is never part of an error message.

use super::{join, request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::Notice;
use crate::settings::Settings;
use crate::template::Message;
use continuo_core::tr;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// Telegram's Bot API unless `url` says otherwise.
pub const DEFAULT_URL: &str = "https://api.telegram.org";

/// A Telegram channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The bot's token.
    pub bot_token: String,
    /// The chat to write to.
    pub chat_id: String,
    /// The Bot API's base URL.
    pub url: Url,
    /// True to send HTML (subject in bold), false for plain text.
    pub html: bool,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let bot_token = s.required_text("bot_token");
        if let Some(token) = &bot_token
            && !is_bot_token(token)
        {
            s.problem(
                "bot_token",
                tr!(
                    "not a bot token; BotFather's tokens look like 123456:ABC-DEF…",
                    "geen bottoken; tokens van BotFather zien eruit als 123456:ABC-DEF…"
                ),
            );
        }
        let chat_id = s.required_text_or_number("chat_id");
        let url = match s.url("url", false) {
            Some(url) => Some(url),
            None if s.has("url") => None,
            None => Url::parse(DEFAULT_URL).ok(),
        };
        let html = s.choice("parse_mode", &["html", "none"]) != Some("none");
        if !s.is_clean() {
            return None;
        }
        Some(Config {
            bot_token: bot_token?,
            chat_id: chat_id?,
            url: url?,
            html,
        })
    }
}

/// `123456:ABC-DEF…`: digits, a colon, then URL-safe characters.
fn is_bot_token(token: &str) -> bool {
    let Some((bot, secret)) = token.split_once(':') else {
        return false;
    };
    !bot.is_empty()
        && bot.bytes().all(|b| b.is_ascii_digit())
        && !secret.is_empty()
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A ready Telegram sender.
pub(crate) struct Telegram {
    config: Config,
    client: reqwest::Client,
}

/// Escapes the characters Telegram's HTML mode gives a meaning to.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The request body for `notice`.
pub(crate) fn payload(chat_id: &str, html: bool, message: &Message) -> Value {
    // Telegram allows 4096 characters; the body is cut before escaping so that an
    // entity is never cut in half.
    let body = truncate(&message.text, 3_800);
    let subject = truncate(&message.subject, 200);
    let mut payload = json!({
        "chat_id": chat_id,
        "link_preview_options": { "is_disabled": true },
    });
    if html {
        payload["text"] = json!(format!("<b>{}</b>\n\n{}", escape(&subject), escape(&body)));
        payload["parse_mode"] = json!("HTML");
    } else {
        payload["text"] = json!(format!("{subject}\n\n{body}"));
    }
    payload
}

impl Telegram {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Telegram {
        Telegram { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let path = format!("/bot{}/sendMessage", self.config.bot_token);
        let url = join(&self.config.url, &path);
        let req = request(&self.client, Method::POST, url, notice).json(&payload(
            &self.config.chat_id,
            self.config.html,
            message,
        ));
        let reply = http::exchange(req).await?;
        http::classify_hinted(reply, |body| {
            body["parameters"]["retry_after"]
                .as_u64()
                .map(Duration::from_secs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_tokens() {
        assert!(is_bot_token("123456:ABC-DEF_ghi"));
        assert!(!is_bot_token("123456"));
        assert!(!is_bot_token("abc:def"));
        assert!(!is_bot_token("123:de/f"));
        assert!(!is_bot_token("123:"));
    }
}
