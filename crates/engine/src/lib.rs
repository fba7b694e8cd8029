//! The running detection system: a scheduler that runs every active check on its
//! interval (with a per-check jitter, bounded global concurrency and never two runs of
//! one check in flight), heartbeat deadlines for push checks, evaluation through the
//! pure state machines of `continuo-core`, service health, metrics, and configuration
//! reload that keeps the state of unchanged checks.
//!
//! **Invariant:** evaluation never reads the store. Observations and transitions are
//! handed to the store's [`Writer`], which never blocks; a slow or unavailable database
//! therefore cannot make a check go down.
//!
//! One coordinator task owns the schedule (a min-heap of due times) and all mutation of
//! check state; probe runs are separate tasks that report back over a channel. Readers
//! (the HTTP API) see the state through a read lock.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod alerts;
use continuo_core::hash::fnv1a;

mod clock;
mod decider;
mod degraded;
mod deliver;
mod dispatch;
mod evidence;
pub mod incidents;
mod links;
pub mod metrics;
mod paging;
pub mod persist;
mod recipient;
mod shared;
mod stage;
pub mod subscribers;
pub mod supervise;
#[doc(hidden)]
pub mod testing;

pub use clock::Clock;
pub use metrics::{Histogram, Metrics};

use continuo_core::catalog::{Catalog, Check, CheckKind, CheckSpec};
use continuo_core::heartbeat::{HeartbeatSchedule, PingHistory};
use continuo_core::observation::{Measurement, Observation, Timings};
use continuo_core::state::{
    CheckState, CheckStatus, Health, Policy, ServiceHealth, Verdict, combine_locations,
    service_health_with, step,
};
use continuo_store::writer::{NotStored, Record, Writer};
use continuo_store::{Ping, PingKind};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A probe ready to run: the engine's view of `continuo_probe::Probe`, so tests can
/// drive the scheduler on paused time with targets that do no IO.
pub trait RunProbe: Send + Sync {
    /// Runs once; never longer than `timeout`.
    fn run(&self, timeout: Duration) -> Pin<Box<dyn Future<Output = Measurement> + Send + '_>>;
}

/// Builds probes for checks.
pub trait ProbeFactory: Send + Sync {
    /// The probe for an active check; `Ok(None)` for heartbeats; `Err` with a reason
    /// when the check cannot be probed (the check then stays `unknown` with that reason).
    fn build(&self, check: &Check) -> Result<Option<Arc<dyn RunProbe>>, String>;
}

/// The real probes of `continuo-probe`.
pub struct RealProbes(pub continuo_probe::ProbeContext);

struct RealProbe(continuo_probe::Probe);

impl RunProbe for RealProbe {
    fn run(&self, timeout: Duration) -> Pin<Box<dyn Future<Output = Measurement> + Send + '_>> {
        Box::pin(self.0.run(timeout))
    }
}

impl ProbeFactory for RealProbes {
    fn build(&self, check: &Check) -> Result<Option<Arc<dyn RunProbe>>, String> {
        match continuo_probe::build(check, &self.0) {
            Ok(Some(probe)) => Ok(Some(Arc::new(RealProbe(probe)))),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// How the engine runs.
pub struct EngineOptions {
    /// This node's location name.
    pub location: String,
    /// Most probes running at once.
    pub max_concurrency: usize,
    /// Wall time.
    pub clock: Clock,
    /// Where probes come from.
    pub probes: Arc<dyn ProbeFactory>,
    /// Most bytes of a ping's body kept as its message.
    pub ping_body_limit: usize,
    /// Saved check states (this location's) to resume from after a restart, by check id;
    /// used once, at start. A check that was down stays down until it recovers, so a
    /// restart neither repeats nor loses a transition.
    pub resume: HashMap<String, CheckState>,
}

impl EngineOptions {
    /// Real probes resolving relative paths against `base_dir`, the system clock.
    pub fn new(location: impl Into<String>, base_dir: impl Into<PathBuf>) -> EngineOptions {
        EngineOptions {
            location: location.into(),
            max_concurrency: 2_048,
            clock: Clock::system(),
            probes: Arc::new(RealProbes(continuo_probe::ProbeContext::new(base_dir))),
            ping_body_limit: 10_000,
            resume: HashMap::new(),
        }
    }
}

/// A check as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CheckView {
    /// Check id.
    pub id: String,
    /// The service it belongs to.
    pub service: String,
    /// Its kind.
    pub kind: &'static str,
    /// Status across locations (quorum applied).
    pub status: CheckStatus,
    /// Since when (unix ms).
    pub since_ms: Option<i64>,
    /// Whether it is flapping.
    pub flapping: bool,
    /// Interval (active checks).
    pub interval_ms: u64,
    /// The last observation.
    pub last: Option<Observation>,
    /// Why the check cannot run here, if it cannot.
    pub problem: Option<String>,
    /// For heartbeats: when the next ping is late (unix ms).
    pub late_at_ms: Option<i64>,
    /// For heartbeats: the last success ping (unix ms).
    pub last_ping_ms: Option<i64>,
}

/// A service as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceView {
    /// Service id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Tier 1-4.
    pub tier: u8,
    /// Health with root causes.
    #[serde(flatten)]
    pub health: ServiceHealth,
    /// Its checks' ids.
    pub checks: Vec<String>,
}

/// What a heartbeat ping says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingSignal {
    /// `/ping/<uuid>`.
    Success,
    /// `/ping/<uuid>/start`.
    Start,
    /// `/ping/<uuid>/fail`.
    Fail,
    /// `/ping/<uuid>/log`.
    Log,
    /// `/ping/<uuid>/<exit-status>`.
    Exit(i32),
}

