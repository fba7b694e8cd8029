//! Where alerting keeps what must survive a crash: the alert book, the outbox and the
//! maintenance windows made at run time. In production that is the [`Store`]; tests on
//! paused tokio time use [`MemoryPersist`], because SQLite's worker thread lets a paused
//! clock run on while it works.

use continuo_core::evidence::Evidence;
use continuo_core::maintenance::Window;
use continuo_store::{
    BookChanges, DayCount, IncidentRow, OutboxItem, OutboxState, Outcome, Store, StoreError,
};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// A boxed future of what the store answers. The error is the store's own
/// [`StoreError`], so a caller can tell an unreachable database from a saved body it
/// cannot read (or one written by a newer Continuo); [`MemoryPersist`] never fails.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What alerting stores. See [`Store`]'s methods of the same names.
pub trait Persist: Send + Sync {
    /// The saved alert book.
    fn alert_book(&self) -> Fut<'_, Option<Value>>;
    /// Saves what changed of the book and the changed incidents, and adds new outbox items (existing keys
    /// untouched) and evidence records (existing ids untouched), atomically.
    fn commit_alerting<'a>(
        &'a self,
        book: &'a BookChanges,
        items: &'a [OutboxItem],
        incidents: &'a [IncidentRow],
        evidence: &'a [Evidence],
    ) -> Fut<'a, ()>;
    /// Incidents open or resolved at or after `since_ms`.
    fn incidents_recent(&self, since_ms: i64) -> Fut<'_, Vec<Value>>;
    /// Incidents detected in `[from_ms, until_ms)`, newest first.
    fn incidents_between(&self, from_ms: i64, until_ms: i64, limit: u32) -> Fut<'_, Vec<Value>>;
    /// One incident.
    fn incident<'a>(&'a self, id: &'a str) -> Fut<'a, Option<Value>>;
    /// The highest incident number so far.
    fn last_incident_number(&self) -> Fut<'_, i64>;
    /// Adds an event to a service's timeline, with the evidence it is (a failover proves
    /// redundancy), atomically.
    fn add_service_event<'a>(
        &'a self,
        service: &'a str,
        at_ms: i64,
        kind: &'a str,
        body: &'a Value,
        evidence: &'a [Evidence],
    ) -> Fut<'a, ()>;
    /// Appends evidence records (existing ids untouched).
    fn add_evidence<'a>(&'a self, records: &'a [Evidence]) -> Fut<'a, ()>;
    /// The newest conclusive record of every claim and subject observed by `now_ms`.
    fn evidence_latest(&self, now_ms: i64) -> Fut<'_, Vec<Evidence>>;
    /// Adds outbox items that follow no decision (existing keys untouched).
    fn outbox_add<'a>(&'a self, items: &'a [OutboxItem]) -> Fut<'a, ()>;
    /// Day rollups of `checks` in `[from_ms, until_ms)`, all locations together.
    fn day_counts<'a>(
        &'a self,
        checks: &'a [String],
        from_ms: i64,
        until_ms: i64,
    ) -> Fut<'a, Vec<DayCount>>;
    /// A service's timeline, newest first.
    fn service_events<'a>(&'a self, service: &'a str, limit: u32) -> Fut<'a, Vec<Value>>;
    /// Pending items due at `now_ms`, oldest first.
    fn outbox_due(&self, now_ms: i64, limit: u32) -> Fut<'_, Vec<OutboxItem>>;
    /// When the next pending item is due.
    fn outbox_next_due(&self) -> Fut<'_, Option<i64>>;
    /// Records the outcomes of attempts (sent; failed with the next attempt, or dead),
    /// in one transaction.
    fn outbox_record<'a>(&'a self, outcomes: &'a [Outcome]) -> Fut<'a, ()>;
    /// Adds or replaces a run-time maintenance window.
    fn put_window<'a>(&'a self, window: &'a Window) -> Fut<'a, ()>;
    /// Run-time windows that end after `after_ms`.
    fn windows(&self, after_ms: i64) -> Fut<'_, Vec<Window>>;
    /// Where status page subscribers are kept; `None` (no subscribers) unless the store
    /// is a real one.
    fn subscriber_store(&self) -> Option<&Store> {
        None
    }
}

