//! `kill -9` right after acknowledged pings (issue 16, failure 9): every ping answered
//! 200 is in the store afterwards. On 93b1548 up to the writer's 200 ms flush interval of
//! acknowledged pings (178-425 per kill) were lost.

use crate::common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The heartbeat's uuid, also used by the other faults that send pings.
pub const UUID_PATH: &str = "5a1e0000-0000-4000-8000-00000000c0de";
const UUID: &str = UUID_PATH;

/// A configuration with the heartbeat `nightly` (uuid [`UUID`]) and the database URL
/// `database`.
pub fn heartbeat_config(database: &str) -> String {
    // Every ping comes from 127.0.0.1: the public rate limit per address is off.
    let mut config = one_service("Pings", "jobs")
        .replace("sqlite://state/continuo.db", database)
        .replace("[server]\n", "[server]\npublic_rate_limit = 0\n");
    config.push_str(&format!(
        r#"
[[service.check]]
id = "nightly"
kind = "heartbeat"
uuid = "{UUID}"
period = "1h"
grace = "5m"
"#
    ));
    config
}

/// Sends pings with bodies `<prefix>-<n>` from `threads` threads until `stop`; gives
/// the bodies answered 200, and how many were answered otherwise (or not at all).
pub fn ping_until(
    port: u16,
    prefix: &str,
    threads: usize,
    stop: &Arc<AtomicBool>,
) -> (Arc<Mutex<Vec<String>>>, Vec<std::thread::JoinHandle<usize>>) {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let workers = (0..threads)
        .map(|t| {
            let acknowledged = acknowledged.clone();
            let stop = stop.clone();
            let prefix = prefix.to_string();
            std::thread::spawn(move || {
                let mut refused = 0;
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let body = format!("{prefix}-{t}-{n}");
                    n += 1;
                    if try_ping(port, &body) == 200 {
                        lock(&acknowledged).push(body);
                    } else {
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    (acknowledged, workers)
}

/// `POST /ping/<UUID>` with `body`: the answer's status, 0 when there was none (the
/// server was killed meanwhile).
pub fn try_ping(port: u16, body: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let request = format!(
        "POST /ping/{UUID} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The bodies of the pings of `nightly` in the store at `url`.
pub fn stored_pings(url: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = continuo_store::Store::open(url)
            .await
            .expect("open the store");
        let pings = store.pings("nightly", u32::MAX).await.expect("read pings");
        store.close().await;
        pings.into_iter().map(|p| p.body).collect()
    })
}

/// Failed on 93b1548 (acknowledged pings of the last flush interval were missing).
#[test]
fn acknowledged_pings_survive_kill_9() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::create_dir(dir.path().join("state")).expect("state dir");
    let url = format!(
        "sqlite://{}",
        dir.path().join("state/continuo.db").display()
    );
    std::fs::write(dir.path().join("continuo.toml"), heartbeat_config(&url)).expect("write");
    let continuo = Continuo::start(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let (acknowledged, workers) = ping_until(continuo.port, "burst", 8, &stop);
    wait_for("500 acknowledged pings", 60, || {
        lock(&acknowledged).len() >= 500
    });
    // Killed while pings are still answered: the newest acknowledgements are the ones a
    // flush interval would lose.
    continuo.kill();
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.join().expect("a ping thread");
    }
    let acknowledged = lock(&acknowledged).clone();
    let stored: std::collections::HashSet<String> = stored_pings(&url).into_iter().collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|b| !stored.contains(*b))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged pings are not in the store after kill -9, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
    // And the node starts again on that database.
    let again = Continuo::start(dir.path());
    assert_eq!(try_ping(again.port, "after"), 200);
}
