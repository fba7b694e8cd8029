//! Response plans: classifying an incident significant (NIS2) or major (DORA) with its
//! reporting deadlines, activating the plan for its severity (crisis roles, callouts)
//! and ordering the recovery checklist by dependency.

use super::*;
use crate::analysis::recovery_rank;

/// Classifies an incident significant/major (or takes it back) and computes the reports
/// due under each regulation the organisation declares.
pub(super) fn classify(
    ctx: &IncidentContext<'_>,
    incident: &mut Incident,
    significant: bool,
    by: &str,
) {
    if significant == incident.significant_ms.is_some() {
        return;
    }
    if !significant {
        incident.significant_ms = None;
        incident.reports.retain(|r| r.submitted.is_some());
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Classified,
            tr!(
                "No longer classified significant/major",
                "Niet langer aangemerkt als significant/ernstig"
            ),
        );
        return;
    }
    let now = ctx.now_ms;
    incident.significant_ms = Some(now);
    let aware = incident.milestones.detected_ms.unwrap_or(now);
    let tz = jiff::tz::TimeZone::get(&ctx.catalog.organization.timezone)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let regimes: Vec<Regime> = ctx.catalog.organization.regulations.clone();
    for regime in &regimes {
        for deadline in deadlines(*regime, aware, now, &tz) {
            if !incident
                .reports
                .iter()
                .any(|r| r.deadline.key == deadline.key)
            {
                incident.reports.push(Report {
                    deadline,
                    submitted: None,
                });
            }
        }
    }
    let names: Vec<&str> = regimes.iter().map(|r| r.title()).collect();
    let list = if names.is_empty() {
        "-".to_string()
    } else {
        names.join(", ")
    };
    incident.log(
        now,
        by,
        EventKind::Classified,
        tr!(
            "Classified significant/major; reporting under: {list}",
            "Aangemerkt als significant/ernstig; melden onder: {list}"
        ),
    );
}

/// Activates the response plan for the incident's severity, once per plan: fills the
/// roles nobody holds yet and calls out the crisis team and whom the plan notifies.
pub(super) fn activate(
    ctx: &IncidentContext<'_>,
    incident: &mut Incident,
    by: &str,
) -> Vec<Callout> {
    let Some(plan) = plan_for(ctx.catalog, incident.severity) else {
        return Vec::new();
    };
    let plan_id = plan.id.value.clone();
    if !incident.plans.insert(plan_id.clone()) {
        return Vec::new();
    }
    let now = ctx.now_ms;
    let sev = incident.severity.name();
    incident.log(
        now,
        by,
        EventKind::Plan,
        tr!(
            "Response plan {plan_id} activated for {sev}",
            "Responsplan {plan_id} geactiveerd voor {sev}"
        ),
    );
    let mut callouts = Vec::new();
    let title = incident.title.clone();
    let id = incident.id.clone();
    for (role, target) in &plan.roles {
        if incident.roles.contains_key(role) || target.kind == TargetKind::Channel {
            continue;
        }
        let (recipients, _) = resolve_targets(ctx.catalog, std::slice::from_ref(target), now);
        let Some(Recipient::Person(person)) = recipients
            .into_iter()
            .find(|r| matches!(r, Recipient::Person(_)))
        else {
            let r = role.text();
            let t = format!("{}:{}", target.kind.prefix(), target.id.value);
            incident.log(
                now,
                by,
                EventKind::Role,
                tr!(
                    "Nobody to fill {} from {t}",
                    "Niemand om {} te vervullen uit {t}",
                    r.en;
                    r.nl
                ),
            );
            continue;
        };
        incident.roles.insert(*role, person.clone());
        let r = role.text();
        let t = format!("{}:{}", target.kind.prefix(), target.id.value);
        incident.log(
            now,
            by,
            EventKind::Role,
            tr!(
                "{person} is {} (from {t})",
                "{person} is {} (uit {t})",
                r.en;
                r.nl
            ),
        );
        callouts.push(Callout {
            incident: id.clone(),
            recipients: vec![Recipient::Person(person)],
            text: tr!(
                "{id} {sev}: you are {} — {title}",
                "{id} {sev}: u bent {} — {title}",
                r.en;
                r.nl
            ),
            key: format!("{plan_id}/{}", role.name()),
        });
    }
    let (recipients, _) = resolve_targets(ctx.catalog, &plan.notify, now);
    if !recipients.is_empty() {
        callouts.push(Callout {
            incident: id.clone(),
            recipients,
            text: tr!(
                "{id} {sev}: crisis team activated — {title}",
                "{id} {sev}: crisisteam geactiveerd — {title}"
            ),
            key: format!("{plan_id}/notify"),
        });
    }
    if plan.significant {
        classify(ctx, incident, true, by);
    }
    callouts
}

/// The response plan covering a severity.
pub fn plan_for(catalog: &Catalog, severity: Severity) -> Option<&ResponsePlan> {
    catalog
        .response_plans
        .iter()
        .find(|p| p.severities.iter().any(|s| s.value == severity))
}

/// Orders the checklist by the catalog's recovery priority (dependencies first).
pub(super) fn order_checklist(catalog: &Catalog, incident: &mut Incident) {
    incident
        .checklist
        .sort_by_key(|t| recovery_rank(catalog, &t.service).unwrap_or(usize::MAX));
}
