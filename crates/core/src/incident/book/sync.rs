//! Keeping incidents in step with alerts: an alert that starts firing opens an incident
//! (or joins the open one of its root cause), services are added and reassessed as
//! their health changes, and incidents close when their alerts resolve.

use super::*;
use crate::alerting::{Alert, Origin};
use crate::state::ServiceHealth;
use std::collections::HashMap;

/// What a sync looks at: everything, or only what one decision changed.
#[derive(Clone, Debug, Default)]
pub enum Scope {
    /// Every alert and every open incident.
    #[default]
    Everything,
    /// The alerts changed (opened, moved on, dropped) and the services whose health, or
    /// whose inbound alerts, changed since the last sync.
    Changed {
        /// Ids of the alerts changed.
        alerts: BTreeSet<String>,
        /// Ids of the services whose health changed, and those of the changed alerts.
        services: BTreeSet<String>,
    },
}

impl Scope {
    /// The scope of a decision that turned the alerts `before` into `after`, with the
    /// service health the last sync saw (`health_before`) and the one it sees now.
    pub fn of_change(
        before: &BTreeMap<String, Alert>,
        after: &BTreeMap<String, Alert>,
        health_before: &BTreeMap<String, ServiceHealth>,
        health_after: &BTreeMap<String, ServiceHealth>,
    ) -> Scope {
        let mut alerts = BTreeSet::new();
        let mut services = BTreeSet::new();
        for (id, alert) in after {
            if before.get(id) != Some(alert) {
                alerts.insert(id.clone());
                services.insert(alert.service.clone());
            }
        }
        for (id, alert) in before {
            if !after.contains_key(id) {
                alerts.insert(id.clone());
                services.insert(alert.service.clone());
            }
        }
        if !std::ptr::eq(health_before, health_after) {
            for (service, h) in health_after {
                if health_before.get(service) != Some(h) {
                    services.insert(service.clone());
                }
            }
            for service in health_before.keys() {
                if !health_after.contains_key(service) {
                    services.insert(service.clone());
                }
            }
        }
        Scope::Changed { alerts, services }
    }
}

impl IncidentBook {
    pub(super) fn open_incident(
        &mut self,
        ctx: &IncidentContext<'_>,
        title: String,
        declared_by: Option<String>,
    ) -> String {
        self.next_number = self.next_number.max(1);
        let number = self.next_number;
        self.next_number += 1;
        let id = format!("INC-{number}");
        let incident = Incident {
            id: id.clone(),
            number,
            title,
            status: Status::Investigating,
            severity: derive_severity(None, 0),
            severity_by_hand: false,
            declared_by,
            alerts: BTreeSet::new(),
            services: Vec::new(),
            milestones: Milestones {
                detected_ms: Some(ctx.now_ms),
                ..Milestones::default()
            },
            roles: BTreeMap::new(),
            plans: BTreeSet::new(),
            checklist: Vec::new(),
            updates: Vec::new(),
            significant_ms: None,
            reports: Vec::new(),
            actions: Vec::new(),
            review: Review::default(),
            timeline: Vec::new(),
            public_title: None,
        };
        self.incidents.insert(id.clone(), incident);
        self.changed.insert(id.clone());
        id
    }

