//! HTTPS and the `tls` kind, with certificates made for each test by a test CA.

use crate::servers::{HttpServer, closed_port};
use crate::support::{TIMEOUT, TestCa, assert_measured, run, run_in, temp_dir};
use continuo_core::state::Verdict;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

const DAY: Duration = Duration::from_secs(86_400);

/// A CA, an HTTPS server with a certificate of that CA valid for 90 days, and a
/// directory holding the CA as `ca.pem`.
async fn https_setup() -> (TestCa, HttpServer, tempfile::TempDir) {
    let ca = TestCa::new("Continuo Test CA");
    let server = HttpServer::start_tls(ca.server_cert(90 * DAY).server_config(&[])).await;
    let dir = temp_dir();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA file");
    (ca, server, dir)
}

/// Time left is shown in whole hours, rounded down: a certificate made for two days is
/// "2d" within the second it was made and "1d23h" after.
#[track_caller]
fn assert_expires_in_two_days(message: &str) {
    assert!(
        message.contains("certificate expires in 2d,")
            || message.contains("certificate expires in 1d23h,"),
        "{message:?}"
    );
}

fn http_check(url: &str, extra: &str) -> String {
    format!("kind = \"http\"\nurl = \"{url}\"\n{extra}")
}

#[tokio::test]
async fn https_with_a_custom_ca_file_is_trusted() {
    let (_ca, server, dir) = https_setup().await;
    // A relative ca_file is found next to the configuration.
    let fields = http_check(&server.https_url("/ok"), "ca_file = \"ca.pem\"");
    let m = run_in(dir.path(), &fields, TIMEOUT).await;
    assert_measured(&m, Verdict::Success, &["status 200"]);
    let t = m.timings;
    assert!(t.connect_us.is_some(), "{t:?}");
    assert!(t.tls_us.is_some(), "https has a handshake: {t:?}");
    assert!(t.first_byte_us.is_some(), "{t:?}");
    assert!(t.total_us >= t.tls_us.unwrap_or_default(), "{t:?}");
}

#[tokio::test]
async fn https_with_an_unknown_ca_is_down_and_says_why() {
    let (_ca, server, _dir) = https_setup().await;
    let m = run(&http_check(&server.https_url("/ok"), ""), TIMEOUT).await;
    assert_measured(
        &m,
        Verdict::Failure,
        &[
            "TLS handshake failed",
            "invalid peer certificate",
            "UnknownIssuer",
        ],
    );
    assert!(m.timings.connect_us.is_some(), "{:?}", m.timings);

    // Another CA's file does not help either.
    let other = temp_dir();
    let stranger = TestCa::new("Some Other CA");
    std::fs::write(other.path().join("ca.pem"), stranger.pem()).expect("write CA file");
    let fields = http_check(&server.https_url("/ok"), "ca_file = \"ca.pem\"");
    let m = run_in(other.path(), &fields, TIMEOUT).await;
    assert_measured(&m, Verdict::Failure, &["UnknownIssuer"]);
}

#[tokio::test]
async fn https_insecure_skip_verify_accepts_any_certificate() {
    let (_ca, server, _dir) = https_setup().await;
    let fields = http_check(&server.https_url("/ok"), "tls_insecure_skip_verify = true");
    let m = run(&fields, TIMEOUT).await;
    assert_measured(&m, Verdict::Success, &["status 200"]);
    assert!(m.timings.tls_us.is_some(), "{:?}", m.timings);
}

#[tokio::test]
async fn https_expired_certificate_is_down() {
    let ca = TestCa::new("Continuo Test CA");
    let server = HttpServer::start_tls(ca.expired_cert().server_config(&[])).await;
    let dir = temp_dir();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA file");
    let fields = http_check(&server.https_url("/ok"), "ca_file = \"ca.pem\"");
    let m = run_in(dir.path(), &fields, TIMEOUT).await;
    assert_measured(
        &m,
        Verdict::Failure,
        &["invalid peer certificate", "certificate expired"],
    );

    // Even when verification is skipped, cert_valid_for still sees the expiry.
    let fields = http_check(
        &server.https_url("/ok"),
        "tls_insecure_skip_verify = true\nexpect = { cert_valid_for = \"14d\" }",
    );
    let m = run(&fields, TIMEOUT).await;
    assert_measured(&m, Verdict::Failure, &["certificate has expired"]);
}

