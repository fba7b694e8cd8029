//! Alerting decisions: which alerts are open, whom to page when, and whom to tell that
//! it is over. Pure: time, health and maintenance arrive as arguments; the result is a
//! list of [`Page`]s for the engine to put in the durable outbox.
//!
//! Rules:
//! - One alert per root cause. A service that is down only because a hard dependency is
//!   down is *impacted*: it is listed on the root cause's alert and not paged on its own.
//!   A new root cause waits a grouping time before it pages (long enough for its hard
//!   dependencies' checks to notice a shared failure); if it turns out to be impacted in
//!   the meantime, its alert closes without paging anyone. A firing alert whose service
//!   becomes impacted stops escalating until it is a root cause again.
//!   When the root cause recovers, each impacted service gets a settling time; one still
//!   down after it opens an alert of its own.
//! - Paging follows the escalation policy of the service's owning team: levels at their
//!   delays after the alert starts firing, the whole policy repeated `repeat` times; a
//!   round lasts until the last level's delay plus the gap before it (at least 5 min).
//!   Acknowledging stops escalation (reminders, if configured, go on); resolving stops
//!   everything.
//! - Everyone who was paged about an alert is told when it is acknowledged and when it
//!   is resolved, even if it was held, silenced or put into maintenance in between.
//! - Maintenance holds new pages: an alert opened during maintenance is held until it
//!   ends (and fires then if still down); escalation of a firing alert pauses.

pub mod policy;

use crate::catalog::{Catalog, Escalation, Target, TargetKind};
use crate::maintenance::Window;
use crate::oncall::on_call_at;
use crate::state::{Health, ServiceHealth};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Shortest round of an escalation policy that repeats.
const MIN_ROUND_MS: i64 = 5 * 60_000;
/// How long resolved alerts stay listed.
const KEEP_RESOLVED_MS: i64 = 7 * 86_400_000;

/// Someone or something that receives notifications.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Recipient {
    /// A person, reached through their contact channels.
    Person(String),
    /// A channel (chat room, webhook, mailbox).
    Channel(String),
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Person(id) => write!(f, "person:{id}"),
            Recipient::Channel(id) => write!(f, "channel:{id}"),
        }
    }
}

/// Where an alert comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// Continuo's own checks found the service down.
    Detected,
    /// An inbound alert (Alertmanager, a PagerDuty-style event) routed to the service.
    Inbound {
        /// `alertmanager` or `events`.
        source: String,
        /// The sender's deduplication key (fingerprint, dedup_key).
        key: String,
    },
}

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Open, but not paging: its service is under maintenance.
    Held,
    /// Paging through the escalation policy.
    Firing,
    /// Someone took it; escalation stopped.
    Acknowledged,
    /// Over.
    Resolved,
}

/// Who did something, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Act {
    /// Person id, `api`, `cli`, `link:<person>` or `continuo` for automatic actions.
    pub by: String,
    /// When, UTC unix milliseconds.
    pub at_ms: i64,
}

/// One alert: a root cause and everything known about paging for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Identifier, also the deduplication key sent to PagerDuty-like receivers.
    pub id: String,
    /// The root-cause service.
    pub service: String,
    /// Where it comes from.
    pub origin: Origin,
    /// What is wrong, in a line.
    pub summary: String,
    /// Services down because of this one.
    pub impacted: BTreeSet<String>,
    /// When the failure was first seen.
    pub started_ms: i64,
    /// Current state.
    pub state: AlertState,
    /// When paging began (the escalation clock's zero).
    pub fired_ms: Option<i64>,
    /// A new alert waits until then before paging, in case its service turns out to be
    /// impacted by a dependency.
    #[serde(default)]
    pub hold_until_ms: Option<i64>,
    /// The escalation policy paging for it.
    pub escalation: Option<String>,
    /// Index of the next escalation step (over all rounds).
    pub next_step: usize,
    /// When the next step is due.
    pub next_ms: Option<i64>,
    /// When the next reminder is due (acknowledged alerts).
    pub next_reminder_ms: Option<i64>,
    /// Acknowledgement.
    pub acknowledged: Option<Act>,
    /// Resolution.
    pub resolved: Option<Act>,
    /// Everyone paged about it so far.
    pub notified: BTreeSet<Recipient>,
}

