//! What customers are told without anyone writing it, so the status page never
//! contradicts itself: an open incident that takes a public component down gets an
//! automatic "investigating" update naming only public components (when
//! `[status_page] automatic_incidents` is on, the default), and a public incident that
//! resolves without a closing message for customers gets one.

use super::*;

/// Who automatic updates are posted by.
pub const AUTOMATIC: &str = "continuo";

impl IncidentBook {
    /// Posts the automatic customer updates the open and just-resolved incidents need.
    /// With `looked_at`, only those incidents and the ones changed since the last save
    /// can need an update (what the sync did not look at did not change).
    pub(super) fn keep_public(
        &mut self,
        ctx: &IncidentContext<'_>,
        alerts: &AlertBook,
        looked_at: Option<&BTreeSet<String>>,
    ) {
        let automatic = ctx.catalog.status_page.automatic_incidents();
        let held_by_inbound = alerts.held_by_inbound();
        let ids: Vec<String> = match looked_at {
            None => self.incidents.keys().cloned().collect(),
            Some(some) => some.union(&self.changed).cloned().collect(),
        };
        for id in ids {
            // A resolved incident needs a look only in the decision that changed it
            // (resolved it, or took its closing word): not every week-old one each time.
            let changed = self.changed.contains(&id);
            let Some(incident) = self.incidents.get_mut(&id) else {
                continue;
            };
            let customers = incident
                .updates
                .iter()
                .rev()
                .find(|u| u.audience == Audience::Customers);
            if incident.is_open() {
                if !automatic || customers.is_some() {
                    continue;
                }
                // Public components of services in the incident that are failing now.
                let mut down: Vec<&str> = Vec::new();
                for s in incident.services.iter().filter(|s| s.up_ms.is_none()) {
                    let failing = held_by_inbound.contains(s.service.as_str())
                        || alerts
                            .health
                            .get(&s.service)
                            .is_some_and(|h| matches!(h.health, Health::Down | Health::Impacted));
                    if let Some(name) = ctx
                        .catalog
                        .service(&s.service)
                        .and_then(|c| c.status_page.component.as_deref())
                        && failing
                        && !down.contains(&name)
                    {
                        down.push(name);
                    }
                }
                if down.is_empty() {
                    continue;
                }
                let names = Text::list(&down);
                // A title generated from the root cause may name what customers must
                // not see; one written by a person is theirs to choose.
                if incident.declared_by.is_none() {
                    incident.public_title = Some(tr!(
                        "Disruption of {}",
                        "Verstoring van {}",
                        names.en;
                        names.nl
                    ));
                }
                let body = tr!(
                    "We are investigating a disruption of {}.",
                    "We onderzoeken een verstoring van {}.",
                    names.en;
                    names.nl
                );
                let _ = self.post_update(ctx, &id, None, Audience::Customers, body, AUTOMATIC);
                self.changed.insert(id);
            } else if changed
                && let Some(last) = customers
                && last.status != Status::Resolved
            {
                let at_ms = incident
                    .milestones
                    .resolved_ms
                    .unwrap_or(ctx.now_ms)
                    .max(last.at_ms);
                let body = tr!(
                    "This incident has been resolved.",
                    "Dit incident is opgelost."
                );
                incident.updates.push(StatusUpdate {
                    at_ms,
                    by: AUTOMATIC.to_string(),
                    status: Status::Resolved,
                    audience: Audience::Customers,
                    body: body.clone(),
                });
                incident.log(
                    at_ms,
                    AUTOMATIC,
                    EventKind::Update,
                    tr!(
                        "Update for customers: {}",
                        "Update voor klanten: {}",
                        body.en;
                        body.nl
                    ),
                );
                self.changed.insert(id);
            }
        }
    }
}
