//! The gateway end to end on real sockets: failover under load without a failed
//! request, what is never retried, the strict backup tier, failback, drains, TCP mode,
//! WebSocket passthrough, forwarding headers, HTTP/2, metrics, events and actions.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, client, event_names, tcp_echo, two_backends, wait_for, websocket_upgrade};
use continuo_core::HumanDuration;
use continuo_core::catalog::Role;
use continuo_core::catalog::gateway::{
    ActionKind, ActionTrigger, Failback, FailoverAction, GatewayMode,
};
use continuo_gateway::{EventKind, FailoverReason, Gateway, GatewayMetrics, GatewaySpec, Tier};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn spec(mode: GatewayMode, endpoints: Vec<continuo_gateway::EndpointSpec>) -> GatewaySpec {
    let mut spec = GatewaySpec::new("gw", "127.0.0.1:0".parse().unwrap(), mode, endpoints);
    spec.check_interval = Duration::from_millis(100);
    spec.check_fast_interval = Duration::from_millis(20);
    spec.check_path = "/health".into();
    // Long enough that no failback happens unless a test asks for one.
    spec.failback_after = Duration::from_secs(3600);
    spec
}

async fn start(spec: GatewaySpec) -> (Gateway, Arc<GatewayMetrics>, String) {
    let metrics = Arc::new(GatewayMetrics::new());
    let gateway = Gateway::start(spec, metrics.clone(), None).await.unwrap();
    let url = format!("http://{}", gateway.local_addr());
    (gateway, metrics, url)
}

fn kinds(gateway: &Gateway) -> Vec<String> {
    event_names(&gateway.handle().status().events)
}

/// The done-when test: steady idempotent load, the primary is killed, and no
/// client request fails; the failover's duration and cost show in events and metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_idempotent_request_fails_when_the_primary_is_killed() {
    let (mut primary, backup, endpoints) = two_backends().await;
    let (gateway, metrics, url) = start(spec(GatewayMode::Http, endpoints)).await;
    let client = client();
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for worker in 0..8 {
        let (client, url, stop, failed, done) = (
            client.clone(),
            url.clone(),
            stop.clone(),
            failed.clone(),
            done.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // GET, and PUT with a small body: both idempotent.
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
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    wait_for("the primary to serve", || primary.count() >= 300).await;
    assert_eq!(
        backup.count(),
        0,
        "the backup served while the primary was up"
    );
    primary.kill().await;
    wait_for("the backup to serve", || backup.count() >= 500).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "client requests failed");
    assert!(done.load(Ordering::Relaxed) >= 800);

    wait_for("the failover to finish", || {
        kinds(&gateway).contains(&"failover_finished".to_string())
    })
    .await;
    let status = gateway.handle().status();
    assert_eq!(status.serving, Tier::Backup);
    assert_eq!(status.endpoints[0].state, "down");
    let finished = status
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::FailoverFinished {
                reason,
                first_failure_ms,
                marked_down_ms,
                first_backup_success_ms,
                duration_ms,
                failed_requests,
                ..
            } => Some((
                *reason,
                *first_failure_ms,
                *marked_down_ms,
                *first_backup_success_ms,
                *duration_ms,
                *failed_requests,
            )),
            _ => None,
        })
        .unwrap();
    let (reason, first, down, success, duration, lost) = finished;
    assert_eq!(reason, FailoverReason::Failure);
    assert!(first <= down && first <= success);
    assert_eq!(duration, success - first);
    assert_eq!(lost, 0);
    let names = kinds(&gateway);
    let order: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| ["endpoint_down", "failover_started", "failover_finished"].contains(n))
        .collect();
    assert_eq!(
        order,
        ["endpoint_down", "failover_started", "failover_finished"]
    );

    let text = metrics.text();
    for line in [
        "continuo_gateway_failovers_total{gateway=\"gw\"} 1",
        "continuo_gateway_failover_duration_seconds_count{gateway=\"gw\"} 1",
        "continuo_gateway_last_failover_requests_failed{gateway=\"gw\"} 0",
        "continuo_gateway_failover_requests_failed_total{gateway=\"gw\"} 0",
        "continuo_gateway_serving_backup{gateway=\"gw\"} 1",
        "continuo_gateway_endpoint_up{gateway=\"gw\",endpoint=\"primary\",role=\"primary\"} 0",
        "continuo_gateway_requests_failed_total{gateway=\"gw\"} 0",
        "# TYPE continuo_gateway_failovers_total counter",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    assert!(!text.contains("# EOF"));
}