/// What to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageEvent {
    /// The alert fires (or escalates to a new level).
    Firing,
    /// Someone acknowledged it.
    Acknowledged,
    /// It is over.
    Resolved,
    /// It is acknowledged but still open.
    Reminder,
}

impl PageEvent {
    /// The name used in storage and payloads.
    pub fn name(self) -> &'static str {
        match self {
            PageEvent::Firing => "firing",
            PageEvent::Acknowledged => "acknowledged",
            PageEvent::Resolved => "resolved",
            PageEvent::Reminder => "reminder",
        }
    }
}

/// One decision to notify some recipients about an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The alert.
    pub alert: String,
    /// What happened.
    pub event: PageEvent,
    /// Escalation level (1-based) for firing pages; 0 otherwise.
    pub level: u32,
    /// Escalation round (0-based) for firing pages.
    pub round: u32,
    /// Who is told.
    pub recipients: Vec<Recipient>,
    /// Targets that reached nobody (a schedule with no one on call).
    pub unreachable: Vec<String>,
}

/// An alert arriving from outside (already routed to a service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound {
    /// `alertmanager` or `events`.
    pub source: String,
    /// The sender's deduplication key.
    pub key: String,
    /// The service it is routed to.
    pub service: String,
    /// What is wrong.
    pub summary: String,
    /// Firing (true) or resolved (false).
    pub firing: bool,
    /// When it started, if the sender says.
    pub started_ms: Option<i64>,
}

/// Why an operation on an alert was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// No alert with this id.
    #[error("no alert with id `{0}`")]
    Unknown(String),
    /// The alert is already resolved.
    #[error("alert `{0}` is already resolved")]
    Resolved(String),
}

/// What alerting needs to know about the world right now.
pub struct Context<'a> {
    /// The catalog (escalation policies, schedules, teams).
    pub catalog: &'a Catalog,
    /// Now, UTC unix milliseconds.
    pub now_ms: i64,
    /// Active maintenance windows.
    pub maintenance: &'a [Window],
    /// How long a service gets to recover on its own after its root cause recovered.
    pub settle_ms: &'a dyn Fn(&str) -> i64,
    /// A line explaining why a service is down.
    pub summary: &'a dyn Fn(&str) -> String,
    /// How long a new root cause waits before paging (0: page at once).
    pub group_wait_ms: &'a dyn Fn(&str) -> i64,
}

impl Context<'_> {
    fn in_maintenance(&self, service: &str) -> bool {
        self.maintenance
            .iter()
            .any(|w| w.covers(service, self.now_ms))
    }
}

/// Every alert, open and recently resolved; serializable so it survives restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertBook {
    /// Alerts by id.
    pub alerts: BTreeMap<String, Alert>,
    /// Service health as last observed. Not needed in a saved book: the first
    /// decision after a start observes the health of that moment.
    #[serde(default)]
    pub health: BTreeMap<String, ServiceHealth>,
    /// Services that were impacted by a root cause that recovered: no alert of their own
    /// before this instant.
    #[serde(default)]
    pub settling: BTreeMap<String, i64>,
    /// Services whose alert was resolved by hand while still down: no new alert until
    /// they have been seen not down.
    #[serde(default)]
    pub quiet: BTreeSet<String>,
}

impl AlertBook {
    /// The open (not resolved) alert about `service` from its own checks.
    pub fn open_detected(&self, service: &str) -> Option<&Alert> {
        self.alerts.values().find(|a| {
            a.service == service && a.origin == Origin::Detected && a.state != AlertState::Resolved
        })
    }

