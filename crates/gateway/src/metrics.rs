//! Prometheus metrics of every gateway in the process, with prometheus-client: failovers
//! and their duration, the requests failed and retried (in total and during failovers),
//! endpoint health and the tier that serves.
//!
//! [`GatewayMetrics`] is a prometheus-client [`Collector`]: `/metrics` registers it in
//! the one registry it encodes (with the engine's), so both are written by one encoder
//! (`continuo_engine::metrics::text`). Counter families are named without `_total`;
//! the encoder adds it.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
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

/// The metrics of all gateways of one process. Cloning shares the series.
#[derive(Clone, Debug)]
pub struct GatewayMetrics {
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
    /// Empty families, ready to count.
    pub fn new() -> GatewayMetrics {
        GatewayMetrics {
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
        }
    }

    /// Every family with its name and help text (the names and texts dashboards know;
    /// the full stop is part of the help, as prometheus-client's registry would add it).
    fn families(&self) -> [(&'static str, &'static str, &dyn EncodeMetric); 14] {
        [
            (
                "continuo_gateway_requests",
                "Client requests (HTTP) or connections (TCP) handled.",
                &self.requests,
            ),
            (
                "continuo_gateway_requests_failed",
                "Client requests that got an error or a 5xx answer.",
                &self.failed,
            ),
            (
                "continuo_gateway_requests_retried",
                "Client requests tried on more than one endpoint.",
                &self.retried,
            ),
            (
                "continuo_gateway_failovers",
                "Failovers from the primary to the backup tier.",
                &self.failovers,
            ),
            (
                "continuo_gateway_failbacks",
                "Returns from the backup to the primary tier.",
                &self.failbacks,
            ),
            (
                "continuo_gateway_failover_duration_seconds",
                "From the first failure to the first success on a backup.",
                &self.failover_duration,
            ),
            (
                "continuo_gateway_failover_requests_failed",
                "Client requests that failed during failovers.",
                &self.failover_failed,
            ),
            (
                "continuo_gateway_failover_requests_retried",
                "Client requests retried during failovers.",
                &self.failover_retried,
            ),
            (
                "continuo_gateway_last_failover_duration_seconds",
                "Duration of the last finished failover.",
                &self.last_failover_seconds,
            ),
            (
                "continuo_gateway_last_failover_requests_failed",
                "Client requests that failed during the last finished failover.",
                &self.last_failover_failed,
            ),
            (
                "continuo_gateway_serving_backup",
                "1 while the backup tier serves.",
                &self.serving_backup,
            ),
            (
                "continuo_gateway_endpoint_up",
                "1 while the endpoint is healthy (not ejected).",
                &self.endpoint_up,
            ),
            (
                "continuo_gateway_endpoint_drained",
                "1 while an operator has drained the endpoint.",
                &self.endpoint_drained,
            ),
            (
                "continuo_gateway_actions_failed",
                "Failover actions that failed.",
                &self.actions_failed,
            ),
        ]
    }

    /// These metrics alone in the Prometheus text format (0.0.4), with the encoder
    /// `/metrics` uses: what the gateway's own tests read. `/metrics` registers them
    /// with the engine's instead (see the module).
    pub fn text(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut out = String::new();
        match prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
            Ok(()) => out,
            Err(_) => String::new(),
        }
    }
}

impl Collector for GatewayMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, metric) in self.families() {
            let family = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
            metric.encode(family)?;
        }
        Ok(())
    }
}