    /// Adds a service to an incident (once) with its checklist task.
    pub(super) fn add_service(
        ctx: &IncidentContext<'_>,
        incident: &mut Incident,
        service: &str,
        root_cause: bool,
        down_ms: i64,
        by: &str,
    ) {
        if let Some(existing) = incident.affected_mut(service) {
            existing.root_cause |= root_cause;
            return;
        }
        let Some(s) = ctx.catalog.service(service) else {
            return;
        };
        let name = s.name.clone();
        let affected = Affected {
            service: service.to_string(),
            name: name.clone(),
            tier: s.tier.value.0,
            root_cause,
            down_ms,
            up_ms: None,
            rto_ms: ms(s.rto.value),
            rpo_ms: s.rpo.as_ref().map(|r| ms(r.value)),
            last_good_ms: (ctx.last_good_ms)(service, down_ms),
        };
        let rto = s.rto.value.to_string();
        let text = if root_cause {
            tr!(
                "{name} is down (RTO {rto})",
                "{name} is uit de lucht (RTO {rto})"
            )
        } else {
            tr!(
                "{name} is impacted by a failing dependency (RTO {rto})",
                "{name} is getroffen door een falende afhankelijkheid (RTO {rto})"
            )
        };
        incident.log(down_ms, by, EventKind::ServiceDown, text);
        incident.services.push(affected);
        let runbook = (ctx.runbook)(service);
        let from_runbook = runbook.as_deref().map(runbook_steps).unwrap_or_default();
        let steps = if from_runbook.is_empty() {
            default_steps(&name)
        } else {
            from_runbook.into_iter().map(Text::same).collect()
        };
        incident.checklist.push(Task {
            service: service.to_string(),
            runbook,
            steps: steps
                .into_iter()
                .map(|text| Step { text, done: None })
                .collect(),
        });
        order_checklist(ctx.catalog, incident);
    }

    /// Re-derives the severity (unless set by hand) and activates the response plan of a
    /// new, worse severity.
    pub(super) fn reassess(
        ctx: &IncidentContext<'_>,
        incident: &mut Incident,
        by: &str,
    ) -> Vec<Callout> {
        if !incident.severity_by_hand {
            let derived = derive_severity(incident.highest_tier(), incident.services.len());
            if derived != incident.severity && !incident.services.is_empty() {
                let (old, new) = (incident.severity.name(), derived.name());
                incident.log(
                    ctx.now_ms,
                    by,
                    EventKind::Severity,
                    tr!(
                        "Severity {old} → {new} (from the services hit)",
                        "Ernst {old} → {new} (volgens de getroffen diensten)"
                    ),
                );
                incident.severity = derived;
            }
        }
        activate(ctx, incident, by)
    }

    /// Brings incidents in line with the alerts: an incident per paging alert (one per
    /// root cause, impacted services attached), acknowledgement and recovery carried
    /// over, services' recoveries recorded, an incident opened from alerts resolved when
    /// all of them are.
    pub fn sync(&mut self, ctx: &IncidentContext<'_>, alerts: &AlertBook) -> Vec<Callout> {
        self.sync_in(ctx, alerts, &Scope::Everything)
    }