    /// The services an open inbound alert says are down, whatever their checks say.
    pub fn held_by_inbound(&self) -> BTreeSet<&str> {
        self.alerts
            .values()
            .filter(|a| {
                matches!(a.origin, Origin::Inbound { .. }) && a.state != AlertState::Resolved
            })
            .map(|a| a.service.as_str())
            .collect()
    }

    /// Takes in freshly computed service health and decides.
    pub fn observe(
        &mut self,
        ctx: &Context<'_>,
        health: &BTreeMap<String, ServiceHealth>,
    ) -> Vec<Page> {
        self.health = health.clone();
        self.evaluate(ctx)
    }

    /// Re-decides with the last observed health: escalation steps and reminders that are
    /// due, maintenance that ended, settling times that passed.
    pub fn tick(&mut self, ctx: &Context<'_>) -> Vec<Page> {
        self.evaluate(ctx)
    }

    /// [`AlertBook::tick`] that also reconsiders every alert's escalation schedule, not
    /// only those with something due: after the catalog changed (its escalation
    /// policies may have).
    pub fn tick_all(&mut self, ctx: &Context<'_>) -> Vec<Page> {
        let health = std::mem::take(&mut self.health);
        let pages = self.evaluate_with(ctx, &health, true);
        self.health = health;
        pages
    }

    fn evaluate(&mut self, ctx: &Context<'_>) -> Vec<Page> {
        // Taken out for the decision and put back after it: a copy per decision cost a
        // map the size of the catalog.
        let health = std::mem::take(&mut self.health);
        let pages = self.evaluate_with(ctx, &health, false);
        self.health = health;
        pages
    }

