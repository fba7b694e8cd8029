//! The bottom of alerting: the state the decision task, the dispatcher and the stages
//! share, the typed commands the handle sends to the decision task with their typed
//! replies, and the handle itself. It imports nothing from the modules above it (the
//! stages, the decider, the dispatcher), so each of those can use it freely.

use crate::clock::Clock;
use crate::links::{AckTokenError, sign_ack, verify_ack};
use crate::persist::Persist;
use continuo_core::alerting::{AlertBook, AlertError, Context, Inbound, Page};
use continuo_core::catalog::Catalog;
use continuo_core::incident::book::{IncidentBook, IncidentContext};
use continuo_core::maintenance::Window;
use continuo_core::state::ServiceHealth;
use continuo_core::subscribers::Subscriber;
use continuo_notify::Templates;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc, oneshot};

/// Why an operator's request about alerts or maintenance failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// Refused by the alert book.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// A request that makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The store failed (the error is for the log; operators see that the database is
    /// unavailable).
    #[error("store: {0}")]
    Store(#[from] continuo_store::StoreError),
    /// A record the store returned cannot be read as what it should be.
    #[error("unreadable: {0}")]
    Unreadable(String),
    /// The change took effect but is not durable yet: it is kept and saved as soon as the
    /// store answers, but a crash before then would lose it.
    #[error(
        "done, but not saved yet: the store is unavailable; it is saved as soon as the store answers"
    )]
    NotSaved,
    /// Alerting has stopped.
    #[error("alerting is not running")]
    Stopped,
    /// No such incident.
    #[error("no incident with id `{0}`")]
    UnknownIncident(String),
}

/// Where the decision task answers a command.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, AlertingError>>;

/// What the handle asks of the decision task.
pub(crate) enum Command {
    /// Acknowledge an alert: (alert id, by).
    Acknowledge(String, String, Reply<()>),
    /// Resolve an alert: (alert id, by).
    Resolve(String, String, Reply<()>),
    /// Take in inbound alerts; answers how many changed something.
    Inbound(Vec<Inbound>, Reply<usize>),
    /// Create or replace a maintenance window.
    PutWindow(Window, Reply<()>),
    /// End a run-time maintenance window now.
    EndWindow(String, Reply<Window>),
    /// Something that happened to a service (a failover or failback, a change another
    /// system reported): (service, at, text, what a finished failover measured).
    ServiceEvent(
        ServiceEventKind,
        String,
        i64,
        continuo_core::Text,
        Option<continuo_core::evidence::records::Failover>,
    ),
    /// A new catalog.
    Reload(Arc<Catalog>),
    /// A stage's own request on the books (an operator's act on an incident, ...): the
    /// decision task runs it like any other decision and lets it answer.
    Decide(Box<dyn Decision>),
}

/// The books a decision works on, with what the pure rules need to know.
pub(crate) struct Books<'a> {
    /// The alert book.
    pub(crate) alerts: &'a mut AlertBook,
    /// The incident book.
    pub(crate) incidents: &'a mut IncidentBook,
    /// What alerting rules need (catalog, time, maintenance, policies).
    pub(crate) ctx: &'a Context<'a>,
    /// What incident rules need.
    pub(crate) ictx: &'a IncidentContext<'a>,
}

/// A request a stage hands to the decision task, so a new capability adds its operator
/// acts without a new [`Command`] or a change to the decider.
pub(crate) trait Decision: Send {
    /// Changes the books; the pages it caused (they are sent like every page).
    fn decide(&mut self, books: &mut Books<'_>) -> Vec<Page>;

    /// Answers the caller once the decision was committed; `saved` says whether it is
    /// durable yet.
    fn answer(self: Box<Self>, shared: &Shared, saved: Result<(), AlertingError>);
}

/// A service's runbook text.
pub type RunbookFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
/// A service's last good backup or heartbeat at or before an instant.
pub type LastGoodFn = Arc<dyn Fn(&str, i64) -> Option<i64> + Send + Sync>;

/// What incidents need from outside the engine.
#[derive(Clone)]
pub struct IncidentOptions {
    /// Reads a service's runbook (the binary reads the files).
    pub runbook: RunbookFn,
    /// The last good backup or heartbeat of a service (the engine's heartbeats).
    pub last_good: LastGoodFn,
    /// Templates for status updates.
    pub templates: Arc<Templates>,
}

impl Default for IncidentOptions {
    fn default() -> Self {
        IncidentOptions {
            runbook: Arc::new(|_| None),
            last_good: Arc::new(|_, _| None),
            templates: Arc::new(Templates::builtin()),
        }
    }
}

/// The closures an [`IncidentContext`] borrows.
pub(crate) fn incident_ctx(
    options: &IncidentOptions,
) -> (
    impl Fn(&str) -> Option<String> + '_,
    impl Fn(&str, i64) -> Option<i64> + '_,
) {
    (
        move |s: &str| (options.runbook)(s),
        move |s: &str, before: i64| (options.last_good)(s, before),
    )
}

/// What the decision task, the dispatcher, the stages and the handle share.
pub(crate) struct Shared {
    pub(crate) book: Mutex<AlertBook>,
    pub(crate) incidents: Mutex<IncidentBook>,
    pub(crate) incident_options: IncidentOptions,
    /// The confirmed status page subscribers (the store's copy is the truth; this
    /// follows it).
    pub(crate) confirmed_subscribers: Mutex<Vec<Subscriber>>,
    /// The services' health as last seen by the decision task.
    pub(crate) health: Mutex<Option<Arc<BTreeMap<String, ServiceHealth>>>>,
    pub(crate) windows: Mutex<Vec<Window>>,
    pub(crate) catalog: Mutex<Arc<Catalog>>,
    pub(crate) wake_dispatcher: Notify,
    pub(crate) sent: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dead: AtomicU64,
    /// The supervised alerting tasks (decider, dispatcher, evidence tasks).
    pub(crate) tasks: Arc<crate::supervise::Tasks>,
    /// Whether the decision task pages from memory because the store does not answer.
    pub(crate) degraded: std::sync::atomic::AtomicBool,
    /// Inbound alerts no route took (the newest [`UNROUTED_KEPT`]) and how many since
    /// start.
    pub(crate) unrouted: Mutex<std::collections::VecDeque<Unrouted>>,
    pub(crate) unrouted_total: AtomicU64,
    /// How long decisions and their commits take.
    pub(crate) decision_times: Arc<crate::metrics::DecisionTimes>,
}

/// What kind of thing happened to a service, for its own timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceEventKind {
    /// The gateway failed over or back.
    Failover,
    /// Another system reported a change (a deploy, a configuration change):
    /// PagerDuty's change events.
    Change,
}