/// A heartbeat ping as received.
#[derive(Clone, Debug)]
pub struct PingRequest {
    /// The uuid from the URL.
    pub uuid: String,
    /// What it says.
    pub signal: PingSignal,
    /// Run id (`?rid=`).
    pub rid: Option<String>,
    /// The body (already limited by the HTTP layer).
    pub body: String,
    /// Client address.
    pub source: String,
}

/// The answer to an accepted ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingAccepted {
    /// The heartbeat check.
    pub check_id: String,
    /// The run's duration, when a start was paired with this finish.
    pub duration_ms: Option<i64>,
    /// Whether the ping is in the store: `Ok` once its transaction committed (or when
    /// the engine runs without a store), else why not. The heartbeat counted it either
    /// way.
    pub stored: Result<(), NotStored>,
}

/// Longest a ping waits for its batch's commit before it is answered as not stored (a
/// commit takes milliseconds; this bounds a store that neither commits nor fails).
pub const PING_STORE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReloadSummary {
    /// New checks.
    pub added: Vec<String>,
    /// Checks that are gone.
    pub removed: Vec<String>,
    /// Checks whose definition changed (their state starts over).
    pub changed: Vec<String>,
    /// Checks kept with their state.
    pub unchanged: usize,
}

enum Command {
    Ping(
        PingRequest,
        oneshot::Sender<Option<(PingAccepted, Vec<Record>)>>,
    ),
    Reload(Arc<Catalog>, oneshot::Sender<ReloadSummary>),
    Stop(oneshot::Sender<()>),
}

struct ProbeResult {
    check_id: String,
    generation: u64,
    measurement: Measurement,
    started_ms: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Probe,
    Heartbeat,
}

struct HeartbeatRuntime {
    schedule: Option<HeartbeatSchedule>,
    history: PingHistory,
    /// Unfinished starts by run id (`None` = started without a rid).
    starts: Vec<(Option<String>, i64)>,
    late_at_ms: Option<i64>,
    /// The last late deadline already reported, so a missed window counts once.
    reported_late_ms: Option<i64>,
}

struct Slot {
    check: Arc<Check>,
    service: Arc<str>,
    fingerprint: u64,
    generation: u64,
    probe: Option<Arc<dyn RunProbe>>,
    problem: Option<String>,
    policy: Policy,
    /// State per location; this node's is at `location`. A short list, not a map: one
    /// entry per location (one on a single node), 100,000 slots of it.
    states: Vec<(Arc<str>, CheckState)>,
    status: CheckStatus,
    since_ms: Option<i64>,
    flapping: bool,
    /// The last measurement and when it started (the check and location are the slot's).
    last: Option<(i64, Measurement)>,
    in_flight: bool,
    due: Instant,
    /// Boxed: most checks are not heartbeats, and a slot is kept per check.
    heartbeat: Option<Box<HeartbeatRuntime>>,
}

struct Tables {
    catalog: Arc<Catalog>,
    slots: Vec<Option<Slot>>,
    by_id: HashMap<String, usize>,
    by_uuid: HashMap<String, usize>,
    health: BTreeMap<String, ServiceHealth>,
}

struct Shared {
    tables: RwLock<Tables>,
    metrics: Metrics,
    writer: Option<Writer>,
    location: String,
    started_ms: i64,
    ping_body_limit: usize,
    health_tx: watch::Sender<Arc<BTreeMap<String, ServiceHealth>>>,
    /// The supervised coordinator.
    tasks: Arc<supervise::Tasks>,
}

/// A handle to the running engine; cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    clock: Clock,
}

/// The running engine.
pub struct Engine {
    handle: EngineHandle,
    task: JoinHandle<()>,
}

/// A check's definition as a hash (FNV-1a of its serialised spec): unchanged checks keep
/// their state on reload. A hash, not the text, so 100,000 checks do not keep 100,000
/// copies of their definition.
fn fingerprint(check: &Check) -> u64 {
    fnv1a(serde_json::to_string(check).unwrap_or_default().bytes())
}

/// Whether a check trusts extra CA certificates from a file, which a reload must read
/// again even when the check's definition did not change.
fn uses_ca_file(check: &Check) -> bool {
    match &check.spec {
        CheckSpec::Http(spec) => spec.ca_file.is_some(),
        CheckSpec::Tls(spec) => spec.ca_file.is_some(),
        _ => false,
    }
}

