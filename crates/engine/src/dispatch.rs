//! The dispatcher task: sends what the outbox holds due, spaced per channel as far as
//! the channel asks ([`Deliver::min_spacing`]), retrying with backoff and dead-lettering
//! after [`MAX_ATTEMPTS`]. An item a stage owns (a subscriber's mail or webhook) is sent
//! by that stage; every other item is a stored notice sent through its channel. Every
//! stage hears of every delivery before the outbox records it.
//!
//! Fair and bounded (issue 16): operators' items (pages to people and channels) and
//! status page subscribers' items go in two lanes, each with its own `max_in_flight`
//! slots, and the outbox hands out operators' items first, so no number of subscriber
//! deliveries can hold back a page. Sends run as a pipeline: the next starts as soon as
//! a slot frees, so a slow receiver holds one slot, not a batch. A slot frees when its
//! send is over, not when the outcome is recorded: in a mass outage the records queue
//! for the database while the next sends already go out (the key stays taken until its
//! record is written, so it is never sent twice by one run). Every send has a
//! deadline ([`Deliver::deadline`]) that covers all of it, name resolution included.

use crate::clock::Clock;
use crate::deliver::{Deliver, failure, permanent};
use crate::persist::Persist;
use crate::recipient::Recipient;
use crate::shared::{Shared, lock};
use crate::stage::{Sent, Stage};
use continuo_notify::{Notice, SendErrorKind};
use continuo_store::{OutboxItem, Outcome};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Attempts before a notification is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 10;

/// Most outbox items the dispatcher reads at once.
const DUE_BATCH: u32 = 256;

/// Attempts whose send is over but whose outcome is not recorded yet, at most, per slot
/// of `max_in_flight`: beyond it new sends wait for the records.
const RECORDING_PER_SLOT: usize = 4;

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

/// Which slots an item takes: operators' pages never wait for subscribers' mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    /// Pages and notices to people and channels of the catalog.
    Operators = 0,
    /// Status page subscribers' mail and webhooks.
    Subscribers = 1,
}

impl Lane {
    fn of(item: &OutboxItem) -> Lane {
        if Recipient::parse(&item.recipient).is_some_and(|r| r.is_subscriber()) {
            Lane::Subscribers
        } else {
            Lane::Operators
        }
    }
}

/// The dispatcher task.
pub(crate) struct Dispatcher {
    pub(crate) shared: Arc<Shared>,
    pub(crate) store: Arc<dyn Persist>,
    pub(crate) deliver: Arc<dyn Deliver>,
    pub(crate) stages: Arc<[Arc<dyn Stage>]>,
    pub(crate) clock: Clock,
    /// Sends in flight at most, in each lane.
    pub(crate) max_in_flight: usize,
    /// Per channel: the earliest instant the next send may start.
    pub(crate) paced: HashMap<String, i64>,
}

/// What a send in flight needs, shared by all of them.
struct Context {
    shared: Arc<Shared>,
    store: Arc<dyn Persist>,
    deliver: Arc<dyn Deliver>,
    stages: Arc<[Arc<dyn Stage>]>,
    clock: Clock,
    /// The recorder: attempts hand it their outcomes, and wait until they are written.
    records: mpsc::UnboundedSender<Record>,
}

/// An outcome to write, and where to say it was written (or why not).
type Record = (Outcome, oneshot::Sender<Result<(), String>>);

/// Outcomes written in one transaction at most.
const RECORD_BATCH: usize = 256;

/// Transactions of outcomes written at once at most.
const RECORD_WRITERS: usize = 4;