    fn evaluate_with(
        &mut self,
        ctx: &Context<'_>,
        health: &BTreeMap<String, ServiceHealth>,
        every_alert: bool,
    ) -> Vec<Page> {
        let now = ctx.now_ms;
        let mut pages = Vec::new();
        self.quiet.retain(|s| {
            health
                .get(s)
                .is_some_and(|h| matches!(h.health, Health::Down | Health::Impacted))
        });
        self.settling.retain(|_, until| *until > now);

        // Recoveries first, so a recovered root cause releases its impacted services.
        let recovered: Vec<String> = self
            .alerts
            .values()
            .filter(|a| a.origin == Origin::Detected && a.state != AlertState::Resolved)
            .filter(|a| match health.get(&a.service) {
                Some(h) => {
                    matches!(h.health, Health::Operational | Health::Degraded)
                        // Its checks were removed: nothing can say it is down any more.
                        || (h.health == Health::Unknown
                            && ctx
                                .catalog
                                .service(&a.service)
                                .is_some_and(|s| s.checks.is_empty()))
                }
                // A service that left the catalog is not failing any more.
                None => ctx.catalog.service(&a.service).is_none(),
            })
            .map(|a| a.id.clone())
            .collect();
        for id in recovered {
            pages.extend(self.close(ctx, &id, "continuo"));
        }

        // New root causes.
        let open: BTreeSet<&str> = self
            .alerts
            .values()
            .filter(|a| a.origin == Origin::Detected && a.state != AlertState::Resolved)
            .map(|a| a.service.as_str())
            .collect();
        let mut opened: Vec<Alert> = Vec::new();
        for (service, h) in health {
            if h.health != Health::Down
                || open.contains(service.as_str())
                || self.quiet.contains(service)
                || self.settling.contains_key(service)
            {
                continue;
            }
            let id = format!("{service}-{now}");
            let escalation = escalation_of(ctx.catalog, service).map(|e| e.id.value.clone());
            let wait = (ctx.group_wait_ms)(service).max(0);
            let alert = Alert {
                id: id.clone(),
                service: service.clone(),
                origin: Origin::Detected,
                summary: (ctx.summary)(service),
                impacted: BTreeSet::new(),
                started_ms: now,
                state: AlertState::Held,
                fired_ms: None,
                hold_until_ms: (wait > 0).then(|| now.saturating_add(wait)),
                escalation,
                next_step: 0,
                next_ms: None,
                next_reminder_ms: None,
                acknowledged: None,
                resolved: None,
                notified: BTreeSet::new(),
            };
            opened.push(alert);
        }
        drop(open);
        for alert in opened {
            self.alerts.insert(alert.id.clone(), alert);
        }

        // Impacted services join their root causes' alerts; an alert of their own that
        // has paged nobody yet closes quietly (it was a symptom, not a root cause).
        for (service, h) in health {
            if h.health != Health::Impacted {
                continue;
            }
            let cause = h.root_causes.join(", ");
            for alert in self.alerts.values_mut() {
                if &alert.service == service
                    && alert.origin == Origin::Detected
                    && alert.state == AlertState::Held
                    && alert.notified.is_empty()
                {
                    alert.state = AlertState::Resolved;
                    alert.resolved = Some(Act {
                        by: format!("continuo: impacted by {cause}"),
                        at_ms: now,
                    });
                    alert.hold_until_ms = None;
                }
            }
            for cause in &h.root_causes {
                if let Some(alert) = self.alerts.values_mut().find(|a| {
                    &a.service == cause && a.state != AlertState::Resolved && a.service != *service
                }) {
                    alert.impacted.insert(service.clone());
                }
            }
        }

        // Held alerts fire once their service is out of maintenance; firing ones escalate.
        // An alert with nothing due is left alone: a firing one whose next step is later,
        // an acknowledged one whose reminder is later, a resolved one.
        let ids: Vec<String> = self
            .alerts
            .values()
            .filter(|a| match a.state {
                _ if every_alert => true,
                AlertState::Held => true,
                AlertState::Firing => a.next_ms.is_none_or(|t| t <= now),
                AlertState::Acknowledged => a.next_reminder_ms.is_some_and(|t| t <= now),
                AlertState::Resolved => false,
            })
            .map(|a| a.id.clone())
            .collect();
        for id in ids {
            pages.extend(self.advance(ctx, &id, health));
        }
        self.alerts.retain(|_, a| {
            a.resolved
                .as_ref()
                .is_none_or(|r| now - r.at_ms < KEEP_RESOLVED_MS)
        });
        pages
    }

    /// Moves one alert along: start firing, due escalation steps, due reminders.
    fn advance(
        &mut self,
        ctx: &Context<'_>,
        id: &str,
        health: &BTreeMap<String, ServiceHealth>,
    ) -> Vec<Page> {
        let now = ctx.now_ms;
        let Some(alert) = self.alerts.get_mut(id) else {
            return Vec::new();
        };
        let impacted = alert.origin == Origin::Detected
            && health
                .get(&alert.service)
                .is_some_and(|h| h.health == Health::Impacted);
        let paused = ctx.in_maintenance(&alert.service) || impacted;
        let waiting = alert.hold_until_ms.is_some_and(|t| now < t);
        let mut pages = Vec::new();
        match alert.state {
            AlertState::Held if !paused && !waiting => {
                alert.hold_until_ms = None;
                alert.state = AlertState::Firing;
                alert.fired_ms = Some(now);
                alert.next_ms = Some(now);
                alert.next_step = 0;
            }
            _ => {}
        }
        let policy = alert
            .escalation
            .as_deref()
            .and_then(|e| ctx.catalog.escalations.iter().find(|p| p.id.value == e));
        if alert.state == AlertState::Firing
            && !paused
            && let (Some(policy), Some(fired)) = (policy, alert.fired_ms)
        {
            let steps = plan(policy);
            // Steps that fell due while escalation was paused (maintenance, an impacted
            // service, a restart) do not all go out at once: the schedule moves so the
            // first of them goes out now and the rest keep their spacing.
            if let Some(step) = steps.get(alert.next_step)
                && fired.saturating_add(step.at_ms) < now - 2_000
            {
                alert.fired_ms = Some(now - step.at_ms);
            }
            let fired = alert.fired_ms.unwrap_or(fired);
            while let Some(step) = steps.get(alert.next_step) {
                let due = fired.saturating_add(step.at_ms);
                if due > now {
                    alert.next_ms = Some(due);
                    break;
                }
                let targets = &policy.levels[step.level].notify;
                let (recipients, unreachable) = resolve_targets(ctx.catalog, targets, now);
                alert.notified.extend(recipients.iter().cloned());
                pages.push(Page {
                    alert: alert.id.clone(),
                    event: PageEvent::Firing,
                    level: step.level as u32 + 1,
                    round: step.round,
                    recipients,
                    unreachable,
                });
                alert.next_step += 1;
                alert.next_ms = None;
            }
        }
        if alert.state == AlertState::Firing && policy.is_none() {
            // Nobody to page: nothing is due.
            alert.next_ms = None;
        }
        if alert.state == AlertState::Acknowledged
            && let Some(due) = alert.next_reminder_ms
            && due <= now
            && !paused
        {
            alert.next_reminder_ms = reminder_every(policy).map(|ms| now.saturating_add(ms));
            pages.extend(tell_notified(alert, PageEvent::Reminder));
        }
        pages
    }

