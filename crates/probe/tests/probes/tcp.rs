//! The `tcp` kind against real listeners on 127.0.0.1.

use crate::servers::closed_port;
use crate::support::{TIMEOUT, assert_measured, run};
use continuo_core::state::Verdict;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How a test service behaves on each connection.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Says nothing, holds the connection.
    Quiet,
    /// Sends the banner, then closes.
    BannerThenClose(&'static str),
    /// Sends the banner, then holds the connection open.
    BannerThenWait(&'static str),
    /// Echoes whatever it reads.
    Echo,
}

struct TcpServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TcpServer {
    async fn start(behaviour: Behaviour) -> TcpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    match behaviour {
                        Behaviour::Quiet => {
                            let mut sink = Vec::new();
                            let _ = stream.read_to_end(&mut sink).await;
                        }
                        Behaviour::BannerThenClose(banner) => {
                            let _ = stream.write_all(banner.as_bytes()).await;
                        }
                        Behaviour::BannerThenWait(banner) => {
                            let _ = stream.write_all(banner.as_bytes()).await;
                            let mut sink = Vec::new();
                            let _ = stream.read_to_end(&mut sink).await;
                        }
                        Behaviour::Echo => {
                            let mut buffer = [0u8; 1024];
                            while let Ok(n) = stream.read(&mut buffer).await {
                                if n == 0 || stream.write_all(&buffer[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        TcpServer { addr, task }
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tcp_check(addr: SocketAddr, extra: &str) -> String {
    format!("kind = \"tcp\"\ntarget = \"{addr}\"\n{extra}")
}

#[tokio::test]
async fn connecting_is_enough_without_an_exchange() {
    let server = TcpServer::start(Behaviour::Quiet).await;
    let m = run(&tcp_check(server.addr, ""), TIMEOUT).await;
    assert_measured(
        &m,
        Verdict::Success,
        &[&format!("connected to {}", server.addr)],
    );
    assert!(m.timings.connect_us.is_some(), "{:?}", m.timings);
    assert_eq!(m.timings.dns_us, None);
}

#[tokio::test]
async fn banner_and_echo_exchanges() {
    use Behaviour::{BannerThenClose, BannerThenWait, Echo};
    use Verdict::{Failure, Success};
    let cases: &[(Behaviour, &str, Verdict, &str)] = &[
        (
            BannerThenWait("220 mail.test ESMTP ready\r\n"),
            "expect_reply = \"220 \"",
            Success,
            "replied as expected",
        ),
        (
            Echo,
            "send = \"PING continuo\\r\\n\"\nexpect_reply = \"PING continuo\"",
            Success,
            "replied as expected",
        ),
        // A wrong reply is down, and says what came instead.
        (
            BannerThenClose("-ERR go away\r\n"),
            "expect_reply = \"+OK\"",
            Failure,
            r#"reply does not contain "+OK"; got "-ERR go away\r\n""#,
        ),
    ];
    for (behaviour, extra, verdict, part) in cases {
        let server = TcpServer::start(*behaviour).await;
        let m = run(&tcp_check(server.addr, extra), TIMEOUT).await;
        assert_measured(&m, *verdict, &[part]);
        assert!(
            m.timings.first_byte_us.is_some(),
            "{extra}: {:?}",
            m.timings
        );
    }
}

/// Regression: a service that answered something else and kept the connection open was
/// reported as a bare "timed out", without what it had said.
#[tokio::test]
async fn wrong_reply_on_an_open_connection_says_what_came() {
    // Long enough for a banner from this machine to arrive even when it is busy, short
    // enough for a test.
    const WAIT: Duration = Duration::from_secs(1);
    let server = TcpServer::start(Behaviour::BannerThenWait("-ERR busy\r\n")).await;
    let m = run(&tcp_check(server.addr, "expect_reply = \"+OK\""), WAIT).await;
    assert_measured(
        &m,
        Verdict::Failure,
        &[
            "timed out after 1s waiting for a reply containing \"+OK\"",
            r#"got "-ERR busy\r\n""#,
        ],
    );

    let echo = TcpServer::start(Behaviour::Echo).await;
    let m = run(
        &tcp_check(echo.addr, "send = \"PING\\n\"\nexpect_reply = \"PONG\""),
        WAIT,
    )
    .await;
    assert_measured(&m, Verdict::Failure, &["\"PONG\"", r#"got "PING\n""#]);

    let quiet = TcpServer::start(Behaviour::Quiet).await;
    let m = run(&tcp_check(quiet.addr, "expect_reply = \"+OK\""), WAIT).await;
    assert_measured(&m, Verdict::Failure, &["timed out after 1s", "got nothing"]);
}

#[tokio::test]
async fn refused_is_down() {
    let addr = closed_port().await;
    let m = run(&tcp_check(addr, ""), TIMEOUT).await;
    assert_measured(
        &m,
        Verdict::Failure,
        &[&format!("cannot connect to {addr}"), "refused"],
    );
}
