//! The single writer: everything the engine wants stored goes through a bounded buffer
//! to one task that writes in batches, one transaction per batch with its rollups.
//!
//! **Invariant:** [`Writer::submit`] never blocks and never fails the caller. When the database
//! is slow, down or full, records wait in a bounded buffer (the oldest are dropped past its
//! capacity, and counted), the writer retries with backoff, and [`WriterStatus`] says so.
//! Probing and evaluation do not depend on the store, so no check goes down because of it.
//!
//! **Invariant:** a record counts as written (and a [`Writer::submit_durable`] caller hears
//! `Ok`) only after the transaction holding it committed. A batch runs on a connection of
//! its own that is closed, never returned to the pool, after any error: SQLite rolls a
//! transaction back by itself on "disk full", sqlx's later `ROLLBACK` then fails unseen
//! and its transaction depth stays at 1, so that connection would go on answering
//! `BEGIN`/`COMMIT` with `SAVEPOINT`/`RELEASE` inside a transaction that never ends:
//! "committed" batches that never reach the file, and "database is locked" for every
//! other connection (issue 16, failure 2). The pool closes such connections too
//! (`after_release` in `Store::open_with`).
//!
//! The task is supervised: a panic is caught, logged, counted and shown in the status,
//! the batch being written goes back to the front of the buffer (unless it made the
//! writer panic twice in a row: then it is dropped, and counted), and the task restarts.

use super::{BUCKETS, Backend, Histogram, Ping, Resolution, Store, StoreError, on_pool};
use continuo_core::observation::Observation;
use continuo_core::state::{CheckState, Transition, Verdict};
use sqlx::Connection as _;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// Something to store.
#[derive(Clone, Debug)]
pub enum Record {
    /// A probe result.
    Observation(Observation),
    /// A change of check status.
    Transition {
        /// The check.
        check_id: String,
        /// The location.
        location: String,
        /// What changed.
        transition: Transition,
    },
    /// The current state of a check (kept, not appended).
    State {
        /// The check.
        check_id: String,
        /// The location.
        location: String,
        /// Its state.
        state: CheckState,
        /// When.
        at_ms: i64,
    },
    /// A heartbeat ping.
    Ping(Ping),
}

/// How the writer batches and buffers.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// Most records per transaction.
    pub batch_size: usize,
    /// Longest a record waits before its batch is written (records someone waits for,
    /// [`Writer::submit_durable`], are written at once: group commit).
    pub flush_interval: Duration,
    /// Most records held while the database is unavailable.
    pub buffer_capacity: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            batch_size: 2_000,
            flush_interval: Duration::from_millis(200),
            buffer_capacity: 200_000,
        }
    }
}

/// How long writes may fail before the failure counts as lasting
/// ([`WriterStatus::lasting_failure`]): long enough to ride out a lock held by a slow
/// transaction or a database restart, short enough that a full disk is paged quickly.
pub const LASTING_FAILURE: Duration = Duration::from_secs(30);

/// Why records handed to [`Writer::submit_durable`] are not (yet) known to be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotStored {
    /// The database refused the batch holding them. They stay buffered and are retried:
    /// they may still be written, but nobody can promise it.
    #[error("the store refused the write ({0}); it is retried, but not stored yet")]
    Refused(String),
    /// They were dropped from the full buffer while the database was unavailable.
    #[error("the store's buffer was full and dropped them")]
    Dropped,
    /// The writer stopped before writing them.
    #[error("the store writer stopped")]
    Stopped,
}

/// What the writer is doing, for `/readyz`, `/metrics` and alerting.
#[derive(Debug, Default)]
pub struct WriterStatus {
    healthy: AtomicBool,
    pending: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    batches: AtomicU64,
    batch_micros_total: AtomicU64,
    write_errors: AtomicU64,
    restarts: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Since when writes fail (unix ms), unset after a success.
    failing_since_ms: Mutex<Option<i64>>,
}

fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl WriterStatus {
    /// False while the last write failed (or the writer just restarted after a panic).
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
    /// Records waiting to be written.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }
    /// Records written since start: only records whose transaction committed.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Records dropped because the buffer was full (or because they made the writer
    /// panic twice in a row).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    /// Batches written, and their total write time in microseconds.
    pub fn batch_timing(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.batch_micros_total.load(Ordering::Relaxed),
        )
    }
    /// Write attempts the database refused since start.
    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }
    /// Times the writer task panicked and was restarted.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }
    /// The last write error (or panic), while the store is unhealthy.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
    /// Since when (unix ms) writes have failed without a success in between.
    pub fn failing_since_ms(&self) -> Option<i64> {
        self.failing_since_ms.lock().ok().and_then(|s| *s)
    }
    /// How long writes have failed without a success in between.
    pub fn failing_for(&self) -> Option<Duration> {
        let since = self.failing_since_ms()?;
        Some(Duration::from_millis(
            u64::try_from(now_unix_ms().saturating_sub(since)).unwrap_or(0),
        ))
    }
    /// The reason to page, once writes have failed for [`LASTING_FAILURE`] or longer:
    /// for how long, and the last error. `None` while writes succeed or the failure is
    /// younger.
    pub fn lasting_failure(&self) -> Option<String> {
        let failing = self.failing_for()?;
        (failing >= LASTING_FAILURE).then(|| self.reason())?
    }
    /// Why the store is not healthy, in one line (`None` while healthy).
    pub fn reason(&self) -> Option<String> {
        if self.healthy() {
            return None;
        }
        let error = self
            .last_error()
            .unwrap_or_else(|| "unknown error".to_string());
        Some(match self.failing_for() {
            Some(d) => format!("store writes failing for {} s: {error}", d.as_secs()),
            None => format!("store writes failing: {error}"),
        })
    }

    fn succeeded(&self) {
        self.healthy.store(true, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = None;
        }
        if let Ok(mut s) = self.failing_since_ms.lock() {
            *s = None;
        }
    }

    fn failed(&self, error: String) {
        self.healthy.store(false, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(error);
        }
        if let Ok(mut s) = self.failing_since_ms.lock() {
            s.get_or_insert_with(now_unix_ms);
        }
    }
}

/// The promise made to a [`Writer::submit_durable`] caller: answered `Ok` once every
/// record it covers committed, or with the first reason one of them is not stored.
struct Ack {
    remaining: AtomicUsize,
    answer: Mutex<Option<oneshot::Sender<Result<(), NotStored>>>>,
}

impl Ack {
    fn answer(&self, result: Result<(), NotStored>) {
        let sender = self.answer.lock().ok().and_then(|mut a| a.take());
        if let Some(sender) = sender {
            let _ = sender.send(result);
        }
    }

    fn written(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.answer(Ok(()));
        }
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ack")
    }
}

/// A record in the buffer, with the promise to answer when it is written, if any.
#[derive(Clone, Debug)]
struct Entry {
    record: Record,
    ack: Option<Arc<Ack>>,
}

/// The buffer between the submitters and the writer task. Submitters push here directly,
/// so the capacity and the drop-oldest rule hold however busy the task is: a task stuck
/// for seconds on an unreachable server (the pool retries connecting until its timeout)
/// cannot make the newest records the ones that are lost.
struct Shared {
    config: WriterConfig,
    status: Arc<WriterStatus>,
    queue: Mutex<Queue>,
    /// Wakes the task: a record, a flush, or the last handle gone.
    wake: Notify,
    /// Wakes `submit_wait` callers: records left the buffer.
    room: Notify,
    /// Orders pings that arrive in the same millisecond (kept across restarts).
    ping_seq: AtomicI64,
    /// Tests only: the task panics before writing its next batch, this many times.
    panics_to_inject: AtomicU64,
}

#[derive(Default)]
struct Queue {
    /// Records waiting, oldest first (not counting the batch being written).
    records: VecDeque<Entry>,
    /// The batch being written: back to the front of `records` if the task dies.
    in_flight: Option<Arc<Vec<Entry>>>,
    flushes: Vec<oneshot::Sender<()>>,
    /// Someone waits for a record in `records`: write at once instead of at the deadline.
    urgent: bool,
    /// Every `Writer` handle is gone: write what is left, then stop.
    closed: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the queue inconsistent (every
        // critical section is a few pushes and pops), so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish_pending(&self, queue: &Queue) {
        let in_flight = queue.in_flight.as_ref().map_or(0, |b| b.len());
        self.status
            .pending
            .store((queue.records.len() + in_flight) as u64, Ordering::Relaxed);
    }