/// A POST without an idempotency key that reached the primary is not sent again: the
/// backup never sees it and the client gets an error. A POST that never left (the
/// primary refuses connections) goes to the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_was_sent_is_not_retried() {
    let (mut primary, backup, endpoints) = two_backends().await;
    let (gateway, metrics, url) = start(spec(GatewayMode::Http, endpoints)).await;
    let client = client();
    let post = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move {
            client
                .post(format!("{url}/slow"))
                .body("order 42")
                .send()
                .await
        }
    });
    wait_for("the primary to have the POST", || {
        primary.served().iter().any(|s| s.method == "POST")
    })
    .await;
    primary.kill().await;
    let answer = post.await.unwrap().unwrap();
    assert_eq!(answer.status(), 502);
    assert!(
        backup.served().iter().all(|s| s.method != "POST"),
        "the backup saw the POST"
    );
    assert!(
        metrics
            .text()
            .contains("continuo_gateway_requests_failed_total{gateway=\"gw\"} 1")
    );

    // Connections are now refused: a POST that cannot have been sent goes elsewhere.
    let answer = client
        .post(format!("{url}/orders"))
        .body("order 43")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "backup");
    let seen = backup.served();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, b"order 43");
    drop(gateway);
}

/// With an Idempotency-Key, a POST that a primary answered with 503 is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_with_an_idempotency_key_is_retried_and_one_without_is_not() {
    let (_primary, backup, endpoints) = two_backends().await;
    let mut spec = spec(GatewayMode::Http, endpoints);
    spec.eject_after = 100;
    let (_gateway, _metrics, url) = start(spec).await;
    let client = client();
    let without = client
        .post(format!("{url}/fail"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 503);
    assert_eq!(without.text().await.unwrap(), "primary");
    let with = client
        .post(format!("{url}/fail"))
        .header("idempotency-key", "k-1")
        .body("x")
        .send()
        .await
        .unwrap();
    // Both endpoints answer 503 on /fail: the client gets the backup's answer.
    assert_eq!(with.text().await.unwrap(), "backup");
    assert_eq!(backup.count(), 1);
}

/// The backup tier gets nothing while a primary is healthy, even with one primary down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_tier_gets_no_traffic_while_a_primary_is_healthy() {
    let a = Backend::start("a").await;
    let mut b = Backend::start("b").await;
    let backup = Backend::start("backup").await;
    let (gateway, _metrics, url) = start(spec(
        GatewayMode::Http,
        vec![
            a.endpoint(Role::Primary),
            b.endpoint(Role::Primary),
            backup.endpoint(Role::Backup),
        ],
    ))
    .await;
    let client = client();
    for i in 0..100 {
        let r = client.get(format!("{url}/{i}")).send().await.unwrap();
        assert!(r.status().is_success());
    }
    assert_eq!(a.count(), 50, "round robin over the primaries");
    assert_eq!(b.count(), 50);
    b.kill().await;
    wait_for("b to be ejected", || {
        gateway.handle().status().endpoints[1].state == "down"
    })
    .await;
    for i in 0..100 {
        let r = client.get(format!("{url}/{i}")).send().await.unwrap();
        assert!(r.status().is_success());
    }
    assert_eq!(a.count(), 150);
    assert_eq!(backup.count(), 0);
    assert_eq!(gateway.handle().status().serving, Tier::Primary);
}

/// After a failover, traffic returns only once the primary has been healthy for
/// `failback_after`; requests in between stay on the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failback_waits_for_the_primary_to_stay_healthy() {
    let (mut primary, _backup, endpoints) = two_backends().await;
    let mut spec = spec(GatewayMode::Http, endpoints);
    spec.failback_after = Duration::from_millis(500);
    let hysteresis = 500;
    let (gateway, _metrics, url) = start(spec).await;
    let client = client();
    primary.kill().await;
    wait_for("the failover", || {
        gateway.handle().status().serving == Tier::Backup
    })
    .await;
    primary.restart().await;
    wait_for("the primary to be readmitted", || {
        kinds(&gateway).contains(&"endpoint_up".to_string())
    })
    .await;
    let before = primary.count();
    // Until the failback event, every request goes to the backup.
    loop {
        let r = client.get(format!("{url}/x")).send().await.unwrap();
        let body = r.text().await.unwrap();
        if gateway.handle().status().serving == Tier::Primary {
            break;
        }
        assert_eq!(body, "backup");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(primary.count() <= before + 1);
    let events = gateway.handle().status().events;
    let up = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::EndpointUp { .. }))
        .unwrap();
    let back = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Failback { .. }))
        .unwrap();
    assert!(back.at_ms - up.at_ms >= hysteresis);
    assert!(
        matches!(back.kind, EventKind::Failback { automatic: true, healthy_for_ms } if healthy_for_ms >= hysteresis)
    );
    let r = client.get(format!("{url}/y")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "primary");
}

