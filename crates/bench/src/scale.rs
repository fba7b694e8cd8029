//! Scenario 3: the scheduler at scale. Each size runs in a child process of its own
//! (`continuo-bench scale-child`), so its resident memory is the engine's and nothing
//! else's: it loads a generated catalog of TCP checks (60 s interval) through
//! `continuo_core::load_text`, starts `continuo_engine::Engine` with the real probes and a
//! SQLite store writer in a temporary directory (as `continuo serve` does), lets it run
//! long enough for every check to run at least once, then reports the engine's scheduler
//! lag histogram and `VmRSS`/`VmHWM`.

use crate::sys::{ChildGuard, Context, Result, cpu_seconds, memory_kib, runtime};
use continuo_engine::{Engine, EngineOptions};
use continuo_store::Store;
use continuo_store::writer::{Writer, WriterConfig};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Checks per generated service.
const CHECKS_PER_SERVICE: usize = 100;

/// The checks' interval.
const INTERVAL_SECONDS: u64 = 60;

/// Candidate bucket bounds (seconds): the engine's lag buckets (`LAG_BOUNDS` in
/// `crates/engine/src/metrics.rs`). Should they change, counts are still right for
/// every candidate, only coarser.
const LAG_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Cumulative counts of the engine's lag histogram at [`LAG_BOUNDS`], so that two
/// readings give the distribution between them. The histogram only answers "count" and
/// "the bucket bound of quantile q", so each cumulative count is recovered by a binary
/// search: the largest k whose quantile k/count still falls at or below the bound. It
/// reads atomics only, never the engine's lock, so reading it does not disturb the
/// scheduler being measured.
struct LagCounts {
    count: u64,
    at_or_below: Vec<u64>,
}

impl LagCounts {
    fn read(histogram: &continuo_engine::Histogram) -> LagCounts {
        let count = histogram.count();
        let at_or_below = LAG_BOUNDS
            .iter()
            .map(|bound| {
                let (mut low, mut high) = (0, count);
                while low < high {
                    let middle = (low + high).div_ceil(2);
                    // Half a step below k, so rounding cannot make the histogram look
                    // for observation k + 1.
                    let q = (middle as f64 - 0.5) / count as f64;
                    let q = histogram.quantile_upper_bound(q);
                    if q.is_some_and(|q| q <= *bound) {
                        low = middle;
                    } else {
                        high = middle - 1;
                    }
                }
                low
            })
            .collect();
        LagCounts { count, at_or_below }
    }

    fn since(&self, earlier: &LagCounts) -> LagCounts {
        LagCounts {
            count: self.count.saturating_sub(earlier.count),
            at_or_below: self
                .at_or_below
                .iter()
                .zip(&earlier.at_or_below)
                .map(|(now, then)| now.saturating_sub(*then))
                .collect(),
        }
    }

    /// The bucket bound of quantile `q`; infinite past the last bound.
    fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let wanted = (q * self.count as f64).ceil() as u64;
        Some(
            LAG_BOUNDS
                .iter()
                .zip(&self.at_or_below)
                .find(|(_, n)| **n >= wanted)
                .map_or(f64::INFINITY, |(bound, _)| *bound),
        )
    }
}

