//! The alerting side of the engine: one task keeps the [`AlertBook`] (fed by service
//! health, inbound alerts and operators), turns its pages into notices and commits them
//! with the book to the durable outbox; a dispatcher task sends what is due, with
//! retries, backoff, per-channel pacing and a dead letter.
//!
//! Nothing is sent that was not first committed to the store: a crash after the commit
//! resends with the same idempotency key; a crash before it decides the same pages again
//! (the book was not saved either), with the same keys.

use crate::clock::Clock;
use crate::incidents::{IncidentOptions, incident_ctx};
use crate::persist::Persist;
use continuo_core::alerting::{
    Alert, AlertBook, AlertError, AlertState, Context, Inbound, Page, PageEvent, Recipient,
};
use continuo_core::incident::book::{IncidentBook, IncidentContext};
use continuo_core::maintenance::{self, Window};
use continuo_core::model::{Catalog, ChannelKind, CheckKind};
use continuo_core::state::ServiceHealth;
use continuo_core::{Lang, oncall};
use continuo_notify::{Delivered, Notice, NoticeEvent, NoticeService, SendError, SendErrorKind};
use continuo_store::OutboxItem;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long an acknowledge link works.
pub const ACK_LINK_LIFETIME_MS: i64 = 7 * 86_400_000;
/// Attempts before a notification is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 10;

/// Sends one notice through one channel: the real channels, or a recorder in tests.
pub trait Deliver: Send + Sync {
    /// Delivers `notice` through the channel with id `channel`.
    fn deliver<'a>(
        &'a self,
        channel: &'a str,
        notice: &'a Notice,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>>;

    /// Delivers a status page subscriber's finished mail through the email channel
    /// `channel`. Only the real channels can.
    fn deliver_mail<'a>(
        &'a self,
        channel: &'a str,
        mail: &'a continuo_notify::direct::Mail,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>> {
        let _ = mail;
        Box::pin(async move { Err(permanent(format!("`{channel}` cannot send mail here"))) })
    }

    /// Posts a status page subscriber's webhook payload to its URL (to an internal
    /// address only when `allow_internal`).
    fn deliver_webhook<'a>(
        &'a self,
        url: &'a str,
        body: &'a serde_json::Value,
        key: &'a str,
        allow_internal: bool,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>> {
        Box::pin(crate::subscribers::post_webhook(
            url,
            body,
            key,
            allow_internal,
        ))
    }
}

/// The real channels of a catalog; rebuilt on reload.
pub struct Channels {
    notifiers: std::sync::RwLock<HashMap<String, Arc<continuo_notify::Notifier>>>,
    templates: Arc<continuo_notify::Templates>,
}

impl Channels {
    /// Builds every channel of the catalog; the errors of the ones that cannot be built.
    pub fn build(
        catalog: &Catalog,
        templates: Arc<continuo_notify::Templates>,
    ) -> (Channels, Vec<String>) {
        let channels = Channels {
            notifiers: std::sync::RwLock::new(HashMap::new()),
            templates,
        };
        let errors = channels.rebuild(catalog);
        (channels, errors)
    }

