//! The facts a status update is written from: each service's recovery against its RTO
//! and the data-loss window against its RPO, in words for people.

use super::*;

/// The facts a status update template is filled with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UpdateFacts {
    /// Incident id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity name.
    pub severity: String,
    /// Status name (`identified`).
    pub status: String,
    /// Status shown to people, per language.
    pub status_text: Text,
    /// The audience name.
    pub audience: String,
    /// The operator's own words, if any.
    pub message: Option<String>,
    /// The organisation's name.
    pub organization: String,
    /// Services hit, in recovery order.
    pub services: Vec<UpdateService>,
    /// When it started (UTC ms).
    pub started_ms: Option<i64>,
    /// When it was resolved (UTC ms).
    pub resolved_ms: Option<i64>,
    /// Now (UTC ms).
    pub now_ms: i64,
    /// When the next update is due (the response plan's `update_every`), if set.
    pub next_update_ms: Option<i64>,
    /// Reports due to authorities, open ones.
    pub reports_due: Vec<Report>,
    /// Estimated cost so far (sum of the services' cost per hour × time down).
    pub cost_so_far: Option<f64>,
    /// Currency of the cost.
    pub currency: String,
    /// IANA zone for showing times.
    pub timezone: String,
}

/// A service as an update names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UpdateService {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its component's name on the status page, when it has one: the only name an
    /// update for customers may use.
    pub component: Option<String>,
    /// Tier.
    pub tier: u8,
    /// Back up.
    pub recovered: bool,
    /// RTO countdown or verdict, per language.
    pub rto: Text,
    /// The possible data-loss window against the RPO, when known, per language.
    pub data_loss: Option<Text>,
}

impl Incident {
    /// The facts for a status update template.
    pub fn update_facts(
        &self,
        catalog: &Catalog,
        status: Status,
        audience: Audience,
        message: Option<String>,
        now_ms: i64,
    ) -> UpdateFacts {
        let services = self
            .checklist
            .iter()
            .filter_map(|t| self.services.iter().find(|s| s.service == t.service))
            .map(|s| UpdateService {
                id: s.service.clone(),
                name: s.name.clone(),
                component: catalog
                    .service(&s.service)
                    .and_then(|c| c.status_page.component.clone()),
                tier: s.tier,
                recovered: s.up_ms.is_some(),
                rto: rto_text(s, now_ms),
                data_loss: s.data_loss().map(|d| data_loss_text(&d)),
            })
            .collect();
        let every = plan_for(catalog, self.severity).and_then(|p| p.update_every);
        let cost: f64 = self
            .services
            .iter()
            .filter_map(|s| {
                let per_hour = catalog.service(&s.service)?.cost_per_hour?;
                let end = s.up_ms.unwrap_or(now_ms);
                Some(per_hour * ((end - s.down_ms).max(0) as f64) / 3_600_000.0)
            })
            .sum();
        UpdateFacts {
            id: self.id.clone(),
            title: self.title.clone(),
            severity: self.severity.name(),
            status: status.name().to_string(),
            status_text: status.text(),
            audience: audience.name().to_string(),
            message: message
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty()),
            organization: catalog.organization.name.clone(),
            services,
            started_ms: self.milestones.started_ms,
            resolved_ms: self.milestones.resolved_ms,
            now_ms,
            next_update_ms: (status != Status::Resolved)
                .then(|| every.map(|e| now_ms + ms(e)))
                .flatten(),
            reports_due: self
                .reports
                .iter()
                .filter(|r| r.submitted.is_none())
                .cloned()
                .collect(),
            cost_so_far: (cost > 0.0).then_some((cost * 100.0).round() / 100.0),
            currency: catalog.organization.currency.clone(),
            timezone: catalog.organization.timezone.clone(),
        }
    }
}

/// "RTO breached in 7 min", "RTO met (took 12 min)".
pub fn rto_text(s: &Affected, now_ms: i64) -> Text {
    match s.recovery(now_ms) {
        Recovery::Open { left_ms } => {
            let c = countdown(left_ms);
            tr!(
                "RTO breached {}",
                "RTO overschreden {}",
                c.en;
                c.nl
            )
        }
        Recovery::Met { took_ms } => {
            let took = crate::incident::span_text(took_ms);
            tr!("RTO met (took {took})", "RTO gehaald (duurde {took})")
        }
        Recovery::Breached { took_ms, over_ms } => {
            let (took, over) = (
                crate::incident::span_text(took_ms),
                crate::incident::span_text(over_ms),
            );
            tr!(
                "RTO breached (took {took}, {over} over)",
                "RTO overschreden (duurde {took}, {over} te lang)"
            )
        }
    }
}

/// "Possible data loss: 42 min (RPO 15 min, exceeded)".
pub fn data_loss_text(d: &DataLoss) -> Text {
    let window = crate::incident::span_text(d.window_ms);
    match (d.rpo_ms, d.within_rpo) {
        (Some(rpo), Some(true)) => {
            let rpo = crate::incident::span_text(rpo);
            tr!(
                "possible data loss {window} (within the RPO of {rpo})",
                "mogelijk gegevensverlies {window} (binnen het RPO van {rpo})"
            )
        }
        (Some(rpo), _) => {
            let rpo = crate::incident::span_text(rpo);
            tr!(
                "possible data loss {window} (RPO of {rpo} exceeded)",
                "mogelijk gegevensverlies {window} (RPO van {rpo} overschreden)"
            )
        }
        _ => tr!(
            "possible data loss {window} (no RPO declared)",
            "mogelijk gegevensverlies {window} (geen RPO opgegeven)"
        ),
    }
}