/// Manual failback: a recovered primary gets nothing until the operator says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failback_waits_for_the_operator() {
    let (mut primary, _backup, endpoints) = two_backends().await;
    let mut spec = spec(GatewayMode::Http, endpoints);
    spec.failback = Failback::Manual;
    spec.failback_after = Duration::ZERO;
    let (gateway, _metrics, url) = start(spec).await;
    let handle = gateway.handle();
    primary.kill().await;
    wait_for("the failover", || handle.status().serving == Tier::Backup).await;
    assert!(handle.fail_back().is_err(), "no healthy primary yet");
    primary.restart().await;
    wait_for("the primary to be readmitted", || {
        handle.status().endpoints[0].state == "up"
    })
    .await;
    let client = client();
    for _ in 0..20 {
        let r = client.get(format!("{url}/x")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "backup");
    }
    handle.fail_back().unwrap();
    let r = client.get(format!("{url}/x")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "primary");
    assert!(handle.status().events.iter().any(|e| matches!(
        e.kind,
        EventKind::Failback {
            automatic: false,
            ..
        }
    )));
}

/// Draining the primary is a planned switchover; undraining brings traffic back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_switches_over_and_undrain_switches_back() {
    let (_primary, _backup, endpoints) = two_backends().await;
    let mut spec = spec(GatewayMode::Http, endpoints);
    spec.failback_after = Duration::ZERO;
    let (gateway, _metrics, url) = start(spec).await;
    let handle = gateway.handle();
    let client = client();
    handle.drain("primary").unwrap();
    assert!(handle.drain("nope").is_err());
    let r = client.get(format!("{url}/x")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "backup");
    let status = handle.status();
    assert_eq!(status.endpoints[0].state, "drained");
    assert!(status.events.iter().any(|e| matches!(
        e.kind,
        EventKind::FailoverFinished {
            reason: FailoverReason::Drain,
            failed_requests: 0,
            ..
        }
    )));
    handle.undrain("primary").unwrap();
    let r = client.get(format!("{url}/x")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "primary");
    assert_eq!(
        kinds(&gateway)
            .iter()
            .filter(|k| ["drained", "undrained", "failback"].contains(&k.as_str()))
            .collect::<Vec<_>>(),
        ["drained", "undrained", "failback"]
    );
}

/// TCP mode: a client connecting after the primary died lands on the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_mode_fails_over_at_connect() {
    let (primary, primary_task) = tcp_echo("primary").await;
    let (backup, _backup_task) = tcp_echo("backup").await;
    let endpoint = |name: &str, addr: std::net::SocketAddr, role| continuo_gateway::EndpointSpec {
        name: name.into(),
        address: addr.to_string(),
        role,
        tls: false,
    };
    let (gateway, _metrics, _) = start(spec(
        GatewayMode::Tcp,
        vec![
            endpoint("primary", primary, Role::Primary),
            endpoint("backup", backup, Role::Backup),
        ],
    ))
    .await;
    async fn exchange(gateway: std::net::SocketAddr) -> String {
        let mut stream = tokio::net::TcpStream::connect(gateway).await.unwrap();
        stream.write_all(b"hello").await.unwrap();
        let mut buf = vec![0u8; 64];
        let n = stream.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    assert_eq!(exchange(gateway.local_addr()).await, "primary:hello");
    primary_task.abort();
    // A killed process's port refuses at once; an aborted task lets go of it when it is
    // next polled.
    wait_for("the primary's port to close", || {
        std::net::TcpStream::connect(primary).is_err()
    })
    .await;
    // Every connection after the kill succeeds, first by moving on at connect time,
    // then because the primary is ejected.
    for _ in 0..20 {
        assert_eq!(exchange(gateway.local_addr()).await, "backup:hello");
    }
    wait_for("the failover", || {
        gateway.handle().status().serving == Tier::Backup
    })
    .await;
}

