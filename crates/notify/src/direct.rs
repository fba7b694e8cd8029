//! Messages written elsewhere and sent as they are: the mail of status page subscribers
//! (through an email channel's SMTP server, with the channel's sender) and their
//! webhooks (a JSON body posted to the subscriber's own URL). The texts come from
//! `continuo_core::subscribers`; this module renders nothing and decides nothing.

use crate::error::{Delivered, SendError};
use crate::http;
use continuo_core::{Lang, Text};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
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
    /// A poster whose every request takes at most `timeout`. Unless `allow_internal`,
    /// a host name that resolves only to internal addresses (loopback, private, ...) is
    /// refused, and internal addresses among others are skipped: a subscriber's URL must
    /// not reach inside our network.
    pub fn new(timeout: Duration, allow_internal: bool) -> Result<Poster, Text> {
        let resolver: Option<Arc<dyn reqwest::dns::Resolve>> = if allow_internal {
            None
        } else {
            Some(Arc::new(continuo_net::PublicOnly))
        };
        Ok(Poster {
            client: http::client_with(timeout, &[], resolver)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A public name is not enough: where it resolves decides.
    #[tokio::test]
    async fn names_that_resolve_inside_are_refused_unless_allowed() {
        crate::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let url = format!("http://localhost:{port}/hook");
        let body = serde_json::json!({"ok": true});
        let refused = Poster::new(Duration::from_secs(2), false)
            .expect("poster")
            .post(&url, &body, "k1")
            .await
            .expect_err("localhost is internal");
        assert!(refused.message.contains("internal"), "{}", refused.message);
        // Allowed: the request reaches the listener (which never answers: a timeout).
        let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        let _ = Poster::new(Duration::from_millis(300), true)
            .expect("poster")
            .post(&url, &body, "k2")
            .await;
        assert!(accept.await.expect("join").is_ok(), "connected");
    }
}