/// A stable per-check offset within the interval, so checks with the same interval do
/// not all fire at once (FNV-1a of the id).
fn jitter(id: &str, interval: Duration) -> Duration {
    let ms = interval.as_millis().max(1) as u64;
    Duration::from_millis(fnv1a(id.bytes()) % ms)
}

fn policy_of(check: &Check) -> Policy {
    if check.kind() == CheckKind::Heartbeat {
        // A missed window or a failure ping is definite: one is enough.
        Policy {
            fail_threshold: 1,
            recover_threshold: 1,
            ..Policy::default()
        }
    } else {
        Policy {
            fail_threshold: check.fail_threshold,
            recover_threshold: check.recover_threshold,
            ..Policy::default()
        }
    }
}

impl Engine {
    /// Starts the engine on the current tokio runtime.
    pub fn start(catalog: Arc<Catalog>, options: EngineOptions, writer: Option<Writer>) -> Engine {
        let clock = options.clock;
        let shared = Arc::new(Shared {
            tables: RwLock::new(Tables {
                catalog: catalog.clone(),
                slots: Vec::new(),
                by_id: HashMap::new(),
                by_uuid: HashMap::new(),
                health: BTreeMap::new(),
            }),
            metrics: Metrics::default(),
            writer,
            location: options.location.clone(),
            started_ms: clock.now_ms(),
            ping_body_limit: options.ping_body_limit,
            health_tx: watch::channel(Arc::new(BTreeMap::new())).0,
            tasks: Arc::new(supervise::Tasks::default()),
        });
        let (commands, command_rx) = mpsc::channel(4_096);
        let (results_tx, results_rx) = mpsc::unbounded_channel();
        let semaphore = Arc::new(Semaphore::new(options.max_concurrency.max(1)));
        let rebuild = {
            let (shared, results_tx, semaphore) =
                (shared.clone(), results_tx.clone(), semaphore.clone());
            let (location, max_concurrency, probes, ping_body_limit) = (
                options.location.clone(),
                options.max_concurrency,
                options.probes.clone(),
                options.ping_body_limit,
            );
            // After a panic: the check states are in the shared tables; a new
            // coordinator arms them again from there (the catalog is unchanged, so every
            // slot is kept with its state).
            move || {
                let mut coordinator = Coordinator {
                    shared: shared.clone(),
                    heap: BinaryHeap::new(),
                    seq: 0,
                    generation: 0,
                    semaphore: semaphore.clone(),
                    results_tx: results_tx.clone(),
                    location: Arc::from(location.as_str()),
                    options: EngineOptions {
                        location: location.clone(),
                        max_concurrency,
                        clock,
                        probes: probes.clone(),
                        ping_body_limit,
                        resume: HashMap::new(),
                    },
                    health_dirty: true,
                };
                let catalog = read(&shared).catalog.clone();
                coordinator.apply(catalog);
                coordinator
            }
        };
        let mut coordinator = Coordinator {
            shared: shared.clone(),
            heap: BinaryHeap::new(),
            seq: 0,
            generation: 0,
            semaphore,
            results_tx,
            location: Arc::from(options.location.as_str()),
            options,
            health_dirty: true,
        };
        coordinator.apply(catalog);
        coordinator.options.resume.clear();
        // The receivers outlive a panicking coordinator: pings and reloads sent while
        // it restarts wait in their channels.
        let command_rx = Arc::new(tokio::sync::Mutex::new(command_rx));
        let results_rx = Arc::new(tokio::sync::Mutex::new(results_rx));
        let mut first = Some(coordinator);
        let mut rebuild = rebuild;
        let start = move || {
            let coordinator = first.take().unwrap_or_else(&mut rebuild);
            let (command_rx, results_rx) = (command_rx.clone(), results_rx.clone());
            async move {
                let mut commands = command_rx.lock_owned().await;
                let mut results = results_rx.lock_owned().await;
                coordinator.run(&mut commands, &mut results).await;
            }
        };
        let never_stopped = watch::channel(false).1;
        let task = tokio::spawn(supervise::supervise(
            shared.tasks.clone(),
            "engine.coordinator",
            clock,
            never_stopped,
            start,
            |_| async {},
        ));
        Engine {
            handle: EngineHandle {
                shared,
                commands,
                clock,
            },
            task,
        }
    }

    /// A handle for the API.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops scheduling, waits for the coordinator, and flushes buffered writes.
    pub async fn shutdown(self) {
        let (done, wait) = oneshot::channel();
        if self.handle.commands.send(Command::Stop(done)).await.is_ok() {
            let _ = wait.await;
        }
        let _ = self.task.await;
        if let Some(writer) = &self.handle.shared.writer {
            writer.flush().await;
        }
    }
}

