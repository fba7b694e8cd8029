//! The evidence stage: after every decision, what it measured about a continuity claim
//! becomes evidence committed with the decision — a resolved incident's recovery per
//! service against its RTO and data-loss window against its RPO, an acknowledged page's
//! time to acknowledge against the escalation. The rules are core's
//! (`continuo_core::evidence::records`); this stage only finds what changed.
//!
//! Evidence from outside decisions is written beside it: a gateway failover with its
//! timeline event (the decider's `service_event`), and the daily availability of every
//! service with an SLO ([`availability_task`]).
//!
//! A breached or newly stale claim of a tier 1-2 service (or of the organisation)
//! raises a notice through the channels, never a page ([`posture_task`]).

use crate::persist::Persist;
use crate::shared::AlertHandle;
use crate::stage::{Decided, Stage};
use continuo_core::Lang;
use continuo_core::alerting::PageEvent;
use continuo_core::catalog::Catalog;
use continuo_core::catalog::TargetKind;
use continuo_core::evidence::Subject;
use continuo_core::evidence::availability::{CheckDay, period};
use continuo_core::evidence::claims::escalation_target_ms;
use continuo_core::evidence::records;
use continuo_core::evidence::verdict::{State, Verdict};
use continuo_notify::{Notice, NoticeEvent, NoticeService};
use continuo_store::OutboxItem;
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

/// How long after a claim went stale its notice is still sent: a claim stale for
/// longer (on a first start, or after a long stop) is shown on the posture, not
/// announced late.
const NEWLY_STALE_MS: i64 = 2 * DAY_MS;

/// How often the posture is looked at for notices.
const POSTURE_EVERY: Duration = Duration::from_secs(15 * 60);

/// The non-paging notices the posture calls for at `now_ms`: one per breaching record
/// and one per record whose proof went stale in the last [`NEWLY_STALE_MS`], for the
/// claims of tier 1 and 2 services and of the organisation, to the channels
/// [`posture_channels`] names. The key names the record, so a notice is written once
/// however often this runs, and a restart sends nothing twice.
pub(crate) fn posture_notices(
    handle: &AlertHandle,
    catalog: &Catalog,
    verdicts: &[Verdict],
    now_ms: i64,
) -> Vec<OutboxItem> {
    let mut items = Vec::new();
    for v in verdicts {
        let (Some(record), Some(age)) = (&v.evidence, v.age_ms) else {
            continue;
        };
        let since = match v.state {
            State::Breached => record.observed_ms,
            State::Stale if age - v.claim.valid_ms <= NEWLY_STALE_MS => {
                record.observed_ms + v.claim.valid_ms
            }
            _ => continue,
        };
        let service = match &v.claim.subject {
            Subject::Service(id) => match catalog.service(id) {
                Some(s) if s.tier.value.0 <= 2 => Some(s),
                _ => continue,
            },
            Subject::Organization => None,
            Subject::Dataset(_) => continue,
        };
        let about = format!("posture/{}/{}", v.claim.kind.name(), v.claim.subject.key());
        for channel in posture_channels(catalog, service.map(|s| s.id.value.as_str())) {
            let key = format!("{about}/{}/{}/{channel}", v.state.name(), record.id);
            let language = catalog
                .channels
                .iter()
                .find(|c| c.id.value == channel)
                .and_then(|c| c.language)
                .or_else(|| catalog.organization.languages.first().copied())
                .unwrap_or(Lang::En);
            let (id, name, tier) = match service {
                Some(s) => (s.id.value.clone(), s.name.clone(), s.tier.value.0),
                None => ("organization".into(), catalog.organization.name.clone(), 1),
            };
            let page = match service {
                Some(s) => format!("{}/posture/{}", handle.public_url, s.id.value),
                None => format!("{}/posture", handle.public_url),
            };
            let notice = Notice {
                idempotency_key: key.clone(),
                alert_key: about.clone(),
                event: NoticeEvent::Posture,
                language,
                organization: catalog.organization.name.clone(),
                service: NoticeService { id, name, tier },
                impacted: Vec::new(),
                summary: v.summary().get(language).to_string(),
                started_ms: since,
                at_ms: now_ms,
                timezone: catalog.organization.timezone.clone(),
                level: 0,
                ack_url: None,
                dashboard_url: Some(page),
                acknowledged_by: None,
                recipient: None,
            };
            let Ok(notice) = serde_json::to_value(&notice) else {
                continue;
            };
            items.push(OutboxItem::new(
                key,
                channel.clone(),
                about.clone(),
                NoticeEvent::Posture.name().into(),
                format!("channel:{channel}"),
                notice,
                now_ms,
            ));
        }
    }
    items
}

/// Where the posture notices about `service` (or, with `None`, the organisation) go:
/// `[organization] posture_channels` when it is set (an empty list: nowhere); else the
/// channels the service's escalation names, or for the organisation every channel an
/// escalation names. Persons are never paged for a notice.
fn posture_channels(catalog: &Catalog, service: Option<&str>) -> Vec<String> {
    if let Some(list) = &catalog.organization.posture_channels {
        return list.iter().map(|c| c.value.clone()).collect();
    }
    let policies: Vec<&continuo_core::catalog::Escalation> = match service {
        Some(id) => continuo_core::alerting::escalation_of(catalog, id)
            .into_iter()
            .collect(),
        None => catalog.escalations.iter().collect(),
    };
    let mut out: Vec<String> = Vec::new();
    for level in policies.iter().flat_map(|p| &p.levels) {
        for target in &level.notify {
            if target.kind == TargetKind::Channel && !out.contains(&target.id.value) {
                out.push(target.id.value.clone());
            }
        }
    }
    out
}

/// Every [`POSTURE_EVERY`] (the first time a minute after start, when the checks have
/// spoken), writes the notices the posture calls for and wakes the dispatcher.
pub(crate) async fn posture_task(handle: AlertHandle, mut stop: watch::Receiver<bool>) {
    let (store, clock) = (handle.store.clone(), handle.clock);
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = POSTURE_EVERY;
        let now = clock.now_ms();
        let catalog = handle.catalog();
        let stored = match store.evidence_latest(now).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the evidence for posture notices, will retry");
                continue;
            }
        };
        // Verdicts only: the error budgets (and so the day rollups) play no part here.
        let posture = continuo_core::evidence::posture(&catalog, &stored, &[], now);
        let items = posture_notices(&handle, &catalog, &posture.verdicts, now);
        if items.is_empty() {
            continue;
        }
        match store.outbox_add(&items).await {
            Ok(()) => {
                tracing::debug!(items = items.len(), "posture notices written");
                handle.wake_dispatcher();
            }
            Err(e) => tracing::warn!(error = %e, "cannot write the posture notices, will retry"),
        }
    }
}