/// What one scale run measured (the child's report, one JSON line).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScaleRun {
    /// Configured checks.
    pub checks: usize,
    /// How long the engine ran, in seconds.
    pub seconds: f64,
    /// Seconds to parse and validate the catalog.
    pub load_seconds: f64,
    /// `VmRSS` after loading the catalog, before the engine started (KiB).
    pub rss_loaded_kib: u64,
    /// `VmRSS` at the end of the run (KiB).
    pub rss_kib: u64,
    /// `VmHWM`, the peak resident set, including loading (KiB).
    pub hwm_kib: u64,
    /// Scheduler lag p50, upper bound of its histogram bucket (seconds).
    pub lag_p50: Option<f64>,
    /// Scheduler lag p99, upper bound of its histogram bucket (seconds).
    pub lag_p99: Option<f64>,
    /// Probe starts the lag histogram saw.
    pub lag_count: u64,
    /// Scheduler lag p99 after the first interval (warm-up) to the end, bucket bound.
    pub steady_lag_p99: Option<f64>,
    /// Probe starts after the first interval.
    pub steady_lag_count: u64,
    /// Probe runs completed.
    pub probes: u64,
    /// Checks that have an observation at the end.
    pub checks_run: usize,
    /// Checks up at the end.
    pub checks_up: usize,
    /// CPU seconds of the process while the engine ran.
    pub cpu_seconds: f64,
    /// Records the store writer wrote.
    pub written: u64,
    /// Records the store writer dropped.
    pub dropped: u64,
    /// Whether a SQLite store writer ran.
    pub with_store: bool,
}

/// A catalog of `checks` TCP checks spread over services of 100, their targets taken in
/// turn from `targets`.
pub fn catalog_text(checks: usize, targets: &[String]) -> String {
    let mut text = String::with_capacity(checks * 160);
    text.push_str("[[team]]\nid = \"ops\"\n");
    for i in 0..checks {
        if i % CHECKS_PER_SERVICE == 0 {
            let _ = write!(
                text,
                "\n[[service]]\nid = \"s{}\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n",
                i / CHECKS_PER_SERVICE
            );
        }
        let target = &targets[i % targets.len().max(1)];
        let _ = write!(
            text,
            "[[service.check]]\nid = \"c{i}\"\nkind = \"tcp\"\ntarget = \"{target}\"\ninterval = \"{INTERVAL_SECONDS}s\"\ntimeout = \"5s\"\n"
        );
    }
    text
}

/// Past the histogram's last bucket the bound is infinite, which JSON cannot carry.
fn finite(seconds: f64) -> f64 {
    if seconds.is_finite() {
        seconds
    } else {
        f64::MAX
    }
}

/// Runs one size in a child process and reads its report.
pub fn run(checks: usize, seconds: u64, targets: &[String], with_store: bool) -> Result<ScaleRun> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut command = Command::new(exe);
    command.arg("scale-child");
    if !with_store {
        command.arg("--without-store");
    }
    let mut process = ChildGuard::spawn(
        "the scale child",
        command
            .arg("--checks")
            .arg(checks.to_string())
            .arg("--seconds")
            .arg(seconds.to_string())
            .arg("--targets")
            .arg(targets.join(","))
            .stdin(Stdio::null())
            .stdout(Stdio::piped()),
    )?;
    let mut output = String::new();
    if let Some(stdout) = process.child.stdout.as_mut() {
        stdout
            .read_to_string(&mut output)
            .context("reading the scale child's report")?;
    }
    let status = process
        .child
        .wait()
        .context("waiting for the scale child")?;
    if !status.success() {
        return Err(format!(
            "the scale child for {checks} checks failed ({status})"
        ));
    }
    let line = output.lines().last().unwrap_or_default();
    serde_json::from_str(line).context(format!("the scale child's report `{line}`"))
}

