//! `https://` endpoints end to end on real sockets, with a throwaway CA: requests reach an
//! HTTPS primary, failover from it loses no idempotent request, an endpoint whose
//! certificate is not trusted is never served from and its checks say why, and
//! `tls_skip_verify` accepts any certificate; and a configuration's relative `ca_file`
//! reaches the running gateway.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestCa, client, wait_for, websocket_upgrade};
use continuo_core::catalog::Role;
use continuo_core::catalog::gateway::GatewayMode;
use continuo_gateway::{EventKind, Gateway, GatewayMetrics, GatewaySpec, Tier};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn spec(endpoints: Vec<continuo_gateway::EndpointSpec>) -> GatewaySpec {
    let mut spec = GatewaySpec::new(
        "gw",
        "127.0.0.1:0".parse().unwrap(),
        GatewayMode::Http,
        endpoints,
    );
    spec.check_interval = Duration::from_millis(100);
    spec.check_fast_interval = Duration::from_millis(20);
    spec.check_path = "/health".into();
    spec.failback_after = Duration::from_secs(3600);
    spec
}

async fn start(spec: GatewaySpec) -> (Gateway, String) {
    let gateway = Gateway::start(spec, Arc::new(GatewayMetrics::new()), None)
        .await
        .unwrap();
    let url = format!("http://{}", gateway.local_addr());
    (gateway, url)
}

/// The reasons of the gateway's `endpoint_down` events.
fn down_reasons(gateway: &Gateway) -> Vec<String> {
    gateway
        .handle()
        .status()
        .events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::EndpointDown { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_an_https_primary_with_the_configured_ca() {
    let ca = TestCa::new();
    let primary = Backend::start_https("primary", &ca).await;
    let backup = Backend::start("backup").await;
    let mut spec = spec(vec![
        primary.endpoint(Role::Primary),
        backup.endpoint(Role::Backup),
    ]);
    spec.tls.ca_certs = Some(ca.certs());
    let (gateway, url) = start(spec).await;
    let client = client();
    for n in 0..5 {
        let response = client.get(format!("{url}/item/{n}")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "primary");
    }
    assert_eq!(primary.count(), 5);
    assert_eq!(backup.count(), 0);
    // The endpoint sees the client's Host, as a plain endpoint does; TLS named the
    // endpoint's own host.
    let host = url.trim_start_matches("http://");
    assert_eq!(primary.served()[0].headers["host"], host);
    // The checks speak TLS too: the HTTPS primary answered them.
    wait_for("a check over TLS", || {
        primary
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.path == "/health")
    })
    .await;
    assert_eq!(*primary.failed_handshakes.lock().unwrap(), 0);
    assert_eq!(gateway.handle().status().endpoints[0].state, "up");
}

/// A DNS name is sent as SNI and matched against the certificate's DNS names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_endpoint_named_by_dns_is_verified_by_that_name() {
    let ca = TestCa::new();
    let primary = Backend::start_https("primary", &ca).await;
    let mut endpoint = primary.endpoint(Role::Primary);
    endpoint.address = format!("localhost:{}", primary.addr.port());
    let mut spec = spec(vec![endpoint]);
    spec.tls.ca_certs = Some(ca.certs());
    let (_gateway, url) = start(spec).await;
    let response = client().get(format!("{url}/x")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(primary.count(), 1);
}

/// Like `no_idempotent_request_fails_when_the_primary_is_killed`, with an HTTPS primary
/// and a plain HTTP backup in one gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_idempotent_request_fails_when_an_https_primary_is_killed() {
    let ca = TestCa::new();
    let mut primary = Backend::start_https("primary", &ca).await;
    let backup = Backend::start("backup").await;
    let mut spec = spec(vec![
        primary.endpoint(Role::Primary),
        backup.endpoint(Role::Backup),
    ]);
    spec.tls.ca_certs = Some(ca.certs());
    let (gateway, url) = start(spec).await;
    let client = client();
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for worker in 0..6 {
        let (client, url, stop, failed) =
            (client.clone(), url.clone(), stop.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let request = if n % 2 == 0 {
                    client.get(format!("{url}/item/{worker}/{n}"))
                } else {
                    client
                        .put(format!("{url}/item/{worker}/{n}"))
                        .body("payload")
                };
                match request.send().await {
                    Ok(r) if r.status().is_success() => {}
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    wait_for("the primary to serve", || primary.count() >= 200).await;
    assert_eq!(
        backup.count(),
        0,
        "the backup served while the primary was up"
    );
    primary.kill().await;
    wait_for("the backup to serve", || backup.count() >= 300).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "client requests failed");
    let status = gateway.handle().status();
    assert_eq!(status.serving, Tier::Backup);
    assert_eq!(status.endpoints[0].state, "down");
}

/// An HTTPS endpoint whose certificate the gateway does not trust (its CA is not among
/// the system's roots and no ca_file is set) gets no request: the handshake fails before
/// anything is sent, the request goes to the backup, and the checks name the problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_endpoint_is_never_served_from_and_its_checks_say_why() {
    let ca = TestCa::new();
    let primary = Backend::start_https("primary", &ca).await;
    let backup = Backend::start("backup").await;
    let (gateway, url) = start(spec(vec![
        primary.endpoint(Role::Primary),
        backup.endpoint(Role::Backup),
    ]))
    .await;
    let client = client();
    for n in 0..10 {
        let response = client.get(format!("{url}/item/{n}")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "backup");
    }
    wait_for("the primary to be ejected", || {
        !down_reasons(&gateway).is_empty()
    })
    .await;
    assert!(
        primary.seen.lock().unwrap().is_empty(),
        "the untrusted endpoint was served from"
    );
    assert!(*primary.failed_handshakes.lock().unwrap() > 0);
    let reasons = down_reasons(&gateway);
    assert!(
        reasons[0].contains("the certificate of 127.0.0.1 is not trusted"),
        "{reasons:?}"
    );
    wait_for("a failed check", || {
        gateway.handle().status().endpoints[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e == "check: the certificate of 127.0.0.1 is not trusted: no authority Continuo trusts signed it (give its CA with ca_file)")
    })
    .await;
    assert_eq!(gateway.handle().status().endpoints[0].state, "down");
}

/// `tls_skip_verify`: a certificate from an unknown CA is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_skip_verify_accepts_any_certificate() {
    let ca = TestCa::new();
    let primary = Backend::start_https("primary", &ca).await;
    let mut spec = spec(vec![primary.endpoint(Role::Primary)]);
    spec.tls.skip_verify = true;
    let (gateway, url) = start(spec).await;
    let response = client().get(format!("{url}/x")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "primary");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gateway.handle().status().endpoints[0].state, "up");
    assert_eq!(*primary.failed_handshakes.lock().unwrap(), 0);
}

