//! The engine's Prometheus metrics, encoded by prometheus-client: lock-free counters and
//! histograms kept by the engine, and gauges computed at scrape time from its tables
//! and the store writer.
//!
//! `/metrics` is one [`Registry`]: the engine registers its collector
//! ([`crate::EngineHandle::register_metrics`]), the gateways register theirs, and
//! [`text`] encodes them together in the Prometheus text format (version 0.0.4).
//! Counter families are named without `_total`: the encoder adds the suffix (a name
//! ending in `_total` would get it twice).
//!
//! **Invariant:** metric names, types, labels and help texts are what dashboards know;
//! change them only as a breaking change.

use continuo_core::catalog::CheckKind;
use continuo_core::state::{CheckStatus, Health, Verdict};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
pub use prometheus_client::registry::Registry;

/// Encodes `registry` in the Prometheus text format (version 0.0.4). Encoding into a
/// `String` cannot fail; a collector that did would leave what was written before it.
pub fn text(registry: &Registry) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

/// A histogram with fixed bucket bounds (in seconds), recorded in microseconds.
/// Lock-free, and readable (count, quantile bounds) by the benchmark, which
/// prometheus-client's histogram is not.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    /// The sum of the values recorded, in microseconds.
    pub fn sum_us(&self) -> u64 {
        self.sum_us.load(Ordering::Relaxed)
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
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // Per-bucket counts (the encoder makes them cumulative), then +Inf for the rest.
        let mut buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .zip(&self.buckets)
            .map(|(bound, n)| (*bound, n.load(Ordering::Relaxed)))
            .collect();
        let count = self.count();
        let in_bounds: u64 = buckets.iter().map(|(_, n)| n).sum();
        buckets.push((f64::INFINITY, count.saturating_sub(in_bounds)));
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

const PROBE_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets of an alerting decision's time and of its commit.
pub(crate) const DECISION_BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// How long alerting decisions take: the decision on the books with every stage after
/// it (in memory), and the commit of what it changed to the store.
#[derive(Debug)]
pub struct DecisionTimes {
    /// The decision and its stages.
    pub decide: Histogram,
    /// The commit (only decisions that changed something commit).
    pub commit: Histogram,
}

impl Default for DecisionTimes {
    fn default() -> Self {
        DecisionTimes {
            decide: Histogram::new(DECISION_BOUNDS),
            commit: Histogram::new(DECISION_BOUNDS),
        }
    }
}

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

    /// Encodes the counters and histograms.
    fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "continuo_probe_duration_seconds",
            "Duration of active probes.",
            None,
            MetricType::Histogram,
        )?;
        for ((name, _), histogram) in CheckKind::ALL.iter().zip(&self.probe_duration) {
            histogram.encode(family.encode_family(&[("kind", *name)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "continuo_probes",
            "Active probes run, by kind and verdict.",
            None,
            MetricType::Counter,
        )?;
        for ((name, _), counts) in CheckKind::ALL.iter().zip(&self.probes) {
            for (verdict, n) in Verdict::ALL.iter().zip(counts) {
                family
                    .encode_family(&[("kind", *name), ("verdict", verdict.name())])?
                    .encode_counter::<NoLabelSet, _, u64>(&n.load(Ordering::Relaxed), None)?;
            }
        }
        self.scheduler_lag.encode(encoder.encode_descriptor(
            "continuo_scheduler_lag_seconds",
            "How late probes start after their scheduled time.",
            None,
            MetricType::Histogram,
        )?)?;
        encoder
            .encode_descriptor(
                "continuo_probes_in_flight",
                "Probes running now.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&self.in_flight.load(Ordering::Relaxed))?;
        let mut family = encoder.encode_descriptor(
            "continuo_heartbeat_pings",
            "Heartbeat pings received, by kind.",
            None,
            MetricType::Counter,
        )?;
        for (kind, n) in PING_KINDS.iter().zip(&self.pings) {
            family
                .encode_family(&[("kind", *kind)])?
                .encode_counter::<NoLabelSet, _, u64>(&n.load(Ordering::Relaxed), None)?;
        }
        encoder
            .encode_descriptor(
                "continuo_config_reloads",
                "Configuration reloads applied.",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&self.reloads.load(Ordering::Relaxed), None)
    }
}

/// The time the store writer spent writing batches: a sum and a count, which is what
/// dashboards divide. (A histogram with only the `+Inf` bucket: prometheus-client has
/// no summary type.)
#[derive(Debug)]
struct WriteTime {
    batches: u64,
    micros: u64,
}

impl EncodeMetric for WriteTime {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let sum = self.micros as f64 / 1e6;
        let buckets = [(f64::INFINITY, self.batches)];
        encoder.encode_histogram::<NoLabelSet>(sum, self.batches, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Everything the engine knows, read at each scrape: its counters, the checks' states
/// and the store writer's health.
#[derive(Clone)]
pub(crate) struct EngineCollector(pub(crate) Arc<crate::Shared>);

impl std::fmt::Debug for EngineCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineCollector")
    }
}

impl EngineCollector {
    fn encode_checks(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let tables = crate::read(&self.0);
        let mut counts: BTreeMap<&'static str, u64> = [
            CheckStatus::Unknown,
            CheckStatus::Up,
            CheckStatus::Degraded,
            CheckStatus::Down,
            CheckStatus::Paused,
        ]
        .iter()
        .map(|s| (s.name(), 0))
        .collect();
        let mut family = encoder.encode_descriptor(
            "continuo_check_up",
            "Whether a check is up (1), degraded (0.5), down (0); absent while unknown or paused.",
            None,
            MetricType::Gauge,
        )?;
        for slot in tables.slots.iter().flatten() {
            *counts.entry(slot.status.name()).or_default() += 1;
            let labels = [
                ("check", slot.check.id.value.as_str()),
                ("service", &*slot.service),
                ("kind", slot.check.kind().name()),
            ];
            // Whole numbers stay whole (`1`, not `1.0`), as dashboards have seen them.
            match slot.status {
                CheckStatus::Up => family.encode_family(&labels)?.encode_gauge(&1i64)?,
                CheckStatus::Degraded => family.encode_family(&labels)?.encode_gauge(&0.5f64)?,
                CheckStatus::Down => family.encode_family(&labels)?.encode_gauge(&0i64)?,
                _ => {}
            }
        }
        drop(tables);
        let mut family = encoder.encode_descriptor(
            "continuo_checks",
            "Checks by status.",
            None,
            MetricType::Gauge,
        )?;
        for (status, n) in &counts {
            family
                .encode_family(&[("status", *status)])?
                .encode_gauge(n)?;
        }
        Ok(())
    }

    /// One series per service and health, 1 for the service's health now and 0 for the
    /// others (a state set, as `kube_pod_status_phase` does): every series exists
    /// from the first scrape, so a change of health is a change of value, not a series
    /// that appears and one that goes stale, and `sum by (health)` counts services.
    /// Services the engine has not judged yet read `unknown`.
    fn encode_services(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let tables = crate::read(&self.0);
        let mut family = encoder.encode_descriptor(
            "continuo_service_health",
            "A service's health: 1 for the current one, 0 for the others.",
            None,
            MetricType::Gauge,
        )?;
        for service in &tables.catalog.services {
            let id = service.id.value.as_str();
            let now = tables.health.get(id).map_or(Health::Unknown, |h| h.health);
            for health in Health::ALL {
                family
                    .encode_family(&[("service", id), ("health", health.name())])?
                    .encode_gauge(&i64::from(health == now))?;
            }
        }
        Ok(())
    }

    fn encode_store(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(writer) = &self.0.writer else {
            return Ok(());
        };
        let status = writer.status();
        let (batches, micros) = status.batch_timing();
        encoder
            .encode_descriptor(
                "continuo_store_healthy",
                "Whether the last store write succeeded.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&i64::from(status.healthy()))?;
        encoder
            .encode_descriptor(
                "continuo_store_pending_records",
                "Records waiting to be written.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&status.pending())?;
        encoder
            .encode_descriptor(
                "continuo_store_written_records",
                "Records written.",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&status.written(), None)?;
        encoder
            .encode_descriptor(
                "continuo_store_dropped_records",
                "Records dropped because the buffer was full.",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&status.dropped(), None)?;
        encoder
            .encode_descriptor(
                "continuo_store_write_errors",
                "Store write attempts refused (disk full, I/O error, locked, unreachable).",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&status.write_errors(), None)?;
        encoder
            .encode_descriptor(
                "continuo_store_failing_seconds",
                "How long store writes have failed without a success; 0 while they succeed.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&status.failing_for().map_or(0, |d| d.as_secs()))?;
        encoder
            .encode_descriptor(
                "continuo_store_writer_restarts",
                "Times the store writer task panicked and was restarted.",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&status.restarts(), None)?;
        WriteTime { batches, micros }.encode(encoder.encode_descriptor(
            "continuo_store_write_seconds",
            "Time spent writing batches to the store.",
            None,
            MetricType::Histogram,
        )?)
    }
}

impl Collector for EngineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.0.metrics.encode(&mut encoder)?;
        self.encode_checks(&mut encoder)?;
        self.encode_services(&mut encoder)?;
        self.encode_store(&mut encoder)
    }
}