    /// Queues a record, dropping the oldest waiting one past capacity.
    fn push(&self, queue: &mut Queue, entry: Entry) {
        queue.urgent |= entry.ack.is_some();
        queue.records.push_back(entry);
        self.trim(queue);
        self.publish_pending(queue);
    }

    /// Drops the oldest waiting records past capacity; returns how many went.
    fn trim(&self, queue: &mut Queue) -> u64 {
        let mut dropped = 0;
        while queue.records.len() > self.config.buffer_capacity.max(1) {
            if let Some(Entry { ack: Some(ack), .. }) = queue.records.pop_front() {
                ack.answer(Err(NotStored::Dropped));
            }
            dropped += 1;
        }
        self.status.dropped.fetch_add(dropped, Ordering::Relaxed);
        dropped
    }
}

/// Closes the writer when the last `Writer` clone is dropped.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

/// The handle engines submit records through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    handle: Arc<Handle>,
}

impl Writer {
    /// Starts the writer task, supervised, on the current runtime.
    pub fn spawn(store: Store, config: WriterConfig) -> Writer {
        let status = Arc::new(WriterStatus {
            healthy: AtomicBool::new(true),
            ..WriterStatus::default()
        });
        let shared = Arc::new(Shared {
            config,
            status,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            room: Notify::new(),
            ping_seq: AtomicI64::new(0),
            panics_to_inject: AtomicU64::new(0),
        });
        tokio::spawn(supervise(store, shared.clone()));
        Writer {
            handle: Arc::new(Handle { shared }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Queues a record. Never waits: when the buffer is full the oldest waiting record is
    /// dropped, and counted.
    pub fn submit(&self, record: Record) {
        let shared = self.shared();
        shared.push(&mut shared.lock(), Entry { record, ack: None });
        shared.wake.notify_one();
    }

    /// Queues a record, waiting for room in the buffer while the database is keeping up
    /// (for bulk producers, which should push back rather than drop). While the database
    /// is unavailable it does not wait, as [`Writer::submit`].
    pub async fn submit_wait(&self, record: Record) {
        self.push_waiting(vec![Entry { record, ack: None }]).await;
    }

    /// Queues records as [`Writer::submit_wait`] does and waits until the transaction
    /// holding them committed: `Ok` means they are in the database. Records someone waits
    /// for are written at once, together with whatever else is waiting (group commit:
    /// callers arriving during a commit share the next one). An `Err` says why they are
    /// not known to be stored; after [`NotStored::Refused`] they stay buffered and the
    /// writer goes on retrying them.
    pub async fn submit_durable(&self, records: Vec<Record>) -> Result<(), NotStored> {
        if records.is_empty() {
            return Ok(());
        }
        let (answer, answered) = oneshot::channel();
        let ack = Arc::new(Ack {
            remaining: AtomicUsize::new(records.len()),
            answer: Mutex::new(Some(answer)),
        });
        let entries = records
            .into_iter()
            .map(|record| Entry {
                record,
                ack: Some(ack.clone()),
            })
            .collect();
        drop(ack);
        self.push_waiting(entries).await;
        answered.await.unwrap_or(Err(NotStored::Stopped))
    }

    /// Pushes entries (together, in order), waiting for room while the database keeps up.
    async fn push_waiting(&self, entries: Vec<Entry>) {
        let shared = self.shared();
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            // Registered before looking, so room made in between is not missed.
            let room = shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut queue = shared.lock();
                let capacity = shared.config.buffer_capacity.max(1);
                let unhealthy = !shared.status.healthy();
                while let Some(entry) =
                    entries.next_if(|_| unhealthy || queue.records.len() < capacity)
                {
                    shared.push(&mut queue, entry);
                }
                if entries.peek().is_none() {
                    break;
                }
            }
            shared.wake.notify_one();
            room.await;
        }
        shared.wake.notify_one();
    }

    /// Writes everything queued so far; returns when it is written, or when the writer
    /// gave up for now because the database is unavailable.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        self.shared().lock().flushes.push(done);
        self.shared().wake.notify_one();
        let _ = wait.await;
    }