    /// Resolves an alert and tells everyone who was paged.
    fn close(&mut self, ctx: &Context<'_>, id: &str, by: &str) -> Vec<Page> {
        let now = ctx.now_ms;
        let Some(alert) = self.alerts.get_mut(id) else {
            return Vec::new();
        };
        if alert.state == AlertState::Resolved {
            return Vec::new();
        }
        alert.state = AlertState::Resolved;
        alert.resolved = Some(Act {
            by: by.into(),
            at_ms: now,
        });
        alert.next_ms = None;
        alert.next_reminder_ms = None;
        for service in &alert.impacted {
            let settle = (ctx.settle_ms)(service);
            self.settling
                .insert(service.clone(), now.saturating_add(settle));
        }
        tell_notified(alert, PageEvent::Resolved)
    }

    /// Acknowledges an alert: escalation stops and everyone paged hears who took it.
    pub fn acknowledge(
        &mut self,
        ctx: &Context<'_>,
        id: &str,
        by: &str,
    ) -> Result<Vec<Page>, AlertError> {
        let alert = self
            .alerts
            .get_mut(id)
            .ok_or_else(|| AlertError::Unknown(id.into()))?;
        match alert.state {
            AlertState::Resolved => return Err(AlertError::Resolved(id.into())),
            // Acknowledging twice changes nothing and pages nobody.
            AlertState::Acknowledged => return Ok(Vec::new()),
            AlertState::Held | AlertState::Firing => {}
        }
        alert.state = AlertState::Acknowledged;
        alert.acknowledged = Some(Act {
            by: by.into(),
            at_ms: ctx.now_ms,
        });
        alert.next_ms = None;
        let policy = alert
            .escalation
            .as_deref()
            .and_then(|e| ctx.catalog.escalations.iter().find(|p| p.id.value == e));
        alert.next_reminder_ms = reminder_every(policy).map(|ms| ctx.now_ms.saturating_add(ms));
        Ok(tell_notified(alert, PageEvent::Acknowledged))
    }

    /// Resolves an alert by hand. A detected alert whose service is still down does not
    /// reopen until the service has been seen up.
    pub fn resolve(
        &mut self,
        ctx: &Context<'_>,
        id: &str,
        by: &str,
    ) -> Result<Vec<Page>, AlertError> {
        let alert = self
            .alerts
            .get(id)
            .ok_or_else(|| AlertError::Unknown(id.into()))?;
        if alert.state == AlertState::Resolved {
            return Err(AlertError::Resolved(id.into()));
        }
        if alert.origin == Origin::Detected {
            self.quiet.insert(alert.service.clone());
        }
        Ok(self.close(ctx, id, by))
    }

