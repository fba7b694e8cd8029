//! 3,000 public webhook subscriptions whose receivers never answer (issue 16, failure 4):
//! an outage announced to them is queued, and a real outage of `db` is still paged
//! within 5 s. Before, the dispatcher waited for whole batches of sends hanging on such
//! receivers and a page waited 457 s behind them.
//!
//! The subscriptions are made through the public form, each client address (forwarded
//! by a trusted proxy, as behind a load balancer) within its hourly limit, and confirmed
//! by an admin in rounds so no more wait for confirmation than the limit allows. Their
//! URLs never answer: half name hosts under `.invalid`, which never resolve, half a local
//! listener that accepts and never replies (this machine's resolver fails `.invalid` at
//! once, where the reported one hung: the listener hangs as such a resolver would).

use super::*;
use std::io::Read;
use std::net::TcpListener;

/// The subscriptions made.
const SUBSCRIBERS: usize = 3_000;
/// Made (and confirmed) per round: under the limit of those waiting for confirmation.
const ROUND: usize = 500;
/// Subscription requests per client address (the hourly limit per address).
const PER_ADDRESS: usize = 10;

/// A listener that accepts connections and never answers; each is held until the
/// client gives up.
fn tarpit() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

fn subscribe(continuo: &Continuo, n: usize, url: &str) {
    // Client addresses 10.0.x.y, PER_ADDRESS requests each.
    let client = n / PER_ADDRESS;
    let forwarded = format!("10.0.{}.{}", client / 250, client % 250 + 1);
    let body = serde_json::json!({ "url": url }).to_string();
    let (status, answer) = http(
        continuo.port,
        "POST",
        "/status/subscribe",
        &[("X-Forwarded-For", &forwarded)],
        &body,
    );
    assert_eq!(status, 202, "subscription {n}: {answer}");
}

fn confirm_pending(continuo: &Continuo) -> usize {
    let pending = continuo.get("/api/v1/subscribers?state=pending");
    let ids: Vec<String> = pending
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    for id in &ids {
        let (status, body) =
            continuo.admin("POST", &format!("/api/v1/subscribers/{id}/confirm"), "");
        assert!(status < 300, "confirm {id}: {status} {body}");
    }
    ids.len()
}

#[test]
fn three_thousand_hanging_subscriber_webhooks_do_not_delay_a_page() {
    let mut scenario = Scenario::new(
        None,
        r#"
[[service]]
id = "storefront"
name = "Storefront"
tier = 2
owner = "ops"
rto = "1h"
status_page = { component = "Storefront" }
"#,
    );
    let path = scenario.dir.path().join("continuo.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    let config = config.replacen(
        "secret = \"a-link-secret-for-tests\"",
        "secret = \"a-link-secret-for-tests\"\n\
         # The never-answering receiver listens on 127.0.0.1; the test's requests come\n\
         # through a proxy on 127.0.0.1 that says whom they are from.\n\
         allow_private_webhooks = true\n\
         trusted_proxies = [\"127.0.0.1\"]",
        1,
    );
    std::fs::write(&path, config).expect("config");
    let silent = tarpit();
    scenario.start(&[]);
    let continuo = scenario.continuo.as_ref().expect("started");

    let mut confirmed = 0;
    for round in 0..SUBSCRIBERS / ROUND {
        for n in round * ROUND..(round + 1) * ROUND {
            let url = if n % 2 == 0 {
                format!("http://s{n}.nowhere.invalid/status")
            } else {
                format!("http://127.0.0.1:{silent}/status/{n}")
            };
            subscribe(continuo, n, &url);
        }
        confirmed += confirm_pending(continuo);
    }
    assert_eq!(confirmed, SUBSCRIBERS);

    // An incident on the status page: announced to all 3,000, queued behind their test
    // deliveries, all to receivers that never answer.
    let (status, body) = continuo.admin(
        "POST",
        "/api/v1/incidents",
        &serde_json::json!({"title": "Checkout is slow", "services": ["storefront"], "by": "anna"})
            .to_string(),
    );
    assert_eq!(status, 201, "{body}");
    // Pending: each subscriber's test delivery (retried, never answered) and its
    // announcement.
    wait_for("the announcements queued", 60, || {
        let (_, body) = continuo.admin("GET", "/api/v1/outbox?limit=1", "");
        serde_json::from_str::<Value>(&body).is_ok_and(|v| {
            v["counts"]["pending"]
                .as_u64()
                .is_some_and(|n| n >= 2 * SUBSCRIBERS as u64)
        })
    });

    let since = scenario.outage();
    scenario.assert_paged_within_5s(since);
    scenario.assert_web_never_down();
}
