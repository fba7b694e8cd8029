//! The dispatcher task: sends what the outbox holds due, at most `max_in_flight` at
//! once, spaced per channel as far as the channel asks ([`Deliver::min_spacing`]),
//! retrying with backoff and dead-lettering after [`MAX_ATTEMPTS`]. An item a stage
//! owns (a subscriber's mail or webhook) is sent by that stage; every other item is a
//! stored notice sent through its channel. Every stage hears of every delivery before
//! the outbox records it.

use crate::clock::Clock;
use crate::deliver::{Deliver, permanent};
use crate::persist::Persist;
use crate::recipient::Recipient;
use crate::shared::{Shared, lock};
use crate::stage::{Sent, Stage};
use continuo_notify::Notice;
use continuo_store::OutboxItem;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Attempts before a notification is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 10;

/// Most outbox items the dispatcher reads at once.
const DUE_BATCH: u32 = 256;

/// Delay before attempt `attempts + 1`: 5 s doubling to at most an hour, with +-20 %
/// jitter derived from the key (stable, so tests can reason about it).
pub fn backoff_ms(attempts: u32, key: &str) -> i64 {
    let base: i64 = 5_000i64
        .saturating_mul(1i64 << attempts.min(20))
        .min(3_600_000);
    let h = continuo_core::hash::fnv1a(key.bytes().chain(attempts.to_le_bytes()));
    let jitter = (h % 401) as i64 - 200; // -200..=200 per mille
    base + base * jitter / 1_000
}

/// The dispatcher task.
pub(crate) struct Dispatcher {
    pub(crate) shared: Arc<Shared>,
    pub(crate) store: Arc<dyn Persist>,
    pub(crate) deliver: Arc<dyn Deliver>,
    pub(crate) stages: Arc<[Arc<dyn Stage>]>,
    pub(crate) clock: Clock,
    pub(crate) max_in_flight: usize,
    /// Per channel: the earliest instant the next send may start.
    pub(crate) paced: HashMap<String, i64>,
}

