//! Messages written elsewhere and sent as they are: the mail of status page subscribers
//! (through an email channel's SMTP server, with the channel's sender) and their
//! webhooks (a JSON body posted to the subscriber's own URL). The texts come from
//! `continuo_core::subscribers`; this module renders nothing and decides nothing.

use crate::error::{Delivered, SendError};
use crate::http;
use continuo_core::{Lang, Text};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A finished plain-text mail to one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// Unique per message and the same on every resend: the `Message-ID`.
    pub idempotency_key: String,
    /// Messages with the same thread key form one thread (`References`).
    pub thread_key: String,
    /// The address it goes to.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain text body.
    pub text: String,
    /// Its language (`Content-Language`).
    pub language: Lang,
    /// Extra headers (`List-Unsubscribe`, ...), each `(name, value)`.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// When it was written, UTC unix milliseconds (`Date`).
    pub at_ms: i64,
}

/// Posts JSON to URLs that are not channels (subscribers' webhooks): rustls with
/// aws-lc-rs, no redirects (a redirect could lead anywhere, including inside our network),
/// one timeout for the whole exchange.
#[derive(Clone, Debug)]
pub struct Poster {
    client: reqwest::Client,
}

impl Poster {
    /// A poster whose every request takes at most `timeout`.
    pub fn new(timeout: Duration) -> Result<Poster, Text> {
        Ok(Poster {
            client: http::client(timeout, &[])?,
        })
    }

    /// Posts `body` to `url` with the idempotency key; 2xx is delivered, 429 and 5xx are
    /// worth another try, other answers are final.
    pub async fn post(
        &self,
        url: &str,
        body: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<Delivered, SendError> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| SendError::permanent(format!("\"{url}\" is not a URL: {e}")))?;
        let request = self
            .client
            .post(url)
            .header("Idempotency-Key", idempotency_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        http::deliver(request).await
    }
}