    /// Tests only: makes the writer task panic before writing each of its next `times`
    /// batches, to show that it is restarted with its buffer.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn inject_panics(&self, times: u64) {
        self.shared()
            .panics_to_inject
            .store(times, Ordering::Relaxed);
    }

    /// The writer's status.
    pub fn status(&self) -> &Arc<WriterStatus> {
        &self.shared().status
    }
}

/// Runs the writer task until every handle is gone, restarting it after a panic with its
/// buffer intact.
async fn supervise(store: Store, shared: Arc<Shared>) {
    let mut panics_in_a_row: u32 = 0;
    loop {
        let batches_before = shared.status.batches.load(Ordering::Relaxed);
        let task = Task {
            store: store.clone(),
            shared: shared.clone(),
        };
        let error = match tokio::spawn(task.run()).await {
            Ok(()) => return,
            // Cancelled: the runtime is shutting down.
            Err(e) if !e.is_panic() => return,
            Err(e) => e,
        };
        let message = panic_message(error.into_panic());
        if shared.status.batches.load(Ordering::Relaxed) != batches_before {
            panics_in_a_row = 0;
        }
        panics_in_a_row = panics_in_a_row.saturating_add(1);
        let restarts = shared.status.restarts.fetch_add(1, Ordering::Relaxed) + 1;
        let mut lost = 0;
        {
            let mut queue = shared.lock();
            if let Some(batch) = queue.in_flight.take() {
                let batch = Arc::try_unwrap(batch).unwrap_or_else(|b| (*b).clone());
                if panics_in_a_row >= 2 {
                    // The same batch again: one bad record must not stop every write.
                    lost = batch.len() as u64;
                    for entry in batch {
                        if let Some(ack) = entry.ack {
                            ack.answer(Err(NotStored::Dropped));
                        }
                    }
                    shared.status.dropped.fetch_add(lost, Ordering::Relaxed);
                } else {
                    for entry in batch.into_iter().rev() {
                        queue.records.push_front(entry);
                    }
                    shared.trim(&mut queue);
                }
            }
            shared.publish_pending(&queue);
        }
        shared.status.failed(format!(
            "the store writer panicked and was restarted: {message}"
        ));
        tracing::error!(
            panic = %message,
            restarts,
            panics_in_a_row,
            dropped = lost,
            "the store writer panicked; restarting it with its buffer"
        );
        let pause =
            Duration::from_millis(100u64 << panics_in_a_row.min(6)).min(Duration::from_secs(5));
        tokio::time::sleep(pause).await;
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Rollup deltas of one batch, by (check, location, resolution, bucket).
type RollupKey = (String, String, Resolution, i64);

#[derive(Default, Clone)]
struct Delta {
    count: u64,
    failures: u64,
    degraded: u64,
    latency: Histogram,
}

/// The rollup deltas of a batch's observations. Computed per batch and written in the
/// batch's transaction, so each observation is counted exactly once, and only if its
/// row was written: rollups agree with the raw data, and an outage holds no more memory
/// than the buffer.
fn rollup_deltas(batch: &[&Record]) -> BTreeMap<RollupKey, Delta> {
    let mut rollups: BTreeMap<RollupKey, Delta> = BTreeMap::new();
    for record in batch {
        let Record::Observation(o) = record else {
            continue;
        };
        let m = &o.measurement;
        for resolution in Resolution::ALL {
            let key = (
                o.check_id.clone(),
                o.location.clone(),
                resolution,
                resolution.bucket(o.at_ms),
            );
            let delta = rollups.entry(key).or_default();
            delta.count += 1;
            delta.failures += u64::from(m.verdict == Verdict::Failure);
            delta.degraded += u64::from(m.verdict == Verdict::Degraded);
            delta.latency.record(m.timings.total_us);
        }
    }
    rollups
}

/// A batch the database refused: back in the buffer, to be retried.
struct FailedBatch {
    error: StoreError,
    /// How many records the batch held.
    records: usize,
    /// How many of the oldest waiting records had to go to make room for it again.
    dropped: u64,
}

struct Task {
    store: Store,
    shared: Arc<Shared>,
}

impl Task {
    async fn run(self) {
        let config = self.shared.config;
        let mut retry_at: Option<Instant> = None;
        let mut failures: u32 = 0;
        let mut lasting_reported = false;
        let mut deadline = Instant::now() + config.flush_interval;
        loop {
            let (waiting, flushes, urgent, closed) = {
                let queue = self.shared.lock();
                (
                    queue.records.len(),
                    !queue.flushes.is_empty(),
                    queue.urgent,
                    queue.closed,
                )
            };
            let now = Instant::now();
            let due =
                now >= deadline || waiting >= config.batch_size || flushes || urgent || closed;
            let allowed = retry_at.is_none_or(|t| now >= t) || closed;
            if !(due && allowed) {
                let until = if due {
                    retry_at.unwrap_or(deadline)
                } else {
                    deadline
                };
                let _ = tokio::time::timeout_at(until, self.shared.wake.notified()).await;
                continue;
            }
            // The flushes asked for so far are answered after this attempt, which writes
            // at least every record queued before them (taken under one lock, so none
            // slips in between); later flushes wait for the next attempt.
            let (answering, budget) = {
                let mut queue = self.shared.lock();
                queue.urgent = false;
                (std::mem::take(&mut queue.flushes), queue.records.len())
            };
            let result = self.write_waiting(budget).await;
            match result {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(failed_attempts = failures, "the store takes writes again");
                    }
                    failures = 0;
                    lasting_reported = false;
                    retry_at = None;
                    self.shared.status.succeeded();
                }
                Err(failed) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(100u64 << failures.min(6))
                        .min(Duration::from_secs(5));
                    retry_at = Some(Instant::now() + backoff);
                    let status = &self.shared.status;
                    // The records stay buffered (only the oldest past capacity go), so
                    // nothing fails the caller: this event is where the failure shows.
                    tracing::warn!(
                        error = %failed.error,
                        batch = failed.records,
                        dropped = failed.dropped,
                        attempt = failures,
                        backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                        "the store refused a batch; retrying after the backoff"
                    );
                    if !lasting_reported && let Some(reason) = status.lasting_failure() {
                        lasting_reported = true;
                        tracing::error!(
                            reason = %reason,
                            pending = status.pending(),
                            dropped = status.dropped(),
                            "the store has refused writes for too long; records are buffered, not stored"
                        );
                    }
                }
            }
            // Healthy again means waiting producers may find room; unhealthy means they
            // must stop waiting for it.
            self.shared.room.notify_waiters();
            // A flush waits for an attempt, not for success: shutdown must not hang on a
            // dead database.
            for done in answering {
                let _ = done.send(());
            }
            deadline = Instant::now() + config.flush_interval;
            if closed {
                // Whoever still waits for a record that was not written hears so.
                let queue = self.shared.lock();
                for entry in &queue.records {
                    if let Some(ack) = &entry.ack {
                        ack.answer(Err(NotStored::Stopped));
                    }
                }
                return;
            }
        }
    }

    /// Writes up to `budget` waiting records, oldest first and batch by batch: a bound,
    /// so a steady stream of records cannot keep one attempt going forever. A batch that
    /// fails goes back to the front of the buffer.
    async fn write_waiting(&self, budget: usize) -> Result<(), FailedBatch> {
        let mut left = budget;
        loop {
            let batch: Arc<Vec<Entry>> = {
                let mut queue = self.shared.lock();
                let n = left
                    .min(queue.records.len())
                    .min(self.shared.config.batch_size.max(1));
                let batch = Arc::new(queue.records.drain(..n).collect::<Vec<Entry>>());
                queue.in_flight = Some(batch.clone());
                batch
            };
            if batch.is_empty() {
                self.shared.lock().in_flight = None;
                return Ok(());
            }
            left -= batch.len();
            let inject = &self.shared.panics_to_inject;
            if inject
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                panic!("a panic injected by a test");
            }
            let records: Vec<&Record> = batch.iter().map(|e| &e.record).collect();
            let rollups = rollup_deltas(&records);
            let started = Instant::now();
            let first_seq = self.shared.ping_seq.load(Ordering::Relaxed);
            let result = write_batch(&self.store, &records, &rollups, first_seq).await;
            drop(records);
            let mut queue = self.shared.lock();
            queue.in_flight = None;
            match result {
                Ok(pings) => {
                    self.shared.ping_seq.fetch_add(pings, Ordering::Relaxed);
                    let status = &self.shared.status;
                    status
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    status.batches.fetch_add(1, Ordering::Relaxed);
                    status.batch_micros_total.fetch_add(
                        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                    self.shared.publish_pending(&queue);
                    drop(queue);
                    // Before anyone hears "stored", so the status they read agrees.
                    status.succeeded();
                    for entry in batch.iter() {
                        if let Some(ack) = &entry.ack {
                            ack.written();
                        }
                    }
                    self.shared.room.notify_waiters();
                }
                Err(e) => {
                    // Back in front of what arrived meanwhile, then the oldest go if
                    // that is more than the buffer holds. Whoever waits for one of them
                    // hears that it is not stored (yet).
                    let batch = Arc::try_unwrap(batch).unwrap_or_else(|b| (*b).clone());
                    let records = batch.len();
                    for entry in batch.into_iter().rev() {
                        queue.records.push_front(entry);
                    }
                    let status = &self.shared.status;
                    status.write_errors.fetch_add(1, Ordering::Relaxed);
                    status.failed(e.to_string());
                    // Whoever waits, in this batch or behind it, hears that it is not
                    // stored (yet): the attempt stops here.
                    let refused = NotStored::Refused(e.to_string());
                    for ack in queue.records.iter().filter_map(|e| e.ack.as_ref()) {
                        ack.answer(Err(refused.clone()));
                    }
                    let dropped = self.shared.trim(&mut queue);
                    self.shared.publish_pending(&queue);
                    return Err(FailedBatch {
                        error: e,
                        records,
                        dropped,
                    });
                }
            }
        }
    }
}

