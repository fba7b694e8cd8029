//! The incident book: every incident with its services, milestones, crisis team,
//! timeline, recovery checklist, status updates, regulatory reports, action items and
//! review notes, and the pure decisions that change them. Incidents open from alerts
//! ([`IncidentBook::sync`]) or by hand ([`IncidentBook::declare`]); every change is
//! recorded on the incident's timeline with who made it. Time is an argument.
//!
//! This file holds the records (the types and the book's lookups); the decisions are
//! split along their seams: `sync` (incidents follow alerts), `acts` (what operators
//! do), `plan` (classification and response plans), `facts` (what an update says) and
//! `public` (what customers are told automatically).

mod acts;
mod facts;
mod plan;
mod public;
mod sync;

pub use facts::{UpdateFacts, UpdateService, data_loss_text, rto_text};
pub use public::AUTOMATIC;
pub use sync::Scope;

/// The longest texts an incident takes, in characters. Below the web layer's body limit
/// (1 MiB) one incident could still grow by megabytes at a time, and every view, page
/// and report repeats what it holds. The book refuses a longer title or note; the web
/// layer checks every field against these before a change reaches the book, and says
/// which field in both languages.
pub mod limits {
    /// A title: a line.
    pub const TITLE: usize = 200;
    /// A status update's own words, a note, one review field.
    pub const TEXT: usize = 10_000;
    /// One line of a review list (what went well, wrong, lucky).
    pub const LINE: usize = 1_000;
    /// Lines in one review list.
    pub const LINES: usize = 100;
    /// A name or id: who did it, an action's owner and due date, a person, a service, a
    /// report key.
    pub const NAME: usize = 200;
}
pub use plan::plan_for;

// The seams call each other through here (children see this module's private items).
use acts::close;
use plan::{activate, classify, order_checklist};

use super::{
    Audience, CrisisRole, Deadline, Milestones, Recovery, Regime, Severity, Status, countdown,
    deadlines, derive_severity, recovery,
};
use crate::alerting::{Act, AlertBook, AlertState, Recipient, resolve_targets};
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
    /// A change another system reported (a deploy, a configuration change).
    Change,
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
    /// The title customers see, in both languages, when the title was generated from a
    /// non-public root cause (set with the automatic public update; cleared when
    /// someone writes a title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_title: Option<Text>,
}

impl Incident {
    /// The title customers see: the generated public one, else the title.
    pub fn public_title(&self) -> Text {
        self.public_title
            .clone()
            .unwrap_or_else(|| Text::same(self.title.clone()))
    }

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
    /// Which incident held each alert at the last [`IncidentBook::sync`]: a hint that
    /// makes [`IncidentBook::record_for_alert`] a lookup instead of a scan of every
    /// incident (checked before use; never part of the book's value).
    #[serde(skip)]
    pub(crate) holders: Holders,
}

/// Alert id → the id of the incident that holds it, as last seen. Equal to any other:
/// a hint, not state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Holders(pub(crate) std::collections::HashMap<String, String>);

impl PartialEq for Holders {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Holders {}

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
        let hinted = self
            .holders
            .0
            .get(alert)
            .filter(|id| {
                self.incidents
                    .get(*id)
                    .is_some_and(|i| i.alerts.contains(alert))
            })
            .cloned();
        let Some(id) = hinted.or_else(|| {
            self.incidents
                .values()
                .find(|i| i.alerts.contains(alert) || i.id == alert)
                .map(|i| i.id.clone())
        }) else {
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
