//! The incident book: every incident with its services, milestones, crisis team,
//! timeline, recovery checklist, status updates, regulatory reports, action items and
//! review notes, and the pure decisions that change them. Incidents open from alerts
//! ([`IncidentBook::sync`]) or by hand ([`IncidentBook::declare`]); every change is
//! recorded on the incident's timeline with who made it. Time is an argument.

use super::{
    Audience, CrisisRole, Deadline, Milestones, Recovery, Regime, Severity, Status, countdown,
    deadlines, derive_severity, recovery,
};
use crate::alerting::{Act, AlertBook, AlertState, Recipient, resolve_targets};
use crate::analysis::Graph;
use crate::catalog::{Catalog, ResponsePlan, TargetKind};
use crate::state::Health;
use crate::text::Text;
use crate::tr;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What kind of thing a timeline entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The incident was opened (from an alert or declared).
    Opened,
    /// A service went down or joined the incident.
    ServiceDown,
    /// A service recovered.
    ServiceUp,
    /// The lifecycle status changed.
    Status,
    /// The severity changed.
    Severity,
    /// A milestone was reached (acknowledged, mitigated).
    Milestone,
    /// A crisis role was assigned or handed over.
    Role,
    /// A response plan was activated.
    Plan,
    /// Notifications were queued for someone.
    Notified,
    /// A notification was delivered, or could not be.
    Delivery,
    /// A status update for an audience.
    Update,
    /// A human note.
    Note,
    /// A recovery checklist step was ticked off (or unticked).
    Checklist,
    /// Classified significant (NIS2) / major (DORA), or not.
    Classified,
    /// A regulatory report was marked submitted.
    Report,
    /// An action item was added or completed.
    Action,
    /// Review notes for the postmortem were written.
    Review,
    /// A failover or failback.
    Failover,
    /// The incident was resolved.
    Resolved,
    /// The incident was reopened.
    Reopened,
}

/// One entry on an incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, UTC unix milliseconds.
    pub at_ms: i64,
    /// Who: a person id, `api`, `cli`, or `continuo` for automatic events.
    pub by: String,
    /// What kind of event.
    pub kind: EventKind,
    /// What happened, in English and Dutch.
    pub text: Text,
}

/// A service hit by an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// Service id.
    pub service: String,
    /// Display name.
    pub name: String,
    /// Tier 1..4.
    pub tier: u8,
    /// Down by its own checks (a root cause), not only because of a dependency.
    pub root_cause: bool,
    /// When it went down (its first failing observation when known).
    pub down_ms: i64,
    /// When it was back; `None` while down.
    pub up_ms: Option<i64>,
    /// Its recovery time objective.
    pub rto_ms: i64,
    /// Its recovery point objective, if it holds data.
    pub rpo_ms: Option<i64>,
    /// The last good backup or heartbeat before it went down, if known.
    pub last_good_ms: Option<i64>,
}

impl Affected {
    /// Recovery against the RTO at `now_ms`.
    pub fn recovery(&self, now_ms: i64) -> Recovery {
        recovery(self.down_ms, self.up_ms, self.rto_ms, now_ms)
    }

    /// The possible data-loss window (from the last good backup or heartbeat to the
    /// failure) against the RPO, when the last good one is known.
    pub fn data_loss(&self) -> Option<DataLoss> {
        let last = self.last_good_ms?;
        let window_ms = (self.down_ms - last).max(0);
        Some(DataLoss {
            last_good_ms: last,
            window_ms,
            rpo_ms: self.rpo_ms,
            within_rpo: self.rpo_ms.map(|rpo| window_ms <= rpo),
        })
    }
}

/// What could be lost: data written since the last good backup or heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLoss {
    /// The last good backup or heartbeat.
    pub last_good_ms: i64,
    /// Its distance to the failure.
    pub window_ms: i64,
    /// The service's RPO.
    pub rpo_ms: Option<i64>,
    /// Whether the window is within the RPO (unknown without an RPO).
    pub within_rpo: Option<bool>,
}