#[tokio::test]
async fn https_certificate_expiring_sooner_than_cert_valid_for_is_degraded() {
    let ca = TestCa::new("Continuo Test CA");
    let server = HttpServer::start_tls(ca.server_cert(2 * DAY).server_config(&[])).await;
    let dir = temp_dir();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA file");
    // The model documents it: "A certificate that expires sooner than this is degraded."
    let fields = http_check(
        &server.https_url("/ok"),
        "ca_file = \"ca.pem\"\nexpect = { cert_valid_for = \"14d\" }",
    );
    let m = run_in(dir.path(), &fields, TIMEOUT).await;
    assert_measured(
        &m,
        Verdict::Degraded,
        &["status 200", "less than the required 14d"],
    );
    assert_expires_in_two_days(&m.message);
    // A shorter requirement is met.
    let fields = http_check(
        &server.https_url("/ok"),
        "ca_file = \"ca.pem\"\nexpect = { cert_valid_for = \"1d\" }",
    );
    let m = run_in(dir.path(), &fields, TIMEOUT).await;
    assert_measured(&m, Verdict::Success, &["status 200"]);
}

/// A raw TLS service (think IMAPS): handshake, a banner, close.
struct TlsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsServer {
    async fn start(config: Arc<rustls::ServerConfig>) -> TlsServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let acceptor = TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(stream).await {
                        let _ = tls.write_all(b"* OK ready\r\n").await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        TlsServer { addr, task }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tls_check(addr: SocketAddr, extra: &str) -> String {
    format!("kind = \"tls\"\ntarget = \"{addr}\"\n{extra}")
}

#[tokio::test]
async fn tls_kind_checks_the_chain_and_the_expiry() {
    let ca = TestCa::new("Continuo Test CA");
    let dir = temp_dir();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA file");
    let long = TlsServer::start(ca.server_cert(90 * DAY).server_config(&[])).await;
    let short = TlsServer::start(ca.server_cert(2 * DAY).server_config(&[])).await;
    let expired = TlsServer::start(ca.expired_cert().server_config(&[])).await;
    let with_ca = "ca_file = \"ca.pem\"\ncert_valid_for = \"14d\"";

    let m = run_in(dir.path(), &tls_check(long.addr, with_ca), TIMEOUT).await;
    assert_measured(&m, Verdict::Success, &["certificate valid for "]);
    assert!(
        m.message.ends_with(" 90d") || m.message.ends_with(" 89d23h"),
        "{m:?}"
    );
    assert!(m.timings.tls_us.is_some(), "{:?}", m.timings);
    assert!(m.timings.connect_us.is_some(), "{:?}", m.timings);

    let m = run_in(dir.path(), &tls_check(short.addr, with_ca), TIMEOUT).await;
    assert_measured(&m, Verdict::Degraded, &["less than the required 14d"]);
    assert_expires_in_two_days(&m.message);

    let m = run_in(dir.path(), &tls_check(expired.addr, with_ca), TIMEOUT).await;
    assert_measured(
        &m,
        Verdict::Failure,
        &["invalid peer certificate", "certificate expired"],
    );

    // Without the CA, the chain is not trusted.
    let m = run(&tls_check(long.addr, ""), TIMEOUT).await;
    assert_measured(&m, Verdict::Failure, &["UnknownIssuer"]);

    // The certificate must be for the name asked.
    let m = run_in(
        dir.path(),
        &tls_check(
            long.addr,
            "ca_file = \"ca.pem\"\nserver_name = \"mail.example.org\"",
        ),
        TIMEOUT,
    )
    .await;
    assert_measured(
        &m,
        Verdict::Failure,
        &["certificate not valid for name \"mail.example.org\""],
    );
}

#[tokio::test]
async fn tls_kind_refused_is_down() {
    let addr = closed_port().await;
    let m = run(&tls_check(addr, ""), TIMEOUT).await;
    assert_measured(
        &m,
        Verdict::Failure,
        &[&format!("cannot connect to {addr}"), "refused"],
    );
}

/// Regression: the `tls` kind offered the ALPN protocol "http/1.1" on every port, and a
/// server that speaks something else (an h2-only gRPC server, a custom protocol) rejects
/// the handshake. A raw TLS check must not claim any application protocol.
#[tokio::test]
async fn tls_kind_works_with_servers_of_other_application_protocols() {
    let ca = TestCa::new("Continuo Test CA");
    let dir = temp_dir();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA file");
    let server = TlsServer::start(ca.server_cert(90 * DAY).server_config(&[b"h2"])).await;
    let m = run_in(
        dir.path(),
        &tls_check(server.addr, "ca_file = \"ca.pem\""),
        TIMEOUT,
    )
    .await;
    assert_measured(&m, Verdict::Success, &["certificate valid for"]);
}