/// The `scale-child` subcommand: prints one [`ScaleRun`] as JSON.
pub fn child(checks: usize, seconds: u64, targets: &[String], with_store: bool) -> Result<()> {
    if targets.is_empty() {
        return Err("scale-child needs --targets".into());
    }
    let ticks = crate::sys::clock_ticks();
    let load_started = Instant::now();
    let text = catalog_text(checks, targets);
    let catalog = continuo_core::load_text(&text).map_err(|e| {
        let first: Vec<String> = e.into_iter().take(3).collect();
        format!("the generated catalog is invalid: {}", first.join("; "))
    })?;
    drop(text);
    let load_seconds = load_started.elapsed().as_secs_f64();
    let rt = runtime()?;
    let run = rt.block_on(async {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let store = if with_store {
            let url = format!("sqlite://{}", dir.path().join("continuo.db").display());
            Some(
                Store::open(&url)
                    .await
                    .context("opening the SQLite store")?,
            )
        } else {
            None
        };
        let writer = store
            .as_ref()
            .map(|s| Writer::spawn(s.clone(), WriterConfig::default()));
        let mut options = EngineOptions::new(catalog.server.location.clone(), ".");
        options.max_concurrency = catalog.server.max_concurrent_probes as usize;
        let rss_loaded_kib = memory_kib()?.0;
        let cpu_before = cpu_seconds(None, ticks)?;
        let started = Instant::now();
        let engine = Engine::start(Arc::new(catalog), options, writer);
        let handle = engine.handle();
        // The first interval is the warm-up: every check runs for the first time and
        // changes from unknown. The lag after it, up to the end, is reported apart.
        let warm_up = Duration::from_secs(INTERVAL_SECONDS + 5);
        let total = Duration::from_secs(seconds);
        let steady_from = if total > warm_up {
            tokio::time::sleep(warm_up).await;
            Some(LagCounts::read(&handle.metrics().scheduler_lag))
        } else {
            None
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(started) + total).await;
        let elapsed = started.elapsed().as_secs_f64();
        let steady =
            steady_from.map(|from| LagCounts::read(&handle.metrics().scheduler_lag).since(&from));
        let cpu_after = cpu_seconds(None, ticks)?;
        // Memory first: reading every check's view below allocates.
        let (rss_kib, hwm_kib) = memory_kib()?;
        let metrics = handle.metrics();
        let lag = &metrics.scheduler_lag;
        let views = handle.checks();
        let status = handle.writer().map(|w| w.status().clone());
        let run = ScaleRun {
            checks,
            seconds: elapsed,
            load_seconds,
            rss_loaded_kib,
            rss_kib,
            hwm_kib,
            lag_p50: lag.quantile_upper_bound(0.50).map(finite),
            lag_p99: lag.quantile_upper_bound(0.99).map(finite),
            lag_count: lag.count(),
            steady_lag_p99: steady.as_ref().and_then(|c| c.quantile(0.99)).map(finite),
            steady_lag_count: steady.as_ref().map_or(0, |c| c.count),
            probes: metrics.probes_total(),
            checks_run: views.iter().filter(|v| v.last.is_some()).count(),
            checks_up: views.iter().filter(|v| v.status.name() == "up").count(),
            cpu_seconds: cpu_after - cpu_before,
            written: status.as_ref().map_or(0, |s| s.written()),
            dropped: status.as_ref().map_or(0, |s| s.dropped()),
            with_store,
        };
        drop(views);
        engine.shutdown().await;
        if let Some(store) = store {
            store.close().await;
        }
        Ok::<ScaleRun, String>(run)
    })?;
    println!(
        "{}",
        serde_json::to_string(&run).context("encoding the report")?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::LagCounts;

    #[test]
    fn lag_counts_recover_the_histogram_and_the_part_between_two_readings() {
        let metrics = continuo_engine::Metrics::default();
        let lag = &metrics.scheduler_lag;
        for us in [100, 100, 700, 3_000, 40_000] {
            lag.observe_us(us);
        }
        let first = LagCounts::read(lag);
        assert_eq!(first.count, 5);
        assert_eq!(first.at_or_below, [2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5]);
        assert_eq!(first.quantile(0.5), Some(0.001));
        assert_eq!(first.quantile(0.99), Some(0.05));

        for us in [300, 200_000] {
            lag.observe_us(us);
        }
        let between = LagCounts::read(lag).since(&first);
        assert_eq!(between.count, 2);
        assert_eq!(between.at_or_below, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(between.quantile(0.99), Some(0.25));
        assert_eq!(
            LagCounts::read(lag)
                .since(&LagCounts::read(lag))
                .quantile(0.99),
            None
        );
    }
}
