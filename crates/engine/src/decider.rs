//! The decision task: the one writer of the alert and incident books. It takes service
//! health, ticks and the handle's commands, makes each decision on the books, runs
//! every [`Stage`] after it, and commits the books with the stages' outbox items
//! before anything can be sent.
//!
//! Nothing is sent that was not first committed to the store: a crash after the commit
//! resends with the same idempotency key; a crash before it decides the same pages again
//! (the book was not saved either), with the same keys.

use crate::degraded::Degraded;
use crate::persist::Persist;
use crate::shared::{
    AlertHandle, AlertingError, Books, Command, ServiceEventKind, incident_ctx, lock,
};
use crate::stage::{Decided, Stage};
use continuo_core::alerting::{Alert, AlertBook, AlertError, AlertState, Context, Page};
use continuo_core::analysis::Graph;
use continuo_core::catalog::Catalog;
use continuo_core::evidence::Evidence;
use continuo_core::evidence::records::{self, Failover};
use continuo_core::incident::book::{EventKind, IncidentBook, IncidentContext, Scope};
use continuo_core::maintenance::{self, Window};
use continuo_core::state::ServiceHealth;
use continuo_store::{BookChanges, IncidentRow, OutboxItem};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The alerting policies a decision asks about a service (pure functions of the
/// dependency graph or the catalog, given by `alerts.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Policies {
    /// How long a service gets to recover on its own after its root cause recovered.
    pub(crate) settle_ms: fn(&Graph<'_>, &str) -> i64,
    /// How long a new root cause waits before paging.
    pub(crate) group_wait_ms: fn(&Graph<'_>, &str) -> i64,
    /// The summary of an alert the engine raises.
    pub(crate) summary: fn(&Catalog, &str) -> String,
}

/// The pages inside a decision's result.
pub(crate) trait PagesOf {
    fn pages(&self) -> &[Page];
}

impl PagesOf for Vec<Page> {
    fn pages(&self) -> &[Page] {
        self
    }
}

impl PagesOf for Result<Vec<Page>, AlertError> {
    fn pages(&self) -> &[Page] {
        match self {
            Ok(p) => p,
            Err(_) => &[],
        }
    }
}

/// The decision task.
pub(crate) struct Decider {
    pub(crate) handle: AlertHandle,
    pub(crate) store: Arc<dyn Persist>,
    /// What follows every decision, in order.
    pub(crate) stages: Arc<[Arc<dyn Stage>]>,
    pub(crate) policies: Policies,
    /// Decided but not yet committed (the store failed): retried every tick.
    pub(crate) unsaved: Vec<OutboxItem>,
    /// Incidents changed but not yet committed, by id (the newest state of each).
    pub(crate) unsaved_incidents: BTreeMap<String, IncidentRow>,
    /// Evidence decided but not yet committed (kept and retried like the outbox items).
    pub(crate) unsaved_evidence: Vec<Evidence>,
    /// Ids of the alerts changed (or dropped) since the last commit.
    pub(crate) unsaved_alerts: BTreeSet<String>,
    /// The book's own fields (settling, quiet) changed since the last commit.
    pub(crate) rest_dirty: bool,
    /// Pages from memory while the store does not take the commit.
    pub(crate) degraded: Degraded,
    /// The service health the incidents were last synced with.
    pub(crate) synced_health: Arc<BTreeMap<String, ServiceHealth>>,
    /// The next decision syncs every incident, not only what it changed: at start, after
    /// an operator's change of incidents or a reload, and once a minute.
    pub(crate) sync_everything: bool,
    /// When every incident was last synced.
    pub(crate) synced_everything_ms: i64,
    /// Whether the last decision changed the alert book.
    pub(crate) last_changed: bool,
}

/// How often a decision syncs every incident even when nothing asks for it: a safety
/// net under the narrow syncs, cheap at this spacing.
const SYNC_EVERYTHING_EVERY_MS: i64 = 60_000;

/// How long a commit may take before the decision task stops waiting for it and pages
/// from memory (it is retried at the next tick): well inside the 5 s in which an outage
/// must be paged.
const COMMIT_DEADLINE: Duration = Duration::from_secs(2);

impl Decider {
    pub(crate) async fn run(
        mut self,
        commands: &mut mpsc::Receiver<Command>,
        mut health: watch::Receiver<Arc<BTreeMap<String, ServiceHealth>>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Health known at start counts as an observation.
        let initial = health.borrow_and_update().clone();
        *lock(&self.handle.shared.health) = Some(initial.clone());
        if !initial.is_empty() {
            self.with_book(|book, _, ctx, _| book.observe(ctx, &initial))
                .await;
        }
        loop {
            let next_due = lock(&self.handle.shared.book).next_due();
            // Something due but held (maintenance, an impacted service) stays due: look
            // again in a quarter of a second rather than at once.
            let soonest = self.handle.clock.now_ms() + 250;
            let wake = next_due.map(|ms| self.handle.clock.instant_at(ms.max(soonest)));
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                changed = health.changed() => {
                    if changed.is_err() {
                        // The engine is gone; keep serving operators until stopped.
                        health = watch::channel(Arc::new(BTreeMap::new())).1;
                        continue;
                    }
                    let now = health.borrow_and_update().clone();
                    *lock(&self.handle.shared.health) = Some(now.clone());
                    self.with_book(|book, _, ctx, _| book.observe(ctx, &now)).await;
                }
                command = commands.recv() => match command {
                    None => break,
                    Some(command) => self.on_command(command).await,
                },
                _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    self.with_book(|book, _, ctx, _| book.tick(ctx)).await;
                }
                _ = tick.tick() => {
                    self.with_book(|book, _, ctx, _| book.tick(ctx)).await;
                }
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Decide(mut decision) => {
                // An operator's change of incidents may touch any of them.
                self.sync_everything = true;
                self.with_book(|alerts, incidents, ctx, ictx| {
                    decision.decide(&mut Books {
                        alerts,
                        incidents,
                        ctx,
                        ictx,
                    })
                })
                .await;
                let saved = self.saved(Ok(()));
                decision.answer(&self.handle.shared, saved);
            }
            Command::ServiceEvent(kind, service, at_ms, text, failover) => {
                self.service_event(kind, service, at_ms, text, failover)
                    .await;
            }
            Command::Acknowledge(id, by, reply) => {
                let result = self
                    .with_book(|book, _, ctx, _| book.acknowledge(ctx, &id, &by))
                    .await;
                let _ = reply.send(self.saved(result.map(|_| ()).map_err(AlertingError::from)));
            }
            Command::Resolve(id, by, reply) => {
                let result = self
                    .with_book(|book, _, ctx, _| book.resolve(ctx, &id, &by))
                    .await;
                let _ = reply.send(self.saved(result.map(|_| ()).map_err(AlertingError::from)));
            }
            Command::Inbound(events, reply) => {
                let mut changed = 0;
                for event in &events {
                    self.with_book(|book, _, ctx, _| book.inbound(ctx, event))
                        .await;
                    if self.last_changed {
                        changed += 1;
                    }
                }
                let _ = reply.send(Ok(changed));
            }
            Command::PutWindow(window, reply) => {
                let result = self
                    .store
                    .put_window(&window)
                    .await
                    .map_err(AlertingError::Store);
                if result.is_ok() {
                    let mut windows = lock(&self.handle.shared.windows);
                    windows.retain(|w| w.id != window.id);
                    windows.push(window);
                }
                let _ = reply.send(result);
                self.with_book(|book, _, ctx, _| book.tick(ctx)).await;
            }
            Command::EndWindow(id, reply) => {
                let now = self.handle.clock.now_ms();
                let found = lock(&self.handle.shared.windows)
                    .iter()
                    .find(|w| w.id == id)
                    .cloned();
                let result = match found {
                    None => Err(AlertingError::Invalid(format!(
                        "no maintenance window `{id}` created through the API is active or upcoming"
                    ))),
                    Some(mut window) => {
                        window.until_ms = now.max(window.from_ms);
                        match self.store.put_window(&window).await {
                            Ok(()) => {
                                let mut windows = lock(&self.handle.shared.windows);
                                windows.retain(|w| w.id != id);
                                windows.push(window.clone());
                                Ok(window)
                            }
                            Err(e) => Err(AlertingError::Store(e)),
                        }
                    }
                };
                let _ = reply.send(result);
                self.with_book(|book, _, ctx, _| book.tick(ctx)).await;
            }
            Command::Reload(catalog) => {
                *lock(&self.handle.shared.catalog) = catalog;
                self.sync_everything = true;
                self.with_book(|book, _, ctx, _| book.tick_all(ctx)).await;
            }
        }
    }

    /// A failover or failback of a service, or a change reported to it: on its own
    /// timeline (stored) and on the open incidents that hold it. A finished failover is
    /// evidence of redundancy, stored with the timeline event.
    async fn service_event(
        &mut self,
        kind: ServiceEventKind,
        service: String,
        at_ms: i64,
        text: continuo_core::Text,
        failover: Option<Failover>,
    ) {
        let body = serde_json::json!({
            "service": service,
            "at_ms": at_ms,
            "kind": kind.name(),
            "text": text,
        });
        let evidence: Vec<Evidence> = failover
            .map(|f| {
                let catalog = self.handle.catalog();
                let rto_ms = catalog
                    .service(&f.service)
                    .and_then(|s| i64::try_from(s.rto.value.0.as_millis()).ok());
                records::failover(&f, rto_ms, self.handle.clock.now_ms())
            })
            .into_iter()
            .collect();
        if let Err(e) = self
            .store
            .add_service_event(&service, at_ms, kind.name(), &body, &evidence)
            .await
        {
            tracing::warn!(service = %service, error = %e, "cannot store a service event");
        }
        self.with_book(move |_, book, _, _| {
            let (by, kind) = match kind {
                ServiceEventKind::Failover => ("gateway", EventKind::Failover),
                ServiceEventKind::Change => ("change", EventKind::Change),
            };
            book.record_for_service(&service, at_ms, by, kind, text);
            Vec::<Page>::new()
        })
        .await;
    }

    /// An operator's change that took effect but is not yet durable is reported as a
    /// store failure: it is kept and saved as soon as the store answers, but a crash
    /// before then would lose it, and the operator should know.
    fn saved(&self, result: Result<(), AlertingError>) -> Result<(), AlertingError> {
        match result {
            Ok(()) if self.book_unsaved() || !self.unsaved.is_empty() => {
                Err(AlertingError::NotSaved)
            }
            other => other,
        }
    }

    fn book_unsaved(&self) -> bool {
        self.rest_dirty || !self.unsaved_alerts.is_empty()
    }

    /// Runs one decision on the books, lets every stage turn it into outbox items and
    /// commits them with the books before anything can be sent.
    async fn with_book<T>(
        &mut self,
        decide: impl FnOnce(&mut AlertBook, &mut IncidentBook, &Context<'_>, &IncidentContext<'_>) -> T,
    ) -> T
    where
        T: PagesOf,
    {
        let started = std::time::Instant::now();
        let catalog = self.handle.catalog();
        let now = self.handle.clock.now_ms();
        let windows: Vec<Window> = {
            let extra = lock(&self.handle.shared.windows);
            maintenance::active(&catalog, &extra, now)
        };
        let (result, items, changed) = {
            let policies = self.policies;
            // Built only when a decision asks a policy: most decisions (ticks, acks) do not,
            // and the graph is the size of the catalog.
            let graph = std::cell::OnceCell::new();
            let graph = || graph.get_or_init(|| Graph::new(&catalog));
            let settle = |service: &str| (policies.settle_ms)(graph(), service);
            let group_wait = |service: &str| (policies.group_wait_ms)(graph(), service);
            let engine_summary = |service: &str| (policies.summary)(&catalog, service);
            let ctx = Context {
                catalog: &catalog,
                now_ms: now,
                maintenance: &windows,
                settle_ms: &settle,
                summary: &engine_summary,
                group_wait_ms: &group_wait,
            };
            let options = &self.handle.shared.incident_options;
            let (runbook, last_good) = incident_ctx(options);
            let ictx = IncidentContext {
                catalog: &catalog,
                now_ms: now,
                runbook: &runbook,
                last_good_ms: &last_good,
            };
            let mut book = lock(&self.handle.shared.book);
            let mut incidents = lock(&self.handle.shared.incidents);
            // What a decision may change, kept to tell what it did change: the alerts
            // and the book's own fields, not the health (which only observing replaces).
            let before = book.alerts.clone();
            let before_rest = (book.settling.clone(), book.quiet.clone());
            let result = decide(&mut book, &mut incidents, &ctx, &ictx);
            let health = lock(&self.handle.shared.health).clone().unwrap_or_default();
            let change = Scope::of_change(&before, &book.alerts, &self.synced_health, &health);
            self.synced_health = health;
            let changed_alerts = match &change {
                Scope::Changed { alerts, .. } => alerts.clone(),
                Scope::Everything => BTreeSet::new(),
            };
            let rest_changed = before_rest != (book.settling.clone(), book.quiet.clone());
            let scope = if self.sync_everything
                || now - self.synced_everything_ms >= SYNC_EVERYTHING_EVERY_MS
            {
                self.sync_everything = false;
                self.synced_everything_ms = now;
                Scope::Everything
            } else {
                change
            };
            let mut decided = Decided {
                handle: &self.handle,
                catalog: &catalog,
                now_ms: now,
                windows: &windows,
                alerts: &book,
                incidents: &mut incidents,
                ictx: &ictx,
                scope: &scope,
                pages: result.pages(),
                paged: Vec::new(),
                items: Vec::new(),
                changed_incidents: Vec::new(),
                evidence: Vec::new(),
            };
            for stage in self.stages.iter() {
                stage.after_decision(&mut decided);
            }
            let Decided {
                paged,
                items: others,
                changed_incidents,
                evidence,
                ..
            } = decided;
            self.unsaved_evidence.extend(evidence);
            let mut items: Vec<OutboxItem> = paged.into_iter().flatten().collect();
            items.extend(others);
            if !changed_alerts.is_empty() {
                log_alert_changes(&before, &book.alerts, &changed_alerts);
            }
            let changed = !changed_alerts.is_empty() || rest_changed;
            self.unsaved_alerts.extend(changed_alerts);
            self.rest_dirty |= rest_changed;
            self.unsaved_incidents.extend(changed_incidents);
            (result, items, changed)
        };
        self.last_changed = changed;
        let times = self.handle.shared.decision_times.clone();
        times.decide.observe_us(micros(started.elapsed()));
        self.unsaved.extend(items);
        if self.book_unsaved()
            || !self.unsaved.is_empty()
            || !self.unsaved_incidents.is_empty()
            || !self.unsaved_evidence.is_empty()
        {
            let book = self.book_changes();
            let rows: Vec<IncidentRow> = self.unsaved_incidents.values().cloned().collect();
            self.degraded.apply(&mut self.unsaved);
            let committing = std::time::Instant::now();
            let commit =
                self.store
                    .commit_alerting(&book, &self.unsaved, &rows, &self.unsaved_evidence);
            let committed = match tokio::time::timeout(COMMIT_DEADLINE, commit).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {} s", COMMIT_DEADLINE.as_secs())),
            };
            times.commit.observe_us(micros(committing.elapsed()));
            match committed {
                Ok(()) => {
                    log_queued(&self.unsaved);
                    let any = !self.unsaved.is_empty();
                    self.unsaved.clear();
                    self.unsaved_incidents.clear();
                    self.unsaved_evidence.clear();
                    self.unsaved_alerts.clear();
                    self.rest_dirty = false;
                    self.degraded.store_back(self.handle.clock.now_ms());
                    if any {
                        self.handle.shared.wake_dispatcher.notify_one();
                    }
                }
                Err(e) => {
                    // Kept in memory and retried on the next tick: nothing is lost.
                    // Operator pages go out from memory meanwhile.
                    tracing::warn!(error = %e, "alerting cannot save to the store, will retry");
                    let now = self.handle.clock.now_ms();
                    self.degraded.store_failed(&mut self.unsaved, now);
                }
            }
        }
        result
    }
}