/// Writes attempts' outcomes, as many as are waiting in one transaction: in a mass
/// outage thousands of sends finish within seconds, and a transaction each made the
/// database's commit (its flush to disk) the pace of delivery. Each attempt waits for
/// its own record, so a key stays out of new outbox reads until it is written.
/// A few transactions run at once, so a slow one does not hold every record after it.
async fn record_outcomes(store: Arc<dyn Persist>, mut records: mpsc::UnboundedReceiver<Record>) {
    let writers = Arc::new(tokio::sync::Semaphore::new(RECORD_WRITERS));
    let mut batch: Vec<Record> = Vec::new();
    loop {
        let Ok(writer) = writers.clone().acquire_owned().await else {
            return;
        };
        if records.recv_many(&mut batch, RECORD_BATCH).await == 0 {
            return;
        }
        let (outcomes, replies): (Vec<Outcome>, Vec<_>) = batch.drain(..).unzip();
        let store = store.clone();
        tokio::spawn(async move {
            let written = store
                .outbox_record(&outcomes)
                .await
                .map_err(|e| e.to_string());
            drop(writer);
            for reply in replies {
                let _ = reply.send(written.clone());
            }
        });
    }
}

/// How long the dispatcher lets sends in flight finish when it stops; the rest stay
/// pending and go out after a restart with the same keys.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Dispatcher {
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (records, recorded) = mpsc::unbounded_channel();
        tokio::spawn(record_outcomes(self.store.clone(), recorded));
        let context = Arc::new(Context {
            shared: self.shared.clone(),
            store: self.store.clone(),
            deliver: self.deliver.clone(),
            stages: self.stages.clone(),
            clock: self.clock,
            records,
        });
        let limit = self.max_in_flight.max(1);
        // Attempts, each until its outcome is recorded: their keys (still pending in the
        // outbox, so read again as due), their lane and whether their send still holds
        // a slot of it; how many slots each lane has taken.
        let mut running: JoinSet<()> = JoinSet::new();
        let mut tasks: HashMap<tokio::task::Id, Attempt> = HashMap::new();
        // An attempt says here when its send is over, to free its slot before recording.
        let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel::<tokio::task::Id>();
        let mut in_flight: HashSet<String> = HashSet::new();
        let mut busy = [0usize; 2];
        // Due items read but not started yet (waiting for a slot or for their channel's
        // pacing), in the outbox's order. A freed slot takes the next of them without
        // asking the store again: one read serves many sends, so a mass outage costs a
        // due query per batch, not per send. The queue is read afresh when it runs dry
        // with more due, when the decider wakes the dispatcher, and at least once a
        // second while anything is due.
        let mut queue: VecDeque<OutboxItem> = VecDeque::new();
        let mut read = true;
        let mut truncated = false;
        let mut sleep = Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            let now = self.clock.now_ms();
            if read {
                let due = match self.store.outbox_due(now, DUE_BATCH).await {
                    Ok(due) => due,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the outbox, will retry");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                                finished(done, &mut tasks, &mut in_flight, &mut busy);
                            }
                            _ = stop.changed() => {}
                        }
                        continue;
                    }
                };
                // More may be due than were read.
                truncated = due.len() >= DUE_BATCH as usize;
                queue = due
                    .into_iter()
                    .filter(|item| !in_flight.contains(&item.key))
                    .collect();
                read = false;
                let next = match self.store.outbox_next_due().await {
                    // Due now but not started (in flight, waiting for a slot or for
                    // pacing): what frees them wakes this loop; read again within a
                    // second anyway, for items this read did not see.
                    Ok(Some(ms)) if ms <= now => Some(now + 1_000),
                    Ok(next) => next,
                    Err(_) => Some(now + 1_000),
                };
                sleep = match next {
                    Some(ms) => self.clock.instant_at(ms),
                    None => Instant::now() + Duration::from_secs(3_600),
                };
            }
            // Start what the slots and the channels' pacing allow; keep the rest.
            let mut wait_until: Option<i64> = None;
            let mut started = 0usize;
            if !queue.is_empty() {
                let catalog = lock(&self.shared.catalog).clone();
                let mut kept = VecDeque::with_capacity(queue.len());
                for item in queue.drain(..) {
                    if in_flight.contains(&item.key) {
                        continue;
                    }
                    let lane = Lane::of(&item);
                    if busy[lane as usize] >= limit
                        || running.len() >= limit.saturating_mul(RECORDING_PER_SLOT)
                    {
                        kept.push_back(item);
                        continue;
                    }
                    let kind = catalog
                        .channels
                        .iter()
                        .find(|c| c.id.value == item.channel)
                        .map(|c| c.kind);
                    let slot = self.paced.entry(item.channel.clone()).or_insert(0);
                    if *slot > now {
                        wait_until = Some(wait_until.map_or(*slot, |w| w.min(*slot)));
                        kept.push_back(item);
                        continue;
                    }
                    let spacing = self.deliver.min_spacing(&item.channel, kind);
                    *slot =
                        now.saturating_add(i64::try_from(spacing.as_millis()).unwrap_or(i64::MAX));
                    busy[lane as usize] += 1;
                    in_flight.insert(item.key.clone());
                    let key = item.key.clone();
                    let task = running.spawn(attempt(context.clone(), item, sent_tx.clone()));
                    tasks.insert(
                        task.id(),
                        Attempt {
                            key,
                            lane,
                            holds_slot: true,
                        },
                    );
                    started += 1;
                }
                queue = kept;
            }
            // The queue ran dry with more due in the outbox: read on at once, as long as
            // reading gets somewhere.
            if queue.is_empty() && truncated && started > 0 {
                read = true;
                continue;
            }
            let wake = match wait_until {
                Some(ms) => sleep.min(self.clock.instant_at(ms)),
                None => sleep,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {
                    // Pacing ends start from the queue; the timer reads the store.
                    read = wait_until.is_none_or(|ms| self.clock.instant_at(ms) > wake);
                }
                _ = self.shared.wake_dispatcher.notified() => read = true,
                Some(id) = sent_rx.recv() => {
                    release(id, &mut tasks, &mut busy);
                    while let Ok(id) = sent_rx.try_recv() {
                        release(id, &mut tasks, &mut busy);
                    }
                }
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    finished(done, &mut tasks, &mut in_flight, &mut busy);
                    // Every other send that is done too.
                    while let Some(done) = running.try_join_next_with_id() {
                        finished(done, &mut tasks, &mut in_flight, &mut busy);
                    }
                    // Slots are free: the queue goes first; when it is empty, more
                    // may be due than the last read saw.
                    if queue.is_empty() && truncated {
                        read = true;
                    }
                }
                _ = stop.changed() => {}
            }
        }
        // Stopping: sends in flight get a moment to finish and be recorded.
        let grace = tokio::time::sleep(STOP_GRACE);
        tokio::pin!(grace);
        while !running.is_empty() {
            tokio::select! {
                _ = running.join_next() => {}
                _ = &mut grace => {
                    running.abort_all();
                    break;
                }
            }
        }
    }
}