fn read(shared: &Shared) -> std::sync::RwLockReadGuard<'_, Tables> {
    shared.tables.read().unwrap_or_else(|e| e.into_inner())
}

fn write(shared: &Shared) -> std::sync::RwLockWriteGuard<'_, Tables> {
    shared.tables.write().unwrap_or_else(|e| e.into_inner())
}

impl EngineHandle {
    /// The engine's supervised tasks (its coordinator), for `/readyz` and `/metrics`.
    pub fn tasks(&self) -> Vec<supervise::TaskReport> {
        self.shared.tasks.report(self.clock.now_ms())
    }

    fn view(slot: &Slot) -> CheckView {
        CheckView {
            id: slot.check.id.value.clone(),
            service: slot.service.to_string(),
            kind: slot.check.kind().name(),
            status: slot.status,
            since_ms: slot.since_ms,
            flapping: slot.flapping,
            interval_ms: slot.check.interval.get().as_millis() as u64,
            last: slot.last.as_ref().map(|(at_ms, measurement)| Observation {
                check_id: slot.check.id.value.clone(),
                location: slot
                    .states
                    .first()
                    .map(|(l, _)| l.to_string())
                    .unwrap_or_default(),
                at_ms: *at_ms,
                measurement: measurement.clone(),
            }),
            problem: slot.problem.clone(),
            late_at_ms: slot.heartbeat.as_ref().and_then(|h| h.late_at_ms),
            last_ping_ms: slot
                .heartbeat
                .as_ref()
                .and_then(|h| h.history.last_success_ms),
        }
    }

    /// Every check, in configuration order.
    pub fn checks(&self) -> Vec<CheckView> {
        let tables = read(&self.shared);
        tables.slots.iter().flatten().map(Self::view).collect()
    }

    /// One check.
    pub fn check(&self, id: &str) -> Option<CheckView> {
        let tables = read(&self.shared);
        let index = *tables.by_id.get(id)?;
        tables.slots[index].as_ref().map(Self::view)
    }

    /// Every service with its health, in configuration order.
    pub fn services(&self) -> Vec<ServiceView> {
        let tables = read(&self.shared);
        tables
            .catalog
            .services
            .iter()
            .map(|s| ServiceView {
                id: s.id.value.clone(),
                name: s.name.clone(),
                tier: s.tier.value.0,
                health: tables
                    .health
                    .get(&s.id.value)
                    .cloned()
                    .unwrap_or(ServiceHealth {
                        health: continuo_core::state::Health::Unknown,
                        own: CheckStatus::Unknown,
                        root_causes: Vec::new(),
                        failing_since_ms: None,
                    }),
                checks: s.checks.iter().map(|c| c.id.value.clone()).collect(),
            })
            .collect()
    }

    /// The catalog in force.
    pub fn catalog(&self) -> Arc<Catalog> {
        read(&self.shared).catalog.clone()
    }

    /// Handles a heartbeat ping; `None` for an unknown uuid.
    pub async fn ping(&self, request: PingRequest) -> Option<PingAccepted> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Ping(request, reply))
            .await
            .ok()?;
        let (mut accepted, records) = answer.await.ok().flatten()?;
        // Submitted here, in the caller's task, waiting for room in the writer's buffer
        // while the database keeps up (a burst of pings pushes back on its senders instead
        // of pushing accepted pings out of the buffer), then for the commit of the batch
        // holding them: the answer says "stored" only once it is (group commit: pings
        // arriving during a commit share the next one).
        if let Some(writer) = &self.shared.writer {
            accepted.stored =
                tokio::time::timeout(PING_STORE_TIMEOUT, writer.submit_durable(records))
                    .await
                    .unwrap_or_else(|_| {
                        Err(NotStored::Refused(format!(
                            "no commit within {} s",
                            PING_STORE_TIMEOUT.as_secs()
                        )))
                    });
        }
        Some(accepted)
    }

    /// Applies a new configuration, keeping the state of unchanged checks.
    pub async fn reload(&self, catalog: Arc<Catalog>) -> Option<ReloadSummary> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Reload(catalog, reply))
            .await
            .ok()?;
        answer.await.ok()
    }

    /// The engine's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The store writer, if there is one.
    pub fn writer(&self) -> Option<&Writer> {
        self.shared.writer.as_ref()
    }

    /// This node's location.
    pub fn location(&self) -> &str {
        &self.shared.location
    }

    /// Wall time as the engine sees it.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Most bytes of a ping's body kept as its message.
    pub fn ping_body_limit(&self) -> usize {
        self.shared.ping_body_limit
    }

    /// Whether a stored ping body was cut at the limit. A body is stored cut to the
    /// limit (a multi-byte character that does not fit goes whole), and no mark is kept,
    /// so a body that fills the limit to within one character (3 bytes) reads as cut: a
    /// body sent at that length, uncut, is the one false positive.
    pub fn ping_body_truncated(&self, stored: &str) -> bool {
        let limit = self.shared.ping_body_limit;
        !stored.is_empty() && stored.len() + 3 >= limit
    }

    /// Service health as it changes (every recomputation that changes something).
    pub fn health_watch(&self) -> watch::Receiver<Arc<BTreeMap<String, ServiceHealth>>> {
        self.shared.health_tx.subscribe()
    }

    /// When the engine started (unix ms).
    pub fn started_ms(&self) -> i64 {
        self.shared.started_ms
    }

    /// Registers the engine's metrics (read at each scrape) in `registry`, which
    /// `/metrics` encodes with the gateways' in one go.
    pub fn register_metrics(&self, registry: &mut metrics::Registry) {
        registry.register_collector(Box::new(metrics::EngineCollector(self.shared.clone())));
    }

    /// The Prometheus text exposition of everything the engine knows.
    pub fn metrics_text(&self) -> String {
        let mut registry = metrics::Registry::default();
        self.register_metrics(&mut registry);
        metrics::text(&registry)
    }
}

