//! Prometheus metrics in the classic text exposition format (version 0.0.4), written by
//! hand: a few lock-free counters and histograms, and gauges computed at scrape time.

use continuo_core::model::CheckKind;
use continuo_core::state::Verdict;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram with fixed bucket bounds (in seconds), recorded in microseconds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    /// Records one value in microseconds.
    pub fn observe_us(&self, us: u64) {
        let seconds = us as f64 / 1e6;
        if let Some(i) = self.bounds.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The smallest bucket bound below which at least `q` of the observations fall, in
    /// seconds (`None` without observations; infinity past the last bound).
    pub fn quantile_upper_bound(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let wanted = (q * count as f64).ceil() as u64;
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            if seen >= wanted {
                return Some(self.bounds[i]);
            }
        }
        Some(f64::INFINITY)
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

const PROBE_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const LAG_BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Heartbeat ping kinds counted in metrics.
pub const PING_KINDS: [&str; 5] = ["success", "start", "fail", "log", "unknown_uuid"];

fn verdict_index(v: Verdict) -> usize {
    Verdict::ALL.iter().position(|x| *x == v).unwrap_or(3)
}

fn kind_index(kind: CheckKind) -> usize {
    CheckKind::ALL
        .iter()
        .position(|(_, k)| *k == kind)
        .unwrap_or(0)
}

/// The engine's counters and histograms.
#[derive(Debug)]
pub struct Metrics {
    probe_duration: Vec<Histogram>,
    probes: Vec<[AtomicU64; 4]>,
    /// How late probes start relative to their schedule.
    pub scheduler_lag: Histogram,
    pings: [AtomicU64; 5],
    in_flight: AtomicU64,
    reloads: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            probe_duration: CheckKind::ALL
                .iter()
                .map(|_| Histogram::new(PROBE_BOUNDS))
                .collect(),
            probes: CheckKind::ALL.iter().map(|_| Default::default()).collect(),
            scheduler_lag: Histogram::new(LAG_BOUNDS),
            pings: Default::default(),
            in_flight: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    pub(crate) fn probe_done(&self, kind: CheckKind, verdict: Verdict, total_us: u64) {
        let k = kind_index(kind);
        self.probe_duration[k].observe_us(total_us);
        self.probes[k][verdict_index(verdict)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn ping(&self, kind: &str) {
        if let Some(i) = PING_KINDS.iter().position(|k| *k == kind) {
            self.pings[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn in_flight(&self, delta: i64) {
        if delta >= 0 {
            self.in_flight.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            self.in_flight.fetch_sub((-delta) as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn reloaded(&self) {
        self.reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// Probes run so far, over every kind and verdict.
    pub fn probes_total(&self) -> u64 {
        self.probes
            .iter()
            .flat_map(|k| k.iter())
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Heartbeat pings accepted so far (every kind but unknown uuids).
    pub fn pings_total(&self) -> u64 {
        self.pings[..4]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Writes the counters and histograms.
    pub(crate) fn write(&self, out: &mut String) {
        out.push_str("# HELP continuo_probe_duration_seconds Duration of active probes.\n");
        out.push_str("# TYPE continuo_probe_duration_seconds histogram\n");
        for ((name, _), h) in CheckKind::ALL.iter().zip(&self.probe_duration) {
            h.write(
                out,
                "continuo_probe_duration_seconds",
                &format!("kind=\"{name}\""),
            );
        }
        out.push_str("# HELP continuo_probes_total Active probes run, by kind and verdict.\n");
        out.push_str("# TYPE continuo_probes_total counter\n");
        for ((name, _), counts) in CheckKind::ALL.iter().zip(&self.probes) {
            for (v, c) in Verdict::ALL.iter().zip(counts) {
                let _ = writeln!(
                    out,
                    "continuo_probes_total{{kind=\"{name}\",verdict=\"{}\"}} {}",
                    v.name(),
                    c.load(Ordering::Relaxed)
                );
            }
        }
        out.push_str("# HELP continuo_scheduler_lag_seconds How late probes start after their scheduled time.\n");
        out.push_str("# TYPE continuo_scheduler_lag_seconds histogram\n");
        self.scheduler_lag
            .write(out, "continuo_scheduler_lag_seconds", "");
        out.push_str("# HELP continuo_probes_in_flight Probes running now.\n");
        out.push_str("# TYPE continuo_probes_in_flight gauge\n");
        let _ = writeln!(
            out,
            "continuo_probes_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str("# HELP continuo_heartbeat_pings_total Heartbeat pings received, by kind.\n");
        out.push_str("# TYPE continuo_heartbeat_pings_total counter\n");
        for (kind, c) in PING_KINDS.iter().zip(&self.pings) {
            let _ = writeln!(
                out,
                "continuo_heartbeat_pings_total{{kind=\"{kind}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP continuo_config_reloads_total Configuration reloads applied.\n");
        out.push_str("# TYPE continuo_config_reloads_total counter\n");
        let _ = writeln!(
            out,
            "continuo_config_reloads_total {}",
            self.reloads.load(Ordering::Relaxed)
        );
    }
}

/// Escapes a label value for the text format.
pub(crate) fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
