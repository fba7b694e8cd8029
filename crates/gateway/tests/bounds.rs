//! The gateway's listeners are bounded (issue 16, failure 3): a connection that sends
//! no request is closed after the header timeout, and connections beyond the
//! per-address cap are closed at once while another address is still served, in HTTP
//! and in TCP mode.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, tcp_echo};
use continuo_core::catalog::Role;
use continuo_core::catalog::gateway::GatewayMode;
use continuo_gateway::{Admission, Gateway, GatewayMetrics, GatewaySpec, ListenLimits};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A safety net against a hung test, far above the header timeout; not a speed claim.
const DEADLINE: Duration = Duration::from_secs(20);

fn limits(per_address: usize) -> ListenLimits {
    ListenLimits {
        max_connections: 64,
        per_address,
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(30),
    }
}

async fn start(
    mode: GatewayMode,
    endpoint: continuo_gateway::EndpointSpec,
    per_address: usize,
) -> Gateway {
    let mut spec = GatewaySpec::new("gw", "127.0.0.1:0".parse().unwrap(), mode, vec![endpoint]);
    spec.check_interval = Duration::from_secs(3_600);
    spec.check_path = "/health".into();
    Gateway::start_with(
        spec,
        Arc::new(GatewayMetrics::new()),
        None,
        Admission::new(limits(per_address)),
    )
    .await
    .unwrap()
}

/// A connection to `to` from the address `from` (another loopback address).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Everything the peer sends until it closes (or resets) the connection.
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
    assert!(read.is_ok(), "the gateway kept the connection open");
    got
}

async fn http_get(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /item HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    String::from_utf8_lossy(&until_closed(stream).await).into_owned()
}

#[tokio::test]
async fn http_mode_closes_silent_connections_and_caps_each_address() {
    let backend = Backend::start("primary").await;
    let gateway = start(GatewayMode::Http, backend.endpoint(Role::Primary), 2).await;
    let addr = gateway.local_addr();
    // Two silent connections from 127.0.0.1 fill its share.
    let mut silent = connect_from("127.0.0.1", addr).await;
    let _second = connect_from("127.0.0.1", addr).await;
    // A third from the same address is closed without an answer, request or not.
    let mut third = connect_from("127.0.0.1", addr).await;
    let answer = http_get(&mut third).await;
    assert!(answer.is_empty(), "over the cap, yet answered: {answer}");
    // Another address is served meanwhile.
    let mut other = connect_from("127.0.0.2", addr).await;
    let answer = http_get(&mut other).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The silent connection is closed by the header timeout, having got nothing.
    assert!(until_closed(&mut silent).await.is_empty());
    gateway.stop().await;
}

#[tokio::test]
async fn tcp_mode_caps_each_address() {
    let (echo, _task) = tcp_echo("echo").await;
    let endpoint = continuo_gateway::EndpointSpec {
        name: "echo".into(),
        address: echo.to_string(),
        role: Role::Primary,
        tls: false,
    };
    let gateway = start(GatewayMode::Tcp, endpoint, 1).await;
    let addr = gateway.local_addr();
    let mut first = connect_from("127.0.0.1", addr).await;
    first.write_all(b"one").await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(DEADLINE, first.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"echo:one");
    // The second from 127.0.0.1 is closed at once; 127.0.0.2 is spliced.
    let mut second = connect_from("127.0.0.1", addr).await;
    let _ = second.write_all(b"two").await;
    assert!(until_closed(&mut second).await.is_empty());
    let mut other = connect_from("127.0.0.2", addr).await;
    other.write_all(b"three").await.unwrap();
    let n = tokio::time::timeout(DEADLINE, other.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"echo:three");
    gateway.stop().await;
}
