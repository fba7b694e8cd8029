//! Alerting policies derived from the catalog: how long a recovered service gets to
//! settle, and how long a new root cause waits before it pages. They follow from the
//! services' checks and the dependency [`Graph`], so the engine asks here instead of
//! walking the graph itself.

use crate::analysis::Graph;
use crate::catalog::{Check, CheckKind};
use std::sync::Arc;

/// The shortest settling time.
const MIN_SETTLE_MS: i64 = 30_000;
/// The longest grouping wait.
const MAX_GROUP_WAIT_MS: i64 = 300_000;
/// Added to a grouping wait so the last dependency check's answer is in.
const GROUP_WAIT_MARGIN_MS: i64 = 1_000;

fn millis(d: std::time::Duration, otherwise: i64) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(otherwise)
}

/// How long a check takes to notice something after `threshold` answers in a row.
fn noticing_ms(check: &Check, threshold: u32) -> i64 {
    let interval = millis(check.interval.get(), 60_000);
    let timeout = millis(check.timeout.get(), 10_000);
    interval * i64::from(threshold.max(1)) + timeout
}

/// Checks that are probed (heartbeats are pushed and have no interval of ours).
fn probed(checks: &[Arc<Check>]) -> impl Iterator<Item = &Check> {
    checks
        .iter()
        .map(|c| &**c)
        .filter(|c| c.kind() != CheckKind::Heartbeat)
}

/// How long a service gets to recover on its own after its root cause recovered: the
/// slowest of its checks' recovery (interval x recover threshold + timeout), at least
/// 30 s (also for a service the catalog does not know).
pub fn settle_ms(graph: &Graph<'_>, service: &str) -> i64 {
    let Some(i) = graph.index_of(service) else {
        return MIN_SETTLE_MS;
    };
    probed(&graph.service(i).checks)
        .map(|c| noticing_ms(c, c.recover_threshold))
        .max()
        .unwrap_or(MIN_SETTLE_MS)
        .max(MIN_SETTLE_MS)
}

/// How long a new root cause waits before paging: long enough for every service it
/// hard-depends on (directly or not) to detect a shared failure (interval x fail
/// threshold + timeout of their checks, plus a second), at most 5 minutes; 0 for a service
/// without monitored dependencies.
pub fn group_wait_ms(graph: &Graph<'_>, service: &str) -> i64 {
    let Some(i) = graph.index_of(service) else {
        return 0;
    };
    let wait = graph
        .impacted_by(i)
        .into_iter()
        .flat_map(|d| probed(&graph.service(d).checks))
        .map(|c| noticing_ms(c, c.fail_threshold))
        .max()
        .unwrap_or(0);
    if wait == 0 {
        0
    } else {
        (wait + GROUP_WAIT_MARGIN_MS).min(MAX_GROUP_WAIT_MS)
    }
}
