//! Paging without the store: when the decision task cannot commit (the database is
//! down, full or too slow), the operator pages it decided are sent from memory at once
//! instead of waiting for the store, and the outcome is kept with the items. When the
//! store answers again the items are committed with what happened to them (a page sent
//! in degraded mode is stored as sent, with the same idempotency key), so the
//! dispatcher does not send it again.
//!
//! Only operator notices (to a person or a channel) are sent this way: status page
//! subscribers wait for the store, as their confirmations and unsubscriptions live
//! there. A send still in flight when the commit succeeds is stored as pending and may be
//! sent once more by the dispatcher, with the same key, which receivers deduplicate.

use crate::clock::Clock;
use crate::deliver::Deliver;
use crate::dispatch::{MAX_ATTEMPTS, backoff_ms};
use crate::persist::Persist;
use crate::recipient::Recipient;
use crate::shared::{Shared, lock};
use crate::stage::{Sent, Stage};
use continuo_store::{OutboxItem, OutboxState};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// What a send from memory came to.
enum Outcome {
    Sent {
        at_ms: i64,
        detail: String,
    },
    Failed {
        at_ms: i64,
        error: String,
        retry: bool,
        retry_after_ms: i64,
    },
}

/// The decision task's degraded mode.
pub(crate) struct Degraded {
    shared: Arc<Shared>,
    store: Arc<dyn Persist>,
    deliver: Arc<dyn Deliver>,
    stages: Arc<[Arc<dyn Stage>]>,
    clock: Clock,
    /// Keys being sent now.
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// Finished sends not yet applied to their items.
    outcomes: Arc<Mutex<HashMap<String, Outcome>>>,
    /// Since when the store has failed, while it does.
    since_ms: Option<i64>,
}

impl Degraded {
    pub(crate) fn new(
        shared: Arc<Shared>,
        store: Arc<dyn Persist>,
        deliver: Arc<dyn Deliver>,
        stages: Arc<[Arc<dyn Stage>]>,
        clock: Clock,
    ) -> Degraded {
        Degraded {
            shared,
            store,
            deliver,
            stages,
            clock,
            in_flight: Default::default(),
            outcomes: Default::default(),
            since_ms: None,
        }
    }

    /// Writes what the sends from memory came to into their items (still unsaved).
    pub(crate) fn apply(&self, unsaved: &mut [OutboxItem]) {
        let mut outcomes = lock(&self.outcomes);
        if outcomes.is_empty() {
            return;
        }
        for item in unsaved.iter_mut() {
            let Some(outcome) = outcomes.remove(&item.key) else {
                continue;
            };
            item.attempts += 1;
            match outcome {
                Outcome::Sent { at_ms, detail } => {
                    item.state = OutboxState::Sent;
                    item.sent_ms = Some(at_ms);
                    item.last_error = Some(detail);
                }
                Outcome::Failed {
                    at_ms,
                    error,
                    retry,
                    retry_after_ms,
                } => {
                    item.last_error = Some(error);
                    if retry && item.attempts < MAX_ATTEMPTS {
                        let wait = backoff_ms(item.attempts - 1, &item.key)
                            .max(retry_after_ms.min(3_600_000));
                        item.next_ms = at_ms.saturating_add(wait);
                    } else {
                        item.state = OutboxState::Dead;
                    }
                }
            }
        }
    }

    /// The store failed to take `unsaved`: sends every operator page among them that is
    /// due and not being sent already, from memory.
    pub(crate) fn store_failed(&mut self, unsaved: &mut [OutboxItem], now_ms: i64) {
        if self.since_ms.is_none() {
            self.since_ms = Some(now_ms);
            self.shared.degraded.store(true, Ordering::Relaxed);
            tracing::error!(
                "the store cannot take alerting's decisions: paging from memory until it answers (degraded mode)"
            );
        }
        self.apply(unsaved);
        for item in unsaved.iter() {
            let operator = matches!(
                Recipient::parse(&item.recipient),
                Some(Recipient::Person(_) | Recipient::Channel(_))
            );
            if !operator || item.state != OutboxState::Pending || item.next_ms > now_ms {
                continue;
            }
            if !lock(&self.in_flight).insert(item.key.clone()) {
                continue;
            }
            let (item, shared, store, deliver, stages) = (
                item.clone(),
                self.shared.clone(),
                self.store.clone(),
                self.deliver.clone(),
                self.stages.clone(),
            );
            let (in_flight, outcomes, clock) =
                (self.in_flight.clone(), self.outcomes.clone(), self.clock);
            tokio::spawn(async move {
                let recipient = Recipient::parse(&item.recipient);
                let result = crate::dispatch::send(
                    &stages,
                    &shared,
                    deliver.as_ref(),
                    &item,
                    recipient.as_ref(),
                )
                .await;
                let at_ms = clock.now_ms();
                for stage in stages.iter() {
                    stage
                        .on_delivered(Sent {
                            shared: &shared,
                            store: store.as_ref(),
                            item: &item,
                            recipient: recipient.as_ref(),
                            result: &result,
                            now_ms: at_ms,
                        })
                        .await;
                }
                let outcome = match result {
                    Ok(delivered) => {
                        shared.sent.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(key = %item.key, channel = %item.channel, "paged from memory (degraded mode)");
                        Outcome::Sent {
                            at_ms,
                            detail: delivered.detail,
                        }
                    }
                    Err(error) => {
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(key = %item.key, channel = %item.channel, error = %error, "delivery failed (degraded mode)");
                        Outcome::Failed {
                            at_ms,
                            retry: error.is_retryable(),
                            retry_after_ms: error
                                .retry_after
                                .and_then(|d| i64::try_from(d.as_millis()).ok())
                                .unwrap_or(0),
                            error: error.message,
                        }
                    }
                };
                lock(&outcomes).insert(item.key.clone(), outcome);
                lock(&in_flight).remove(&item.key);
            });
        }
    }

    /// The store took everything: degraded mode ends.
    pub(crate) fn store_back(&mut self, now_ms: i64) {
        if let Some(since) = self.since_ms.take() {
            self.shared.degraded.store(false, Ordering::Relaxed);
            tracing::warn!(
                degraded_ms = now_ms.saturating_sub(since),
                "the store takes alerting's decisions again: degraded mode ended"
            );
        }
    }
}