/// A WebSocket upgrade reaches the endpoint with its upgrade headers and the upgraded
/// bytes flow both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_pass_through() {
    let primary = Backend::start("primary").await;
    let (gateway, _metrics, _) = start(spec(
        GatewayMode::Http,
        vec![primary.endpoint(Role::Primary)],
    ))
    .await;
    let (mut stream, head) = websocket_upgrade(gateway.local_addr()).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    stream.write_all(b"frame one").await.unwrap();
    let mut echo = [0u8; 9];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"frame one");
    let seen = &primary.served()[0];
    assert_eq!(seen.headers["upgrade"], "websocket");
    assert_eq!(seen.headers["connection"].to_ascii_lowercase(), "upgrade");
    assert_eq!(
        seen.headers["sec-websocket-key"],
        "dGhlIHNhbXBsZSBub25jZQ=="
    );
}

/// Hop-by-hop headers (and those `Connection` names) stay on their hop; X-Forwarded-For
/// gets the client appended, X-Forwarded-Proto and -Host are set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_headers_are_removed_and_forwarded_headers_set() {
    let primary = Backend::start("primary").await;
    let (_gateway, _metrics, url) = start(spec(
        GatewayMode::Http,
        vec![primary.endpoint(Role::Primary)],
    ))
    .await;
    let response = client()
        .get(format!("{url}/h"))
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "secret")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic Zm9v")
        .header("te", "trailers")
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-end-to-end", "kept")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("proxy-authenticate").is_none());
    assert_eq!(response.headers()["x-backend"], "primary");
    let seen = &primary.served()[0];
    for gone in ["x-hop", "keep-alive", "proxy-authorization", "te"] {
        assert!(!seen.headers.contains_key(gone), "{gone} was forwarded");
    }
    assert_eq!(seen.headers["x-end-to-end"], "kept");
    assert_eq!(seen.headers["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert!(seen.headers["x-forwarded-host"].starts_with("127.0.0.1:"));
}

/// HTTP/2 clients (prior knowledge) are served, with a Host for the HTTP/1.1 endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_are_served() {
    let primary = Backend::start("primary").await;
    let (gateway, _metrics, _) = start(spec(
        GatewayMode::Http,
        vec![primary.endpoint(Role::Primary)],
    ))
    .await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let uri: hyper::Uri = format!("http://{}/two", gateway.local_addr())
        .parse()
        .unwrap();
    let response = client.get(uri).await.unwrap();
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let seen = &primary.served()[0];
    assert_eq!(seen.path, "/two");
    assert!(seen.headers["host"].starts_with("127.0.0.1:"));
}

/// Failover actions run in order with the event in the environment; a failing one is
/// reported as such; dry-run reports without running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_actions_run_in_order_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env.txt");
    let (mut primary, _backup, endpoints) = two_backends().await;
    let command = |script: String| FailoverAction {
        on: ActionTrigger::Failover,
        timeout: HumanDuration(Duration::from_secs(30)),
        kind: ActionKind::Command {
            command: vec!["sh".into(), "-c".into(), script],
        },
    };
    let mut spec = spec(GatewayMode::Http, endpoints);
    spec.actions = vec![
        command(format!(
            "echo \"$CONTINUO_EVENT $CONTINUO_GATEWAY $CONTINUO_FROM $CONTINUO_TO\" > {}",
            out.display()
        )),
        command("echo broken >&2; exit 3".into()),
        FailoverAction {
            on: ActionTrigger::Failback,
            ..command("exit 0".into())
        },
    ];
    let (gateway, metrics, _) = start(spec.clone()).await;
    primary.kill().await;
    wait_for("two action results", || {
        gateway
            .handle()
            .status()
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Action { .. }))
            .count()
            == 2
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        "failover gw primary backup"
    );
    let results: Vec<(bool, String)> = gateway
        .handle()
        .status()
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Action { ok, message, .. } => Some((*ok, message.clone())),
            _ => None,
        })
        .collect();
    assert!(results[0].0);
    assert!(!results[1].0);
    assert!(results[1].1.contains("broken"), "{}", results[1].1);
    assert!(
        metrics
            .text()
            .contains("continuo_gateway_actions_failed_total{gateway=\"gw\"} 1")
    );
    gateway.shutdown();

    // Dry run: reported, not run.
    std::fs::remove_file(&out).unwrap();
    primary.restart().await;
    spec.dry_run = true;
    let (gateway, _, _) = start(spec).await;
    primary.kill().await;
    wait_for("dry-run results", || {
        gateway
            .handle()
            .status()
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Action {
                        dry_run: true,
                        ok: true,
                        ..
                    }
                )
            })
            .count()
            == 2
    })
    .await;
    assert!(!out.exists());
}