impl ServiceEventKind {
    /// The name stored with the event.
    pub fn name(self) -> &'static str {
        match self {
            ServiceEventKind::Failover => "failover",
            ServiceEventKind::Change => "change",
        }
    }
}

/// How many unrouted inbound alerts are kept for operators to see.
pub const UNROUTED_KEPT: usize = 200;

/// An inbound alert or change event that no route took: nobody was paged about it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Unrouted {
    /// When it arrived, UTC unix milliseconds.
    pub at_ms: i64,
    /// `alertmanager`, `events` or `change`.
    pub source: String,
    /// What it said.
    pub summary: String,
    /// The labels routing saw.
    pub labels: BTreeMap<String, String>,
}

/// A handle to alerting; cheap to clone.
#[derive(Clone)]
pub struct AlertHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) store: Arc<dyn Persist>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) clock: Clock,
    pub(crate) public_url: String,
    pub(crate) secret: Arc<Vec<u8>>,
    /// The channels, for pages about Continuo itself when the outbox cannot take them.
    pub(crate) deliver: Arc<dyn crate::deliver::Deliver>,
}

impl AlertHandle {
    /// Sends a command to the decision task and waits for its answer.
    pub(crate) async fn ask<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, AlertingError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| AlertingError::Stopped)?;
        rx.await.map_err(|_| AlertingError::Stopped)?
    }

    /// Tells alerting about a new catalog.
    pub async fn reload(&self, catalog: Arc<Catalog>) {
        let _ = self.commands.send(Command::Reload(catalog)).await;
    }

    /// The catalog alerting works with.
    pub fn catalog(&self) -> Arc<Catalog> {
        lock(&self.shared.catalog).clone()
    }

    /// Now, UTC unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The supervised alerting tasks, for `/readyz` and `/metrics`.
    pub fn tasks(&self) -> Vec<crate::supervise::TaskReport> {
        self.shared.tasks.report(self.clock.now_ms())
    }

    /// Whether alerting pages from memory because the store does not take its decisions
    /// (degraded mode).
    pub fn degraded(&self) -> bool {
        self.shared
            .degraded
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes the dispatcher look at the outbox now (after a requeue).
    pub fn wake_dispatcher(&self) {
        self.shared.wake_dispatcher.notify_one();
    }

    /// How long alerting decisions and their commits take, since start.
    pub fn decision_times(&self) -> Arc<crate::metrics::DecisionTimes> {
        self.shared.decision_times.clone()
    }

    /// Notifications sent, failed attempts, dead-lettered, since start.
    pub fn delivery_counts(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.shared.sent.load(Relaxed),
            self.shared.failed.load(Relaxed),
            self.shared.dead.load(Relaxed),
        )
    }

    /// A signed link that acknowledges `alert` for `who` until `expires_ms`.
    pub fn ack_link(&self, alert: &str, who: &str, expires_ms: i64) -> String {
        format!(
            "{}/ack/{}",
            self.public_url,
            sign_ack(&self.secret, alert, who, expires_ms)
        )
    }

    /// Checks a signed acknowledge token: the alert and who it was sent to.
    pub fn verify_ack(&self, token: &str) -> Result<(String, String), AckTokenError> {
        verify_ack(&self.secret, token, self.clock.now_ms())
    }
}

/// Locks a mutex, going on with the data when a panicking holder poisoned it (every
/// change under these locks leaves the data whole).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
