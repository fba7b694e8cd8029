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

pub mod email;
pub mod http_template;
pub mod ntfy;
pub mod opsgenie;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod webhook;

use crate::notice::Notice;
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

#[cfg(test)]
mod tests {
    use super::*;

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
