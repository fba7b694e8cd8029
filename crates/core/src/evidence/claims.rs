//! The claims a catalog makes, derived from what it already says: every service claims
//! its RTO; its RPO when it has one; redundancy when it has a backup endpoint or a
//! gateway; a current runbook when it has a runbook (and, without one, the claim stands
//! breached for tier 1 and 2, whose recovery needs it); a reachable escalation when an
//! escalation pages for it; availability when it has an SLO. The organisation claims a
//! reviewed continuity plan. Records that the catalog itself is the source of (review
//! dates) come from [`catalog_evidence`].

use super::{Claim, ClaimKind, Evidence, Measure, Outcome, Source, SourceKind, Subject, windows};
use crate::catalog::{Catalog, Review, Service};
use crate::tr;

/// Every claim of the catalog, services in catalog order, then the organisation's.
pub fn claims(catalog: &Catalog) -> Vec<Claim> {
    let mut out = Vec::new();
    for service in &catalog.services {
        out.extend(service_claims(catalog, service));
    }
    out.push(Claim {
        kind: ClaimKind::PlanReviewed,
        subject: Subject::Organization,
        tier: None,
        target: Some(Measure::ms(review_ms(
            &catalog.organization.plan_review,
            windows::PLAN_MS,
        ))),
        valid_ms: review_ms(&catalog.organization.plan_review, windows::PLAN_MS),
    });
    out
}

/// The claims of one service.
pub fn service_claims(catalog: &Catalog, service: &Service) -> Vec<Claim> {
    let subject = Subject::Service(service.id.value.clone());
    let tier = Some(service.tier.value.0);
    let claim = |kind, target, valid_ms| Claim {
        kind,
        subject: subject.clone(),
        tier,
        target,
        valid_ms,
    };
    let mut out = vec![claim(
        ClaimKind::Rto,
        Some(Measure::ms(duration_ms(service.rto.value))),
        windows::RECOVERY_MS,
    )];
    if let Some(rpo) = &service.rpo {
        out.push(claim(
            ClaimKind::Rpo,
            Some(Measure::ms(duration_ms(rpo.value))),
            windows::RECOVERY_MS,
        ));
    }
    let gatewayed = catalog
        .gateways
        .iter()
        .any(|g| g.service.value == service.id.value);
    if service.is_redundant() || gatewayed {
        out.push(claim(ClaimKind::Redundancy, None, windows::REDUNDANCY_MS));
    }
    if service.runbook.is_some() || service.tier.value.0 <= 2 {
        let valid = review_ms(&service.runbook_review, windows::RUNBOOK_MS);
        out.push(claim(
            ClaimKind::RunbookCurrent,
            Some(Measure::ms(valid)),
            valid,
        ));
    }
    if let Some(target) = escalation_target_ms(catalog, &service.id.value) {
        out.push(claim(
            ClaimKind::EscalationReachable,
            Some(Measure::ms(target)),
            windows::ESCALATION_MS,
        ));
    }
    if let Some(slo) = &service.slo {
        out.push(claim(
            ClaimKind::Availability,
            Some(Measure::percent(slo.value * 100.0)),
            windows::AVAILABILITY_MS,
        ));
    }
    out
}

/// How soon a page for `service` must be acknowledged: the time its escalation waits
/// before it pages the next level (or, with one level, [`windows::ACK_TARGET_MS`]);
/// `None` when no escalation pages for it.
pub fn escalation_target_ms(catalog: &Catalog, service: &str) -> Option<i64> {
    let policy = crate::alerting::escalation_of(catalog, service)?;
    let after = policy
        .levels
        .iter()
        .skip(1)
        .map(|l| duration_ms(l.after))
        .find(|ms| *ms > 0);
    Some(after.unwrap_or(windows::ACK_TARGET_MS))
}

/// The records the catalog itself is the source of: each runbook's and the plan's
/// review date (met while within its interval; the verdict turns it stale after), and
/// a tier 1 or 2 service without a runbook (breached, as of `now_ms`).
pub fn catalog_evidence(catalog: &Catalog, now_ms: i64) -> Vec<Evidence> {
    let mut out = Vec::new();
    for service in &catalog.services {
        let subject = Subject::Service(service.id.value.clone());
        let valid = review_ms(&service.runbook_review, windows::RUNBOOK_MS);
        match (&service.runbook, service.runbook_review.reviewed_ms()) {
            (Some(path), Some(at)) => out.push(review_record(
                ClaimKind::RunbookCurrent,
                subject,
                path,
                at,
                valid,
                service
                    .runbook_review
                    .reviewed
                    .as_deref()
                    .unwrap_or_default(),
            )),
            (None, _) if service.tier.value.0 <= 2 => {
                let source = Source {
                    kind: SourceKind::Review,
                    id: "no-runbook".into(),
                };
                out.push(Evidence {
                    id: Evidence::id_for(ClaimKind::RunbookCurrent, &subject, &source),
                    claim: ClaimKind::RunbookCurrent,
                    subject,
                    source,
                    observed_ms: now_ms,
                    value: None,
                    target: Some(Measure::ms(valid)),
                    outcome: Outcome::Breached,
                    link: None,
                    note: Some(tr!(
                        "no runbook in the catalog",
                        "geen draaiboek in de catalogus"
                    )),
                    recorded_by: "catalog".into(),
                    recorded_ms: now_ms,
                });
            }
            _ => {}
        }
    }
    let plan = &catalog.organization.plan_review;
    if let Some(at) = plan.reviewed_ms() {
        out.push(review_record(
            ClaimKind::PlanReviewed,
            Subject::Organization,
            "plan",
            at,
            review_ms(plan, windows::PLAN_MS),
            plan.reviewed.as_deref().unwrap_or_default(),
        ));
    }
    out
}

fn review_record(
    claim: ClaimKind,
    subject: Subject,
    what: &str,
    at_ms: i64,
    valid_ms: i64,
    date: &str,
) -> Evidence {
    let source = Source {
        kind: SourceKind::Review,
        id: format!("{what}@{date}"),
    };
    Evidence {
        id: Evidence::id_for(claim, &subject, &source),
        claim,
        subject,
        source,
        observed_ms: at_ms,
        value: None,
        target: Some(Measure::ms(valid_ms)),
        outcome: Outcome::Met,
        link: None,
        note: Some(tr!("reviewed {date}", "beoordeeld op {date}")),
        recorded_by: "catalog".into(),
        recorded_ms: at_ms,
    }
}

fn review_ms(review: &Review, default_ms: i64) -> i64 {
    review
        .every
        .map(duration_ms)
        .filter(|ms| *ms > 0)
        .unwrap_or(default_ms)
}

fn duration_ms(d: crate::HumanDuration) -> i64 {
    i64::try_from(d.0.as_millis()).unwrap_or(i64::MAX / 4)
}