    /// Takes in an inbound alert: a firing one opens (or continues) the alert with its
    /// key, a resolved one closes it.
    pub fn inbound(&mut self, ctx: &Context<'_>, event: &Inbound) -> Vec<Page> {
        let origin = Origin::Inbound {
            source: event.source.clone(),
            key: event.key.clone(),
        };
        let existing = self
            .alerts
            .values()
            .find(|a| a.origin == origin && a.state != AlertState::Resolved)
            .map(|a| a.id.clone());
        match (existing, event.firing) {
            (Some(id), false) => self.close(ctx, &id, &event.source),
            (None, false) => Vec::new(),
            (Some(id), true) => {
                if let Some(alert) = self.alerts.get_mut(&id) {
                    alert.summary.clone_from(&event.summary);
                }
                self.advance_now(ctx, &id)
            }
            (None, true) => {
                let now = ctx.now_ms;
                let id = format!(
                    "{}-{}-{now}",
                    event.source,
                    short_hash(&format!("{}\u{0}{}", event.source, event.key))
                );
                let alert = Alert {
                    id: id.clone(),
                    service: event.service.clone(),
                    origin,
                    summary: event.summary.clone(),
                    impacted: BTreeSet::new(),
                    started_ms: event.started_ms.unwrap_or(now).min(now),
                    state: AlertState::Held,
                    fired_ms: None,
                    hold_until_ms: None,
                    escalation: escalation_of(ctx.catalog, &event.service)
                        .map(|e| e.id.value.clone()),
                    next_step: 0,
                    next_ms: None,
                    next_reminder_ms: None,
                    acknowledged: None,
                    resolved: None,
                    notified: BTreeSet::new(),
                };
                self.alerts.insert(id.clone(), alert);
                self.advance_now(ctx, &id)
            }
        }
    }

    /// [`AlertBook::advance`] outside a whole evaluation, with the health last seen.
    fn advance_now(&mut self, ctx: &Context<'_>, id: &str) -> Vec<Page> {
        let health = std::mem::take(&mut self.health);
        let pages = self.advance(ctx, id, &health);
        self.health = health;
        pages
    }

    /// The earliest instant at which [`AlertBook::tick`] has something to do.
    pub fn next_due(&self) -> Option<i64> {
        let alerts = self
            .alerts
            .values()
            .filter_map(|a| match a.state {
                AlertState::Held => a.hold_until_ms,
                AlertState::Firing => a.next_ms,
                AlertState::Acknowledged => a.next_reminder_ms,
                _ => None,
            })
            .min();
        let settling = self.settling.values().copied().min();
        [alerts, settling].into_iter().flatten().min()
    }
}

/// A page telling everyone already paged about `event` (none when nobody was paged).
fn tell_notified(alert: &Alert, event: PageEvent) -> Vec<Page> {
    if alert.notified.is_empty() {
        return Vec::new();
    }
    vec![Page {
        alert: alert.id.clone(),
        event,
        level: 0,
        round: 0,
        recipients: alert.notified.iter().cloned().collect(),
        unreachable: Vec::new(),
    }]
}

/// How often a policy reminds about acknowledged alerts, if it does.
fn reminder_every(policy: Option<&Escalation>) -> Option<i64> {
    policy
        .and_then(|p| p.reminder)
        .and_then(|r| i64::try_from(r.get().as_millis()).ok())
        .filter(|ms| *ms > 0)
}

/// The escalation policy for a service: its owning team's.
pub fn escalation_of<'c>(catalog: &'c Catalog, service: &str) -> Option<&'c Escalation> {
    let owner = &catalog.service(service)?.owner.value;
    let team = catalog.teams.iter().find(|t| &t.id.value == owner)?;
    let policy = team.escalation.as_ref()?;
    catalog
        .escalations
        .iter()
        .find(|e| e.id.value == policy.value)
}