/// One step of a service's recovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What to do (a runbook's own words read the same in both languages).
    pub text: Text,
    /// Who ticked it off, and when.
    pub done: Option<Act>,
}

/// The recovery of one service: its runbook and its steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Service id.
    pub service: String,
    /// The runbook (Markdown) when one is declared and readable.
    pub runbook: Option<String>,
    /// Steps, from the runbook's list items or the default ones.
    pub steps: Vec<Step>,
}

/// A status update for one audience.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// When it was posted.
    pub at_ms: i64,
    /// Who posted it.
    pub by: String,
    /// The incident's status it announces.
    pub status: Status,
    /// Whom it is for; updates for customers are public (status page).
    pub audience: Audience,
    /// The text, in English and Dutch.
    pub body: Text,
}

/// A report due to an authority, and whether it went out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The deadline.
    #[serde(flatten)]
    pub deadline: Deadline,
    /// Marked submitted by whom, and when.
    pub submitted: Option<Act>,
}

/// A follow-up from the postmortem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    /// Number within the incident, from 1.
    pub id: u32,
    /// What to do.
    pub title: String,
    /// Who owns it (person or team id).
    pub owner: Option<String>,
    /// Due date (`2026-12-01`).
    pub due: Option<String>,
    /// Completed by whom, and when.
    pub done: Option<Act>,
}

/// The parts of a postmortem only people can write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// One paragraph on what happened.
    #[serde(default)]
    pub summary: Option<String>,
    /// Why it happened.
    #[serde(default)]
    pub root_causes: Option<String>,
    /// What set it off.
    #[serde(default)]
    pub trigger: Option<String>,
    /// What ended it.
    #[serde(default)]
    pub resolution: Option<String>,
    /// Lessons: what went well.
    #[serde(default)]
    pub went_well: Vec<String>,
    /// Lessons: what went wrong.
    #[serde(default)]
    pub went_wrong: Vec<String>,
    /// Lessons: where we got lucky.
    #[serde(default)]
    pub lucky: Vec<String>,
    /// Was a malicious or unlawful act suspected (NIS2 early warning asks)?
    #[serde(default)]
    pub malicious: Option<bool>,
    /// Could it have cross-border impact (NIS2 asks)?
    #[serde(default)]
    pub cross_border: Option<bool>,
}

/// One incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// `INC-<number>`.
    pub id: String,
    /// Sequence number.
    pub number: u64,
    /// What is wrong, in a line.
    pub title: String,
    /// Lifecycle status.
    pub status: Status,
    /// Severity.
    pub severity: Severity,
    /// Set by hand: no longer derived from the services.
    pub severity_by_hand: bool,
    /// Who declared it; `None` when it opened from an alert.
    pub declared_by: Option<String>,
    /// The alerts it came from.
    pub alerts: BTreeSet<String>,
    /// Services hit, root causes first.
    pub services: Vec<Affected>,
    /// Milestones.
    pub milestones: Milestones,
    /// Current holder of each crisis role (person id).
    pub roles: BTreeMap<CrisisRole, String>,
    /// Response plans activated.
    pub plans: BTreeSet<String>,
    /// The recovery checklist in priority order (dependencies first).
    pub checklist: Vec<Task>,
    /// Status updates, oldest first.
    pub updates: Vec<StatusUpdate>,
    /// When it was classified significant (NIS2) / major (DORA).
    pub significant_ms: Option<i64>,
    /// Reports due to authorities.
    pub reports: Vec<Report>,
    /// Follow-ups.
    pub actions: Vec<ActionItem>,
    /// Review notes for the postmortem.
    pub review: Review,
    /// Everything that happened, in order.
    pub timeline: Vec<Event>,
}

impl Incident {
    /// Whether it is still open.
    pub fn is_open(&self) -> bool {
        self.status != Status::Resolved
    }

    /// The highest tier hit (lowest number), if any service.
    pub fn highest_tier(&self) -> Option<u8> {
        self.services.iter().map(|s| s.tier).min()
    }

