//! Start-up code shared by the web tests that run the router with alerting on
//! 127.0.0.1 (`status.rs`, `inbound.rs`, `incidents.rs`, `language.rs`, `dashboard.rs`,
//! `auth.rs`): an engine with alerting whose notifications go nowhere, the router served
//! with the peer's address, and both at once for a catalog ([`serve_with_alerting`]).
//! Each test binary includes this module and uses only part of it.

#![allow(dead_code)]

use continuo_core::Catalog;
use continuo_engine::alerts::{AlertOptions, Alerting, Deliver};
use continuo_engine::incidents::IncidentOptions;
use continuo_engine::persist::MemoryPersist;
use continuo_engine::{Clock, Engine, EngineOptions};
use continuo_notify::{Delivered, Notice, SendError};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Delivers nothing: every notification is "dropped".
pub struct Nowhere;

impl Deliver for Nowhere {
    fn deliver<'a>(
        &'a self,
        _channel: &'a str,
        _notice: &'a Notice,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>> {
        Box::pin(async {
            Ok(Delivered {
                detail: "dropped".into(),
            })
        })
    }
}

/// The engine for `catalog` at location `here`, and alerting on its health that
/// delivers to [`Nowhere`] (system clock, in-memory state, at most 4 in flight).
pub async fn engine_with_alerting(
    catalog: Arc<Catalog>,
    incidents: IncidentOptions,
) -> (Engine, Alerting) {
    let engine = Engine::start(catalog.clone(), EngineOptions::new("here", "."), None);
    let alerting = Alerting::start(
        catalog,
        AlertOptions {
            clock: Clock::system(),
            store: Arc::new(MemoryPersist::default()),
            deliver: Arc::new(Nowhere),
            public_url: "http://127.0.0.1:1".into(),
            secret: b"k".to_vec(),
            max_in_flight: 4,
            incidents,
        },
        engine.handle().health_watch(),
    )
    .await
    .expect("alerting");
    (engine, alerting)
}

/// Serves `router` on a free port of 127.0.0.1, with the peer's address for each
/// request; returns `http://127.0.0.1:<port>`.
pub async fn serve_router(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    format!("http://127.0.0.1:{port}")
}

/// A client that gives up on an answer after 10 seconds.
pub fn client() -> reqwest::Client {
    continuo_notify::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client")
}

/// The whole router with alerting, served on 127.0.0.1 (see [`serve_with_alerting`]).
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A client for it.
    pub client: reqwest::Client,
    /// The engine, kept running while the test runs.
    pub engine: Engine,
    /// Alerting, kept running while the test runs.
    pub alerting: Alerting,
}

/// The router for the catalog `config` with alerting (notifications go nowhere), no
/// store, and `admin` as the admin token, served on a free port of 127.0.0.1.
pub async fn serve_with_alerting(config: &str, admin: &str) -> Served {
    let catalog = Arc::new(continuo_core::load_text(config).expect("valid config"));
    let (engine, alerting) = engine_with_alerting(catalog, IncidentOptions::default()).await;
    let state = continuo_web::AppState {
        engine: engine.handle(),
        store: None,
        reloader: None,
        admin_token: Some(admin.into()),
        alerts: Some(alerting.handle()),
        gateways: None,
    };
    let base = serve_router(continuo_web::router(state)).await;
    Served {
        base,
        client: client(),
        engine,
        alerting,
    }
}