/// The request whose retry is the backup's first success counts as retried in the
/// failover it ended (it used to finish the episode before it was counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_that_ends_a_failover_is_counted_in_it() {
    let (mut primary, _backup, endpoints) = two_backends().await;
    let mut spec = spec(GatewayMode::Http, endpoints);
    // Only live traffic sees the primary die: the checks would otherwise race it.
    spec.check_interval = Duration::from_secs(3600);
    spec.check_fast_interval = Duration::from_secs(3600);
    spec.eject_after = 1;
    let (gateway, _metrics, url) = start(spec).await;
    let client = client();
    let answer = client.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "primary");
    // The checks' first round runs at start; let it be over before the primary dies, so
    // only the next client request can notice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    primary.kill().await;
    let answer = client.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "backup");
    let events = gateway.handle().status().events;
    let finished = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::FailoverFinished {
                failed_requests,
                retried_requests,
                ..
            } => Some((*failed_requests, *retried_requests)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no finished failover in {events:?}"));
    assert_eq!(
        finished,
        (0, 1),
        "no request failed, one was retried: {events:?}"
    );
}

/// A webhook action POSTs the event as JSON, with its extra headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_action_posts_the_failover() {
    let (mut primary, _backup, endpoints) = two_backends().await;
    let hook = Backend::start("hook").await;
    let mut spec = spec(GatewayMode::Http, endpoints);
    spec.actions = vec![FailoverAction {
        on: ActionTrigger::Failover,
        timeout: HumanDuration(Duration::from_secs(30)),
        kind: ActionKind::Webhook {
            url: format!("http://{}/switch", hook.addr),
            headers: [("x-token".to_string(), "t0k".to_string())].into(),
        },
    }];
    let (gateway, _metrics, _) = start(spec).await;
    primary.kill().await;
    wait_for("the webhook", || {
        hook.served().iter().any(|s| s.path == "/switch")
    })
    .await;
    let seen = hook.served();
    let call = seen.iter().find(|s| s.path == "/switch").unwrap();
    assert_eq!(call.method, "POST");
    assert_eq!(call.headers.get("x-token").map(String::as_str), Some("t0k"));
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["event"], "failover");
    assert_eq!(body["gateway"], "gw");
    wait_for("its result", || {
        gateway
            .handle()
            .status()
            .events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Action { ok: true, .. }))
    })
    .await;
}

/// Regression (issue 16, item 9): an endpoint that answers with both Content-Length and
/// Transfer-Encoding (a smuggling sign) left the client with an empty reply; the gateway
/// now answers 502 itself and counts the endpoint's failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_with_both_framings_is_a_502() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                loop {
                    while !head.ends_with(b"\r\n\r\n") {
                        if stream.read_exact(&mut byte).await.is_err() {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let answer: &[u8] = if head.starts_with(b"GET /health ") {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    };
                    head.clear();
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let endpoint = continuo_gateway::EndpointSpec {
        name: "smuggler".into(),
        address: addr.to_string(),
        role: Role::Primary,
        tls: false,
    };
    let (gateway, metrics, url) = start(spec(GatewayMode::Http, vec![endpoint])).await;
    let answer = client().get(format!("{url}/page")).send().await.unwrap();
    assert_eq!(answer.status(), 502);
    assert_eq!(
        answer.text().await.unwrap(),
        "continuo gateway: the endpoint's answer had both Content-Length and Transfer-Encoding\n\
         continuo gateway: het antwoord van het endpoint had zowel Content-Length als Transfer-Encoding\n"
    );
    assert!(
        metrics
            .text()
            .contains("continuo_gateway_requests_failed_total{gateway=\"gw\"} 1"),
        "{}",
        metrics.text()
    );
    drop(gateway);
    server.abort();
}

/// Issue 16, build item 1: a health check that panics is restarted (and says so in the
/// gateway's events, which `serve` turns into an unhealthy task and a page), and the
/// restarted check still does its job: a killed primary is taken out of rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_health_check_is_restarted_and_reported() {
    let (mut primary, _backup, endpoints) = two_backends().await;
    let (gateway, _metrics, _url) = start(spec(GatewayMode::Http, endpoints)).await;
    gateway.handle().inject_check_panics(2);
    let restarts = |gateway: &Gateway| {
        gateway
            .handle()
            .status()
            .events
            .iter()
            .filter(|e| {
                matches!(&e.kind, EventKind::TaskRestarted { task, message }
                    if task.starts_with("check ") && message.contains("injected"))
            })
            .count()
    };
    wait_for("two restarts reported", || restarts(&gateway) == 2).await;
    primary.kill().await;
    wait_for("the restarted check to take the primary out", || {
        kinds(&gateway).contains(&"endpoint_down".to_string())
    })
    .await;
    assert_eq!(restarts(&gateway), 2, "no other panic");
}
