//! The evidence stage: after every decision, what it measured about a continuity claim
//! becomes evidence committed with the decision — a resolved incident's recovery per
//! service against its RTO and data-loss window against its RPO, an acknowledged page's
//! time to acknowledge against the escalation. The rules are core's
//! (`continuo_core::evidence::records`); this stage only finds what changed.
//!
//! Evidence from outside decisions is written beside it: a gateway failover with its
//! timeline event (the decider's `service_event`), and the daily availability of every
//! service with an SLO ([`availability_task`]).

use crate::persist::Persist;
use crate::shared::AlertHandle;
use crate::stage::{Decided, Stage};
use continuo_core::alerting::PageEvent;
use continuo_core::catalog::Catalog;
use continuo_core::evidence::availability::{CheckDay, period};
use continuo_core::evidence::claims::escalation_target_ms;
use continuo_core::evidence::records;
use std::time::Duration;
use tokio::sync::watch;

const DAY_MS: i64 = 86_400_000;

/// Turns decisions into evidence. Runs after the incidents stage, whose changed
/// incidents it reads.
pub(crate) struct EvidenceStage;

impl Stage for EvidenceStage {
    fn after_decision(&self, decided: &mut Decided<'_>) {
        let now = decided.now_ms;
        for (id, row) in &decided.changed_incidents {
            if row.status != "resolved" {
                continue;
            }
            if let Some(incident) = decided.incidents.get(id) {
                decided
                    .evidence
                    .extend(records::incident_resolved(incident, now));
            }
        }
        for page in decided.pages {
            if page.event != PageEvent::Acknowledged {
                continue;
            }
            let Some(alert) = decided.alerts.alerts.get(&page.alert) else {
                continue;
            };
            let (Some(ack), Some(target)) = (
                &alert.acknowledged,
                escalation_target_ms(decided.catalog, &alert.service),
            ) else {
                continue;
            };
            let fired = alert.fired_ms.unwrap_or(alert.started_ms);
            let record = records::page_acknowledged(
                &alert.id,
                &alert.service,
                fired,
                ack.at_ms,
                &ack.by,
                target,
                now,
            );
            if !decided.evidence.iter().any(|e| e.id == record.id) {
                decided.evidence.push(record);
            }
        }
    }
}

/// The availability records of every service with an SLO for the window that ends at
/// the UTC midnight `until_ms`, from the store's day rollups.
pub(crate) async fn availability_records(
    store: &dyn Persist,
    catalog: &Catalog,
    until_ms: i64,
    now_ms: i64,
) -> Vec<continuo_core::evidence::Evidence> {
    let mut out = Vec::new();
    for service in &catalog.services {
        let Some(slo) = &service.slo else { continue };
        let days = (i64::try_from(service.slo_window.0.as_millis()).unwrap_or(i64::MAX / 4)
            / DAY_MS)
            .max(1);
        let from = until_ms - days * DAY_MS;
        let checks: Vec<String> = service.checks.iter().map(|c| c.id.value.clone()).collect();
        let rows = match store.day_counts(&checks, from, until_ms).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(service = %service.id.value, error = %e, "cannot read day rollups for the availability evidence");
                continue;
            }
        };
        let rows: Vec<CheckDay> = rows
            .into_iter()
            .map(|d| CheckDay {
                check: d.check_id,
                day_ms: d.day_ms,
                count: d.count,
                failures: d.failures,
            })
            .collect();
        let measured = period(&checks, &rows, from, until_ms);
        let date = jiff::Timestamp::from_millisecond(until_ms)
            .map(|t| {
                t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .date()
                    .to_string()
            })
            .unwrap_or_else(|_| until_ms.to_string());
        out.push(records::availability(
            &service.id.value,
            slo.value,
            &date,
            &measured,
            until_ms,
            now_ms,
        ));
    }
    out
}

/// Once a day, after UTC midnight (and once at start for the last midnight), records
/// each SLO service's measured availability over its window up to that midnight. The
/// record's id is the day's, so a restart never writes a day twice.
pub(crate) async fn availability_task(handle: AlertHandle, mut stop: watch::Receiver<bool>) {
    let (store, clock) = (handle.store.clone(), handle.clock);
    // A few minutes past midnight, so the last day's rollups are written.
    const SETTLE_MS: i64 = 5 * 60_000;
    loop {
        let now = clock.now_ms();
        let midnight = (now - SETTLE_MS).div_euclid(DAY_MS) * DAY_MS;
        let current = handle.catalog();
        let found = availability_records(store.as_ref(), &current, midnight, now).await;
        if !found.is_empty() {
            match store.add_evidence(&found).await {
                Ok(()) => tracing::debug!(records = found.len(), "availability evidence recorded"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot store the availability evidence, will retry");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(60)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            }
        }
        let next = midnight + DAY_MS + SETTLE_MS;
        let wait =
            Duration::from_millis(u64::try_from(next - clock.now_ms()).unwrap_or(0).max(1_000));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}
