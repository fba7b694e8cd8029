//! The records each existing source writes, as pure functions: an incident's
//! resolution (recovery against the RTO, data-loss window against the RPO, per
//! service), a gateway failover (redundancy), an acknowledged page (escalation
//! reachable) and a day's rollups (availability against the SLO). The engine's evidence
//! stage calls them and commits what they return with the thing they measured.

use super::availability::Period;
use super::{Evidence, Measure, Outcome, Source, SourceKind, Subject};
use crate::evidence::ClaimKind;
use crate::incident::Recovery;
use crate::incident::book::Incident;
use crate::text::Text;
use crate::tr;

/// Who writes measured records.
pub const MEASURED_BY: &str = "continuo";

/// What every measured record shares; its id is the source's plus `id_suffix`.
struct Measured<'a> {
    claim: ClaimKind,
    subject: Subject,
    source: Source,
    id_suffix: &'a str,
    observed_ms: i64,
    now_ms: i64,
}

/// What was measured: the value, its target, the outcome, a link and a note.
struct Figures {
    value: Option<Measure>,
    target: Option<Measure>,
    outcome: Outcome,
    link: Option<String>,
    note: Option<Text>,
}

fn record(m: Measured<'_>, f: Figures) -> Evidence {
    let mut id = Evidence::id_for(m.claim, &m.subject, &m.source);
    id.push_str(m.id_suffix);
    Evidence {
        id,
        claim: m.claim,
        subject: m.subject,
        source: m.source,
        observed_ms: m.observed_ms,
        value: f.value,
        target: f.target,
        outcome: f.outcome,
        link: f.link,
        note: f.note,
        recorded_by: MEASURED_BY.into(),
        recorded_ms: m.now_ms,
    }
}

/// The records of an incident's resolution: per affected service, its measured
/// recovery (down → up) against its RTO, the same figure the postmortem shows; a
/// service still down when the incident was resolved by hand gives an inconclusive
/// record. Per service with a known last good backup or heartbeat and an RPO, the
/// data-loss window against the RPO. Empty while the incident is open.
pub fn incident_resolved(incident: &Incident, now_ms: i64) -> Vec<Evidence> {
    let Some(resolved_ms) = incident.milestones.resolved_ms else {
        return Vec::new();
    };
    let source = Source {
        kind: SourceKind::Incident,
        id: incident.id.clone(),
    };
    // A reopened and resolved-again incident measures again: a new record.
    let suffix = format!("@{resolved_ms}");
    let link = Some(format!("/incidents/{}", incident.id));
    let mut out = Vec::new();
    for s in &incident.services {
        let subject = Subject::Service(s.service.clone());
        let target = Some(Measure::ms(s.rto_ms));
        let (value, outcome, observed, note) = match s.recovery(resolved_ms) {
            Recovery::Met { took_ms } => (Some(Measure::ms(took_ms)), Outcome::Met, s.up_ms, None),
            Recovery::Breached { took_ms, .. } => {
                (Some(Measure::ms(took_ms)), Outcome::Breached, s.up_ms, None)
            }
            Recovery::Open { .. } => (
                None,
                Outcome::Inconclusive,
                Some(resolved_ms),
                Some(tr!(
                    "resolved while the service was still down",
                    "opgelost terwijl de dienst nog uit de lucht was"
                )),
            ),
        };
        out.push(record(
            Measured {
                claim: ClaimKind::Rto,
                subject: subject.clone(),
                source: source.clone(),
                id_suffix: &suffix,
                observed_ms: observed.unwrap_or(resolved_ms),
                now_ms,
            },
            Figures {
                value,
                target,
                outcome,
                link: link.clone(),
                note,
            },
        ));
        if let (Some(loss), Some(rpo)) = (s.data_loss(), s.rpo_ms) {
            out.push(record(
                Measured {
                    claim: ClaimKind::Rpo,
                    subject,
                    source: source.clone(),
                    id_suffix: &suffix,
                    observed_ms: s.down_ms,
                    now_ms,
                },
                Figures {
                    value: Some(Measure::ms(loss.window_ms)),
                    target: Some(Measure::ms(rpo)),
                    outcome: Outcome::at_most(loss.window_ms, rpo),
                    link: link.clone(),
                    note: None,
                },
            ));
        }
    }
    out
}