    /// Rebuilds every channel from a new catalog; the errors of the ones that cannot be
    /// built (those are left out).
    pub fn rebuild(&self, catalog: &Catalog) -> Vec<String> {
        let mut notifiers = HashMap::new();
        let mut errors = Vec::new();
        for channel in &catalog.channels {
            match continuo_notify::Notifier::build(channel, self.templates.clone()) {
                Ok(n) => {
                    notifiers.insert(channel.id.value.clone(), Arc::new(n));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        *self
            .notifiers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = notifiers;
        errors
    }
}

impl Deliver for Channels {
    fn deliver<'a>(
        &'a self,
        channel: &'a str,
        notice: &'a Notice,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>> {
        let notifier = self
            .notifiers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(channel)
            .cloned();
        Box::pin(async move {
            match notifier {
                Some(n) => n.send(notice).await,
                // Retryable: a reload may be rebuilding it, and a resolution must not be
                // dead-lettered for that.
                None => Err(SendError {
                    kind: SendErrorKind::Retryable,
                    retry_after: None,
                    message: format!(
                        "channel `{channel}` is not configured (or could not be built)"
                    ),
                }),
            }
        })
    }

    fn deliver_mail<'a>(
        &'a self,
        channel: &'a str,
        mail: &'a continuo_notify::direct::Mail,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>> {
        let notifier = self
            .notifiers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(channel)
            .cloned();
        Box::pin(crate::subscribers::mail_through(notifier, channel, mail))
    }
}

/// How alerting runs.
pub struct AlertOptions {
    /// Wall time.
    pub clock: Clock,
    /// The durable outbox and alert book (the [`continuo_store::Store`] in production).
    pub store: Arc<dyn Persist>,
    /// How notices are sent.
    pub deliver: Arc<dyn Deliver>,
    /// Base URL for links (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Key that signs acknowledge links.
    pub secret: Vec<u8>,
    /// Most sends in flight at once.
    pub max_in_flight: usize,
    /// What incidents need from outside (runbooks, last good backups, templates).
    pub incidents: IncidentOptions,
}

/// An alert as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct AlertView {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// The service's display name.
    pub service_name: String,
}

/// Why an operator's request about alerts or maintenance failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// Refused by the alert book.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// A request that makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// Alerting has stopped.
    #[error("alerting is not running")]
    Stopped,
    /// No such incident.
    #[error("no incident with id `{0}`")]
    UnknownIncident(String),
}

type Reply<T> = oneshot::Sender<Result<T, AlertingError>>;

pub(crate) enum Command {
    Incident(
        (Option<String>, crate::incidents::Op, String),
        Reply<serde_json::Value>,
    ),
    ServiceEvent(String, i64, continuo_core::Text),
    Acknowledge(String, String, Reply<()>),
    Resolve(String, String, Reply<()>),
    Inbound(Vec<Inbound>, Reply<usize>),
    PutWindow(Window, Reply<()>),
    EndWindow(String, Reply<Window>),
    Reload(Arc<Catalog>),
}

pub(crate) struct Shared {
    pub(crate) book: Mutex<AlertBook>,
    pub(crate) incidents: Mutex<IncidentBook>,
    pub(crate) incident_options: IncidentOptions,
    /// Status page subscribers (`subscribers.rs`).
    pub(crate) subscribers: crate::subscribers::Subscribers,
    windows: Mutex<Vec<Window>>,
    pub(crate) catalog: Mutex<Arc<Catalog>>,
    wake_dispatcher: Notify,
    sent: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
    dead: std::sync::atomic::AtomicU64,
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
}

