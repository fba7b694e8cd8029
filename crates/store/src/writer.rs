//! The single writer: everything the engine wants stored goes through a bounded buffer
//! to one task that writes in batches, one transaction per batch with its rollups.
//!
//! **Invariant:** [`Writer::submit`] never blocks and never fails the caller. When the database
//! is slow or down, records wait in a bounded buffer (the oldest are dropped past its
//! capacity, and counted), the writer retries with backoff, and [`WriterStatus`] says so.
//! Probing and evaluation do not depend on the store, so no check goes down because of it.

use super::{BUCKETS, Backend, Histogram, Ping, Resolution, Store, StoreError, on_pool};
use continuo_core::observation::Observation;
use continuo_core::state::{CheckState, Transition, Verdict};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
    /// Longest a record waits before its batch is written.
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

/// What the writer is doing, for `/readyz` and `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStatus {
    healthy: AtomicBool,
    pending: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    batches: AtomicU64,
    batch_micros_total: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl WriterStatus {
    /// False while the last write failed.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
    /// Records waiting to be written.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }
    /// Records written since start.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Records dropped because the buffer was full.
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
    /// The last write error, if the store is unhealthy.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
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
}

#[derive(Default)]
struct Queue {
    /// Records waiting, oldest first (not counting the batch being written).
    records: VecDeque<Record>,
    /// Records of the batch being written.
    in_flight: usize,
    flushes: Vec<oneshot::Sender<()>>,
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
        self.status.pending.store(
            (queue.records.len() + queue.in_flight) as u64,
            Ordering::Relaxed,
        );
    }

    /// Queues a record, dropping the oldest waiting one past capacity.
    fn push(&self, queue: &mut Queue, record: Record) {
        queue.records.push_back(record);
        self.trim(queue);
        self.publish_pending(queue);
    }

    /// Drops the oldest waiting records past capacity; returns how many went.
    fn trim(&self, queue: &mut Queue) -> u64 {
        let mut dropped = 0;
        while queue.records.len() > self.config.buffer_capacity.max(1) {
            queue.records.pop_front();
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
    /// Starts the writer task on the current runtime.
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
        });
        let task = Task {
            store,
            shared: shared.clone(),
            ping_seq: 0,
        };
        tokio::spawn(task.run());
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
        shared.push(&mut shared.lock(), record);
        shared.wake.notify_one();
    }

    /// Queues a record, waiting for room in the buffer while the database is keeping up
    /// (for bulk producers such as the heartbeat API, which should push back rather than
    /// drop). While the database is unavailable it does not wait, as [`Writer::submit`].
    pub async fn submit_wait(&self, record: Record) {
        let shared = self.shared();
        loop {
            // Registered before looking, so room made in between is not missed.
            let room = shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut queue = shared.lock();
                let full = queue.records.len() >= shared.config.buffer_capacity.max(1);
                if !full || !shared.status.healthy() {
                    shared.push(&mut queue, record);
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

    /// The writer's status.
    pub fn status(&self) -> &Arc<WriterStatus> {
        &self.shared().status
    }
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
fn rollup_deltas(batch: &[Record]) -> BTreeMap<RollupKey, Delta> {
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
    /// Orders pings that arrive in the same millisecond.
    ping_seq: i64,
}

impl Task {
    async fn run(mut self) {
        let config = self.shared.config;
        let mut retry_at: Option<Instant> = None;
        let mut failures: u32 = 0;
        let mut deadline = Instant::now() + config.flush_interval;
        loop {
            let (waiting, flushes, closed) = {
                let queue = self.shared.lock();
                (queue.records.len(), !queue.flushes.is_empty(), queue.closed)
            };
            let now = Instant::now();
            let due = now >= deadline || waiting >= config.batch_size || flushes || closed;
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
                (std::mem::take(&mut queue.flushes), queue.records.len())
            };
            let result = self.write_waiting(budget).await;
            match result {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(failed_attempts = failures, "the store takes writes again");
                    }
                    failures = 0;
                    retry_at = None;
                    self.shared.status.healthy.store(true, Ordering::Relaxed);
                    if let Ok(mut e) = self.shared.status.last_error.lock() {
                        *e = None;
                    }
                }
                Err(failed) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(100u64 << failures.min(6))
                        .min(Duration::from_secs(5));
                    retry_at = Some(Instant::now() + backoff);
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
                    self.shared.status.healthy.store(false, Ordering::Relaxed);
                    if let Ok(mut last) = self.shared.status.last_error.lock() {
                        *last = Some(failed.error.to_string());
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
                return;
            }
        }
    }

    /// Writes up to `budget` waiting records, oldest first and batch by batch: a bound,
    /// so a steady stream of records cannot keep one attempt going forever. A batch that
    /// fails goes back to the front of the buffer.
    async fn write_waiting(&mut self, budget: usize) -> Result<(), FailedBatch> {
        let mut left = budget;
        loop {
            let batch: Vec<Record> = {
                let mut queue = self.shared.lock();
                let n = left
                    .min(queue.records.len())
                    .min(self.shared.config.batch_size.max(1));
                queue.in_flight = n;
                queue.records.drain(..n).collect()
            };
            if batch.is_empty() {
                return Ok(());
            }
            left -= batch.len();
            let rollups = rollup_deltas(&batch);
            let started = Instant::now();
            let result = write_batch(&self.store, &batch, &rollups, &mut self.ping_seq).await;
            let mut queue = self.shared.lock();
            queue.in_flight = 0;
            match result {
                Ok(()) => {
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
                    self.shared.room.notify_waiters();
                }
                Err(e) => {
                    // Back in front of what arrived meanwhile, then the oldest go if
                    // that is more than the buffer holds.
                    let records = batch.len();
                    for record in batch.into_iter().rev() {
                        queue.records.push_front(record);
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

async fn write_batch(
    store: &Store,
    batch: &[Record],
    rollups: &BTreeMap<RollupKey, Delta>,
    ping_seq: &mut i64,
) -> Result<(), StoreError> {
    let observations: Vec<&Observation> = batch
        .iter()
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
    for r in batch {
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
    let first_seq = *ping_seq;
    on_pool!(store, pool => {
        let mut tx = pool.begin().await?;
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
        Ok::<(), StoreError>(())
    })?;
    *ping_seq = first_seq + pings.len() as i64;
    Ok(())
}