impl Dispatcher {
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                break;
            }
            let now = self.clock.now_ms();
            let due = match self.store.outbox_due(now, DUE_BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the outbox, will retry");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            let mut wait_until: Option<i64> = None;
            // More may be due than were read.
            let truncated = due.len() >= DUE_BATCH as usize;
            if !due.is_empty() {
                let catalog = lock(&self.shared.catalog).clone();
                let mut batch = Vec::new();
                for item in due {
                    let kind = catalog
                        .channels
                        .iter()
                        .find(|c| c.id.value == item.channel)
                        .map(|c| c.kind);
                    let slot = self.paced.entry(item.channel.clone()).or_insert(0);
                    if *slot > now {
                        wait_until = Some(wait_until.map_or(*slot, |w| w.min(*slot)));
                        continue;
                    }
                    let spacing = self.deliver.min_spacing(&item.channel, kind);
                    *slot = now + i64::try_from(spacing.as_millis()).unwrap_or(i64::MAX);
                    batch.push(item);
                    if batch.len() >= self.max_in_flight {
                        break;
                    }
                }
                let progressed =
                    !batch.is_empty() && (truncated || batch.len() >= self.max_in_flight);
                self.send_all(batch).await;
                if wait_until.is_none() || progressed {
                    continue; // more may be due right away
                }
            }
            let next = match self.store.outbox_next_due().await {
                Ok(next) => next,
                Err(_) => Some(self.clock.now_ms() + 1_000),
            };
            // Items held back by pacing are due already: their wake-up is `wait_until`.
            // Sleeping until their own due time (now) would spin on the store until the
            // channel's slot frees.
            let next = next.filter(|ms| wait_until.is_none() || *ms > now);
            let next = [next, wait_until].into_iter().flatten().min();
            let sleep = match next {
                Some(ms) => self.clock.instant_at(ms),
                None => Instant::now() + Duration::from_secs(3_600),
            };
            tokio::select! {
                _ = tokio::time::sleep_until(sleep) => {}
                _ = self.shared.wake_dispatcher.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn send_all(&self, batch: Vec<OutboxItem>) {
        let mut running = tokio::task::JoinSet::new();
        for item in batch {
            let deliver = self.deliver.clone();
            let shared = self.shared.clone();
            let stages = self.stages.clone();
            running.spawn(async move {
                let recipient = Recipient::parse(&item.recipient);
                let result = send(
                    &stages,
                    &shared,
                    deliver.as_ref(),
                    &item,
                    recipient.as_ref(),
                )
                .await;
                (item, recipient, result)
            });
        }
        while let Some(Ok((item, recipient, result))) = running.join_next().await {
            let now = self.clock.now_ms();
            use std::sync::atomic::Ordering::Relaxed;
            for stage in self.stages.iter() {
                stage
                    .on_delivered(Sent {
                        shared: &self.shared,
                        store: self.store.as_ref(),
                        item: &item,
                        recipient: recipient.as_ref(),
                        result: &result,
                        now_ms: now,
                    })
                    .await;
            }
            let outcome = match result {
                Ok(delivered) => {
                    self.shared.sent.fetch_add(1, Relaxed);
                    self.store
                        .outbox_sent(&item.key, now, &delivered.detail)
                        .await
                }
                Err(error) => {
                    self.shared.failed.fetch_add(1, Relaxed);
                    let attempts = item.attempts + 1;
                    let next = if error.is_retryable() && attempts < MAX_ATTEMPTS {
                        let after = error
                            .retry_after
                            .and_then(|d| i64::try_from(d.as_millis()).ok())
                            .unwrap_or(0);
                        // A receiver's Retry-After counts, up to an hour.
                        let wait = backoff_ms(item.attempts, &item.key).max(after.min(3_600_000));
                        tracing::warn!(
                            key = %item.key,
                            channel = %item.channel,
                            attempts,
                            error = %error,
                            retry_in_ms = wait,
                            "delivery failed"
                        );
                        Some(now.saturating_add(wait))
                    } else {
                        self.shared.dead.fetch_add(1, Relaxed);
                        tracing::warn!(
                            key = %item.key,
                            channel = %item.channel,
                            attempts,
                            error = %error,
                            "delivery failed"
                        );
                        tracing::error!(
                            key = %item.key,
                            channel = %item.channel,
                            attempts,
                            error = %error,
                            "delivery dead"
                        );
                        None
                    };
                    self.store
                        .outbox_failed(&item.key, next, &error.message)
                        .await
                }
            };
            if let Err(e) = outcome {
                // The send happened but its record did not: it will be sent again with
                // the same key, which receivers deduplicate.
                tracing::warn!(key = %item.key, error = %e, "cannot record a delivery");
            }
        }
    }
}

/// Sends one item: through the stage that claims it, else as the stored notice
/// through its channel.
pub(crate) async fn send(
    stages: &[Arc<dyn Stage>],
    shared: &Shared,
    deliver: &dyn Deliver,
    item: &OutboxItem,
    recipient: Option<&Recipient>,
) -> Result<continuo_notify::Delivered, continuo_notify::SendError> {
    if let Some(sending) = stages
        .iter()
        .find_map(|stage| stage.send(shared, deliver, item, recipient))
    {
        return sending.await;
    }
    match serde_json::from_value::<Notice>(item.notice.clone()) {
        Ok(notice) => deliver.deliver(&item.channel, &notice).await,
        Err(e) => Err(permanent(format!("the stored notice cannot be read: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        for attempts in 0..15 {
            let base = (5_000i64 << attempts).min(3_600_000);
            let got = backoff_ms(attempts, "k");
            assert!(
                got >= base * 8 / 10 && got <= base * 12 / 10,
                "{attempts}: {got}"
            );
        }
        assert_ne!(
            backoff_ms(3, "a"),
            backoff_ms(3, "b"),
            "jitter spreads keys"
        );
    }
}
