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
/// one timeout for the whole exchange, name resolution included.
///
/// Name resolution runs on a blocking thread (the system resolver) that a timeout cannot
/// stop: a host whose resolver never answers would keep its thread after the send was
/// given up, and thousands of such subscriber URLs could fill tokio's blocking pool that
/// operators' channels resolve on too. So at most [`MAX_LOOKUPS`] resolutions of one
/// poster run at once, each holding its slot until it really ends; past that, a send
/// waits for a slot within its own timeout.
#[derive(Clone, Debug)]
pub struct Poster {
    client: reqwest::Client,
}

/// The most name resolutions one [`Poster`] runs at once.
pub const MAX_LOOKUPS: usize = 16;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A resolver that runs at most a bounded number of lookups at once, each until it ends
/// (see [`Poster`]).
struct Bounded {
    inner: Arc<dyn reqwest::dns::Resolve>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl reqwest::dns::Resolve for Bounded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let inner = self.inner.clone();
        let slots = self.slots.clone();
        Box::pin(async move {
            let slot = slots
                .acquire_owned()
                .await
                .map_err(|e| -> BoxError { Box::new(e) })?;
            // Its own task: when the send is given up the lookup runs on, holding the
            // slot, so abandoned lookups count too.
            let lookup = tokio::spawn(async move {
                let found = inner.resolve(name).await;
                drop(slot);
                found
            });
            lookup.await.map_err(|e| -> BoxError { Box::new(e) })?
        })
    }
}

/// The system's resolver (`getaddrinfo` on a blocking thread).
struct System;

impl reqwest::dns::Resolve for System {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

impl Poster {
    /// A poster whose every request takes at most `timeout`, name resolution included.
    /// Unless `allow_internal`, a host name that resolves only to internal addresses
    /// (loopback, private, ...) is refused, and internal addresses among others are
    /// skipped: a subscriber's URL must not reach inside our network.
    pub fn new(timeout: Duration, allow_internal: bool) -> Result<Poster, Text> {
        let resolver: Arc<dyn reqwest::dns::Resolve> = if allow_internal {
            Arc::new(System)
        } else {
            Arc::new(continuo_net::PublicOnly)
        };
        Poster::with_resolver(timeout, resolver, MAX_LOOKUPS)
    }

    fn with_resolver(
        timeout: Duration,
        resolver: Arc<dyn reqwest::dns::Resolve>,
        max_lookups: usize,
    ) -> Result<Poster, Text> {
        let bounded = Bounded {
            inner: resolver,
            slots: Arc::new(tokio::sync::Semaphore::new(max_lookups.max(1))),
        };
        Ok(Poster {
            client: http::client_with(timeout, &[], Some(Arc::new(bounded)))?,
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

    /// Resolves nothing, ever, and counts the lookups begun.
    struct Hangs(Arc<std::sync::atomic::AtomicUsize>);

    impl reqwest::dns::Resolve for Hangs {
        fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(std::future::pending())
        }
    }

    /// Issue 16: a host whose name never resolves ends the send at its timeout, and
    /// lookups that never end hold a bounded number of slots, also after their sends
    /// were given up.
    #[tokio::test]
    async fn resolutions_that_hang_end_with_the_send_and_stay_bounded() {
        crate::install_crypto_provider();
        let begun = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let poster = Poster::with_resolver(
            Duration::from_millis(200),
            Arc::new(Hangs(begun.clone())),
            2,
        )
        .expect("poster");
        let body = serde_json::json!({"ok": true});
        for n in 0..5 {
            let error = poster
                .post(&format!("http://hang{n}.nowhere.invalid/"), &body, "k")
                .await
                .expect_err("never resolves");
            assert!(error.is_retryable(), "{}", error.message);
            assert!(error.message.contains("timed out"), "{}", error.message);
        }
        assert_eq!(
            begun.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "two lookups at most, however many sends"
        );
    }
}