    /// Notifications queued for this incident (timeline entries).
    pub fn notifications(&self) -> usize {
        self.timeline
            .iter()
            .filter(|e| e.kind == EventKind::Notified)
            .count()
    }

    fn log(&mut self, at_ms: i64, by: &str, kind: EventKind, text: Text) {
        let event = Event {
            at_ms,
            by: by.to_string(),
            kind,
            text,
        };
        // In time order; equal times keep the order they were recorded in.
        let at = self.timeline.partition_point(|e| e.at_ms <= at_ms);
        self.timeline.insert(at, event);
    }

    fn affected_mut(&mut self, service: &str) -> Option<&mut Affected> {
        self.services.iter_mut().find(|s| s.service == service)
    }
}

/// Why an operation on an incident was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    /// No such incident.
    #[error("no incident with id `{0}`")]
    Unknown(String),
    /// Not allowed in its current state.
    #[error("{0}")]
    Refused(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
}

/// What the book needs to know about the world.
pub struct IncidentContext<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Now, UTC unix milliseconds.
    pub now_ms: i64,
    /// A service's runbook (Markdown), when declared and readable.
    pub runbook: &'a dyn Fn(&str) -> Option<String>,
    /// A service's last good backup or heartbeat at or before an instant.
    pub last_good_ms: &'a dyn Fn(&str, i64) -> Option<i64>,
}

/// Someone to notify about an incident (crisis team activation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Callout {
    /// The incident.
    pub incident: String,
    /// Who.
    pub recipients: Vec<Recipient>,
    /// What to tell them.
    pub text: Text,
    /// A stable key part (`plan-sev1/incident_commander`) for idempotency.
    pub key: String,
}

/// An operator's change to an incident.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// New status.
    #[serde(default)]
    pub status: Option<Status>,
    /// New severity (by hand).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// Classify significant/major (true) or not (false).
    #[serde(default)]
    pub significant: Option<bool>,
}

/// Every incident this node holds in memory (open ones and those resolved recently),
/// and the next number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentBook {
    /// Incidents by id.
    pub incidents: BTreeMap<String, Incident>,
    /// The number the next incident gets.
    pub next_number: u64,
    /// Ids changed since [`IncidentBook::take_changed`] was last called.
    #[serde(skip)]
    pub changed: BTreeSet<String>,
}

/// How long a resolved incident stays in memory (it stays in the store).
const KEEP_RESOLVED_MS: i64 = 7 * 86_400_000;

fn ms(d: crate::HumanDuration) -> i64 {
    i64::try_from(d.get().as_millis()).unwrap_or(i64::MAX / 4)
}

/// The steps of a runbook: its Markdown task and numbered list items, or none.
pub fn runbook_steps(markdown: &str) -> Vec<String> {
    let mut steps = Vec::new();
    for line in markdown.lines() {
        let t = line.trim_start();
        let item = if let Some(rest) = t
            .strip_prefix("- [ ] ")
            .or_else(|| t.strip_prefix("- [x] "))
            .or_else(|| t.strip_prefix("* [ ] "))
        {
            Some(rest)
        } else {
            let digits = t.chars().take_while(char::is_ascii_digit).count();
            (digits > 0 && t[digits..].starts_with(". ")).then(|| &t[digits + 2..])
        };
        if let Some(item) = item.map(str::trim).filter(|s| !s.is_empty()) {
            steps.push(item.to_string());
        }
    }
    steps
}

/// The steps every service gets when its runbook lists none.
fn default_steps(name: &str) -> Vec<Text> {
    vec![
        tr!(
            "Confirm the failure of {name} and its cause",
            "Bevestig de storing van {name} en de oorzaak"
        ),
        tr!(
            "Restore {name} (fail over, restart or restore)",
            "Herstel {name} (overschakelen, herstarten of terugzetten)"
        ),
        tr!(
            "Verify {name} works for users",
            "Controleer dat {name} werkt voor gebruikers"
        ),
    ]
}