/// One attempt the dispatcher started.
struct Attempt {
    key: String,
    lane: Lane,
    /// Its send is not over yet: it holds one of its lane's slots.
    holds_slot: bool,
}

/// An attempt's send is over: its slot is free while its outcome is recorded.
fn release(
    id: tokio::task::Id,
    tasks: &mut HashMap<tokio::task::Id, Attempt>,
    busy: &mut [usize; 2],
) {
    if let Some(attempt) = tasks.get_mut(&id)
        && attempt.holds_slot
    {
        attempt.holds_slot = false;
        busy[attempt.lane as usize] = busy[attempt.lane as usize].saturating_sub(1);
    }
}

/// An attempt is over and recorded: its slot (if it still held it) and its key are free.
fn finished(
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
    tasks: &mut HashMap<tokio::task::Id, Attempt>,
    in_flight: &mut HashSet<String>,
    busy: &mut [usize; 2],
) {
    let (id, failed) = match done {
        Ok((id, ())) => (id, None),
        Err(e) => (e.id(), Some(e)),
    };
    release(id, tasks, busy);
    let Some(Attempt { key, .. }) = tasks.remove(&id) else {
        return;
    };
    match failed {
        None => {
            in_flight.remove(&key);
        }
        // Panicked while telling the stages or recording (a panicking send itself is a
        // failed attempt, see `attempt`): the item stays pending but is not taken again
        // by this run, so a panic cannot repeat in a loop; a restart tries it again.
        Some(e) => tracing::error!(key = %key, error = %e, "recording a delivery failed"),
    }
}