/// Alerting: the decision task and the dispatcher.
pub struct Alerting {
    handle: AlertHandle,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Alerting {
    /// Loads the saved alert book and windows and starts both tasks. `health` carries
    /// the engine's service health as it changes.
    pub async fn start(
        catalog: Arc<Catalog>,
        options: AlertOptions,
        health: watch::Receiver<Arc<BTreeMap<String, ServiceHealth>>>,
    ) -> Result<Alerting, AlertingError> {
        let store = options.store.clone();
        let book: AlertBook = match store
            .alert_book()
            .await
            .map_err(|e| AlertingError::Store(e.to_string()))?
        {
            Some(value) => serde_json::from_value(value).map_err(|e| {
                AlertingError::Store(format!("the saved alert book cannot be read: {e}"))
            })?,
            None => AlertBook::default(),
        };
        let now = options.clock.now_ms();
        let windows = store
            .windows(now)
            .await
            .map_err(|e| AlertingError::Store(e.to_string()))?;
        let incidents = crate::incidents::load(store.as_ref(), now).await?;
        let subscribers = crate::subscribers::Subscribers::load(store.as_ref())
            .await
            .map_err(AlertingError::Store)?;
        let shared = Arc::new(Shared {
            book: Mutex::new(book),
            incidents: Mutex::new(incidents),
            incident_options: options.incidents,
            subscribers,
            windows: Mutex::new(windows),
            catalog: Mutex::new(catalog),
            wake_dispatcher: Notify::new(),
            sent: Default::default(),
            failed: Default::default(),
            dead: Default::default(),
        });
        let (commands, command_rx) = mpsc::channel(1_024);
        let (stop, stop_rx) = watch::channel(false);
        let handle = AlertHandle {
            shared: shared.clone(),
            store: store.clone(),
            commands,
            clock: options.clock,
            public_url: options.public_url.trim_end_matches('/').to_string(),
            secret: Arc::new(options.secret.clone()),
        };
        let decider = Decider {
            handle: handle.clone(),
            store: store.clone(),
            unsaved: Vec::new(),
            unsaved_incidents: BTreeMap::new(),
            book_dirty: false,
        };
        let dispatcher = Dispatcher {
            shared: shared.clone(),
            store,
            deliver: options.deliver.clone(),
            clock: options.clock,
            max_in_flight: options.max_in_flight.max(1),
            paced: HashMap::new(),
        };
        let tasks = vec![
            tokio::spawn(decider.run(command_rx, health, stop_rx.clone())),
            tokio::spawn(dispatcher.run(stop_rx)),
        ];
        Ok(Alerting {
            handle,
            tasks,
            stop,
        })
    }

    /// A handle for the API.
    pub fn handle(&self) -> AlertHandle {
        self.handle.clone()
    }

    /// Stops both tasks (pending notifications stay in the outbox).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.handle.shared.wake_dispatcher.notify_one();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

impl AlertHandle {
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

    /// Every alert (open first, then recently resolved, newest first).
    pub fn alerts(&self) -> Vec<AlertView> {
        let catalog = self.catalog();
        let book = lock(&self.shared.book);
        let mut list: Vec<AlertView> = book
            .alerts
            .values()
            .map(|a| AlertView {
                service_name: catalog
                    .service(&a.service)
                    .map_or_else(|| a.service.clone(), |s| s.name.clone()),
                alert: a.clone(),
            })
            .collect();
        list.sort_by_key(|v| {
            (
                v.alert.state == AlertState::Resolved,
                std::cmp::Reverse(v.alert.started_ms),
            )
        });
        list
    }

    /// One alert.
    pub fn alert(&self, id: &str) -> Option<AlertView> {
        self.alerts().into_iter().find(|a| a.alert.id == id)
    }

    /// Acknowledges an alert for `by`.
    pub async fn acknowledge(&self, id: &str, by: &str) -> Result<(), AlertingError> {
        self.ask(|r| Command::Acknowledge(id.into(), by.into(), r))
            .await
    }

    /// Resolves an alert for `by`.
    pub async fn resolve(&self, id: &str, by: &str) -> Result<(), AlertingError> {
        self.ask(|r| Command::Resolve(id.into(), by.into(), r))
            .await
    }

    /// Takes in inbound alerts; returns how many changed something.
    pub async fn inbound(&self, events: Vec<Inbound>) -> Result<usize, AlertingError> {
        self.ask(|r| Command::Inbound(events, r)).await
    }

    /// Creates (or replaces) a maintenance window.
    pub async fn put_window(&self, window: Window) -> Result<(), AlertingError> {
        self.ask(|r| Command::PutWindow(window, r)).await
    }

    /// Ends a maintenance window created at run time now.
    pub async fn end_window(&self, id: &str) -> Result<Window, AlertingError> {
        self.ask(|r| Command::EndWindow(id.into(), r)).await
    }

    /// Active and upcoming (next 30 days) maintenance windows.
    pub fn windows(&self) -> (Vec<Window>, Vec<Window>) {
        let now = self.clock.now_ms();
        let catalog = self.catalog();
        let extra = lock(&self.shared.windows).clone();
        let active = maintenance::active(&catalog, &extra, now);
        let upcoming = maintenance::scheduled(&catalog, &extra, now, 30 * 86_400_000, 50)
            .into_iter()
            .filter(|w| w.from_ms > now)
            .collect();
        (active, upcoming)
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

    /// Makes the dispatcher look at the outbox now (after a requeue).
    pub fn wake_dispatcher(&self) {
        self.shared.wake_dispatcher.notify_one();
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why an acknowledge token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AckTokenError {
    /// Not a token we made (or altered).
    #[error("this link is not valid")]
    Invalid,
    /// Too old.
    #[error("this link has expired")]
    Expired,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn mac(secret: &[u8], payload: &str) -> Vec<u8> {
    #[allow(clippy::expect_used)]
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn permanent(message: String) -> SendError {
    SendError {
        kind: SendErrorKind::Permanent,
        retry_after: None,
        message,
    }
}

/// Makes a token `<alert>.<who>.<expires>.<mac>` (ids are URL-safe by construction).
pub fn sign_ack(secret: &[u8], alert: &str, who: &str, expires_ms: i64) -> String {
    let who = who.replace(':', "~");
    let payload = format!("{alert}.{who}.{expires_ms}");
    format!("{payload}.{}", hex(&mac(secret, &payload)))
}

/// Checks a token made by [`sign_ack`] at `now_ms`.
pub fn verify_ack(
    secret: &[u8],
    token: &str,
    now_ms: i64,
) -> Result<(String, String), AckTokenError> {
    let (payload, signature) = token.rsplit_once('.').ok_or(AckTokenError::Invalid)?;
    let expected = hex(&mac(secret, payload));
    if !continuo_core::hash::same_secret(expected.as_bytes(), signature.as_bytes()) {
        return Err(AckTokenError::Invalid);
    }
    let mut parts = payload.rsplitn(3, '.');
    let expires: i64 = parts
        .next()
        .and_then(|e| e.parse().ok())
        .ok_or(AckTokenError::Invalid)?;
    let who = parts
        .next()
        .ok_or(AckTokenError::Invalid)?
        .replace('~', ":");
    let alert = parts.next().ok_or(AckTokenError::Invalid)?.to_string();
    if now_ms > expires {
        return Err(AckTokenError::Expired);
    }
    Ok((alert, who))
}

/// The decision task.
pub(crate) struct Decider {
    pub(crate) handle: AlertHandle,
    store: Arc<dyn Persist>,
    /// Decided but not yet committed (the store failed): retried every tick.
    unsaved: Vec<OutboxItem>,
    /// Incidents changed but not yet committed, by id (the newest state of each).
    unsaved_incidents: BTreeMap<String, continuo_store::IncidentRow>,
    book_dirty: bool,
}

impl Decider {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut health: watch::Receiver<Arc<BTreeMap<String, ServiceHealth>>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Health known at start counts as an observation.
        let initial = health.borrow_and_update().clone();
        crate::subscribers::observe_health(&self.handle.shared, &initial);
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
                    crate::subscribers::observe_health(&self.handle.shared, &now);
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
            Command::Incident(op, reply) => {
                let result = self.incident_op(op).await;
                let _ = reply.send(match result {
                    Ok(v) => self.saved(Ok(())).map(|()| v),
                    Err(e) => Err(e),
                });
            }
            Command::ServiceEvent(service, at_ms, text) => {
                self.service_event(service, at_ms, text).await;
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
                    let before = lock(&self.handle.shared.book).clone();
                    self.with_book(|book, _, ctx, _| book.inbound(ctx, event))
                        .await;
                    if *lock(&self.handle.shared.book) != before {
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
                    .map_err(|e| AlertingError::Store(e.to_string()));
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
                            Err(e) => Err(AlertingError::Store(e.to_string())),
                        }
                    }
                };
                let _ = reply.send(result);
                self.with_book(|book, _, ctx, _| book.tick(ctx)).await;
            }
            Command::Reload(catalog) => {
                *lock(&self.handle.shared.catalog) = catalog;
                self.with_book(|book, _, ctx, _| book.tick(ctx)).await;
            }
        }
    }

    /// An operator's change that took effect but is not yet durable is reported as a
    /// store failure: it is kept and saved as soon as the store answers, but a crash
    /// before then would lose it, and the operator should know.
    pub(crate) fn saved(&self, result: Result<(), AlertingError>) -> Result<(), AlertingError> {
        match result {
            Ok(()) if self.book_dirty || !self.unsaved.is_empty() => Err(AlertingError::Store(
                "done, but not saved yet: the store is unavailable; it is saved as soon as the store answers".into(),
            )),
            other => other,
        }
    }

    /// Runs one decision on the book, turns its pages into outbox items and commits
    /// them with the book before anything can be sent.
    pub(crate) async fn with_book<T>(
        &mut self,
        decide: impl FnOnce(&mut AlertBook, &mut IncidentBook, &Context<'_>, &IncidentContext<'_>) -> T,
    ) -> T
    where
        T: PagesOf,
    {
        let catalog = self.handle.catalog();
        let now = self.handle.clock.now_ms();
        let windows: Vec<Window> = {
            let extra = lock(&self.handle.shared.windows);
            maintenance::active(&catalog, &extra, now)
        };
        let (result, items, changed) = {
            let settle = |service: &str| settle_ms(&catalog, service);
            let group_wait = |service: &str| group_wait_ms(&catalog, service);
            let engine_summary = |service: &str| summary_of(&catalog, service);
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
            let before = book.clone();
            let result = decide(&mut book, &mut incidents, &ctx, &ictx);
            let callouts = incidents.sync(&ictx, &book);
            let mut items: Vec<OutboxItem> = Vec::new();
            for page in result.pages() {
                let page_items = self.items_for(&catalog, &book, page, now);
                crate::incidents::record_page(&mut incidents, page, &page_items, now);
                items.extend(page_items);
            }
            for callout in &callouts {
                let callout_items =
                    self.callout_items(&catalog, incidents.get(&callout.incident), callout, now);
                crate::incidents::record_callout(&mut incidents, callout, &callout_items, now);
                items.extend(callout_items);
            }
            let changed = *book != before;
            let changed_incidents = crate::incidents::rows(&mut incidents);
            // Status page subscribers hear of changed incidents and components.
            items.extend(crate::subscribers::decide(
                &self.handle,
                &catalog,
                &windows,
                &incidents,
                &changed_incidents,
                now,
            ));
            self.unsaved_incidents.extend(changed_incidents);
            (result, items, changed)
        };
        self.book_dirty |= changed;
        self.unsaved.extend(items);
        if self.book_dirty || !self.unsaved.is_empty() || !self.unsaved_incidents.is_empty() {
            let book = serde_json::to_value(&*lock(&self.handle.shared.book))
                .unwrap_or(serde_json::Value::Null);
            let rows: Vec<continuo_store::IncidentRow> =
                self.unsaved_incidents.values().cloned().collect();
            match self
                .store
                .commit_alerting(&book, &self.unsaved, &rows)
                .await
            {
                Ok(()) => {
                    let any = !self.unsaved.is_empty();
                    self.unsaved.clear();
                    self.unsaved_incidents.clear();
                    self.book_dirty = false;
                    if any {
                        self.handle.shared.wake_dispatcher.notify_one();
                    }
                }
                Err(e) => {
                    // Kept in memory and retried on the next tick: nothing is lost and
                    // nothing is sent before it is durable.
                    eprintln!("alerting: cannot save to the store, will retry: {e}");
                }
            }
        }
        result
    }

    /// The outbox items of a page: one per channel per recipient.
    fn items_for(
        &self,
        catalog: &Catalog,
        book: &AlertBook,
        page: &Page,
        now: i64,
    ) -> Vec<OutboxItem> {
        let Some(alert) = book.alerts.get(&page.alert) else {
            return Vec::new();
        };
        let mut items = Vec::new();
        for recipient in &page.recipients {
            for (channel, person) in channels_of(catalog, recipient) {
                let who = recipient.to_string();
                let suffix = match page.event {
                    PageEvent::Firing => format!("L{}R{}", page.level, page.round),
                    PageEvent::Reminder => format!("at{now}"),
                    _ => String::new(),
                };
                let key = format!(
                    "{}/{}{}/{}/{}",
                    alert.id,
                    page.event.name(),
                    if suffix.is_empty() {
                        String::new()
                    } else {
                        format!("-{suffix}")
                    },
                    who,
                    channel
                );
                let notice = self.notice(catalog, alert, page, &key, &channel, person, now);
                let Ok(notice) = serde_json::to_value(&notice) else {
                    continue;
                };
                items.push(OutboxItem::new(
                    key,
                    channel,
                    alert.id.clone(),
                    page.event.name().into(),
                    who,
                    notice,
                    now,
                ));
            }
        }
        items
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn notice(
        &self,
        catalog: &Catalog,
        alert: &Alert,
        page: &Page,
        key: &str,
        channel: &str,
        person: Option<&continuo_core::model::Person>,
        now: i64,
    ) -> Notice {
        let service_of = |id: &str| NoticeService {
            id: id.to_string(),
            name: catalog
                .service(id)
                .map_or_else(|| id.to_string(), |s| s.name.clone()),
            tier: catalog.service(id).map_or(4, |s| s.tier.value.0),
        };
        let channel_lang = catalog
            .channels
            .iter()
            .find(|c| c.id.value == channel)
            .and_then(|c| c.language);
        let language = person
            .and_then(|p| p.language)
            .or(channel_lang)
            .or_else(|| catalog.organization.languages.first().copied())
            .unwrap_or(Lang::En);
        let who = person.map_or_else(|| format!("channel:{channel}"), |p| p.id.value.clone());
        let ack_url = matches!(page.event, PageEvent::Firing | PageEvent::Reminder).then(|| {
            self.handle
                .ack_link(&alert.id, &who, now + ACK_LINK_LIFETIME_MS)
        });
        Notice {
            idempotency_key: key.to_string(),
            alert_key: alert.id.clone(),
            event: match page.event {
                PageEvent::Firing => NoticeEvent::Firing,
                PageEvent::Acknowledged => NoticeEvent::Acknowledged,
                PageEvent::Resolved => NoticeEvent::Resolved,
                PageEvent::Reminder => NoticeEvent::Reminder,
            },
            language,
            organization: catalog.organization.name.clone(),
            service: service_of(&alert.service),
            impacted: alert.impacted.iter().map(|s| service_of(s)).collect(),
            summary: alert.summary.clone(),
            started_ms: alert.started_ms,
            at_ms: now,
            timezone: catalog.organization.timezone.clone(),
            level: page.level.max(1),
            ack_url,
            dashboard_url: Some(format!(
                "{}/api/v1/alerts/{}",
                self.handle.public_url, alert.id
            )),
            acknowledged_by: alert.acknowledged.as_ref().map(|a| a.by.clone()),
            recipient: person.map(|p| continuo_notify::Recipient {
                id: p.id.value.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                phone: p.phone.clone(),
            }),
        }
    }
}

/// Which channels reach a recipient, with the person when it is one: a person's
/// `contact` channels, or every email channel when they list none and have an address.
pub(crate) fn channels_of<'c>(
    catalog: &'c Catalog,
    recipient: &Recipient,
) -> Vec<(String, Option<&'c continuo_core::model::Person>)> {
    match recipient {
        Recipient::Channel(id) => vec![(id.clone(), None)],
        Recipient::Person(id) => {
            let Some(person) = catalog.persons.iter().find(|p| &p.id.value == id) else {
                return Vec::new();
            };
            if !person.contact.is_empty() {
                return person
                    .contact
                    .iter()
                    .map(|c| (c.value.clone(), Some(person)))
                    .collect();
            }
            if person.email.is_none() {
                return Vec::new();
            }
            catalog
                .channels
                .iter()
                .filter(|c| c.kind == ChannelKind::Email)
                .map(|c| (c.id.value.clone(), Some(person)))
                .collect()
        }
    }
}

/// How long a service gets to recover on its own after its root cause recovered: the
/// slowest of its checks' recovery (interval x recover threshold + timeout), at least 30 s.
fn settle_ms(catalog: &Catalog, service: &str) -> i64 {
    let Some(s) = catalog.service(service) else {
        return 30_000;
    };
    s.checks
        .iter()
        .filter(|c| c.kind() != CheckKind::Heartbeat)
        .map(|c| {
            let interval = i64::try_from(c.interval.get().as_millis()).unwrap_or(60_000);
            let timeout = i64::try_from(c.timeout.get().as_millis()).unwrap_or(10_000);
            interval * i64::from(c.recover_threshold.max(1)) + timeout
        })
        .max()
        .unwrap_or(30_000)
        .max(30_000)
}

/// How long a new root cause waits before paging: long enough for every service it
/// hard-depends on (directly or not) to detect a shared failure (interval x fail
/// threshold + timeout of their checks, plus a second), at most 5 minutes; 0 for a service
/// without monitored dependencies.
fn group_wait_ms(catalog: &Catalog, service: &str) -> i64 {
    use continuo_core::model::DependencyKind;
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = vec![service.to_string()];
    let mut wait = 0i64;
    while let Some(id) = queue.pop() {
        let Some(s) = catalog.service(&id) else {
            continue;
        };
        for dep in &s.depends_on {
            if dep.kind == DependencyKind::Hard && seen.insert(dep.service.value.clone()) {
                queue.push(dep.service.value.clone());
                if let Some(d) = catalog.service(&dep.service.value) {
                    for c in d.checks.iter().filter(|c| c.kind() != CheckKind::Heartbeat) {
                        let interval =
                            i64::try_from(c.interval.get().as_millis()).unwrap_or(60_000);
                        let timeout = i64::try_from(c.timeout.get().as_millis()).unwrap_or(10_000);
                        wait = wait.max(interval * i64::from(c.fail_threshold.max(1)) + timeout);
                    }
                }
            }
        }
    }
    if wait == 0 {
        0
    } else {
        (wait + 1_000).min(300_000)
    }
}

fn summary_of(catalog: &Catalog, service: &str) -> String {
    match catalog.service(service) {
        Some(s) => format!("{} is down", s.name),
        None => format!("{service} is down"),
    }
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

/// The dispatcher task.
struct Dispatcher {
    shared: Arc<Shared>,
    store: Arc<dyn Persist>,
    deliver: Arc<dyn Deliver>,
    clock: Clock,
    max_in_flight: usize,
    /// Per channel: the earliest instant the next send may start.
    paced: HashMap<String, i64>,
}

/// Minimum spacing between sends on one channel, by kind: the receivers' published
/// limits (Slack and Teams about one message per second per webhook, Telegram 30 per
/// second per bot).
fn pace_ms(kind: Option<ChannelKind>) -> i64 {
    match kind {
        Some(ChannelKind::Slack | ChannelKind::Teams) => 1_000,
        Some(ChannelKind::Telegram) => 50,
        Some(ChannelKind::Email) => 20,
        _ => 0,
    }
}

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

impl Dispatcher {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                break;
            }
            let now = self.clock.now_ms();
            let due = match self.store.outbox_due(now, DUE_BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    eprintln!("alerting: cannot read the outbox, will retry: {e}");
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
                    *slot = now + pace_ms(kind);
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
            running.spawn(async move {
                let result = if crate::subscribers::is_subscriber_item(&item) {
                    crate::subscribers::send(&shared, deliver.as_ref(), &item).await
                } else {
                    match serde_json::from_value::<Notice>(item.notice.clone()) {
                        Ok(notice) => deliver.deliver(&item.channel, &notice).await,
                        Err(e) => Err(permanent(format!("the stored notice cannot be read: {e}"))),
                    }
                };
                (item, result)
            });
        }
        while let Some(Ok((item, result))) = running.join_next().await {
            let now = self.clock.now_ms();
            use std::sync::atomic::Ordering::Relaxed;
            if crate::subscribers::is_subscriber_item(&item) {
                crate::subscribers::delivered(
                    &self.shared,
                    self.store.as_ref(),
                    &item,
                    &result,
                    now,
                )
                .await;
            } else {
                crate::incidents::record_delivery(&self.shared, &item, &result, now);
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
                    tracing::warn!(channel = %item.channel, key = %item.key, attempt = item.attempts + 1, error = %error.message, "delivery failed");
                    let attempts = item.attempts + 1;
                    let next = if error.is_retryable() && attempts < MAX_ATTEMPTS {
                        let after = error
                            .retry_after
                            .and_then(|d| i64::try_from(d.as_millis()).ok())
                            .unwrap_or(0);
                        // A receiver's Retry-After counts, up to an hour.
                        let wait = backoff_ms(item.attempts, &item.key).max(after.min(3_600_000));
                        Some(now.saturating_add(wait))
                    } else {
                        self.shared.dead.fetch_add(1, Relaxed);
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
                eprintln!("alerting: cannot record delivery of {}: {e}", item.key);
            }
        }
    }
}

/// Who is on call in each schedule at `at_ms`, with the next hand-offs.
#[derive(Clone, Debug, Serialize)]
pub struct OnCallView {
    /// The schedule's id.
    pub schedule: String,
    /// Its display name.
    pub name: String,
    /// Who is on call at the asked time, if anyone.
    pub now: Option<oncall::OnCall>,
    /// The following stretches.
    pub next: Vec<oncall::OnCall>,
}

/// Who is on call in every schedule of `catalog` at `at_ms`.
pub fn on_call(catalog: &Catalog, at_ms: i64) -> Vec<OnCallView> {
    let tz = &catalog.organization.timezone;
    catalog
        .schedules
        .iter()
        .map(|s| {
            let now = oncall::on_call_at(s, tz, at_ms);
            let after = now.as_ref().map_or(at_ms, |n| n.until_ms);
            OnCallView {
                schedule: s.id.value.clone(),
                name: s.name.clone(),
                now,
                next: oncall::upcoming(s, tz, after, 3),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_tokens_verify_expire_and_resist_tampering() {
        let secret = b"s3cret";
        let token = sign_ack(secret, "db-1000", "channel:ops", 5_000);
        assert_eq!(
            verify_ack(secret, &token, 4_000),
            Ok(("db-1000".into(), "channel:ops".into()))
        );
        assert_eq!(
            verify_ack(secret, &token, 5_001),
            Err(AckTokenError::Expired)
        );
        assert_eq!(
            verify_ack(b"other", &token, 4_000),
            Err(AckTokenError::Invalid)
        );
        let tampered = token.replace("5000", "9000");
        assert_eq!(
            verify_ack(secret, &tampered, 4_000),
            Err(AckTokenError::Invalid)
        );
        assert_eq!(
            verify_ack(secret, "garbage", 0),
            Err(AckTokenError::Invalid)
        );
    }

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