impl Persist for Store {
    fn subscriber_store(&self) -> Option<&Store> {
        Some(self)
    }
    fn alert_book(&self) -> Fut<'_, Option<Value>> {
        Box::pin(Store::alert_book(self))
    }
    fn commit_alerting<'a>(
        &'a self,
        book: &'a BookChanges,
        items: &'a [OutboxItem],
        incidents: &'a [IncidentRow],
        evidence: &'a [Evidence],
    ) -> Fut<'a, ()> {
        Box::pin(Store::commit_alerting_with_evidence(
            self, book, items, incidents, evidence,
        ))
    }
    fn incidents_recent(&self, since_ms: i64) -> Fut<'_, Vec<Value>> {
        Box::pin(Store::incidents_recent(self, since_ms))
    }
    fn incidents_between(&self, from_ms: i64, until_ms: i64, limit: u32) -> Fut<'_, Vec<Value>> {
        Box::pin(Store::incidents_between(self, from_ms, until_ms, limit))
    }
    fn incident<'a>(&'a self, id: &'a str) -> Fut<'a, Option<Value>> {
        Box::pin(Store::incident(self, id))
    }
    fn last_incident_number(&self) -> Fut<'_, i64> {
        Box::pin(Store::last_incident_number(self))
    }
    fn add_service_event<'a>(
        &'a self,
        service: &'a str,
        at_ms: i64,
        kind: &'a str,
        body: &'a Value,
        evidence: &'a [Evidence],
    ) -> Fut<'a, ()> {
        Box::pin(Store::add_service_event_with_evidence(
            self, service, at_ms, kind, body, evidence,
        ))
    }
    fn add_evidence<'a>(&'a self, records: &'a [Evidence]) -> Fut<'a, ()> {
        Box::pin(async move { Store::add_evidence(self, records).await.map(|_| ()) })
    }
    fn evidence_latest(&self, now_ms: i64) -> Fut<'_, Vec<Evidence>> {
        Box::pin(Store::evidence_latest(self, now_ms))
    }
    fn outbox_add<'a>(&'a self, items: &'a [OutboxItem]) -> Fut<'a, ()> {
        Box::pin(Store::outbox_add(self, items))
    }
    fn day_counts<'a>(
        &'a self,
        checks: &'a [String],
        from_ms: i64,
        until_ms: i64,
    ) -> Fut<'a, Vec<DayCount>> {
        Box::pin(Store::day_counts(self, checks, from_ms, until_ms))
    }
    fn service_events<'a>(&'a self, service: &'a str, limit: u32) -> Fut<'a, Vec<Value>> {
        Box::pin(Store::service_events(self, service, limit))
    }
    fn outbox_due(&self, now_ms: i64, limit: u32) -> Fut<'_, Vec<OutboxItem>> {
        Box::pin(Store::outbox_due(self, now_ms, limit))
    }
    fn outbox_next_due(&self) -> Fut<'_, Option<i64>> {
        Box::pin(Store::outbox_next_due(self))
    }
    fn outbox_record<'a>(&'a self, outcomes: &'a [Outcome]) -> Fut<'a, ()> {
        Box::pin(Store::outbox_record(self, outcomes))
    }
    fn put_window<'a>(&'a self, window: &'a Window) -> Fut<'a, ()> {
        Box::pin(Store::put_window(self, window))
    }
    fn windows(&self, after_ms: i64) -> Fut<'_, Vec<Window>> {
        Box::pin(Store::windows(self, after_ms))
    }
}

