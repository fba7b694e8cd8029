//! The main listener is bounded (issue 16, failures 3 and 5): a client that opens a
//! connection and sends nothing (or half a request head) is closed after the header
//! timeout; connections beyond the per-address cap are closed at once while another
//! address is still served; `/status/events` streams are capped per address and in
//! total, answering 429 or 503 with `Retry-After`, while the page itself still answers.

use continuo_core::load_text;
use continuo_engine::{Engine, EngineOptions};
use continuo_web::{Admission, AppState, Limits, ListenLimits, StreamCaps};
use reqwest::StatusCode;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// A safety net against a hung test, far above the 10 s header timeout.
const DEADLINE: Duration = Duration::from_secs(30);

const CONFIG: &str = "[[team]]\nid = \"ops\"\n\
     [[service]]\nid = \"shop\"\ntier = 2\nowner = \"ops\"\nrto = \"1h\"\n";

fn engine() -> Engine {
    let catalog = Arc::new(load_text(CONFIG).expect("valid config"));
    Engine::start(catalog, EngineOptions::new("here", "."), None)
}

fn state(engine: &Engine) -> AppState {
    AppState {
        engine: engine.handle(),
        store: None,
        reloader: None,
        admin_token: None,
        alerts: None,
        gateways: None,
    }
}

/// Serves `router` on 127.0.0.1 within `admission` (the default bounds when `None`).
async fn serve(router: axum::Router, admission: Option<Arc<Admission>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = std::future::pending::<()>();
    tokio::spawn(async move {
        match admission {
            Some(a) => continuo_web::serve_router_with(listener, router, a, shutdown).await,
            None => continuo_web::serve_router(listener, router, shutdown).await,
        }
    });
    addr
}

/// A connection to `to` from another loopback address.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("address"))
        .expect("bind");
    socket.connect(to).await.expect("connect")
}

/// Everything the server sends until it closes (or resets) the connection.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    got
}

fn client_from(ip: &str) -> reqwest::Client {
    continuo_notify::install_crypto_provider();
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("address"))
        .timeout(DEADLINE)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_closed_after_the_header_timeout() {
    let engine = engine();
    // The default bounds, as `serve` has them.
    let addr = serve(continuo_web::router(state(&engine)), None).await;
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    // Half a request head, never finished.
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let (silent, slow) = tokio::join!(until_closed(&mut silent), until_closed(&mut slow));
    assert!(silent.is_empty(), "{}", String::from_utf8_lossy(&silent));
    // hyper may answer a timed-out head with 408 before closing; never with a page.
    let slow = String::from_utf8_lossy(&slow);
    assert!(
        slow.is_empty() || slow.starts_with("HTTP/1.1 408"),
        "{slow}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_per_address_cap_are_refused_while_another_address_is_served() {
    let engine = engine();
    let admission = Admission::new(ListenLimits {
        max_connections: 64,
        per_address: 3,
        header_timeout: DEADLINE,
        idle_timeout: DEADLINE,
    });
    let addr = serve(
        continuo_web::router(state(&engine)),
        Some(admission.clone()),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", addr).await);
    }
    // The fourth from 127.0.0.1 is closed unanswered, though it asks properly.
    let mut fourth = connect_from("127.0.0.1", addr).await;
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(&mut fourth).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(admission.refused() >= 1);
    // 127.0.0.2 is served meanwhile.
    let r = client_from("127.0.0.2")
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz from 127.0.0.2");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.expect("body"), "ok\n");
    drop(held);
    engine.shutdown().await;
}

#[tokio::test]
async fn event_streams_are_capped_per_address_and_in_total() {
    let engine = engine();
    let limits = Limits {
        event_streams: StreamCaps {
            total: 3,
            per_address: 2,
        },
        ..Limits::default()
    };
    let addr = serve(continuo_web::router_with(state(&engine), limits), None).await;
    let events = format!("http://{addr}/status/events");
    let (one, two, three) = (
        client_from("127.0.0.1"),
        client_from("127.0.0.2"),
        client_from("127.0.0.3"),
    );
    let mut open = Vec::new();
    for _ in 0..2 {
        let r = one.get(&events).send().await.expect("stream");
        assert_eq!(r.status(), StatusCode::OK);
        open.push(r);
    }
    // A third from the same address: 429, come back later.
    let r = one.get(&events).send().await.expect("stream");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    // Another address gets the last place in total ...
    let r = two.get(&events).send().await.expect("stream");
    assert_eq!(r.status(), StatusCode::OK);
    open.push(r);
    // ... and then nobody gets one: 503.
    let r = three.get(&events).send().await.expect("stream");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    // The page and health still answer (the page's script then reloads it now and then).
    let page = three
        .get(format!("http://{addr}/status"))
        .send()
        .await
        .expect("status page");
    assert_eq!(page.status(), StatusCode::OK);
    let healthz = three
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(healthz.status(), StatusCode::OK);
    drop(open);
    engine.shutdown().await;
}