/// One step of an escalation plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Offset from the start of firing.
    pub at_ms: i64,
    /// Level index (0-based).
    pub level: usize,
    /// Round (0-based).
    pub round: u32,
}

/// Every step of a policy over all its rounds, in order.
pub fn plan(policy: &Escalation) -> Vec<Step> {
    let offsets: Vec<i64> = policy
        .levels
        .iter()
        .map(|l| i64::try_from(l.after.get().as_millis()).unwrap_or(i64::MAX / 4))
        .collect();
    let Some(&last) = offsets.iter().max() else {
        return Vec::new();
    };
    let gap = match offsets.len() {
        0 | 1 => last,
        n => {
            let mut sorted = offsets.clone();
            sorted.sort_unstable();
            sorted[n - 1] - sorted[n - 2]
        }
    };
    let round_ms = (last + gap).max(MIN_ROUND_MS);
    let mut steps = Vec::new();
    for round in 0..=policy.repeat {
        for (level, offset) in offsets.iter().enumerate() {
            steps.push(Step {
                at_ms: i64::from(round)
                    .saturating_mul(round_ms)
                    .saturating_add(*offset),
                level,
                round,
            });
        }
    }
    steps.sort_by_key(|s| (s.at_ms, s.level));
    steps
}

/// Who the targets reach at `at_ms`: persons and channels, deduplicated in order, and
/// the targets that reach nobody.
pub fn resolve_targets(
    catalog: &Catalog,
    targets: &[Target],
    at_ms: i64,
) -> (Vec<Recipient>, Vec<String>) {
    let mut out: Vec<Recipient> = Vec::new();
    let mut unreachable = Vec::new();
    let push = |r: Recipient, out: &mut Vec<Recipient>| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for target in targets {
        let id = &target.id.value;
        let before = out.len();
        match target.kind {
            TargetKind::Person => push(Recipient::Person(id.clone()), &mut out),
            TargetKind::Channel => push(Recipient::Channel(id.clone()), &mut out),
            TargetKind::Team => {
                if let Some(team) = catalog.teams.iter().find(|t| &t.id.value == id) {
                    for member in &team.members {
                        push(Recipient::Person(member.value.clone()), &mut out);
                    }
                }
            }
            TargetKind::Schedule => {
                if let Some(who) = catalog
                    .schedules
                    .iter()
                    .find(|s| &s.id.value == id)
                    .and_then(|s| on_call_at(s, &catalog.organization.timezone, at_ms))
                {
                    push(Recipient::Person(who.person), &mut out);
                }
            }
        }
        let reached =
            out.len() > before || matches!(target.kind, TargetKind::Person | TargetKind::Channel);
        if !reached && !out_contains_all(target, catalog, &out, at_ms) {
            unreachable.push(format!("{}:{id}", target.kind.prefix()));
        }
    }
    (out, unreachable)
}

/// Whether a target that added nobody new was only a duplicate of earlier recipients.
fn out_contains_all(target: &Target, catalog: &Catalog, out: &[Recipient], at_ms: i64) -> bool {
    let id = &target.id.value;
    match target.kind {
        TargetKind::Team => catalog
            .teams
            .iter()
            .find(|t| &t.id.value == id)
            .is_some_and(|t| {
                !t.members.is_empty()
                    && t.members
                        .iter()
                        .all(|m| out.contains(&Recipient::Person(m.value.clone())))
            }),
        TargetKind::Schedule => catalog
            .schedules
            .iter()
            .find(|s| &s.id.value == id)
            .and_then(|s| on_call_at(s, &catalog.organization.timezone, at_ms))
            .is_some_and(|who| out.contains(&Recipient::Person(who.person))),
        _ => true,
    }
}

/// A short stable hash for ids (FNV-1a, 64 bits, as hex).
fn short_hash(text: &str) -> String {
    format!("{:016x}", crate::hash::fnv1a(text.bytes()))
}
