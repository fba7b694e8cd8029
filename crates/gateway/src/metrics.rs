//! Prometheus metrics of every gateway in the process, with prometheus-client: failovers
//! and their duration, the requests failed and retried (in total and during failovers),
//! endpoint health and the tier that serves.
//!
//! prometheus-client writes OpenMetrics; `/metrics` serves the classic text format
//! (0.0.4) that the rest of Continuo writes, so [`GatewayMetrics::text`] renames counter
//! families to their `_total` sample name and drops the `# EOF` marker.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Labels of per-gateway series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct GatewayLabel {
    pub gateway: String,
}

/// Labels of per-endpoint series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndpointLabel {
    pub gateway: String,
    pub endpoint: String,
    pub role: String,
}

type HistogramFamily = Family<GatewayLabel, Histogram, fn() -> Histogram>;

fn failover_histogram() -> Histogram {
    Histogram::new([
        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    ])
}

/// The metrics of all gateways of one process.
#[derive(Debug)]
pub struct GatewayMetrics {
    registry: Registry,
    pub(crate) requests: Family<GatewayLabel, Counter>,
    pub(crate) failed: Family<GatewayLabel, Counter>,
    pub(crate) retried: Family<GatewayLabel, Counter>,
    pub(crate) failovers: Family<GatewayLabel, Counter>,
    pub(crate) failbacks: Family<GatewayLabel, Counter>,
    pub(crate) failover_duration: HistogramFamily,
    pub(crate) failover_failed: Family<GatewayLabel, Counter>,
    pub(crate) failover_retried: Family<GatewayLabel, Counter>,
    pub(crate) last_failover_seconds: Family<GatewayLabel, Gauge<f64, AtomicU64>>,
    pub(crate) last_failover_failed: Family<GatewayLabel, Gauge>,
    pub(crate) serving_backup: Family<GatewayLabel, Gauge>,
    pub(crate) endpoint_up: Family<EndpointLabel, Gauge>,
    pub(crate) endpoint_drained: Family<EndpointLabel, Gauge>,
    pub(crate) actions_failed: Family<GatewayLabel, Counter>,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        GatewayMetrics::new()
    }
}

impl GatewayMetrics {
    /// Registers every family.
    pub fn new() -> GatewayMetrics {
        let mut registry = Registry::default();
        let m = GatewayMetrics {
            requests: Family::default(),
            failed: Family::default(),
            retried: Family::default(),
            failovers: Family::default(),
            failbacks: Family::default(),
            failover_duration: Family::new_with_constructor(failover_histogram),
            failover_failed: Family::default(),
            failover_retried: Family::default(),
            last_failover_seconds: Family::default(),
            last_failover_failed: Family::default(),
            serving_backup: Family::default(),
            endpoint_up: Family::default(),
            endpoint_drained: Family::default(),
            actions_failed: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "continuo_gateway_requests",
            "Client requests (HTTP) or connections (TCP) handled",
            m.requests.clone(),
        );
        registry.register(
            "continuo_gateway_requests_failed",
            "Client requests that got an error or a 5xx answer",
            m.failed.clone(),
        );
        registry.register(
            "continuo_gateway_requests_retried",
            "Client requests tried on more than one endpoint",
            m.retried.clone(),
        );
        registry.register(
            "continuo_gateway_failovers",
            "Failovers from the primary to the backup tier",
            m.failovers.clone(),
        );
        registry.register(
            "continuo_gateway_failbacks",
            "Returns from the backup to the primary tier",
            m.failbacks.clone(),
        );
        registry.register(
            "continuo_gateway_failover_duration_seconds",
            "From the first failure to the first success on a backup",
            m.failover_duration.clone(),
        );
        registry.register(
            "continuo_gateway_failover_requests_failed",
            "Client requests that failed during failovers",
            m.failover_failed.clone(),
        );
        registry.register(
            "continuo_gateway_failover_requests_retried",
            "Client requests retried during failovers",
            m.failover_retried.clone(),
        );
        registry.register(
            "continuo_gateway_last_failover_duration_seconds",
            "Duration of the last finished failover",
            m.last_failover_seconds.clone(),
        );
        registry.register(
            "continuo_gateway_last_failover_requests_failed",
            "Client requests that failed during the last finished failover",
            m.last_failover_failed.clone(),
        );
        registry.register(
            "continuo_gateway_serving_backup",
            "1 while the backup tier serves",
            m.serving_backup.clone(),
        );
        registry.register(
            "continuo_gateway_endpoint_up",
            "1 while the endpoint is healthy (not ejected)",
            m.endpoint_up.clone(),
        );
        registry.register(
            "continuo_gateway_endpoint_drained",
            "1 while an operator has drained the endpoint",
            m.endpoint_drained.clone(),
        );
        registry.register(
            "continuo_gateway_actions_failed",
            "Failover actions that failed",
            m.actions_failed.clone(),
        );
        GatewayMetrics { registry, ..m }
    }

    /// The metrics in the Prometheus text format (0.0.4), ready to append to `/metrics`.
    pub fn text(&self) -> String {
        let mut open = String::new();
        if prometheus_client::encoding::text::encode(&mut open, &self.registry).is_err() {
            return String::new();
        }
        let counters: Vec<String> = open
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.strip_suffix(" counter"))
            .map(str::to_string)
            .collect();
        let mut out = String::with_capacity(open.len());
        for line in open.lines() {
            if line == "# EOF" {
                continue;
            }
            let renamed = ["# TYPE ", "# HELP ", "# UNIT "].iter().find_map(|prefix| {
                let rest = line.strip_prefix(prefix)?;
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                counters
                    .iter()
                    .any(|c| c == name)
                    .then(|| format!("{prefix}{name}_total {tail}"))
            });
            if line.starts_with("# UNIT ") {
                continue;
            }
            out.push_str(renamed.as_deref().unwrap_or(line));
            out.push('\n');
        }
        out
    }
}
