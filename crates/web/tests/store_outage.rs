//! The store becomes unavailable while checks run: probing goes on, no check goes down
//! because of it, and `/readyz` and `/metrics` say the store is behind.

use continuo_core::load_text;
use continuo_engine::{Engine, EngineOptions};
use continuo_store::Store;
use continuo_store::writer::{Writer, WriterConfig};
use continuo_web::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_store_causes_no_false_down() {
    // A real TCP target that accepts and greets.
    let target = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let target_port = target.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = target.accept().await {
            let _ = stream.write_all(b"220 ready\r\n").await;
        }
    });
    let config = format!(
        "[[team]]\nid = \"ops\"\n[[service]]\nid = \"db\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\n\
         [[service.check]]\nid = \"db-tcp\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{target_port}\"\n\
         expect_reply = \"220\"\ninterval = \"200ms\"\ntimeout = \"150ms\"\nfail_threshold = 1\n"
    );
    let catalog = Arc::new(load_text(&config).expect("valid config"));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let store = Store::open(&url).await.expect("store");
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig {
            batch_size: 100,
            flush_interval: Duration::from_millis(50),
            buffer_capacity: 10_000,
        },
    );
    let engine = Engine::start(catalog, EngineOptions::new("here", "."), Some(writer));
    let handle = engine.handle();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let state = AppState {
        engine: handle.clone(),
        store: Some(store.clone()),
        reloader: None,
        // The admin token needs no store: private reads work through an outage.
        admin_token: Some("admin-s3cret".into()),
        alerts: None,
        gateways: None,
    };
    tokio::spawn(async move {
        axum::serve(
            listener,
            continuo_web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    // reqwest's rustls (turned on by the notify crate) needs a crypto provider.
    continuo_notify::install_crypto_provider();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");

    wait_for("db-tcp up", async || {
        handle.check("db-tcp").map(|c| c.status.name()) == Some("up")
    })
    .await;
    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    // The database goes away.
    store.close().await;
    let probes_before = handle.metrics().probes_total();
    wait_for("the writer to notice", async || {
        handle.writer().is_some_and(|w| !w.status().healthy())
    })
    .await;
    // Many more probe runs (fail threshold 1: any failure would show at once).
    wait_for("20 more probes", async || {
        handle.metrics().probes_total() >= probes_before + 20
    })
    .await;
    let check = handle.check("db-tcp").expect("check");
    assert_eq!(check.status.name(), "up", "{check:?}");
    assert!(
        check.last.expect("observation").measurement.verdict
            == continuo_core::state::Verdict::Success
    );
    let pending = handle.writer().expect("writer").status().pending();
    assert!(pending > 0, "records wait in the buffer");

    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["store"]["healthy"], false, "{body}");
    assert!(body["store"]["last_error"].is_string(), "{body}");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("continuo_store_healthy 0"), "{metrics}");
    assert!(
        metrics.contains("continuo_checks{status=\"down\"} 0"),
        "{metrics}"
    );
    // The service's health does not suffer either.
    let services: serde_json::Value = client
        .get(format!("{base}/api/v1/services"))
        .bearer_auth("admin-s3cret")
        .send()
        .await
        .expect("services")
        .json()
        .await
        .expect("json");
    assert_eq!(
        services["services"][0]["health"], "operational",
        "{services}"
    );
}
