//! Scenario 1: Continuo's HTTP probe (`continuo-probe`, a fresh connection per probe)
//! against the local target, a fixed number of probes with bounded concurrency; probes
//! per second and CPU seconds of this process per 1,000 probes.

use crate::load::{Outcome, Work};
use crate::sys::{Context, Result, cpu_seconds};
use continuo_core::state::Verdict;
use continuo_probe::{Probe, ProbeContext};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a probe run measured.
#[derive(Clone, Debug)]
pub struct ProbeRun {
    /// Probes, failures and wall time.
    pub outcome: Outcome,
    /// CPU seconds of the prober over the run.
    pub cpu_seconds: f64,
}

impl ProbeRun {
    /// CPU seconds per 1,000 probes.
    pub fn cpu_per_1000(&self) -> f64 {
        self.cpu_seconds * 1000.0 / self.outcome.count.max(1) as f64
    }
}

/// How long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the real HTTP probe for `url` the way `continuo serve` does: from a check in a
/// catalog, through `continuo_probe::build`.
pub fn http_probe(url: &str) -> Result<Probe> {
    let text = format!(
        "[[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"target\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n\
         [[service.check]]\nid = \"target-http\"\nkind = \"http\"\nurl = \"{url}\"\ninterval = \"10s\"\ntimeout = \"5s\"\n"
    );
    let catalog =
        continuo_core::load_text(&text).map_err(|e| format!("the probe's check: {e:?}"))?;
    let check = catalog
        .services
        .first()
        .and_then(|s| s.checks.first())
        .ok_or("the probe's catalog has no check")?;
    continuo_probe::build(check, &ProbeContext::new("."))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "an HTTP check built no probe".to_string())
}

async fn probe_many(probe: &Probe, count: usize, concurrency: usize) -> Result<Outcome> {
    let work = Arc::new(Work::new(count));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let work = work.clone();
        let probe = probe.clone();
        workers.push(tokio::spawn(async move {
            while work.take().is_some() {
                let m = probe.run(PROBE_TIMEOUT).await;
                if m.verdict != Verdict::Success {
                    work.fail(format!("{}: {}", m.verdict.name(), m.message));
                }
            }
        }));
    }
    for worker in workers {
        worker.await.context("a probe worker panicked")?;
    }
    Ok(work.outcome(started.elapsed()))
}

/// Runs `count` probes of `url` with `concurrency` in flight, after a short warm-up.
pub async fn run(url: &str, count: usize, concurrency: usize, ticks: f64) -> Result<ProbeRun> {
    let probe = http_probe(url)?;
    probe_many(&probe, (count / 20).clamp(50, 1_000), concurrency)
        .await?
        .require_all_succeeded("Continuo warm-up probes")?;
    let cpu_before = cpu_seconds(None, ticks)?;
    let outcome = probe_many(&probe, count, concurrency).await?;
    let cpu_after = cpu_seconds(None, ticks)?;
    outcome.require_all_succeeded("Continuo HTTP probes")?;
    Ok(ProbeRun {
        outcome,
        cpu_seconds: cpu_after - cpu_before,
    })
}