/// A WebSocket upgrade to an HTTPS endpoint gets its own TLS connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_pass_through_to_an_https_endpoint() {
    let ca = TestCa::new();
    let primary = Backend::start_https("primary", &ca).await;
    let mut spec = spec(vec![primary.endpoint(Role::Primary)]);
    spec.tls.ca_certs = Some(ca.certs());
    let (gateway, _) = start(spec).await;
    let (mut stream, head) = websocket_upgrade(gateway.local_addr()).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    stream.write_all(b"frame one").await.unwrap();
    let mut echo = [0u8; 9];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"frame one");
}

/// The configuration as written: an `https://` endpoint and a `ca_file` relative to the
/// file that declares the gateway, loaded from disk, made into a spec and served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_ca_file_in_the_configuration_is_trusted() {
    struct Disk;
    impl continuo_core::SourceProvider for Disk {
        fn read(&self, path: &std::path::Path) -> Result<String, String> {
            std::fs::read_to_string(path).map_err(|e| e.to_string())
        }
        fn glob(&self, _: &std::path::Path) -> Result<Vec<std::path::PathBuf>, String> {
            Ok(Vec::new())
        }
        fn exists(&self, path: &std::path::Path) -> bool {
            path.is_file()
        }
    }
    let ca = TestCa::new();
    let primary = Backend::start_https("primary", &ca).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/ca.pem"), &ca.pem).unwrap();
    let config = format!(
        "[[team]]\nid = \"ops\"\n\n[[service]]\nid = \"shop\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n\
         [[service.endpoint]]\nname = \"primary\"\nurl = \"https://127.0.0.1:{}/\"\nrole = \"primary\"\n\n\
         [[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:0\"\nservice = \"shop\"\nca_file = \"certs/ca.pem\"\n",
        primary.addr.port()
    );
    std::fs::write(dir.path().join("continuo.toml"), config).unwrap();
    let outcome = continuo_core::load(&dir.path().join("continuo.toml"), &Disk, &|_| None);
    assert!(!outcome.diagnostics.has_errors());
    let catalog = outcome.catalog.unwrap();
    let spec = GatewaySpec::from_catalog(&catalog, &catalog.gateways[0]).unwrap();
    assert!(spec.endpoints[0].tls);
    assert_eq!(spec.tls.ca_certs, Some(ca.certs()));
    let (_gateway, url) = start(spec).await;
    let response = client().get(format!("{url}/x")).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "primary");

    // A bundle that changed into garbage after validation stops the gateway from
    // starting, with the reason.
    std::fs::write(dir.path().join("certs/ca.pem"), "not a certificate").unwrap();
    let error = GatewaySpec::from_catalog(&catalog, &catalog.gateways[0]).unwrap_err();
    assert!(error.en.contains("holds no certificate"), "{}", error.en);
}