    /// [`IncidentBook::sync`] limited to what a decision changed: the alerts it changed
    /// and the services whose health or inbound alerts changed. With `Scope::Everything`
    /// it is the whole sync; with a narrower scope it gives the same incidents as the
    /// whole sync would (as long as the scope names every alert and service that changed
    /// since the last sync), at a cost that follows the change rather than what is open.
    pub fn sync_in(
        &mut self,
        ctx: &IncidentContext<'_>,
        alerts: &AlertBook,
        scope: &Scope,
    ) -> Vec<Callout> {
        let now = ctx.now_ms;
        let mut callouts = Vec::new();
        // Which incident holds each alert, looked up once per decision rather than by
        // scanning every incident for every alert (10,000 open alerts made that 10^8).
        // A narrow decision keeps the map of the last sync: only its own alerts can
        // have joined an incident since (an operator's change of incidents syncs
        // everything).
        let mut holder: HashMap<String, String> = match scope {
            Scope::Everything => {
                let mut holder = HashMap::new();
                for incident in self.incidents.values() {
                    for alert in &incident.alerts {
                        holder
                            .entry(alert.clone())
                            .or_insert_with(|| incident.id.clone());
                    }
                }
                holder
            }
            Scope::Changed { .. } => std::mem::take(&mut self.holders.0),
        };
        let visit: Vec<&Alert> = match scope {
            Scope::Everything => alerts.alerts.values().collect(),
            Scope::Changed { alerts: ids, .. } => {
                ids.iter().filter_map(|id| alerts.alerts.get(id)).collect()
            }
        };
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for alert in visit {
            // A hint from an earlier sync may name an incident forgotten since.
            let existing = holder
                .get(&alert.id)
                .filter(|id| self.incidents.contains_key(*id))
                .cloned();
            let id = match existing {
                Some(id) => id,
                None => {
                    // Only alerts that page: not while grouping, not under maintenance,
                    // not once over.
                    if alert.fired_ms.is_none()
                        || matches!(alert.state, AlertState::Held | AlertState::Resolved)
                    {
                        continue;
                    }
                    let name = ctx
                        .catalog
                        .service(&alert.service)
                        .map_or_else(|| alert.service.clone(), |s| s.name.clone());
                    let id = self.open_incident(ctx, format!("{name}: {}", alert.summary), None);
                    let incident = self.incidents.get_mut(&id).expect("just opened");
                    incident.alerts.insert(alert.id.clone());
                    holder.insert(alert.id.clone(), id.clone());
                    let started = alerts
                        .health
                        .get(&alert.service)
                        .and_then(|h| h.failing_since_ms)
                        .unwrap_or(alert.started_ms)
                        .min(alert.started_ms);
                    incident.milestones.started_ms = Some(started);
                    incident.milestones.detected_ms = alert.fired_ms.or(Some(now));
                    let detected = incident.milestones.detected_ms.unwrap_or(now);
                    let title = incident.title.clone();
                    incident.log(
                        detected,
                        "continuo",
                        EventKind::Opened,
                        tr!(
                            "Incident opened from alert {}: {title}",
                            "Incident geopend vanuit melding {}: {title}";
                            alert.id
                        ),
                    );
                    Self::add_service(ctx, incident, &alert.service, true, started, "continuo");
                    id
                }
            };
            let incident = self.incidents.get_mut(&id).expect("found above");
            let before = incident.clone();
            if incident.is_open() {
                for impacted in &alert.impacted {
                    let down = alerts
                        .health
                        .get(impacted)
                        .and_then(|h| h.failing_since_ms)
                        .unwrap_or(now)
                        .min(now);
                    Self::add_service(ctx, incident, impacted, false, down, "continuo");
                }
                if let Some(ack) = &alert.acknowledged
                    && incident.milestones.acknowledged_ms.is_none()
                {
                    incident.milestones.acknowledged_ms = Some(ack.at_ms);
                    let who = ack.by.clone();
                    incident.log(
                        ack.at_ms,
                        &ack.by,
                        EventKind::Milestone,
                        tr!(
                            "Acknowledged by {who} (alert {})",
                            "Bevestigd door {who} (melding {})";
                            alert.id
                        ),
                    );
                }
            }
            callouts.extend(Self::reassess(ctx, incident, "continuo"));
            if *incident != before {
                self.changed.insert(id.clone());
            }
            touched.insert(id);
        }
        self.holders = Holders(holder);
        // A service is held down by its checks and by every open inbound alert about it:
        // an alert from Alertmanager on a service whose own checks are green lasts until
        // the alert resolves, and so does the service's outage in the incident.
        let held_by_inbound = alerts.held_by_inbound();
        // Services back up or down again; mitigation; resolution when the alerts are.
        let open: Vec<String> = self
            .incidents
            .values()
            .filter(|i| i.is_open())
            .filter(|i| match scope {
                Scope::Everything => true,
                Scope::Changed {
                    alerts: ids,
                    services,
                } => {
                    touched.contains(&i.id)
                        || i.alerts.iter().any(|a| ids.contains(a))
                        || i.services.iter().any(|s| services.contains(&s.service))
                }
            })
            .map(|i| i.id.clone())
            .collect();
        touched.extend(open.iter().cloned());
        for id in open {
            let incident = self.incidents.get_mut(&id).expect("listed");
            let before = incident.clone();
            // Services an inbound alert of this incident was about.
            let reported: BTreeSet<&str> = incident
                .alerts
                .iter()
                .filter_map(|a| alerts.alerts.get(a))
                .filter(|a| matches!(a.origin, Origin::Inbound { .. }))
                .map(|a| a.service.as_str())
                .collect();
            for k in 0..incident.services.len() {
                let service = incident.services[k].service.clone();
                let name = incident.services[k].name.clone();
                let inbound = held_by_inbound.contains(service.as_str());
                let checks = alerts.health.get(&service).map(|h| h.health);
                let unchecked = || {
                    ctx.catalog
                        .service(&service)
                        .is_none_or(|s| s.checks.is_empty())
                };
                let down = inbound || matches!(checks, Some(Health::Down | Health::Impacted));
                let up = !down
                    && match checks {
                        Some(Health::Operational | Health::Degraded) => true,
                        // With no checks, an inbound alert of this incident was the
                        // only source that said it was down, and it is over.
                        Some(Health::Unknown) | None => {
                            unchecked() && reported.contains(service.as_str())
                        }
                        Some(Health::Down | Health::Impacted) => false,
                    };
                let s = &mut incident.services[k];
                if up && s.up_ms.is_none() {
                    s.up_ms = Some(now);
                    let took = crate::incident::span_text(now - s.down_ms);
                    let verdict = match s.recovery(now) {
                        Recovery::Breached { .. } => tr!("RTO breached", "RTO overschreden"),
                        _ => tr!("RTO met", "RTO gehaald"),
                    };
                    incident.log(
                        now,
                        "continuo",
                        EventKind::ServiceUp,
                        tr!(
                            "{name} recovered after {took} ({})",
                            "{name} hersteld na {took} ({})",
                            verdict.en;
                            verdict.nl
                        ),
                    );
                } else if down && s.up_ms.is_some() {
                    s.up_ms = None;
                    incident.log(
                        now,
                        "continuo",
                        EventKind::ServiceDown,
                        tr!("{name} is down again", "{name} is opnieuw uit de lucht"),
                    );
                }
            }
            let all_up = !incident.services.is_empty()
                && incident.services.iter().all(|s| s.up_ms.is_some());
            if all_up && incident.milestones.mitigated_ms.is_none() {
                incident.milestones.mitigated_ms = Some(now);
                incident.log(
                    now,
                    "continuo",
                    EventKind::Milestone,
                    tr!(
                        "Mitigated: every service hit is working again",
                        "Beperkt: elke getroffen dienst werkt weer"
                    ),
                );
            }
            let from_alerts = incident.declared_by.is_none() && !incident.alerts.is_empty();
            let over: Vec<&Act> = incident
                .alerts
                .iter()
                .filter_map(|a| alerts.alerts.get(a))
                .filter(|a| a.state == AlertState::Resolved)
                .filter_map(|a| a.resolved.as_ref())
                .collect();
            if from_alerts && over.len() == incident.alerts.len() {
                let last = over.iter().map(|a| a.at_ms).max().unwrap_or(now);
                let by = over
                    .iter()
                    .max_by_key(|a| a.at_ms)
                    .map_or_else(|| "continuo".to_string(), |a| a.by.clone());
                close(incident, last.min(now), &by);
            }
            if *incident != before {
                self.changed.insert(id);
            }
        }
        let looked_at = match scope {
            Scope::Everything => None,
            Scope::Changed { .. } => Some(&touched),
        };
        self.keep_public(ctx, alerts, looked_at);
        self.forget(now);
        callouts
    }

    /// Drops resolved incidents older than a week from memory (the store keeps them).
    pub(super) fn forget(&mut self, now: i64) {
        self.incidents.retain(|_, i| {
            i.is_open()
                || i.milestones
                    .resolved_ms
                    .is_none_or(|r| now - r < KEEP_RESOLVED_MS)
        });
    }
}