/// What a gateway measured when traffic moved to the backup tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failover {
    /// The gateway.
    pub gateway: String,
    /// The service it fronts.
    pub service: String,
    /// When the backup answered (UTC ms).
    pub at_ms: i64,
    /// From the first failure to the first answer from a backup.
    pub duration_ms: i64,
    /// Client requests that failed meanwhile.
    pub failed_requests: u64,
    /// Client requests retried on another endpoint meanwhile.
    pub retried_requests: u64,
    /// A planned switchover (drain) rather than a failure.
    pub planned: bool,
}

/// The redundancy record of a failover: the backup answered, so redundancy is met —
/// within the service's RTO (`rto_ms`), breached when the switch took longer than that.
pub fn failover(f: &Failover, rto_ms: Option<i64>, now_ms: i64) -> Evidence {
    let outcome = match rto_ms {
        Some(rto) => Outcome::at_most(f.duration_ms, rto),
        None => Outcome::Met,
    };
    let (gateway, failed, retried) = (&f.gateway, f.failed_requests, f.retried_requests);
    let note = if f.planned {
        tr!(
            "planned switchover by gateway {gateway}: the backup answered; {failed} requests failed, {retried} retried",
            "geplande omschakeling door gateway {gateway}: de reserve antwoordde; {failed} verzoeken mislukt, {retried} opnieuw geprobeerd"
        )
    } else {
        tr!(
            "failover by gateway {gateway}: the backup answered; {failed} requests failed, {retried} retried",
            "failover door gateway {gateway}: de reserve antwoordde; {failed} verzoeken mislukt, {retried} opnieuw geprobeerd"
        )
    };
    record(
        Measured {
            claim: ClaimKind::Redundancy,
            subject: Subject::Service(f.service.clone()),
            source: Source {
                kind: SourceKind::Failover,
                id: format!("{}@{}", f.gateway, f.at_ms),
            },
            id_suffix: "",
            observed_ms: f.at_ms,
            now_ms,
        },
        Figures {
            value: Some(Measure::ms(f.duration_ms)),
            target: rto_ms.map(Measure::ms),
            outcome,
            // The failover is an event on the service's timeline.
            link: Some(format!("/api/v1/services/{}/events", f.service)),
            note: Some(note),
        },
    )
}

/// The record of an acknowledged page: from paging (`fired_ms`) to the acknowledgement
/// (`acked_ms`) against the escalation's target (`target_ms`, see
/// [`super::claims::escalation_target_ms`]).
pub fn page_acknowledged(
    alert: &str,
    service: &str,
    fired_ms: i64,
    acked_ms: i64,
    by: &str,
    target_ms: i64,
    now_ms: i64,
) -> Evidence {
    let took = (acked_ms - fired_ms).max(0);
    record(
        Measured {
            claim: ClaimKind::EscalationReachable,
            subject: Subject::Service(service.to_string()),
            source: Source {
                kind: SourceKind::PageAck,
                id: alert.to_string(),
            },
            id_suffix: "",
            observed_ms: acked_ms,
            now_ms,
        },
        Figures {
            value: Some(Measure::ms(took)),
            target: Some(Measure::ms(target_ms)),
            outcome: Outcome::at_most(took, target_ms),
            link: None,
            note: Some(tr!("acknowledged by {by}", "bevestigd door {by}")),
        },
    )
}

/// The availability record of a service for the SLO window that ends at `until_ms`
/// (a UTC midnight): measured over the days with data against the SLO; inconclusive
/// when no day of the window has data.
pub fn availability(
    service: &str,
    slo: f64,
    date: &str,
    period: &Period,
    until_ms: i64,
    now_ms: i64,
) -> Evidence {
    let (value, outcome, note) = match period.availability {
        Some(a) => (
            Some(Measure::percent(a)),
            if a + 1e-9 >= slo * 100.0 {
                Outcome::Met
            } else {
                Outcome::Breached
            },
            (period.days_without_data > 0).then(|| {
                let (missing, all) = (period.days_without_data, period.days.len());
                tr!(
                    "{missing} of {all} days without data, not counted",
                    "{missing} van {all} dagen zonder gegevens, niet meegeteld"
                )
            }),
        ),
        None => (
            None,
            Outcome::Inconclusive,
            Some(tr!("no data in the window", "geen gegevens in de periode")),
        ),
    };
    record(
        Measured {
            claim: ClaimKind::Availability,
            subject: Subject::Service(service.to_string()),
            source: Source {
                kind: SourceKind::Rollup,
                id: date.to_string(),
            },
            id_suffix: "",
            observed_ms: until_ms,
            now_ms,
        },
        Figures {
            value,
            target: Some(Measure::percent(slo * 100.0)),
            outcome,
            link: None,
            note,
        },
    )
}
