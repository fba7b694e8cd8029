//! The engine on paused tokio time: thresholds, heartbeats (period and cron), reload,
//! concurrency limits and an unavailable store. Probes here are scripted targets that do
//! no IO (a switch that says up or down), so paused time is exact; the same path over
//! real sockets is tested end to end by the web crate and the binary.

use continuo_core::catalog::Check;
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::{CheckStatus, Verdict};
use continuo_core::{Catalog, load_text};
use continuo_engine::{
    Clock, Engine, EngineHandle, EngineOptions, PingRequest, PingSignal, ProbeFactory, RunProbe,
};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A target that is up or down, answering after `latency`, counting runs in flight.
#[derive(Default)]
struct Target {
    down: AtomicBool,
    /// How often a probe was built for it.
    builds: AtomicUsize,
    runs: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct Scripted {
    target: Arc<Target>,
    global: Arc<Target>,
    latency: Duration,
}

impl RunProbe for Scripted {
    fn run(&self, timeout: Duration) -> Pin<Box<dyn Future<Output = Measurement> + Send + '_>> {
        Box::pin(async move {
            for t in [&self.target, &self.global] {
                let now = t.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                t.max_in_flight.fetch_max(now, Ordering::SeqCst);
                t.runs.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(self.latency.min(timeout)).await;
            for t in [&self.target, &self.global] {
                t.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            let down = self.target.down.load(Ordering::SeqCst);
            Measurement {
                verdict: if down {
                    Verdict::Failure
                } else {
                    Verdict::Success
                },
                message: if down { "connection refused" } else { "ok" }.into(),
                code: None,
                timings: Timings {
                    total_us: self.latency.as_micros() as u64,
                    ..Timings::default()
                },
            }
        })
    }
}

#[derive(Default)]
struct Targets {
    by_check: Mutex<HashMap<String, Arc<Target>>>,
    global: Arc<Target>,
    latency: Duration,
}

impl Targets {
    fn get(&self, id: &str) -> Arc<Target> {
        self.by_check
            .lock()
            .expect("lock")
            .entry(id.to_string())
            .or_default()
            .clone()
    }
}

struct Factory(Arc<Targets>);

impl ProbeFactory for Factory {
    fn build(&self, check: &Check) -> Result<Option<Arc<dyn RunProbe>>, String> {
        if check.kind() == continuo_core::catalog::CheckKind::Heartbeat {
            return Ok(None);
        }
        let target = self.0.get(&check.id.value);
        target.builds.fetch_add(1, Ordering::SeqCst);
        Ok(Some(Arc::new(Scripted {
            target,
            global: self.0.global.clone(),
            latency: self.0.latency,
        })))
    }
}

const START: &str = "2026-11-24T12:00:00Z";

fn start_ms() -> i64 {
    START
        .parse::<jiff::Timestamp>()
        .expect("timestamp")
        .as_millisecond()
}

fn catalog(text: &str) -> Arc<Catalog> {
    Arc::new(load_text(text).unwrap_or_else(|e| panic!("invalid test config: {e:?}")))
}

fn engine(text: &str, targets: &Arc<Targets>, concurrency: usize) -> Engine {
    let mut options = EngineOptions::new("ams-1", ".");
    options.clock = Clock::starting_at(start_ms());
    options.probes = Arc::new(Factory(targets.clone()));
    options.max_concurrency = concurrency;
    Engine::start(catalog(text), options, None)
}

fn status(handle: &EngineHandle, id: &str) -> CheckStatus {
    handle.check(id).expect("check exists").status
}

/// Advances paused time in small steps, so every timer due on the way fires in order.
async fn advance(by: Duration) {
    let step = Duration::from_millis(100);
    let mut left = by;
    while left > Duration::ZERO {
        let d = left.min(step);
        tokio::time::advance(d).await;
        left -= d;
        tokio::task::yield_now().await;
    }
}

const SHOP: &str = r#"
[[team]]
id = "ops"

[[service]]
id = "db"
tier = 1
owner = "ops"
rto = "30m"

[[service.check]]
id = "db-tcp"
kind = "tcp"
target = "127.0.0.1:5432"
interval = "10s"
timeout = "2s"
fail_threshold = 3
recover_threshold = 2

[[service]]
id = "shop"
tier = 1
owner = "ops"
rto = "1h"
depends_on = ["db"]

[[service.check]]
id = "shop-http"
kind = "http"
url = "http://127.0.0.1:8081/"
interval = "10s"
timeout = "2s"
"#;

#[tokio::test(start_paused = true)]
async fn a_check_goes_down_after_its_threshold_and_recovers_after_its_recovery_threshold() {
    let targets = Arc::new(Targets {
        latency: Duration::from_millis(50),
        ..Targets::default()
    });
    let engine = engine(SHOP, &targets, 16);
    let handle = engine.handle();
    // Within one interval (jitter < interval) every check has run once and is up.
    advance(Duration::from_secs(11)).await;
    assert_eq!(status(&handle, "db-tcp"), CheckStatus::Up);
    assert_eq!(status(&handle, "shop-http"), CheckStatus::Up);

    let db = targets.get("db-tcp");
    db.down.store(true, Ordering::SeqCst);
    let runs_at_stop = db.runs.load(Ordering::SeqCst);
    // Two failures are below the threshold of three.
    let mut elapsed = Duration::ZERO;
    while db.runs.load(Ordering::SeqCst) < runs_at_stop + 2 {
        advance(Duration::from_millis(100)).await;
        elapsed += Duration::from_millis(100);
    }
    advance(Duration::from_millis(100)).await;
    assert_eq!(status(&handle, "db-tcp"), CheckStatus::Up, "two failures");
    // Down after the third failure: at most interval x threshold + timeout after the
    // target stopped.
    while status(&handle, "db-tcp") != CheckStatus::Down {
        advance(Duration::from_millis(100)).await;
        elapsed += Duration::from_millis(100);
        assert!(
            elapsed <= Duration::from_secs(10 * 3 + 2),
            "not down within interval x threshold + timeout"
        );
    }
    assert_eq!(db.runs.load(Ordering::SeqCst), runs_at_stop + 3);
    let view = handle.check("db-tcp").expect("check");
    assert_eq!(
        view.last.expect("observation").measurement.message,
        "connection refused"
    );

    // The shop fails too, because of the database: db is the root cause, the shop is
    // only impacted (a shop whose own check passes stays operational).
    targets.get("shop-http").down.store(true, Ordering::SeqCst);
    advance(Duration::from_secs(21)).await;
    assert_eq!(status(&handle, "shop-http"), CheckStatus::Down);
    let services = handle.services();
    let db_health = services.iter().find(|s| s.id == "db").expect("db");
    let shop_health = services.iter().find(|s| s.id == "shop").expect("shop");
    assert_eq!(db_health.health.health, continuo_core::state::Health::Down);
    assert_eq!(
        shop_health.health.health,
        continuo_core::state::Health::Impacted
    );
    assert_eq!(shop_health.health.root_causes, vec!["db".to_string()]);

    // Recovery needs two successes.
    db.down.store(false, Ordering::SeqCst);
    let runs_at_fix = db.runs.load(Ordering::SeqCst);
    while db.runs.load(Ordering::SeqCst) < runs_at_fix + 1 {
        advance(Duration::from_millis(100)).await;
    }
    advance(Duration::from_millis(100)).await;
    assert_eq!(status(&handle, "db-tcp"), CheckStatus::Down, "one success");
    let mut waited = Duration::ZERO;
    while status(&handle, "db-tcp") != CheckStatus::Up {
        advance(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
        assert!(
            waited <= Duration::from_secs(10 + 2),
            "not up after two successes"
        );
    }
    assert_eq!(db.runs.load(Ordering::SeqCst), runs_at_fix + 2);
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn checks_run_on_their_interval_never_overlap_and_respect_global_concurrency() {
    let mut config = String::from("[[team]]\nid = \"ops\"\n");
    for i in 0..20 {
        config.push_str(&format!(
            "[[service]]\nid = \"s{i}\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n[[service.check]]\nid = \"c{i}\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\ninterval = \"5s\"\ntimeout = \"5s\"\n",
            1000 + i
        ));
    }
    // Each run takes the whole timeout, as long as the interval: the worst case for overlap.
    let targets = Arc::new(Targets {
        latency: Duration::from_secs(5),
        ..Targets::default()
    });
    let engine = engine(&config, &targets, 4);
    advance(Duration::from_secs(60)).await;
    for i in 0..20 {
        let t = targets.get(&format!("c{i}"));
        assert_eq!(t.max_in_flight.load(Ordering::SeqCst), 1, "c{i} overlapped");
    }
    assert_eq!(targets.global.max_in_flight.load(Ordering::SeqCst), 4);
    // 20 checks of 5 s each through 4 slots: 4 probes per 5 s, so about 48 runs a minute.
    let runs = targets.global.runs.load(Ordering::SeqCst);
    assert!((44..=52).contains(&runs), "{runs} runs");
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn checks_spread_over_their_interval() {
    let mut config = String::from("[[team]]\nid = \"ops\"\n");
    for i in 0..50 {
        config.push_str(&format!(
            "[[service]]\nid = \"s{i}\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n[[service.check]]\nid = \"c{i}\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:1\"\ninterval = \"60s\"\n"
        ));
    }
    let targets = Arc::new(Targets::default());
    let engine = engine(&config, &targets, 100);
    // After a third of the interval, roughly a third have run: not all at once.
    advance(Duration::from_secs(20)).await;
    let first_third = targets.global.runs.load(Ordering::SeqCst);
    assert!(
        (5..=30).contains(&first_third),
        "{first_third} of 50 ran in the first 20 s"
    );
    advance(Duration::from_secs(40)).await;
    assert_eq!(targets.global.runs.load(Ordering::SeqCst), 50);
    engine.shutdown().await;
}

const BACKUP: &str = r#"
[organization]
name = "Test"
timezone = "Europe/Amsterdam"

[[team]]
id = "ops"

[[service]]
id = "backups"
tier = 3
owner = "ops"
rto = "1d"

[[service.check]]
id = "nightly"
kind = "heartbeat"
uuid = "7d2c3e4f-8a9b-4c1d-9e2f-3a4b5c6d7e8f"
schedule = "0 2 * * *"
grace = "30m"
"#;

const UUID: &str = "7d2c3e4f-8a9b-4c1d-9e2f-3a4b5c6d7e8f";

fn ping(signal: PingSignal, rid: Option<&str>) -> PingRequest {
    PingRequest {
        uuid: UUID.into(),
        signal,
        rid: rid.map(str::to_string),
        body: String::new(),
        source: "127.0.0.1".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_cron_heartbeat_that_misses_its_window_goes_down_and_a_ping_brings_it_back() {
    let targets = Arc::new(Targets::default());
    let engine = engine(BACKUP, &targets, 4);
    let handle = engine.handle();
    // Start: 2026-11-24 12:00 UTC = 13:00 Amsterdam. Next run 02:00 Amsterdam on the
    // 25th = 01:00 UTC, late at 01:30 UTC: 13h30m from now.
    let view = handle.check("nightly").expect("check");
    let late = "2026-11-25T01:30:00Z"
        .parse::<jiff::Timestamp>()
        .expect("ts")
        .as_millisecond();
    assert_eq!(view.late_at_ms, Some(late));
    assert_eq!(view.status, CheckStatus::Unknown);

    tokio::time::advance(Duration::from_secs(13 * 3600 + 29 * 60)).await;
    advance(Duration::from_millis(200)).await;
    assert_eq!(status(&handle, "nightly"), CheckStatus::Unknown);
    advance(Duration::from_secs(90)).await;
    assert_eq!(status(&handle, "nightly"), CheckStatus::Down);
    let message = handle
        .check("nightly")
        .and_then(|v| v.last)
        .expect("observation")
        .measurement
        .message;
    assert_eq!(
        message,
        "no ping received yet; one was expected by 2026-11-25 01:00:00 UTC"
    );

    // The job runs late: start, then success five minutes later, with a run id.
    let started = handle
        .ping(ping(PingSignal::Start, Some("run-1")))
        .await
        .expect("known uuid");
    assert_eq!(started.duration_ms, None);
    assert_eq!(
        status(&handle, "nightly"),
        CheckStatus::Down,
        "a start is not a success"
    );
    tokio::time::advance(Duration::from_secs(300)).await;
    let done = handle
        .ping(ping(PingSignal::Success, Some("run-1")))
        .await
        .expect("known uuid");
    assert_eq!(done.duration_ms, Some(300_000));
    assert_eq!(status(&handle, "nightly"), CheckStatus::Up);
    // The next window is the next night.
    let next_late = "2026-11-26T01:30:00Z"
        .parse::<jiff::Timestamp>()
        .expect("ts")
        .as_millisecond();
    assert_eq!(
        handle.check("nightly").expect("check").late_at_ms,
        Some(next_late)
    );

    // A failure report goes down at once; exit status 0 is a success.
    handle
        .ping(ping(PingSignal::Exit(3), None))
        .await
        .expect("known uuid");
    let view = handle.check("nightly").expect("check");
    assert_eq!(view.status, CheckStatus::Down);
    assert_eq!(view.last.expect("obs").measurement.code, Some(3));
    handle
        .ping(ping(PingSignal::Exit(0), None))
        .await
        .expect("known uuid");
    assert_eq!(status(&handle, "nightly"), CheckStatus::Up);

    // Unknown uuids are refused.
    let mut unknown = ping(PingSignal::Success, None);
    unknown.uuid = "00000000-0000-4000-8000-000000000000".into();
    assert!(handle.ping(unknown).await.is_none());
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_started_job_that_never_finishes_goes_down_after_the_grace_time() {
    let config = BACKUP.replace("schedule = \"0 2 * * *\"", "period = \"1d\"");
    let targets = Arc::new(Targets::default());
    let engine = engine(&config, &targets, 4);
    let handle = engine.handle();
    handle
        .ping(ping(PingSignal::Success, None))
        .await
        .expect("known");
    assert_eq!(status(&handle, "nightly"), CheckStatus::Up);
    advance(Duration::from_secs(60)).await;
    handle
        .ping(ping(PingSignal::Start, None))
        .await
        .expect("known");
    advance(Duration::from_secs(29 * 60)).await;
    assert_eq!(status(&handle, "nightly"), CheckStatus::Up);
    advance(Duration::from_secs(2 * 60)).await;
    assert_eq!(status(&handle, "nightly"), CheckStatus::Down);
    let message = handle
        .check("nightly")
        .and_then(|v| v.last)
        .expect("obs")
        .measurement
        .message;
    assert!(
        message.contains("did not finish within its grace time"),
        "{message}"
    );
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_reload_reads_an_unchanged_checks_ca_file_again() {
    // The same configuration, reloaded (SIGHUP after renewing a CA bundle in place): the
    // check that trusts a CA file gets a new probe, which reads the file again, and keeps
    // its state; the one without keeps its probe.
    let text = SHOP.replace(
        "url = \"http://127.0.0.1:8081/\"\n",
        "url = \"http://127.0.0.1:8081/\"\nca_file = \"certs/internal-ca.pem\"\n",
    );
    assert!(text.contains("ca_file"), "{text}");
    let targets = Arc::new(Targets {
        latency: Duration::from_millis(10),
        ..Targets::default()
    });
    let engine = engine(&text, &targets, 16);
    let handle = engine.handle();
    targets.get("shop-http").down.store(true, Ordering::SeqCst);
    advance(Duration::from_secs(45)).await;
    assert_eq!(status(&handle, "shop-http"), CheckStatus::Down);
    let builds = |id: &str| targets.get(id).builds.load(Ordering::SeqCst);
    assert_eq!((builds("shop-http"), builds("db-tcp")), (1, 1));
    let summary = handle.reload(catalog(&text)).await.expect("reloaded");
    assert_eq!(summary.unchanged, 2);
    assert_eq!((builds("shop-http"), builds("db-tcp")), (2, 1));
    assert_eq!(
        status(&handle, "shop-http"),
        CheckStatus::Down,
        "state kept"
    );
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_the_state_of_unchanged_checks() {
    let targets = Arc::new(Targets {
        latency: Duration::from_millis(10),
        ..Targets::default()
    });
    let engine = engine(SHOP, &targets, 16);
    let handle = engine.handle();
    targets.get("db-tcp").down.store(true, Ordering::SeqCst);
    advance(Duration::from_secs(45)).await;
    assert_eq!(status(&handle, "db-tcp"), CheckStatus::Down);
    assert_eq!(status(&handle, "shop-http"), CheckStatus::Up);

    // shop-http changes its interval; db-tcp is untouched; a new check appears.
    let changed = SHOP.replace(
        "url = \"http://127.0.0.1:8081/\"\ninterval = \"10s\"",
        "url = \"http://127.0.0.1:8081/\"\ninterval = \"20s\"",
    ) + "\n[[service.check]]\nid = \"shop-tls\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:8443\"\ninterval = \"10s\"\ntimeout = \"2s\"\n";
    let summary = handle.reload(catalog(&changed)).await.expect("reloaded");
    assert_eq!(summary.changed, vec!["shop-http".to_string()]);
    assert_eq!(summary.added, vec!["shop-tls".to_string()]);
    assert_eq!(summary.unchanged, 1);
    assert!(summary.removed.is_empty());
    assert_eq!(status(&handle, "db-tcp"), CheckStatus::Down, "state kept");
    assert_eq!(
        status(&handle, "shop-http"),
        CheckStatus::Unknown,
        "starts over"
    );

    let removed = handle.reload(catalog(SHOP)).await.expect("reloaded");
    assert_eq!(removed.removed, vec!["shop-tls".to_string()]);
    assert!(handle.check("shop-tls").is_none());
    // The scheduler keeps running the remaining checks after reloads.
    let before = targets.get("db-tcp").runs.load(Ordering::SeqCst);
    advance(Duration::from_secs(21)).await;
    assert!(targets.get("db-tcp").runs.load(Ordering::SeqCst) >= before + 2);
    assert_eq!(
        targets.get("db-tcp").max_in_flight.load(Ordering::SeqCst),
        1
    );
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn metrics_expose_probe_counts_lag_and_check_states() {
    let targets = Arc::new(Targets::default());
    let engine = engine(SHOP, &targets, 16);
    let handle = engine.handle();
    advance(Duration::from_secs(25)).await;
    let text = handle.metrics_text();
    let probes = handle.metrics().probes_total();
    assert_eq!(probes as usize, targets.global.runs.load(Ordering::SeqCst));
    assert!(probes >= 4, "{probes}");
    assert!(
        text.contains("continuo_check_up{check=\"db-tcp\",service=\"db\",kind=\"tcp\"} 1"),
        "{text}"
    );
    assert!(text.contains("continuo_checks{status=\"up\"} 2"), "{text}");
    assert!(
        text.contains(&format!(
            "continuo_probes_total{{kind=\"tcp\",verdict=\"success\"}} {}",
            targets.get("db-tcp").runs.load(Ordering::SeqCst)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("continuo_scheduler_lag_seconds_count {probes}")),
        "{text}"
    );
    engine.shutdown().await;
}

/// After a restart the engine resumes from saved states: a check that was down is down
/// from the start (no alert is lost or repeated), and recovers after its recovery
/// threshold as before.
#[tokio::test(start_paused = true)]
async fn saved_states_are_resumed_after_a_restart() {
    let targets = Arc::new(Targets::default());
    targets.get("db-tcp").down.store(true, Ordering::SeqCst);
    let mut options = EngineOptions::new("ams-1", ".");
    options.clock = Clock::starting_at(start_ms());
    options.probes = Arc::new(Factory(targets.clone()));
    let saved = continuo_core::state::CheckState {
        status: CheckStatus::Down,
        since_ms: Some(start_ms() - 3_600_000),
        failures: 7,
        ..Default::default()
    };
    options.resume.insert("db-tcp".into(), saved);
    let engine = Engine::start(catalog(SHOP), options, None);
    let handle = engine.handle();
    advance(Duration::from_millis(300)).await;
    let view = handle.check("db-tcp").expect("check");
    assert_eq!(view.status, CheckStatus::Down, "down before any probe ran");
    assert_eq!(view.since_ms, Some(start_ms() - 3_600_000));
    let db = handle
        .services()
        .into_iter()
        .find(|s| s.id == "db")
        .expect("db");
    assert_eq!(db.health.health, continuo_core::state::Health::Down);
    // The target comes back: up after the recovery threshold (2 runs, 10 s apart).
    targets.get("db-tcp").down.store(false, Ordering::SeqCst);
    advance(Duration::from_secs(25)).await;
    assert_eq!(status(&handle, "db-tcp"), CheckStatus::Up);
    engine.shutdown().await;
}
