//! A full disk, then freed (issue 16, failure 2): the SQLite database on a 3 MiB tmpfs
//! this test mounts (root only), filled for about 35 s while `db` goes down and pings
//! arrive, then freed. The outage is paged within 5 s, `/readyz` says not ready during
//! the fault (with the reason), the lasting failure is paged as the service `continuo`,
//! `/readyz` says ready after, the writer recovers by itself (new
//! observations reach the file), and after a kill every acknowledged ping and the
//! outage's outbox rows are in the store. On 93b1548 the writer kept counting writes
//! while "database is locked" repeated and nothing reached the file.

use crate::Scenario;
use crate::common::*;
use crate::pings::{UUID_PATH, try_ping};
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A tmpfs of `size` on a temporary directory, unmounted (lazily) when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("running mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t tmpfs failed ({status})"));
        }
        Ok(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Fills the file system holding `dir` to the last byte.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).expect("create the filler");
    let block = vec![0u8; 64 * 1024];
    for size in [block.len(), 4096, 512, 1] {
        while file.write_all(&block[..size]).is_ok() {}
    }
    filler
}

/// `/readyz`: its status and body.
fn readyz(port: u16) -> (u16, Value) {
    let (status, body) = http(port, "GET", "/readyz", &[], "");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn a_full_disk_is_surfaced_paged_and_recovered_without_losing_acknowledged_records() {
    if !is_root() {
        skip_or_fail!("the full-disk fault needs root to mount a tmpfs");
    }
    let tmpfs = match Tmpfs::mount("3m") {
        Ok(t) => t,
        Err(e) => skip_or_fail!("the full-disk fault could not mount a tmpfs: {e}"),
    };
    let url = format!(
        "sqlite://{}",
        tmpfs.dir.path().join("continuo.db").display()
    );
    let heartbeat = format!(
        r#"
[[service]]
id = "jobs"
name = "Jobs"
tier = 3
owner = "ops"
rto = "1d"

[[service.check]]
id = "nightly"
kind = "heartbeat"
uuid = "{UUID_PATH}"
period = "1h"
grace = "5m"
"#
    );
    let mut scenario = Scenario::new(Some(&url), &heartbeat);
    // Every ping comes from 127.0.0.1: the public rate limit per address is off.
    let config_path = scenario.dir.path().join("continuo.toml");
    let config = std::fs::read_to_string(&config_path).expect("read the configuration");
    std::fs::write(
        &config_path,
        config.replacen("[server]\n", "[server]\npublic_rate_limit = 0\n", 1),
    )
    .expect("write the configuration");
    // Scenario::start waits for exactly two checks; this one has a heartbeat too.
    let continuo = Continuo::start(scenario.dir.path());
    wait_for("db and web up", 30, || {
        let (status, body) = continuo.admin("GET", "/api/v1/checks", "");
        status == 200
            && serde_json::from_str::<Value>(&body).is_ok_and(|checks| {
                checks["checks"].as_array().is_some_and(|all| {
                    all.iter()
                        .filter(|c| c["id"] == "db-tcp" || c["id"] == "web-http")
                        .filter(|c| c["status"] == "up")
                        .count()
                        == 2
                })
            })
    });
    let port = continuo.port;
    scenario.continuo = Some(continuo);
    assert_eq!(try_ping(port, "before"), 200);
    let mut acknowledged = vec!["before".to_string()];
    assert_eq!(readyz(port).0, 200);

    // The disk fills. Pings of 9 KB each soon need more room than the database's
    // files hold (SQLite reuses its WAL file's space, so small writes may still fit).
    let filler = fill(tmpfs.dir.path());
    let filled = Instant::now();
    let mut pings = Pings {
        port,
        sent: 0,
        refused: 0,
    };
    while pings.refused == 0 && filled.elapsed() < Duration::from_secs(15) {
        pings.send(&mut acknowledged);
    }
    wait_for("/readyz to report the store's failure", 15, || {
        let (status, body) = readyz(port);
        status == 503 && body["store"]["healthy"] == false
    });
    let (_, body) = readyz(port);
    assert!(body["reasons"].to_string().contains("full"), "{body}");

    // A real outage during the fault.
    let since = scenario.outage();
    // Paging while the outbox cannot be written relies on the degraded paging mode
    // (issue 16, build item 4).
    scenario.assert_paged_within_5s(since);

    // More pings during the fault: 200 only if stored, else 503.
    while filled.elapsed() < Duration::from_secs(10) {
        pings.send(&mut acknowledged);
    }
    assert!(
        pings.refused > 0,
        "no ping was refused while the disk was full"
    );
    assert_eq!(
        readyz(port).0,
        503,
        "still not ready while the disk is full"
    );
    // The failure lasts (30 s): it is paged, not only shown on /readyz.
    wait_for("a page saying the database refuses writes", 60, || {
        scenario.notices("firing", "continuo").iter().any(|n| {
            n["summary"]
                .as_str()
                .is_some_and(|s| s.contains("cannot write to its database"))
        })
    });

    // Space returns: the writer recovers by itself.
    std::fs::remove_file(&filler).expect("free the disk");
    let freed_ms = now_ms();
    wait_for("/readyz to say ready again", 30, || readyz(port).0 == 200);
    for i in 0..5 {
        let body = format!("after-{i}");
        assert_eq!(try_ping(port, &body), 200, "a ping after recovery");
        acknowledged.push(body);
    }
    // New observations reach the file (read back through the API, from the database).
    wait_for("an observation stored after the disk was freed", 30, || {
        let (status, body) = scenario.continuo.as_ref().expect("running").admin(
            "GET",
            "/api/v1/checks/web-http/observations?limit=1",
            "",
        );
        status == 200
            && serde_json::from_str::<Value>(&body).is_ok_and(|o| {
                o["observations"][0]["at_ms"]
                    .as_i64()
                    .is_some_and(|at| at > freed_ms)
            })
    });
    std::thread::sleep(Duration::from_secs(1));
    scenario.assert_web_never_down();

    // Killed without a goodbye: what was acknowledged is in the file.
    scenario.continuo.take().expect("running").kill();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (pings, outbox) = runtime.block_on(async {
        let store = continuo_store::Store::open(&url)
            .await
            .expect("reopen the store");
        let pings = store.pings("nightly", u32::MAX).await.expect("pings");
        let outbox = store.outbox(None, 1_000).await.expect("outbox");
        store.close().await;
        (pings, outbox)
    });
    // Stored bodies, by their first word (the tag).
    let stored: std::collections::HashSet<String> = pings
        .iter()
        .filter_map(|p| p.body.split_whitespace().next().map(str::to_string))
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|b| !stored.contains(*b))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged pings missing after the restart: {lost:?}"
    );
    let firing: Vec<_> = outbox
        .iter()
        .filter(|i| i.event == "firing" && i.alert.contains("db"))
        .collect();
    assert!(
        !firing.is_empty(),
        "the outage's outbox rows are missing: {:?}",
        outbox
            .iter()
            .map(|i| (&i.alert, &i.event, &i.channel))
            .collect::<Vec<_>>()
    );
}

/// Pings of 9 KB during the fault.
struct Pings {
    port: u16,
    sent: usize,
    refused: usize,
}

impl Pings {
    /// Sends one: its tag goes to `acknowledged` when answered 200; 503 is counted.
    fn send(&mut self, acknowledged: &mut Vec<String>) {
        let tag = format!("during-{}", self.sent);
        self.sent += 1;
        match try_ping(self.port, &big(&tag)) {
            200 => acknowledged.push(tag),
            503 => self.refused += 1,
            other => panic!("a ping during the fault was answered {other}"),
        }
    }
}

/// A ping body of about 9 KB starting with `tag`.
fn big(tag: &str) -> String {
    format!("{tag} {}", "x".repeat(9_000))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