/// SQLite allows 32766 parameters per statement; stay well below for every row shape.
const MAX_PARAMS: usize = 30_000;

/// Writes one batch in one transaction, pings numbered after `first_seq`; returns how
/// many pings it wrote. The transaction runs on a connection of its own, closed after any
/// error (see the module's invariant), and `BEGIN` is explicit so that sqlx refuses to
/// nest it in a transaction it believes open instead of turning it into a savepoint.
async fn write_batch(
    store: &Store,
    batch: &[&Record],
    rollups: &BTreeMap<RollupKey, Delta>,
    first_seq: i64,
) -> Result<i64, StoreError> {
    let observations: Vec<&Observation> = batch
        .iter()
        .copied()
        .filter_map(|r| {
            if let Record::Observation(o) = r {
                Some(o)
            } else {
                None
            }
        })
        .collect();
    let transitions: Vec<(&String, &String, &Transition)> = batch
        .iter()
        .copied()
        .filter_map(|r| {
            if let Record::Transition {
                check_id,
                location,
                transition,
            } = r
            {
                Some((check_id, location, transition))
            } else {
                None
            }
        })
        .collect();
    // Only the newest state per check counts.
    let mut states: BTreeMap<(&String, &String), (&CheckState, i64)> = BTreeMap::new();
    for &r in batch {
        if let Record::State {
            check_id,
            location,
            state,
            at_ms,
        } = r
        {
            states.insert((check_id, location), (state, *at_ms));
        }
    }
    let pings: Vec<&Ping> = batch
        .iter()
        .copied()
        .filter_map(|r| {
            if let Record::Ping(p) = r {
                Some(p)
            } else {
                None
            }
        })
        .collect();
    let state_json: Vec<((&String, &String), String, i64)> = states
        .iter()
        .map(|(key, (state, at))| (*key, serde_json::to_string(state).unwrap_or_default(), *at))
        .collect();
    let begin = match &store.backend {
        // Takes the write lock at once (waiting up to the busy timeout), not at the
        // first insert.
        Backend::Sqlite(_) => "BEGIN IMMEDIATE",
        Backend::Postgres(_) => "BEGIN",
    };
    on_pool!(store, pool => {
        let mut connection = pool.acquire().await?;
        let result: Result<(), StoreError> = async {
        let mut tx = connection.begin_with(begin).await?;
        for chunk in observations.chunks(MAX_PARAMS / 11) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO observations (check_id, location, at_ms, verdict, code, message, dns_us, connect_us, tls_us, first_byte_us, total_us) ",
            );
            q.push_values(chunk, |mut row, o| {
                let m = &o.measurement;
                let t = &m.timings;
                let micros = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
                row.push_bind(o.check_id.clone())
                    .push_bind(o.location.clone())
                    .push_bind(o.at_ms)
                    .push_bind(m.verdict.name())
                    .push_bind(m.code.map(i64::from))
                    .push_bind(m.message.clone())
                    .push_bind(micros(t.dns_us))
                    .push_bind(micros(t.connect_us))
                    .push_bind(micros(t.tls_us))
                    .push_bind(micros(t.first_byte_us))
                    .push_bind(i64::try_from(t.total_us).unwrap_or(i64::MAX));
            });
            q.build().persistent(false).execute(&mut *tx).await?;
        }
        for chunk in transitions.chunks(MAX_PARAMS / 6) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO transitions (check_id, location, at_ms, from_status, to_status, flapping) ");
            q.push_values(chunk, |mut row, (check, location, t)| {
                row.push_bind((*check).clone())
                    .push_bind((*location).clone())
                    .push_bind(t.at_ms)
                    .push_bind(t.from.name())
                    .push_bind(t.to.name())
                    .push_bind(i64::from(t.flapping));
            });
            q.build().persistent(false).execute(&mut *tx).await?;
        }
        for chunk in state_json.chunks(MAX_PARAMS / 4) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO check_states (check_id, location, state, updated_ms) ");
            q.push_values(chunk, |mut row, ((check, location), json, at)| {
                row.push_bind((*check).clone()).push_bind((*location).clone()).push_bind(json.clone()).push_bind(*at);
            });
            q.push(" ON CONFLICT (check_id, location) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms");
            q.build().persistent(false).execute(&mut *tx).await?;
        }
        let mut seq = first_seq;
        for chunk in pings.chunks(MAX_PARAMS / 9) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO pings (check_id, at_ms, seq, kind, exit_code, rid, duration_ms, body, source) ");
            q.push_values(chunk, |mut row, p| {
                seq += 1;
                row.push_bind(p.check_id.clone())
                    .push_bind(p.at_ms)
                    .push_bind(seq)
                    .push_bind(p.kind.name())
                    .push_bind(p.exit_code.map(i64::from))
                    .push_bind(p.rid.clone())
                    .push_bind(p.duration_ms)
                    .push_bind(p.body.clone())
                    .push_bind(p.source.clone());
            });
            q.build().persistent(false).execute(&mut *tx).await?;
        }
        let entries: Vec<(&RollupKey, &Delta)> = rollups.iter().collect();
        for chunk in entries.chunks(MAX_PARAMS / (9 + BUCKETS)) {
            let histogram_columns: String = (0..BUCKETS).map(|i| format!(", h{i}")).collect();
            let mut q = sqlx::QueryBuilder::new(format!(
                "INSERT INTO rollups (check_id, location, resolution, bucket_ms, count, failures, degraded, sum_us, max_us{histogram_columns}) "
            ));
            q.push_values(chunk, |mut row, ((check, location, resolution, bucket), d)| {
                let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                row.push_bind(check.clone())
                    .push_bind(location.clone())
                    .push_bind(resolution.name())
                    .push_bind(*bucket)
                    .push_bind(int(d.count))
                    .push_bind(int(d.failures))
                    .push_bind(int(d.degraded))
                    .push_bind(int(d.latency.sum_us))
                    .push_bind(int(d.latency.max_us));
                for c in d.latency.counts {
                    row.push_bind(int(c));
                }
            });
            let adds: String = (0..BUCKETS).map(|i| format!(", h{i} = rollups.h{i} + excluded.h{i}")).collect();
            // PostgreSQL has GREATEST, SQLite a two-argument MAX: the same meaning.
            let greatest = match &store.backend {
                Backend::Sqlite(_) => "MAX",
                Backend::Postgres(_) => "GREATEST",
            };
            q.push(format!(
                " ON CONFLICT (check_id, location, resolution, bucket_ms) DO UPDATE SET count = rollups.count + excluded.count, \
                 failures = rollups.failures + excluded.failures, degraded = rollups.degraded + excluded.degraded, \
                 sum_us = rollups.sum_us + excluded.sum_us, max_us = {greatest}(rollups.max_us, excluded.max_us){adds}"
            ));
            q.build().persistent(false).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
        }.await;
        if result.is_err() {
            // Whatever state the connection is in, it does not go back to the pool.
            if let Err(error) = connection.close().await {
                tracing::debug!(%error, "closing the store writer's failed connection");
            }
        }
        result
    })?;
    Ok(pings.len() as i64)
}
