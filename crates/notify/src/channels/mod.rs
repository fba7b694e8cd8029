//! One module per channel kind. Each has the same shape: a documented `Config` read from
//! the channel's settings (`Config::parse`, every problem recorded with the setting it
//! belongs to), a sender built once from it, and `send`, which delivers one notice.
//!
//! Settings every kind understands besides its own:
//!
//! | setting | meaning | default |
//! | --- | --- | --- |
//! | `timeout` | the longest one send may take, connecting included (`"10s"`, or seconds) | `10s` |
//! | `ca_file` | a PEM file of extra trusted CA certificates (a private CA), added to the system's | none |
//!
//! Every HTTP request carries `Idempotency-Key: <notice.idempotency_key>` and
//! `User-Agent: Continuo/<version>`.

pub mod discord;
pub mod email;
pub mod googlechat;
pub mod http_template;
pub mod matrix;
pub mod mattermost;
pub mod ntfy;
pub mod opsgenie;
pub mod pagerduty;
pub mod rocketchat;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod webhook;

use crate::notice::{Notice, NoticeEvent};
use reqwest::Method;
use rustls_pki_types::CertificateDer;
use std::time::Duration;
use url::Url;

/// What every kind reads the same way.
pub(crate) struct Common {
    /// The longest one send may take.
    pub timeout: Duration,
    /// Extra trusted roots from `ca_file`.
    pub ca: Vec<CertificateDer<'static>>,
}

/// The HTTP client of a channel, from its common settings.
pub(crate) fn http_client(common: &Common) -> Result<reqwest::Client, continuo_core::Text> {
    crate::http::client(common.timeout, &common.ca)
}

/// A request to `url` that carries the notice's idempotency key.
pub(crate) fn request(
    client: &reqwest::Client,
    method: Method,
    url: Url,
    notice: &Notice,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .header("Idempotency-Key", &notice.idempotency_key)
}

/// `text` cut to at most `max` characters, with an ellipsis when cut: receivers reject
/// or silently drop fields that are too long.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text.to_string(),
    }
}

/// `base` with `path` appended to its path (`https://x/api` + `/v2/enqueue`), keeping any
/// query.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

/// The colour of an event's bar or embed, as `0xRRGGBB`: red firing, orange acknowledged
/// or reminder, green resolved, blue for a posture notice (something to look at, not an
/// outage), grey for a test.
pub(crate) fn event_color(event: NoticeEvent) -> u32 {
    match event {
        NoticeEvent::Firing => 0xD9_30_25,
        NoticeEvent::Acknowledged | NoticeEvent::Reminder => 0xF2_99_00,
        NoticeEvent::Resolved => 0x1E_8E_3E,
        NoticeEvent::Posture => 0x1A_73_E8,
        NoticeEvent::Test => 0x5F_63_68,
    }
}

/// [`event_color`] as `#rrggbb`.
pub(crate) fn event_color_hex(event: NoticeEvent) -> String {
    format!("#{:06x}", event_color(event))
}

/// `text` with every @-mention made inert: a word joiner (U+2060, invisible) after each
/// `@` that starts a word, so `@channel`, `@all`, `@here` or `@alice` in an alert's
/// summary page nobody on Mattermost or Rocket.Chat. An `@` inside a word (an email
/// address) is left alone.
pub(crate) fn defuse_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let starts_word =
            previous.is_none_or(|p| !(p.is_alphanumeric() || matches!(p, '.' | '_' | '-')));
        if c == '@' && starts_word && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            out.push('\u{2060}');
        }
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_defused_but_addresses_kept() {
        assert_eq!(defuse_mentions("@all look"), "@\u{2060}all look");
        assert_eq!(defuse_mentions("ping (@here)"), "ping (@\u{2060}here)");
        assert_eq!(defuse_mentions("alice@example.com"), "alice@example.com");
        assert_eq!(defuse_mentions("a @ b"), "a @ b");
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 4), "ééé…");
    }

    #[test]
    fn join_appends_to_the_path() {
        let base = Url::parse("https://events.example.com").expect("url");
        assert_eq!(
            join(&base, "/v2/enqueue").as_str(),
            "https://events.example.com/v2/enqueue"
        );
        let base = Url::parse("http://127.0.0.1:9/pd/").expect("url");
        assert_eq!(
            join(&base, "/v2/enqueue").as_str(),
            "http://127.0.0.1:9/pd/v2/enqueue"
        );
    }
}