impl Decider {
    /// What of the alert book the next commit saves: the alerts changed or dropped
    /// since the last commit, and the book's own fields when they changed.
    fn book_changes(&self) -> BookChanges {
        let book = lock(&self.handle.shared.book);
        let mut changes = BookChanges::default();
        for id in &self.unsaved_alerts {
            match book.alerts.get(id) {
                Some(alert) => changes.alerts.push((
                    id.clone(),
                    serde_json::to_value(alert).unwrap_or(serde_json::Value::Null),
                )),
                None => changes.dropped.push(id.clone()),
            }
        }
        if self.rest_dirty {
            changes.rest = Some(serde_json::json!({
                "settling": book.settling,
                "quiet": book.quiet,
            }));
        }
        changes
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Tells the log what a decision did to the alerts: opened, fired (paging began),
/// acknowledged, resolved. Firing is a warning, since someone must act; the rest is
/// information.
fn log_alert_changes(
    before: &BTreeMap<String, Alert>,
    after: &BTreeMap<String, Alert>,
    changed: &BTreeSet<String>,
) {
    for (id, alert) in changed.iter().filter_map(|id| Some((id, after.get(id)?))) {
        let old = before.get(id);
        if old.is_none() {
            tracing::info!(
                alert = %id,
                service = %alert.service,
                state = ?alert.state,
                summary = %alert.summary,
                "alert opened"
            );
        }
        if alert.state == AlertState::Firing && old.is_none_or(|o| o.state != AlertState::Firing) {
            tracing::warn!(
                alert = %id,
                service = %alert.service,
                summary = %alert.summary,
                escalation = alert.escalation.as_deref().unwrap_or(""),
                "alert fired"
            );
        }
        if let Some(act) = &alert.acknowledged
            && old.is_none_or(|o| o.acknowledged.is_none())
        {
            tracing::info!(alert = %id, service = %alert.service, by = %act.by, "alert acknowledged");
        }
        if let Some(act) = &alert.resolved
            && old.is_none_or(|o| o.resolved.is_none())
        {
            tracing::info!(alert = %id, service = %alert.service, by = %act.by, "alert resolved");
        }
    }
}

/// Tells the log what was just committed to the outbox: each page to an operator
/// (a person or a channel) at info; status page subscribers' items, which can be
/// thousands per announcement, at debug.
fn log_queued(items: &[OutboxItem]) {
    for item in items {
        let to_subscriber =
            crate::recipient::Recipient::parse(&item.recipient).is_some_and(|r| r.is_subscriber());
        if to_subscriber {
            tracing::debug!(key = %item.key, channel = %item.channel, recipient = %item.recipient, "notification queued");
        } else {
            tracing::info!(
                alert = %item.alert,
                event = %item.event,
                recipient = %item.recipient,
                channel = %item.channel,
                key = %item.key,
                "page queued"
            );
        }
    }
}
