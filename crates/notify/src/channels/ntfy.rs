//! ntfy (self-hosted or ntfy.sh) push notifications.
//!
//! Settings: `url` (required: the server, `https://ntfy.sh`), `topic` (required: letters,
//! digits, `-` and `_`, at most 64), `token` (an access token, sent as
//! `Authorization: Bearer <token>`), `priority` (`1`..`5` or `min`, `low`, `default`,
//! `high`, `max`/`urgent`: the priority of firing and reminder messages).
//!
//! Request: `POST <url>/<topic>` with the plain text body and the headers
//!
//! | header | value |
//! | --- | --- |
//! | `Title` | the subject (RFC 2047 `=?UTF-8?B?…?=` when not ASCII, which ntfy decodes) |
//! | `Priority` | firing and reminder: the `priority` setting, else by tier (1 → 5, 2 → 4, else 3); acknowledged and resolved: 3; test and posture: 2 (low: no sound or pop-up) |
//! | `Tags` | an emoji for the event (`rotating_light`, `eyes`, `white_check_mark`, `bell`, `test_tube`, `clipboard`) and the service id |
//! | `Click` | the dashboard link, when there is one |
//! | `Actions` | `view, <Acknowledge>, <ack_url>, clear=true`, when there is an ack link |

use super::{join, request};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeEvent};
use crate::settings::Settings;
use crate::template::Message;
use crate::text;
use base64::Engine as _;
use continuo_core::catalog::SettingValue;
use continuo_core::tr;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use url::Url;

/// An ntfy channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The server's base URL.
    pub url: Url,
    /// The topic to publish to.
    pub topic: String,
    /// Access token, if the topic is protected.
    pub token: Option<String>,
    /// Priority (1..=5) of firing and reminder messages; by tier when absent.
    pub priority: Option<u8>,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let url = s.url("url", true);
        let topic = s.required_text("topic");
        if let Some(topic) = &topic
            && !is_topic(topic)
        {
            s.problem(
                "topic",
                tr!(
                    "\"{topic}\" is not a topic name: use letters, digits, - and _, at most 64",
                    "\"{topic}\" is geen topicnaam: gebruik letters, cijfers, - en _, hoogstens 64"
                ),
            );
        }
        let token = s.text("token");
        let priority = priority(s);
        if !s.is_clean() {
            return None;
        }
        Some(Config {
            url: url?,
            topic: topic?,
            token,
            priority,
        })
    }
}

/// The `priority` setting: a number 1..=5 or one of ntfy's names.
fn priority(s: &mut Settings<'_>) -> Option<u8> {
    if let Some(SettingValue::Integer(_)) = s.value("priority") {
        return s
            .integer("priority", 1, 5)
            .and_then(|n| u8::try_from(n).ok());
    }
    let names = [
        "1", "2", "3", "4", "5", "min", "low", "default", "high", "max", "urgent",
    ];
    match s.choice("priority", &names)? {
        "1" | "min" => Some(1),
        "2" | "low" => Some(2),
        "3" | "default" => Some(3),
        "4" | "high" => Some(4),
        _ => Some(5),
    }
}

/// ntfy's topic names: `[-_A-Za-z0-9]{1,64}`.
fn is_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 64
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A header value for any text: as is when it is printable ASCII, else one RFC 2047
/// encoded word (ntfy decodes these since 2.4).
fn header_text(value: &str) -> HeaderValue {
    let value = value.replace(['\r', '\n'], " ");
    if value.bytes().all(|b| (b' '..=b'~').contains(&b))
        && let Ok(header) = HeaderValue::from_str(&value)
    {
        return header;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
    // Base64 is printable ASCII, so this always is a valid header value.
    HeaderValue::from_str(&format!("=?UTF-8?B?{encoded}?="))
        .unwrap_or_else(|_| HeaderValue::from_static("Continuo"))
}

/// A value in an `Actions` header, quoted when it holds the header's separators.
fn action_value(value: &str) -> String {
    if value.contains([',', ';', '=']) {
        format!("\"{}\"", value.replace('"', "%22"))
    } else {
        value.to_string()
    }
}

/// The ntfy priority of `notice`.
pub(crate) fn notice_priority(notice: &Notice, configured: Option<u8>) -> u8 {
    match notice.event {
        NoticeEvent::Firing | NoticeEvent::Reminder => {
            configured.unwrap_or(match notice.service.tier {
                0 | 1 => 5,
                2 => 4,
                _ => 3,
            })
        }
        NoticeEvent::Acknowledged | NoticeEvent::Resolved => 3,
        // A posture notice pages nobody; ntfy's low priority arrives without a sound.
        NoticeEvent::Test | NoticeEvent::Posture => 2,
    }
}

/// A ready ntfy sender.
pub(crate) struct Ntfy {
    config: Config,
    client: reqwest::Client,
}

impl Ntfy {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Ntfy {
        Ntfy { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let url = join(&self.config.url, &format!("/{}", self.config.topic));
        let emoji = match notice.event {
            NoticeEvent::Firing => "rotating_light",
            NoticeEvent::Acknowledged => "eyes",
            NoticeEvent::Resolved => "white_check_mark",
            NoticeEvent::Reminder => "bell",
            NoticeEvent::Test => "test_tube",
            NoticeEvent::Posture => "clipboard",
        };
        let mut req = request(&self.client, Method::POST, url, notice)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .header("Title", header_text(&message.subject))
            .header(
                "Priority",
                notice_priority(notice, self.config.priority).to_string(),
            )
            .header(
                "Tags",
                header_text(&format!("{emoji},{}", notice.service.id.replace(',', " "))),
            );
        if let Some(url) = &notice.dashboard_url {
            req = req.header("Click", header_text(url));
        }
        if let Some(url) = &notice.ack_url {
            let label = text::acknowledge().get(notice.language).to_string();
            let action = format!(
                "view, {}, {}, clear=true",
                action_value(&label),
                action_value(url)
            );
            req = req.header("Actions", header_text(&action));
        }
        if let Some(token) = &self.config.token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        http::deliver(req.body(message.text.clone())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_outside_ascii_are_encoded_words() {
        assert_eq!(header_text("[FIRING] a"), "[FIRING] a");
        assert_eq!(header_text("a — b"), "=?UTF-8?B?YSDigJQgYg==?=");
        assert_eq!(header_text("a\nb"), "a b");
    }

    #[test]
    fn topics() {
        assert!(is_topic("ops-alerts_1"));
        assert!(!is_topic("ops alerts"));
        assert!(!is_topic(""));
        assert!(!is_topic(&"x".repeat(65)));
    }
}