/// Everything in memory, with the store's semantics (one item per key, due order).
///
/// Faults can be switched on for tests: [`MemoryPersist::set_unavailable`] makes the
/// alerting commit and the outbox fail as a database that is down would, and
/// [`MemoryPersist::panic_on_commits`] makes the next commits panic, as a bug would.
#[derive(Default)]
pub struct MemoryPersist {
    state: Mutex<Memory>,
    unavailable: std::sync::atomic::AtomicBool,
    panics: std::sync::atomic::AtomicU32,
    /// Milliseconds each delivery record (sent or failed) takes, as on a busy database.
    record_ms: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Memory {
    /// The book without its alerts, and its alerts by id, as the store keeps them.
    book: Option<Value>,
    alerts: std::collections::BTreeMap<String, Value>,
    items: Vec<OutboxItem>,
    windows: Vec<Window>,
    incidents: Vec<IncidentRow>,
    service_events: Vec<(String, i64, Value)>,
    evidence: Vec<Evidence>,
    days: Vec<DayCount>,
}

impl MemoryPersist {
    fn with<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// While `down`, the alerting commit and every outbox call fail.
    pub fn set_unavailable(&self, down: bool) {
        self.unavailable
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next `count` alerting commits panic.
    pub fn panic_on_commits(&self, count: u32) {
        self.panics
            .store(count, std::sync::atomic::Ordering::SeqCst);
    }

    /// From now on each delivery record (`outbox_sent`, `outbox_failed`) takes `by`
    /// before it is written, as on a database busy with other writes.
    pub fn delay_records(&self, by: std::time::Duration) {
        self.record_ms.store(
            u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::SeqCst,
        );
    }

    /// Waits as long as [`MemoryPersist::delay_records`] asked.
    async fn record_delay(&self) {
        let ms = self.record_ms.load(std::sync::atomic::Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }

    /// The error a database that is down gives, while it is switched so.
    fn down<T: Send + 'static>(&self) -> Option<Fut<'static, T>> {
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            Some(Box::pin(async {
                Err(StoreError::Database(
                    std::io::Error::other("the database is down (a test's fault)").into(),
                ))
            }))
        } else {
            None
        }
    }

    /// Every outbox item, in insertion order.
    pub fn items(&self) -> Vec<OutboxItem> {
        self.with(|m| m.items.clone())
    }

    /// Every evidence record, in insertion order.
    pub fn evidence(&self) -> Vec<Evidence> {
        self.with(|m| m.evidence.clone())
    }

    /// Adds day rollups, as the store's writer would have.
    pub fn add_days(&self, days: &[DayCount]) {
        self.with(|m| m.days.extend_from_slice(days));
    }
}

/// As the store: append-only, a record whose id is kept already is left as it is.
fn append_evidence(kept: &mut Vec<Evidence>, records: &[Evidence]) {
    for r in records {
        if !kept.iter().any(|k| k.id == r.id) {
            kept.push(r.clone());
        }
    }
}

fn ready<T: Send + 'static>(value: T) -> Fut<'static, T> {
    Box::pin(async move { Ok(value) })
}

impl Persist for MemoryPersist {
    fn alert_book(&self) -> Fut<'_, Option<Value>> {
        ready(self.with(|m| {
            if m.book.is_none() && m.alerts.is_empty() {
                return None;
            }
            let mut book = match m.book.clone() {
                Some(Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            let alerts = m.alerts.clone().into_iter().collect();
            book.insert("alerts".to_string(), Value::Object(alerts));
            Some(Value::Object(book))
        }))
    }
    fn commit_alerting<'a>(
        &'a self,
        book: &'a BookChanges,
        items: &'a [OutboxItem],
        incidents: &'a [IncidentRow],
        evidence: &'a [Evidence],
    ) -> Fut<'a, ()> {
        if self
            .panics
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok()
        {
            panic!("a panic injected into the alerting commit");
        }
        if let Some(failed) = self.down() {
            return failed;
        }
        self.with(|m| {
            if let Some(rest) = &book.rest {
                m.book = Some(rest.clone());
            }
            for (id, alert) in &book.alerts {
                m.alerts.insert(id.clone(), alert.clone());
            }
            for id in &book.dropped {
                m.alerts.remove(id);
            }
            append_evidence(&mut m.evidence, evidence);
            for item in items {
                if !m.items.iter().any(|i| i.key == item.key) {
                    m.items.push(item.clone());
                }
            }
            for row in incidents {
                m.incidents.retain(|r| r.id != row.id);
                m.incidents.push(row.clone());
            }
            m.incidents.sort_by_key(|r| r.number);
        });
        ready(())
    }
    fn incidents_recent(&self, since_ms: i64) -> Fut<'_, Vec<Value>> {
        ready(self.with(|m| {
            m.incidents
                .iter()
                .filter(|r| r.status != "resolved" || r.resolved_ms.is_some_and(|t| t >= since_ms))
                .map(|r| r.body.clone())
                .collect()
        }))
    }
    fn incidents_between(&self, from_ms: i64, until_ms: i64, limit: u32) -> Fut<'_, Vec<Value>> {
        ready(self.with(|m| {
            m.incidents
                .iter()
                .rev()
                .filter(|r| r.detected_ms.is_some_and(|t| t >= from_ms && t < until_ms))
                .take(limit as usize)
                .map(|r| r.body.clone())
                .collect()
        }))
    }
    fn incident<'a>(&'a self, id: &'a str) -> Fut<'a, Option<Value>> {
        ready(self.with(|m| {
            m.incidents
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.body.clone())
        }))
    }
    fn last_incident_number(&self) -> Fut<'_, i64> {
        ready(self.with(|m| m.incidents.iter().map(|r| r.number).max().unwrap_or(0)))
    }
    fn add_service_event<'a>(
        &'a self,
        service: &'a str,
        at_ms: i64,
        _kind: &'a str,
        body: &'a Value,
        evidence: &'a [Evidence],
    ) -> Fut<'a, ()> {
        self.with(|m| {
            m.service_events
                .push((service.to_string(), at_ms, body.clone()));
            append_evidence(&mut m.evidence, evidence);
        });
        ready(())
    }
    fn add_evidence<'a>(&'a self, records: &'a [Evidence]) -> Fut<'a, ()> {
        self.with(|m| append_evidence(&mut m.evidence, records));
        ready(())
    }
    fn evidence_latest(&self, now_ms: i64) -> Fut<'_, Vec<Evidence>> {
        ready(self.with(|m| {
            let decides = |e: &Evidence| {
                e.outcome != continuo_core::evidence::Outcome::Inconclusive
                    && e.observed_ms <= now_ms
            };
            let newest = |e: &Evidence| {
                !m.evidence.iter().any(|o| {
                    decides(o)
                        && o.claim == e.claim
                        && o.subject == e.subject
                        && o.observed_ms > e.observed_ms
                })
            };
            m.evidence
                .iter()
                .filter(|e| decides(e) && newest(e))
                .cloned()
                .collect()
        }))
    }
    fn outbox_add<'a>(&'a self, items: &'a [OutboxItem]) -> Fut<'a, ()> {
        if let Some(failed) = self.down() {
            return failed;
        }
        self.with(|m| {
            for item in items {
                if !m.items.iter().any(|i| i.key == item.key) {
                    m.items.push(item.clone());
                }
            }
        });
        ready(())
    }
    fn day_counts<'a>(
        &'a self,
        checks: &'a [String],
        from_ms: i64,
        until_ms: i64,
    ) -> Fut<'a, Vec<DayCount>> {
        ready(self.with(|m| {
            m.days
                .iter()
                .filter(|d| {
                    checks.contains(&d.check_id) && d.day_ms >= from_ms && d.day_ms < until_ms
                })
                .cloned()
                .collect()
        }))
    }
    fn service_events<'a>(&'a self, service: &'a str, limit: u32) -> Fut<'a, Vec<Value>> {
        ready(self.with(|m| {
            let mut list: Vec<&(String, i64, Value)> =
                m.service_events.iter().filter(|e| e.0 == service).collect();
            list.sort_by_key(|e| std::cmp::Reverse(e.1));
            list.into_iter()
                .take(limit as usize)
                .map(|e| e.2.clone())
                .collect()
        }))
    }
    fn outbox_due(&self, now_ms: i64, limit: u32) -> Fut<'_, Vec<OutboxItem>> {
        if let Some(failed) = self.down() {
            return failed;
        }
        let mut due: Vec<OutboxItem> = self.with(|m| {
            let pending: Vec<&OutboxItem> = m
                .items
                .iter()
                .filter(|i| i.state == OutboxState::Pending)
                .collect();
            // As the store: an item waits for earlier pending items of the same alert,
            // channel and recipient.
            pending
                .iter()
                .filter(|i| i.next_ms <= now_ms)
                .filter(|i| {
                    !pending.iter().any(|p| {
                        p.alert == i.alert
                            && p.channel == i.channel
                            && p.recipient == i.recipient
                            && (p.created_ms, &p.key) < (i.created_ms, &i.key)
                    })
                })
                .map(|i| (*i).clone())
                .collect()
        });
        // As the store: operators' items before subscribers', each oldest due first.
        let lane = |i: &OutboxItem| i.recipient.starts_with("subscriber:");
        due.sort_by(|a, b| {
            (lane(a), a.next_ms, a.created_ms, &a.key).cmp(&(
                lane(b),
                b.next_ms,
                b.created_ms,
                &b.key,
            ))
        });
        due.truncate(limit as usize);
        ready(due)
    }
    fn outbox_next_due(&self) -> Fut<'_, Option<i64>> {
        if let Some(failed) = self.down() {
            return failed;
        }
        ready(self.with(|m| {
            m.items
                .iter()
                .filter(|i| i.state == OutboxState::Pending)
                .map(|i| i.next_ms)
                .min()
        }))
    }
    fn outbox_record<'a>(&'a self, outcomes: &'a [Outcome]) -> Fut<'a, ()> {
        if let Some(failed) = self.down() {
            return failed;
        }
        Box::pin(async move {
            // One transaction: one wait however many outcomes it holds.
            self.record_delay().await;
            self.with(|m| {
                for outcome in outcomes {
                    match outcome {
                        Outcome::Sent { key, at_ms, detail } => {
                            if let Some(i) = m.items.iter_mut().find(|i| &i.key == key) {
                                i.state = OutboxState::Sent;
                                i.attempts += 1;
                                i.sent_ms = Some(*at_ms);
                                i.last_error = Some(detail.clone());
                            }
                        }
                        Outcome::Failed {
                            key,
                            next_ms,
                            error,
                        } => {
                            if let Some(i) = m
                                .items
                                .iter_mut()
                                .find(|i| &i.key == key && i.state == OutboxState::Pending)
                            {
                                i.attempts += 1;
                                i.last_error = Some(error.clone());
                                match next_ms {
                                    Some(next) => i.next_ms = *next,
                                    None => i.state = OutboxState::Dead,
                                }
                            }
                        }
                    }
                }
            });
            Ok(())
        })
    }
    fn put_window<'a>(&'a self, window: &'a Window) -> Fut<'a, ()> {
        self.with(|m| {
            m.windows.retain(|w| w.id != window.id);
            m.windows.push(window.clone());
        });
        ready(())
    }
    fn windows(&self, after_ms: i64) -> Fut<'_, Vec<Window>> {
        ready(self.with(|m| {
            m.windows
                .iter()
                .filter(|w| w.until_ms > after_ms)
                .cloned()
                .collect()
        }))
    }
}