impl IncidentBook {
    /// Hands out the ids changed since the last call (to be saved).
    pub fn take_changed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.changed).into_iter().collect()
    }

    /// An incident by id.
    pub fn get(&self, id: &str) -> Option<&Incident> {
        self.incidents.get(id)
    }

    fn get_mut(&mut self, id: &str) -> Result<&mut Incident, IncidentError> {
        self.changed.insert(id.to_string());
        self.incidents
            .get_mut(id)
            .ok_or_else(|| IncidentError::Unknown(id.to_string()))
    }

    fn open_incident(
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
        };
        self.incidents.insert(id.clone(), incident);
        self.changed.insert(id.clone());
        id
    }

    /// Adds a service to an incident (once) with its checklist task.
    fn add_service(
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
    fn reassess(ctx: &IncidentContext<'_>, incident: &mut Incident, by: &str) -> Vec<Callout> {
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
        let now = ctx.now_ms;
        let mut callouts = Vec::new();
        for alert in alerts.alerts.values() {
            let existing = self
                .incidents
                .values()
                .find(|i| i.alerts.contains(&alert.id))
                .map(|i| i.id.clone());
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
                self.changed.insert(id);
            }
        }
        // Services back up or down again; mitigation; resolution when the alerts are.
        let open: Vec<String> = self
            .incidents
            .values()
            .filter(|i| i.is_open())
            .map(|i| i.id.clone())
            .collect();
        for id in open {
            let incident = self.incidents.get_mut(&id).expect("listed");
            let before = incident.clone();
            for k in 0..incident.services.len() {
                let service = incident.services[k].service.clone();
                let name = incident.services[k].name.clone();
                let Some(h) = alerts.health.get(&service) else {
                    continue;
                };
                let up = matches!(h.health, Health::Operational | Health::Degraded);
                let down = matches!(h.health, Health::Down | Health::Impacted);
                let s = &mut incident.services[k];
                if up && s.up_ms.is_none() {
                    s.up_ms = Some(now);
                    let took = super::span_text(now - s.down_ms);
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
        self.forget(now);
        callouts
    }

    /// Drops resolved incidents older than a week from memory (the store keeps them).
    fn forget(&mut self, now: i64) {
        self.incidents.retain(|_, i| {
            i.is_open()
                || i.milestones
                    .resolved_ms
                    .is_none_or(|r| now - r < KEEP_RESOLVED_MS)
        });
    }

    /// Declares an incident by hand. Services must exist; the severity is derived from
    /// them unless given.
    pub fn declare(
        &mut self,
        ctx: &IncidentContext<'_>,
        title: &str,
        services: &[String],
        severity: Option<Severity>,
        by: &str,
    ) -> Result<(String, Vec<Callout>), IncidentError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(IncidentError::Invalid(
                "an incident needs a title: say in a line what is wrong".into(),
            ));
        }
        if title.chars().count() > 200 {
            return Err(IncidentError::Invalid(
                "the title is longer than 200 characters; put details in a note".into(),
            ));
        }
        for s in services {
            if ctx.catalog.service(s).is_none() {
                return Err(IncidentError::Invalid(format!(
                    "there is no service `{s}` in the catalog"
                )));
            }
        }
        let id = self.open_incident(ctx, title.to_string(), Some(by.to_string()));
        let incident = self.incidents.get_mut(&id).expect("just opened");
        let now = ctx.now_ms;
        incident.milestones.started_ms = Some(now);
        incident.log(
            now,
            by,
            EventKind::Opened,
            tr!(
                "Incident declared by {by}: {title}",
                "Incident gemeld door {by}: {title}"
            ),
        );
        for s in services {
            Self::add_service(ctx, incident, s, true, now, by);
        }
        if let Some(sev) = severity {
            incident.severity = sev;
            incident.severity_by_hand = true;
            let name = sev.name();
            incident.log(
                now,
                by,
                EventKind::Severity,
                tr!("Severity set to {name}", "Ernst ingesteld op {name}"),
            );
        }
        let callouts = Self::reassess(ctx, incident, by);
        Ok((id, callouts))
    }

    /// Acknowledges: someone took it. Returns the alerts to acknowledge with it.
    pub fn acknowledge(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        by: &str,
    ) -> Result<Vec<String>, IncidentError> {
        let incident = self.get_mut(id)?;
        if !incident.is_open() {
            return Err(IncidentError::Refused(format!(
                "incident `{id}` is resolved"
            )));
        }
        if incident.milestones.acknowledged_ms.is_none() {
            incident.milestones.acknowledged_ms = Some(ctx.now_ms);
            incident.log(
                ctx.now_ms,
                by,
                EventKind::Milestone,
                tr!("Acknowledged by {by}", "Bevestigd door {by}"),
            );
        }
        Ok(incident.alerts.iter().cloned().collect())
    }

    /// Changes status, severity, title or classification. Returns the alerts to resolve
    /// with it (when it is resolved) and any crisis-team callouts.
    pub fn change(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        change: &Change,
        by: &str,
    ) -> Result<(Vec<String>, Vec<Callout>), IncidentError> {
        let now = ctx.now_ms;
        let incident = self.get_mut(id)?;
        if let Some(next) = change.status
            && next != incident.status
            && !incident.status.may_move_to(next)
        {
            let (a, b) = (incident.status.name(), next.name());
            return Err(IncidentError::Refused(format!(
                "incident `{id}` cannot move from {a} to {b}: a resolved incident can only be reopened as investigating"
            )));
        }
        if let Some(title) = &change.title {
            let title = title.trim();
            if title.is_empty() || title.chars().count() > 200 {
                return Err(IncidentError::Invalid(
                    "a title is 1 to 200 characters".into(),
                ));
            }
            if title != incident.title {
                incident.title = title.to_string();
                incident.log(
                    now,
                    by,
                    EventKind::Note,
                    tr!("Title changed to: {title}", "Titel gewijzigd in: {title}"),
                );
            }
        }
        let mut callouts = Vec::new();
        if let Some(sev) = change.severity
            && (sev != incident.severity || !incident.severity_by_hand)
        {
            let (old, new) = (incident.severity.name(), sev.name());
            incident.severity = sev;
            incident.severity_by_hand = true;
            incident.log(
                now,
                by,
                EventKind::Severity,
                tr!("Severity {old} → {new}", "Ernst {old} → {new}"),
            );
            callouts.extend(activate(ctx, incident, by));
        }
        if let Some(significant) = change.significant {
            classify(ctx, incident, significant, by);
        }
        let mut resolve_alerts = Vec::new();
        if let Some(next) = change.status
            && next != incident.status
        {
            match next {
                Status::Resolved => {
                    close(incident, now, by);
                    resolve_alerts = incident.alerts.iter().cloned().collect();
                }
                Status::Investigating if incident.status == Status::Resolved => {
                    incident.status = Status::Investigating;
                    incident.milestones.resolved_ms = None;
                    incident.log(
                        now,
                        by,
                        EventKind::Reopened,
                        tr!("Reopened by {by}", "Heropend door {by}"),
                    );
                }
                _ => {
                    let (a, b) = (incident.status.text(), next.text());
                    incident.status = next;
                    incident.log(
                        now,
                        by,
                        EventKind::Status,
                        tr!(
                            "Status {} → {}",
                            "Status {} → {}",
                            a.en,
                            b.en;
                            a.nl,
                            b.nl
                        ),
                    );
                    if next == Status::Monitoring && incident.milestones.mitigated_ms.is_none() {
                        incident.milestones.mitigated_ms = Some(now);
                        incident.log(
                            now,
                            by,
                            EventKind::Milestone,
                            tr!(
                                "Mitigated: a fix is in place",
                                "Beperkt: een oplossing is aangebracht"
                            ),
                        );
                    }
                }
            }
        }
        Ok((resolve_alerts, callouts))
    }

    /// Posts a status update for an audience (its text rendered by the caller from the
    /// templates), moving the status along when it says so.
    pub fn post_update(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        status: Option<Status>,
        audience: Audience,
        body: Text,
        by: &str,
    ) -> Result<Vec<String>, IncidentError> {
        if body.en.trim().is_empty() || body.nl.trim().is_empty() {
            return Err(IncidentError::Invalid(
                "a status update needs a text".into(),
            ));
        }
        let (resolve_alerts, _) = match status {
            Some(s) => self.change(
                ctx,
                id,
                &Change {
                    status: Some(s),
                    ..Change::default()
                },
                by,
            )?,
            None => (Vec::new(), Vec::new()),
        };
        let incident = self.get_mut(id)?;
        let status = incident.status;
        let who = audience.text();
        incident.updates.push(StatusUpdate {
            at_ms: ctx.now_ms,
            by: by.to_string(),
            status,
            audience,
            body: body.clone(),
        });
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Update,
            tr!(
                "Update for {}: {}",
                "Update voor {}: {}",
                who.en,
                body.en;
                who.nl,
                body.nl
            ),
        );
        Ok(resolve_alerts)
    }

    /// Adds a human note.
    pub fn note(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        text: &str,
        by: &str,
    ) -> Result<(), IncidentError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(IncidentError::Invalid("a note needs a text".into()));
        }
        if text.len() > 10_000 {
            return Err(IncidentError::Invalid(
                "a note is at most 10,000 bytes".into(),
            ));
        }
        let incident = self.get_mut(id)?;
        incident.log(ctx.now_ms, by, EventKind::Note, Text::same(text));
        Ok(())
    }

    /// Assigns a crisis role to a person, recording the hand-over.
    pub fn assign(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        role: CrisisRole,
        person: &str,
        by: &str,
    ) -> Result<(), IncidentError> {
        if !ctx.catalog.persons.iter().any(|p| p.id.value == person) {
            return Err(IncidentError::Invalid(format!(
                "there is no person `{person}` in the catalog"
            )));
        }
        let incident = self.get_mut(id)?;
        let r = role.text();
        match incident.roles.insert(role, person.to_string()) {
            Some(previous) if previous == person => {}
            Some(previous) => incident.log(
                ctx.now_ms,
                by,
                EventKind::Role,
                tr!(
                    "{} handed over from {previous} to {person}",
                    "{} overgedragen van {previous} aan {person}",
                    r.en;
                    r.nl
                ),
            ),
            None => incident.log(
                ctx.now_ms,
                by,
                EventKind::Role,
                tr!(
                    "{person} is {}",
                    "{person} is {}",
                    r.en;
                    r.nl
                ),
            ),
        }
        Ok(())
    }

    /// Ticks a recovery step off (or unticks it).
    pub fn tick(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        service: &str,
        step: usize,
        done: bool,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let Some(task) = incident.checklist.iter_mut().find(|t| t.service == service) else {
            return Err(IncidentError::Invalid(format!(
                "service `{service}` is not on the recovery checklist of `{id}`"
            )));
        };
        let count = task.steps.len();
        let Some(s) = step.checked_sub(1).and_then(|i| task.steps.get_mut(i)) else {
            return Err(IncidentError::Invalid(format!(
                "`{service}` has steps 1 to {count}, not {step}"
            )));
        };
        if s.done.is_some() == done {
            return Ok(());
        }
        s.done = done.then(|| Act {
            by: by.to_string(),
            at_ms: ctx.now_ms,
        });
        let what = s.text.clone();
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Checklist,
            if done {
                tr!(
                    "Done ({service} step {step}): {}",
                    "Gedaan ({service} stap {step}): {}",
                    what.en;
                    what.nl
                )
            } else {
                tr!(
                    "Not done after all ({service} step {step}): {}",
                    "Toch niet gedaan ({service} stap {step}): {}",
                    what.en;
                    what.nl
                )
            },
        );
        Ok(())
    }

    /// Marks a regulatory report submitted.
    pub fn submit_report(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        key: &str,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let known: Vec<String> = incident
            .reports
            .iter()
            .map(|r| r.deadline.key.clone())
            .collect();
        let Some(report) = incident.reports.iter_mut().find(|r| r.deadline.key == key) else {
            return Err(IncidentError::Invalid(if known.is_empty() {
                format!(
                    "incident `{id}` has no reports due: it is not classified significant, or the organisation declares no regulations"
                )
            } else {
                format!(
                    "incident `{id}` has no report `{key}`; its reports: {}",
                    known.join(", ")
                )
            }));
        };
        if report.submitted.is_some() {
            return Ok(());
        }
        report.submitted = Some(Act {
            by: by.to_string(),
            at_ms: ctx.now_ms,
        });
        let title = report.deadline.title.clone();
        let late = ctx.now_ms > report.deadline.due_ms;
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Report,
            if late {
                tr!(
                    "{} submitted (after its deadline)",
                    "{} ingediend (na de termijn)",
                    title.en;
                    title.nl
                )
            } else {
                tr!(
                    "{} submitted",
                    "{} ingediend",
                    title.en;
                    title.nl
                )
            },
        );
        Ok(())
    }

    /// Adds an action item; returns its number.
    pub fn add_action(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        title: &str,
        owner: Option<&str>,
        due: Option<&str>,
        by: &str,
    ) -> Result<u32, IncidentError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(IncidentError::Invalid(
                "an action item needs a title".into(),
            ));
        }
        if let Some(owner) = owner
            && !ctx.catalog.persons.iter().any(|p| p.id.value == owner)
            && !ctx.catalog.teams.iter().any(|t| t.id.value == owner)
        {
            return Err(IncidentError::Invalid(format!(
                "owner `{owner}` is neither a person nor a team in the catalog"
            )));
        }
        if let Some(due) = due
            && due.parse::<jiff::civil::Date>().is_err()
        {
            return Err(IncidentError::Invalid(format!(
                "due date `{due}` is not a date like 2026-12-01"
            )));
        }
        let incident = self.get_mut(id)?;
        let number = incident.actions.iter().map(|a| a.id).max().unwrap_or(0) + 1;
        incident.actions.push(ActionItem {
            id: number,
            title: title.to_string(),
            owner: owner.map(str::to_string),
            due: due.map(str::to_string),
            done: None,
        });
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Action,
            tr!(
                "Action item {number} added: {title}",
                "Actiepunt {number} toegevoegd: {title}"
            ),
        );
        Ok(number)
    }

    /// Marks an action item done (or open again).
    pub fn complete_action(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        action: u32,
        done: bool,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let Some(item) = incident.actions.iter_mut().find(|a| a.id == action) else {
            return Err(IncidentError::Invalid(format!(
                "incident `{id}` has no action item {action}"
            )));
        };
        if item.done.is_some() == done {
            return Ok(());
        }
        item.done = done.then(|| Act {
            by: by.to_string(),
            at_ms: ctx.now_ms,
        });
        let title = item.title.clone();
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Action,
            if done {
                tr!(
                    "Action item {action} done: {title}",
                    "Actiepunt {action} gedaan: {title}"
                )
            } else {
                tr!(
                    "Action item {action} reopened: {title}",
                    "Actiepunt {action} heropend: {title}"
                )
            },
        );
        Ok(())
    }

    /// Replaces the review notes (fields left `None`/empty keep their value).
    pub fn review(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        review: Review,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let r = &mut incident.review;
        let keep = |new: Option<String>, old: &mut Option<String>| {
            if let Some(n) = new.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
                *old = Some(n);
            }
        };
        keep(review.summary, &mut r.summary);
        keep(review.root_causes, &mut r.root_causes);
        keep(review.trigger, &mut r.trigger);
        keep(review.resolution, &mut r.resolution);
        for (new, old) in [
            (review.went_well, &mut r.went_well),
            (review.went_wrong, &mut r.went_wrong),
            (review.lucky, &mut r.lucky),
        ] {
            if !new.is_empty() {
                *old = new;
            }
        }
        if review.malicious.is_some() {
            r.malicious = review.malicious;
        }
        if review.cross_border.is_some() {
            r.cross_border = review.cross_border;
        }
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Review,
            tr!("Review notes updated", "Evaluatienotities bijgewerkt"),
        );
        Ok(())
    }

    /// Records something that happened around an alert (a notification queued, sent or
    /// failed; a failover) on the incident that holds it, if any.
    pub fn record_for_alert(
        &mut self,
        alert: &str,
        at_ms: i64,
        by: &str,
        kind: EventKind,
        text: Text,
    ) {
        let Some(id) = self
            .incidents
            .values()
            .find(|i| i.alerts.contains(alert) || i.id == alert)
            .map(|i| i.id.clone())
        else {
            return;
        };
        if let Some(incident) = self.incidents.get_mut(&id) {
            incident.log(at_ms, by, kind, text);
            self.changed.insert(id);
        }
    }

    /// Records an event on the open incidents that hold a service (a failover).
    pub fn record_for_service(
        &mut self,
        service: &str,
        at_ms: i64,
        by: &str,
        kind: EventKind,
        text: Text,
    ) -> usize {
        let ids: Vec<String> = self
            .incidents
            .values()
            .filter(|i| i.is_open() && i.services.iter().any(|s| s.service == service))
            .map(|i| i.id.clone())
            .collect();
        for id in &ids {
            if let Some(incident) = self.incidents.get_mut(id) {
                if kind == EventKind::Failover && incident.milestones.mitigated_ms.is_none() {
                    incident.milestones.mitigated_ms = Some(at_ms);
                }
                incident.log(at_ms, by, kind, text.clone());
            }
            self.changed.insert(id.clone());
        }
        ids.len()
    }
}

