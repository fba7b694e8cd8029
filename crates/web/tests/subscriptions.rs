//! Limits on public status page subscriptions (issue 16, failure 4), over real sockets
//! on 127.0.0.1 with SQLite: one address may ask for a few subscriptions an hour, only
//! so many may wait for confirmation at once (both answer 429 with `Retry-After`, in
//! English and Dutch), and subscriptions never confirmed expire.

mod common;

use common::{client, serve_router};
use continuo_core::Lang;
use continuo_core::subscribers::{Subscriber, SubscriberKind, SubscriberState};
use continuo_engine::alerts::{AlertOptions, Alerting, Deliver, Sending};
use continuo_engine::subscribers::{CONFIRM_LINK_LIFETIME_MS, MAX_PENDING_SUBSCRIBERS};
use continuo_engine::{Clock, Engine, EngineOptions};
use continuo_notify::Notice;
use continuo_store::Store;
use continuo_web::AppState;
use std::sync::Arc;
use std::time::Duration;

const CONFIG: &str = r#"
[organization]
name = "Acme Retail"
timezone = "Europe/Amsterdam"
languages = ["en", "nl"]

[[team]]
id = "ops"

[[service]]
id = "shop"
name = "Webshop"
tier = 2
owner = "ops"
rto = "1h"
status_page = { component = "Webshop" }
"#;

/// Nothing is delivered: subscribers' test deliveries never answer, so every
/// subscription stays pending.
struct Silent;

impl Deliver for Silent {
    fn deliver<'a>(&'a self, _channel: &'a str, _notice: &'a Notice) -> Sending<'a> {
        Box::pin(std::future::pending())
    }

    fn deliver_webhook<'a>(
        &'a self,
        _url: &'a str,
        _body: &'a serde_json::Value,
        _key: &'a str,
        _allow_internal: bool,
    ) -> Sending<'a> {
        Box::pin(std::future::pending())
    }
}

struct Server {
    base: String,
    client: reqwest::Client,
    store: Store,
    _engine: Engine,
    _alerting: Alerting,
    _dir: tempfile::TempDir,
}

async fn serve() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open_with(&url, Duration::from_secs(86_400 * 365))
        .await
        .expect("store");
    let catalog = Arc::new(continuo_core::load_text(CONFIG).expect("valid config"));
    let engine = Engine::start(catalog.clone(), EngineOptions::new("here", "."), None);
    let alerting = Alerting::start(
        catalog,
        AlertOptions {
            clock: Clock::system(),
            store: Arc::new(store.clone()),
            deliver: Arc::new(Silent),
            public_url: "http://127.0.0.1:1".into(),
            secret: b"k".to_vec(),
            max_in_flight: 4,
            incidents: Default::default(),
        },
        engine.handle().health_watch(),
    )
    .await
    .expect("alerting");
    let state = AppState {
        engine: engine.handle(),
        store: Some(store.clone()),
        reloader: None,
        admin_token: Some("admin".into()),
        alerts: Some(alerting.handle()),
        gateways: None,
    };
    let base = serve_router(continuo_web::router(state)).await;
    Server {
        base,
        client: client(),
        store,
        _engine: engine,
        _alerting: alerting,
        _dir: dir,
    }
}

impl Server {
    /// Subscribes webhook `n` in `language`: the status, `Retry-After` and body.
    async fn subscribe(&self, n: usize, language: &str) -> (u16, Option<u64>, String) {
        let response = self
            .client
            .post(format!("{}/status/subscribe", self.base))
            .json(&serde_json::json!({
                "url": format!("https://hooks{n}.example.com/status"),
                "language": language,
            }))
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        (status, retry_after, response.text().await.expect("body"))
    }

    /// Writes `count` pending webhook subscribers asked for at `at_ms`, as if from
    /// many addresses.
    async fn pending(&self, count: u64, at_ms: i64) {
        for n in 0..count {
            let s = Subscriber {
                id: format!("p{n:05}"),
                kind: SubscriberKind::Webhook,
                address: format!("https://filler{n}.example.com/"),
                components: Vec::new(),
                language: Lang::En,
                state: SubscriberState::Pending,
                created_ms: at_ms,
                confirmed_ms: None,
            };
            self.store.put_subscriber(&s, None, &[]).await.expect("put");
        }
    }
}

fn now_ms() -> i64 {
    Clock::system().now_ms()
}

#[tokio::test]
async fn one_address_gets_a_few_subscriptions_an_hour_then_429() {
    let server = serve().await;
    for n in 0..10 {
        let (status, _, body) = server.subscribe(n, "en").await;
        assert_eq!(status, 202, "request {n}: {body}");
    }
    let (status, retry_after, body) = server.subscribe(10, "en").await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("too many subscription requests from your address"),
        "{body}"
    );
    let retry_after = retry_after.expect("Retry-After");
    assert!(
        (1..=3_600).contains(&retry_after),
        "within the hour: {retry_after}"
    );
    let (status, retry_after, body) = server.subscribe(11, "nl").await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("te veel aanmeldingen vanaf jouw adres"),
        "{body}"
    );
    assert!(retry_after.is_some());
    // Nothing was written for the refused ones.
    let pending = server.store.pending_subscribers().await.expect("count");
    assert_eq!(pending.0, 10);
}

#[tokio::test]
async fn too_many_waiting_for_confirmation_answers_429_until_they_expire() {
    let server = serve().await;
    server.pending(MAX_PENDING_SUBSCRIBERS, now_ms()).await;
    let (status, retry_after, body) = server.subscribe(0, "en").await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("too many subscriptions are waiting for confirmation"),
        "{body}"
    );
    let retry_after = retry_after.expect("Retry-After");
    let lifetime_s = u64::try_from(CONFIRM_LINK_LIFETIME_MS / 1_000).expect("positive");
    assert!(
        retry_after > lifetime_s - 3_600 && retry_after <= lifetime_s,
        "when the oldest expires: {retry_after}"
    );
    let (status, _, body) = server.subscribe(1, "nl").await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("te veel abonnementen wachten op bevestiging"),
        "{body}"
    );
    assert_eq!(
        server.store.pending_subscribers().await.expect("count").0,
        MAX_PENDING_SUBSCRIBERS
    );
}

#[tokio::test]
async fn unconfirmed_subscriptions_expire_at_the_next_request() {
    let server = serve().await;
    let long_ago = now_ms() - CONFIRM_LINK_LIFETIME_MS - 60_000;
    server.pending(MAX_PENDING_SUBSCRIBERS, long_ago).await;
    let (status, _, body) = server.subscribe(0, "en").await;
    assert_eq!(status, 202, "the expired ones make room: {body}");
    let (pending, oldest) = server.store.pending_subscribers().await.expect("count");
    assert_eq!(pending, 1, "only the new one waits");
    assert!(oldest.is_some_and(|t| t > long_ago));
    assert_eq!(
        server.store.subscriber("p00000").await.expect("read"),
        None,
        "an expired subscription is gone"
    );
}