/// Aborts a task when dropped: a send abandoned by its caller stops.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One attempt at one item, start to record: sends it (within its deadline), says on
/// `sent` that the send is over, tells every stage, then records the outcome in the
/// outbox.
async fn attempt(
    context: Arc<Context>,
    item: OutboxItem,
    sent: tokio::sync::mpsc::UnboundedSender<tokio::task::Id>,
) {
    let recipient = Recipient::parse(&item.recipient);
    // In a task of its own, so a send that panics is one failed attempt (retried, then
    // dead-lettered) and never takes the dispatcher down.
    let sending = {
        let context = context.clone();
        let item = item.clone();
        let recipient = recipient.clone();
        tokio::spawn(async move {
            send(
                &context.stages,
                &context.shared,
                context.deliver.as_ref(),
                &item,
                recipient.as_ref(),
            )
            .await
        })
    };
    let _abort = AbortOnDrop(sending.abort_handle());
    let result = match sending.await {
        Ok(result) => result,
        Err(e) => Err(failure(
            SendErrorKind::Retryable,
            format!("the send failed inside Continuo: {e}"),
        )),
    };
    // The dispatcher is gone only when stopping; the record is written all the same.
    let _ = sent.send(tokio::task::id());
    let now = context.clock.now_ms();
    use std::sync::atomic::Ordering::Relaxed;
    for stage in context.stages.iter() {
        stage
            .on_delivered(Sent {
                shared: &context.shared,
                store: context.store.as_ref(),
                item: &item,
                recipient: recipient.as_ref(),
                result: &result,
                now_ms: now,
            })
            .await;
    }
    let outcome = match result {
        Ok(delivered) => {
            context.shared.sent.fetch_add(1, Relaxed);
            Outcome::Sent {
                key: item.key.clone(),
                at_ms: now,
                detail: delivered.detail,
            }
        }
        Err(error) => {
            context.shared.failed.fetch_add(1, Relaxed);
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
                    alert = %item.alert,
                    channel = %item.channel,
                    attempts,
                    error = %error,
                    retry_in_ms = wait,
                    "delivery failed"
                );
                Some(now.saturating_add(wait))
            } else {
                context.shared.dead.fetch_add(1, Relaxed);
                tracing::warn!(
                    key = %item.key,
                    alert = %item.alert,
                    channel = %item.channel,
                    attempts,
                    error = %error,
                    "delivery failed"
                );
                tracing::error!(
                    key = %item.key,
                    alert = %item.alert,
                    channel = %item.channel,
                    attempts,
                    error = %error,
                    "delivery dead"
                );
                None
            };
            Outcome::Failed {
                key: item.key.clone(),
                next_ms: next,
                error: error.message,
            }
        }
    };
    let (reply, written) = oneshot::channel();
    let written = match context.records.send((outcome, reply)) {
        Ok(()) => written
            .await
            .unwrap_or_else(|_| Err("the recorder stopped".to_string())),
        // No recorder (stopping): written on its own.
        Err(mpsc::error::SendError((outcome, _))) => context
            .store
            .outbox_record(std::slice::from_ref(&outcome))
            .await
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = written {
        // The send happened but its record did not: it will be sent again with the same
        // key, which receivers deduplicate.
        tracing::warn!(key = %item.key, error = %e, "cannot record a delivery");
    }
}

/// Sends one item: through the stage that claims it, else as the stored notice
/// through its channel; either way within the channel's deadline
/// ([`Deliver::deadline`]), which covers the whole send, name resolution included. A
/// send still going at its deadline is abandoned and fails, worth another try.
pub(crate) async fn send(
    stages: &[Arc<dyn Stage>],
    shared: &Shared,
    deliver: &dyn Deliver,
    item: &OutboxItem,
    recipient: Option<&Recipient>,
) -> Result<continuo_notify::Delivered, continuo_notify::SendError> {
    let deadline = deliver.deadline(&item.channel);
    let sending = async {
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
    };
    match tokio::time::timeout(deadline, sending).await {
        Ok(result) => result,
        Err(_) => Err(failure(
            SendErrorKind::Retryable,
            format!(
                "no answer within {} (the deadline of one send, name resolution included)",
                continuo_core::HumanDuration(deadline)
            ),
        )),
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