/// Resolves an incident: milestone, status, and every service still down counted as back
/// at the resolution (the incident's owner says it is over).
fn close(incident: &mut Incident, at_ms: i64, by: &str) {
    if !incident.is_open() {
        return;
    }
    incident.status = Status::Resolved;
    incident.milestones.resolved_ms = Some(at_ms);
    if incident.milestones.mitigated_ms.is_none() {
        incident.milestones.mitigated_ms = Some(at_ms);
    }
    for s in &mut incident.services {
        if s.up_ms.is_none() {
            s.up_ms = Some(at_ms.max(s.down_ms));
        }
    }
    incident.log(
        at_ms,
        by,
        EventKind::Resolved,
        tr!("Resolved by {by}", "Opgelost door {by}"),
    );
}

/// Classifies an incident significant/major (or takes it back) and computes the reports
/// due under each regulation the organisation declares.
fn classify(ctx: &IncidentContext<'_>, incident: &mut Incident, significant: bool, by: &str) {
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
fn activate(ctx: &IncidentContext<'_>, incident: &mut Incident, by: &str) -> Vec<Callout> {
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
fn order_checklist(catalog: &Catalog, incident: &mut Incident) {
    let graph = Graph::new(catalog);
    let order: BTreeMap<String, usize> = graph
        .priority_order()
        .into_iter()
        .enumerate()
        .map(|(pos, i)| (graph.service(i).id.value.clone(), pos))
        .collect();
    incident
        .checklist
        .sort_by_key(|t| order.get(&t.service).copied().unwrap_or(usize::MAX));
}

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
            let took = super::span_text(took_ms);
            tr!("RTO met (took {took})", "RTO gehaald (duurde {took})")
        }
        Recovery::Breached { took_ms, over_ms } => {
            let (took, over) = (super::span_text(took_ms), super::span_text(over_ms));
            tr!(
                "RTO breached (took {took}, {over} over)",
                "RTO overschreden (duurde {took}, {over} te lang)"
            )
        }
    }
}

/// "Possible data loss: 42 min (RPO 15 min, exceeded)".
pub fn data_loss_text(d: &DataLoss) -> Text {
    let window = super::span_text(d.window_ms);
    match (d.rpo_ms, d.within_rpo) {
        (Some(rpo), Some(true)) => {
            let rpo = super::span_text(rpo);
            tr!(
                "possible data loss {window} (within the RPO of {rpo})",
                "mogelijk gegevensverlies {window} (binnen het RPO van {rpo})"
            )
        }
        (Some(rpo), _) => {
            let rpo = super::span_text(rpo);
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