/// A heap entry: when, insertion order, what, slot index, slot generation.
type Entry = (Instant, u64, Due, usize, u64);

struct Coordinator {
    shared: Arc<Shared>,
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    generation: u64,
    semaphore: Arc<Semaphore>,
    results_tx: mpsc::UnboundedSender<ProbeResult>,
    options: EngineOptions,
    /// This node's location, shared by every slot's state list.
    location: Arc<str>,
    health_dirty: bool,
}

impl Coordinator {
    fn push(&mut self, at: Instant, due: Due, slot: usize, generation: u64) {
        self.seq += 1;
        self.heap
            .push(Reverse((at, self.seq, due, slot, generation)));
    }

    fn submit(&self, record: Record) {
        if let Some(writer) = &self.shared.writer {
            writer.submit(record);
        }
    }

    /// Installs a catalog: keeps unchanged checks, (re)builds the rest.
    fn apply(&mut self, catalog: Arc<Catalog>) -> ReloadSummary {
        let now = Instant::now();
        let now_ms = self.options.clock.now_ms();
        let shared = self.shared.clone();
        let mut tables = write(&shared);
        let mut old: HashMap<String, Slot> = HashMap::new();
        for slot in tables.slots.drain(..).flatten() {
            old.insert(slot.check.id.value.clone(), slot);
        }
        let mut summary = ReloadSummary::default();
        let mut slots = Vec::new();
        let mut by_id = HashMap::new();
        let mut by_uuid = HashMap::new();
        let org_tz = catalog.organization.timezone.clone();
        let mut fresh = Vec::new();
        for service in &catalog.services {
            let service_id: Arc<str> = Arc::from(service.id.value.as_str());
            for check in &service.checks {
                let id = check.id.value.clone();
                if by_id.contains_key(&id) {
                    continue;
                }
                let index = slots.len();
                let print = fingerprint(check);
                let slot = match old.remove(&id) {
                    Some(mut slot)
                        if slot.fingerprint == print && *slot.service == *service.id.value =>
                    {
                        // Kept with its state, generation and any run in flight: the
                        // run's result finds it by id, so no second run is started.
                        summary.unchanged += 1;
                        slot.check = check.clone();
                        // A CA file may have been renewed in place: its probe is built
                        // again, which reads the file again (SIGHUP after a renewal).
                        if uses_ca_file(check) {
                            let (probe, problem) = match self.options.probes.build(check) {
                                Ok(probe) => (probe, None),
                                Err(reason) => (None, Some(reason)),
                            };
                            slot.probe = probe;
                            slot.problem = problem;
                        }
                        slot
                    }
                    previous => {
                        if previous.is_some() {
                            summary.changed.push(id.clone());
                        } else {
                            summary.added.push(id.clone());
                        }
                        self.generation += 1;
                        fresh.push(index);
                        self.new_slot(check, &service_id, print, now, now_ms, &org_tz)
                    }
                };
                if let CheckSpec::Heartbeat(spec) = &check.spec {
                    by_uuid.insert(spec.uuid.value.to_ascii_lowercase(), index);
                }
                by_id.insert(id, index);
                slots.push(Some(slot));
            }
        }
        summary.removed = old.into_keys().collect();
        summary.removed.sort();
        // New slots' offsets count from now, when the schedule can start: building
        // 100,000 slots takes a while, and their first runs must not start late by it.
        let built = Instant::now();
        for index in fresh {
            if let Some(Some(slot)) = slots.get_mut(index) {
                slot.due += built - now;
            }
        }
        let now = built;
        // Arm every slot.
        let mut arm = Vec::new();
        for (index, slot) in slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            if slot.probe.is_some() && !slot.in_flight {
                arm.push((slot.due.max(now), Due::Probe, index, slot.generation));
            } else if let Some(late) = slot.heartbeat.as_ref().and_then(|h| h.late_at_ms) {
                arm.push((
                    self.options.clock.instant_at(late),
                    Due::Heartbeat,
                    index,
                    slot.generation,
                ));
            }
        }
        tables.slots = slots;
        tables.by_id = by_id;
        tables.by_uuid = by_uuid;
        tables.catalog = catalog;
        drop(tables);
        // Old heap entries carry old generations and are skipped when popped.
        self.heap.clear();
        for (at, due, index, generation) in arm {
            self.push(at, due, index, generation);
        }
        self.health_dirty = true;
        summary
    }

    fn new_slot(
        &self,
        check: &Arc<Check>,
        service: &Arc<str>,
        fingerprint: u64,
        now: Instant,
        now_ms: i64,
        org_tz: &str,
    ) -> Slot {
        let (probe, mut problem) = match self.options.probes.build(check) {
            Ok(probe) => (probe, None),
            Err(reason) => (None, Some(reason)),
        };
        let heartbeat = match &check.spec {
            CheckSpec::Heartbeat(spec) => {
                let schedule = HeartbeatSchedule::new(spec, org_tz);
                if schedule.is_none() {
                    problem = Some("the heartbeat's schedule or time zone is invalid".into());
                }
                let history = PingHistory {
                    since_ms: now_ms,
                    ..PingHistory::default()
                };
                let late_at_ms = schedule
                    .as_ref()
                    .and_then(|s| s.deadline(&history))
                    .map(|d| d.late_ms);
                Some(HeartbeatRuntime {
                    schedule,
                    history,
                    starts: Vec::new(),
                    late_at_ms,
                    reported_late_ms: None,
                })
            }
            _ => None,
        };
        let interval = check.interval.get().max(Duration::from_millis(10));
        let resumed = self.options.resume.get(&check.id.value).cloned();
        let status = resumed.as_ref().map_or(CheckStatus::Unknown, |s| s.status);
        let since_ms = resumed.as_ref().and_then(|s| s.since_ms);
        let flapping = resumed.as_ref().is_some_and(|s| s.flapping);
        let states = vec![(self.location.clone(), resumed.unwrap_or_default())];
        Slot {
            check: check.clone(),
            service: service.clone(),
            fingerprint,
            generation: self.generation,
            probe,
            problem,
            policy: policy_of(check),
            states,
            status,
            since_ms,
            flapping,
            last: None,
            in_flight: false,
            due: now + jitter(&check.id.value, interval),
            heartbeat: heartbeat.map(Box::new),
        }
    }

    async fn run(
        mut self,
        commands: &mut mpsc::Receiver<Command>,
        results: &mut mpsc::UnboundedReceiver<ProbeResult>,
    ) {
        let mut health_tick = tokio::time::interval(Duration::from_millis(250));
        health_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = self.heap.peek().map(|Reverse((at, ..))| *at);
            tokio::select! {
                biased;
                Some(result) = results.recv() => self.on_result(result),
                command = commands.recv() => match command {
                    None => break,
                    Some(Command::Stop(done)) => {
                        let _ = done.send(());
                        break;
                    }
                    Some(Command::Ping(request, reply)) => {
                        let _ = reply.send(self.on_ping(request));
                    }
                    Some(Command::Reload(catalog, reply)) => {
                        let summary = self.apply(catalog);
                        self.shared.metrics.reloaded();
                        let _ = reply.send(summary);
                    }
                },
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    self.fire_due();
                }
                _ = health_tick.tick() => {
                    if self.health_dirty {
                        self.recompute_health();
                    }
                }
            }
        }
    }

    fn fire_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _, due, index, generation))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            match due {
                Due::Probe => self.start_probe(index, generation, at),
                Due::Heartbeat => self.heartbeat_due(index, generation),
            }
        }
    }

    fn start_probe(&mut self, index: usize, generation: u64, due: Instant) {
        let shared = self.shared.clone();
        let mut tables = write(&shared);
        let Some(Some(slot)) = tables.slots.get_mut(index) else {
            return;
        };
        if slot.generation != generation || slot.in_flight {
            return;
        }
        let Some(probe) = slot.probe.clone() else {
            return;
        };
        slot.in_flight = true;
        let timeout = slot.check.timeout.get();
        let kind = slot.check.kind();
        let check_id = slot.check.id.value.clone();
        drop(tables);
        let semaphore = self.semaphore.clone();
        let results = self.results_tx.clone();
        let clock = self.options.clock;
        let metrics_shared = self.shared.clone();
        tokio::spawn(async move {
            let Ok(_permit) = semaphore.acquire_owned().await else {
                return;
            };
            let lag = Instant::now().saturating_duration_since(due);
            metrics_shared
                .metrics
                .scheduler_lag
                .observe_us(lag.as_micros() as u64);
            metrics_shared.metrics.in_flight(1);
            let started_ms = clock.now_ms();
            let measurement = probe.run(timeout).await;
            metrics_shared.metrics.in_flight(-1);
            metrics_shared.metrics.probe_done(
                kind,
                measurement.verdict,
                measurement.timings.total_us,
            );
            let _ = results.send(ProbeResult {
                check_id,
                generation,
                measurement,
                started_ms,
            });
        });
    }

    fn on_result(&mut self, result: ProbeResult) {
        let shared = self.shared.clone();
        let mut tables = write(&shared);
        let Some(index) = tables.by_id.get(&result.check_id).copied() else {
            return;
        };
        let Some(Some(slot)) = tables.slots.get_mut(index) else {
            return;
        };
        if slot.generation != result.generation {
            return;
        }
        slot.in_flight = false;
        let interval = slot.check.interval.get().max(Duration::from_millis(10));
        // Fixed rate: the next run is one interval after the scheduled one, or now if
        // the run took longer (which the timeout <= interval rule makes rare).
        slot.due = (slot.due + interval).max(Instant::now());
        let next = (slot.due, slot.generation);
        let observation = Observation {
            check_id: slot.check.id.value.clone(),
            location: self.options.location.clone(),
            at_ms: result.started_ms,
            measurement: result.measurement,
        };
        let records = self.observe(slot, observation);
        drop(tables);
        for record in records {
            self.submit(record);
        }
        self.push(next.0, Due::Probe, index, next.1);
    }

    /// Feeds an observation into a slot's state; returns what to store.
    fn observe(&mut self, slot: &mut Slot, observation: Observation) -> Vec<Record> {
        let location = self.location.clone();
        let at_ms = observation.at_ms;
        let index = match slot.states.iter().position(|(l, _)| *l == location) {
            Some(i) => i,
            None => {
                slot.states.push((location.clone(), CheckState::default()));
                slot.states.len() - 1
            }
        };
        let state = &mut slot.states[index].1;
        let (next, transition) = step(state, &slot.policy, observation.measurement.verdict, at_ms);
        *state = next.clone();
        let mut records = vec![Record::Observation(observation.clone())];
        slot.last = Some((observation.at_ms, observation.measurement.clone()));
        // Quorum over the locations that report this check (only this node so far);
        // a quorum larger than the number of locations cannot be reached, so it is
        // capped at that number.
        let statuses: Vec<CheckStatus> = slot.states.iter().map(|(_, s)| s.status).collect();
        let quorum = slot.check.quorum.min(statuses.len() as u32);
        let combined = combine_locations(&statuses, quorum);
        slot.flapping = slot.states.iter().any(|(_, s)| s.flapping);
        if combined != slot.status {
            slot.status = combined;
            slot.since_ms = Some(at_ms);
            self.health_dirty = true;
        } else if slot.since_ms.is_none() {
            slot.since_ms = Some(at_ms);
        }
        if let Some(transition) = &transition {
            // What an operator reads in the log when a check changes state; the
            // alert it may raise is its own event (`alert fired`).
            tracing::info!(
                check = %slot.check.id.value,
                service = %slot.service,
                location = %location,
                from = %transition.from.name(),
                to = %transition.to.name(),
                flapping = transition.flapping,
                reason = %observation.measurement.message,
                "check transition"
            );
        }
        if let Some(transition) = transition {
            records.push(Record::Transition {
                check_id: slot.check.id.value.clone(),
                location: location.to_string(),
                transition,
            });
            records.push(Record::State {
                check_id: slot.check.id.value.clone(),
                location: location.to_string(),
                state: next,
                at_ms,
            });
        }
        records
    }

    fn on_ping(&mut self, request: PingRequest) -> Option<(PingAccepted, Vec<Record>)> {
        let now_ms = self.options.clock.now_ms();
        let shared = self.shared.clone();
        let mut tables = write(&shared);
        let Some(index) = tables
            .by_uuid
            .get(&request.uuid.to_ascii_lowercase())
            .copied()
        else {
            drop(tables);
            self.shared.metrics.ping("unknown_uuid");
            return None;
        };
        let Some(Some(slot)) = tables.slots.get_mut(index) else {
            return None;
        };
        let generation = slot.generation;
        let hb = slot.heartbeat.as_mut()?;
        let (kind, verdict, exit_code) = match request.signal {
            PingSignal::Success => (PingKind::Success, Some(Verdict::Success), None),
            PingSignal::Exit(0) => (PingKind::Success, Some(Verdict::Success), Some(0)),
            PingSignal::Fail => (PingKind::Fail, Some(Verdict::Failure), None),
            PingSignal::Exit(code) => (PingKind::Fail, Some(Verdict::Failure), Some(code)),
            PingSignal::Start => (PingKind::Start, None, None),
            PingSignal::Log => (PingKind::Log, None, None),
        };
        let mut duration_ms = None;
        match kind {
            PingKind::Start => {
                hb.starts.retain(|(rid, _)| *rid != request.rid);
                hb.starts.push((request.rid.clone(), now_ms));
                // Keep the most recent runs only.
                if hb.starts.len() > 16 {
                    hb.starts.remove(0);
                }
            }
            PingKind::Success | PingKind::Fail => {
                if let Some(pos) = hb.starts.iter().rposition(|(rid, _)| *rid == request.rid) {
                    let (_, started) = hb.starts.remove(pos);
                    duration_ms = Some(now_ms - started);
                }
                if kind == PingKind::Success {
                    hb.history.last_success_ms = Some(now_ms);
                }
            }
            PingKind::Log => {}
        }
        hb.history.running_since_ms = hb.starts.iter().map(|(_, at)| *at).min();
        hb.late_at_ms = hb
            .schedule
            .as_ref()
            .and_then(|s| s.deadline(&hb.history))
            .map(|d| d.late_ms);
        let late = hb.late_at_ms;
        let check_id = slot.check.id.value.clone();
        let body = truncate(&request.body, self.shared.ping_body_limit);
        let mut records = vec![Record::Ping(Ping {
            check_id: check_id.clone(),
            at_ms: now_ms,
            kind: kind.clone(),
            exit_code,
            rid: request.rid.clone(),
            duration_ms,
            body: body.clone(),
            source: request.source.clone(),
        })];
        if let Some(verdict) = verdict {
            let message = if body.trim().is_empty() {
                match (&kind, exit_code) {
                    (PingKind::Fail, Some(code)) => format!("job exited with status {code}"),
                    (PingKind::Fail, None) => "job reported failure".to_string(),
                    _ => "ping received".to_string(),
                }
            } else {
                body.trim().to_string()
            };
            let observation = Observation {
                check_id: check_id.clone(),
                location: self.options.location.clone(),
                at_ms: now_ms,
                measurement: Measurement {
                    verdict,
                    message,
                    code: exit_code,
                    timings: Timings {
                        total_us: duration_ms.map_or(0, |d| d.max(0) as u64 * 1000),
                        ..Timings::default()
                    },
                },
            };
            records.extend(self.observe(slot, observation));
        }
        drop(tables);
        self.shared.metrics.ping(kind.name());
        if let Some(late) = late {
            let at = self.options.clock.instant_at(late);
            self.push(at, Due::Heartbeat, index, generation);
        }
        Some((
            PingAccepted {
                check_id,
                duration_ms,
                stored: Ok(()),
            },
            records,
        ))
    }

    fn heartbeat_due(&mut self, index: usize, generation: u64) {
        let now_ms = self.options.clock.now_ms();
        let shared = self.shared.clone();
        let mut tables = write(&shared);
        let Some(Some(slot)) = tables.slots.get_mut(index) else {
            return;
        };
        if slot.generation != generation {
            return;
        }
        let Some(hb) = slot.heartbeat.as_mut() else {
            return;
        };
        let Some(deadline) = hb.schedule.as_ref().and_then(|s| s.deadline(&hb.history)) else {
            return;
        };
        if now_ms < deadline.late_ms {
            // A ping moved the deadline; a newer heap entry exists.
            return;
        }
        if hb.reported_late_ms == Some(deadline.late_ms) {
            return;
        }
        hb.reported_late_ms = Some(deadline.late_ms);
        let expected = format_ms(deadline.due_ms);
        let message = if deadline.from_start {
            format!("the job started at {expected} and did not finish within its grace time")
        } else {
            match hb.history.last_success_ms {
                Some(last) => format!(
                    "no ping since {}; one was expected by {expected}",
                    format_ms(last)
                ),
                None => format!("no ping received yet; one was expected by {expected}"),
            }
        };
        let observation = Observation {
            check_id: slot.check.id.value.clone(),
            location: self.options.location.clone(),
            at_ms: now_ms,
            measurement: Measurement::failure(message, Timings::default()),
        };
        let records = self.observe(slot, observation);
        drop(tables);
        for record in records {
            self.submit(record);
        }
    }

    fn recompute_health(&mut self) {
        self.health_dirty = false;
        let shared = self.shared.clone();
        let health = {
            let tables = read(&shared);
            let status_of = |id: &str| {
                let index = *tables.by_id.get(id)?;
                tables.slots.get(index)?.as_ref().map(|s| s.status)
            };
            let mut health = service_health_with(&tables.catalog, &status_of);
            // When each down service's failure began: its failing checks' first failing
            // observation, over every location.
            for (id, h) in health.iter_mut() {
                if !matches!(h.health, Health::Down | Health::Impacted) {
                    continue;
                }
                let Some(service) = tables.catalog.service(id) else {
                    continue;
                };
                h.failing_since_ms = service
                    .checks
                    .iter()
                    .filter_map(|c| tables.by_id.get(&c.id.value))
                    .filter_map(|&i| tables.slots.get(i)?.as_ref())
                    .filter(|slot| slot.status == CheckStatus::Down)
                    .flat_map(|slot| slot.states.iter().filter_map(|(_, st)| st.first_failure_ms))
                    .min();
            }
            health
        };
        let changed = read(&shared).health != health;
        if changed {
            write(&shared).health = health.clone();
            self.shared.health_tx.send_replace(Arc::new(health));
        }
    }
}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

fn format_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}
