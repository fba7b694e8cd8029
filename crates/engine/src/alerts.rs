//! Alerting: one decision task keeps the [`AlertBook`] and the incident book (fed by
//! service health, inbound alerts and operators), the stages turn each decision into
//! notices, callouts and announcements committed with the books to the durable outbox,
//! and a dispatcher task sends what is due, with retries, backoff, per-channel pacing
//! and a dead letter.
//!
//! This module starts it all and is where its public names are found; the parts live
//! in their own modules, from the bottom up: `shared` (state, commands, the handle),
//! `links` (signed links), `recipient`, `deliver` (the delivery seam), `stage` (the
//! stage trait), the stages `paging`, `incidents` and `subscribers`, `decider` (the
//! decision task) and `dispatch` (the dispatcher). The stages run in the order of
//! `stages()`, the one list to extend with a new capability.
//!
//! Nothing is sent that was not first committed to the store: a crash after the commit
//! resends with the same idempotency key; a crash before it decides the same pages again
//! (the book was not saved either), with the same keys.

use crate::clock::Clock;
use crate::decider::{Decider, Policies};
use crate::degraded::Degraded;
use crate::dispatch::Dispatcher;
use crate::evidence::EvidenceStage;
use crate::incidents::{IncidentOptions, Incidents};
use crate::paging::Paging;
use crate::persist::Persist;
use crate::shared::Shared;
use crate::stage::Stage;
use crate::subscribers::Subscribers;
use crate::supervise::{Tasks, supervise};
use continuo_core::alerting::{AlertBook, policy};
use continuo_core::catalog::Catalog;
use continuo_core::oncall;
use continuo_core::state::ServiceHealth;
use continuo_store::writer::WriterStatus;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

pub use crate::deliver::{Channels, Deliver, Sending};
pub use crate::dispatch::{MAX_ATTEMPTS, backoff_ms};
pub use crate::links::{ACK_LINK_LIFETIME_MS, AckTokenError, sign_ack, verify_ack};
pub use crate::paging::AlertView;
pub use crate::recipient::Recipient;
pub use crate::shared::{AlertHandle, AlertingError, UNROUTED_KEPT, Unrouted};

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

/// What follows every decision, in this order: alerts (pages to notices), incidents
/// (timeline and callouts; it reads the alerts stage's items), subscribers (status page
/// announcements; they read the incidents stage's changed incidents), evidence
/// (recoveries and acknowledgements measured; it reads the changed incidents too). A
/// new capability adds its stage here.
fn stages() -> Arc<[Arc<dyn Stage>]> {
    Arc::new([
        Arc::new(Paging) as Arc<dyn Stage>,
        Arc::new(Incidents),
        Arc::new(Subscribers::default()),
        Arc::new(EvidenceStage),
    ])
}

/// Alerting: the decision task and the dispatcher.
pub struct Alerting {
    handle: AlertHandle,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// How often [`Alerting::watch`] looks at the store writer and the engine's tasks.
const WATCH_EVERY: Duration = Duration::from_secs(5);

impl Alerting {
    /// Loads the saved alert book and windows and starts both tasks. `health` carries
    /// the engine's service health as it changes.
    pub async fn start(
        catalog: Arc<Catalog>,
        options: AlertOptions,
        health: watch::Receiver<Arc<BTreeMap<String, ServiceHealth>>>,
    ) -> Result<Alerting, AlertingError> {
        let store = options.store.clone();
        let now = options.clock.now_ms();
        let saved = Saved::load(store.as_ref(), now).await?;
        let shared = Arc::new(Shared {
            book: Mutex::new(saved.book),
            incidents: Mutex::new(saved.incidents),
            incident_options: options.incidents,
            confirmed_subscribers: Mutex::new(saved.confirmed),
            health: Mutex::new(None),
            windows: Mutex::new(saved.windows),
            catalog: Mutex::new(catalog),
            wake_dispatcher: Notify::new(),
            sent: Default::default(),
            failed: Default::default(),
            dead: Default::default(),
            tasks: Arc::new(Tasks::default()),
            degraded: Default::default(),
            unrouted: Default::default(),
            unrouted_total: Default::default(),
            decision_times: Default::default(),
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
            deliver: options.deliver.clone(),
        };
        let stages = stages();
        let deliver = options.deliver.clone();
        let max_in_flight = options.max_in_flight.max(1);
        // The receiver outlives a panicking decision task: commands sent while it
        // restarts wait in the channel instead of failing with "alerting is not running".
        let command_rx = Arc::new(tokio::sync::Mutex::new(command_rx));
        let decider = {
            let (handle, store, stages, stop_rx, deliver) = (
                handle.clone(),
                store.clone(),
                stages.clone(),
                stop_rx.clone(),
                deliver.clone(),
            );
            let mut first = true;
            move || {
                let restart = !std::mem::take(&mut first);
                let (handle, store, stages, stop_rx, health, command_rx, deliver) = (
                    handle.clone(),
                    store.clone(),
                    stages.clone(),
                    stop_rx.clone(),
                    health.clone(),
                    command_rx.clone(),
                    deliver.clone(),
                );
                async move {
                    if restart {
                        // The books in memory may be half-way through the decision that
                        // panicked: start again from what was last committed.
                        let now = handle.clock.now_ms();
                        match Saved::load(store.as_ref(), now).await {
                            Ok(saved) => saved.install(&handle.shared),
                            Err(e) => tracing::warn!(
                                error = %e,
                                "cannot reload the alert book after a panic; going on with the one in memory"
                            ),
                        }
                    }
                    let degraded = Degraded::new(
                        handle.shared.clone(),
                        store.clone(),
                        deliver,
                        stages.clone(),
                        handle.clock,
                    );
                    let decider = Decider {
                        handle,
                        store,
                        stages,
                        degraded,
                        policies: Policies {
                            settle_ms: policy::settle_ms,
                            group_wait_ms: policy::group_wait_ms,
                            summary: summary_of,
                        },
                        unsaved: Vec::new(),
                        unsaved_incidents: BTreeMap::new(),
                        unsaved_evidence: Vec::new(),
                        unsaved_alerts: Default::default(),
                        rest_dirty: false,
                        synced_health: Default::default(),
                        sync_everything: true,
                        synced_everything_ms: i64::MIN,
                        last_changed: false,
                    };
                    let mut commands = command_rx.lock_owned().await;
                    decider.run(&mut commands, health, stop_rx).await;
                }
            }
        };
        let dispatcher = {
            let (shared, store, deliver, stages, clock, stop_rx) = (
                shared.clone(),
                store.clone(),
                deliver.clone(),
                stages.clone(),
                options.clock,
                stop_rx.clone(),
            );
            move || {
                let dispatcher = Dispatcher {
                    shared: shared.clone(),
                    store: store.clone(),
                    deliver: deliver.clone(),
                    stages: stages.clone(),
                    clock,
                    max_in_flight,
                    paced: HashMap::new(),
                };
                dispatcher.run(stop_rx.clone())
            }
        };
        let availability = {
            let (handle, stop_rx) = (handle.clone(), stop_rx.clone());
            move || crate::evidence::availability_task(handle.clone(), stop_rx.clone())
        };
        let posture = {
            let (handle, stop_rx) = (handle.clone(), stop_rx.clone());
            move || crate::evidence::posture_task(handle.clone(), stop_rx.clone())
        };
        let supervised = |name: &'static str| {
            let handle = handle.clone();
            move |message: String| {
                let handle = handle.clone();
                async move { self_page(&handle, name, &message).await }
            }
        };
        let (tasks, clock) = (shared.tasks.clone(), options.clock);
        let tasks = vec![
            tokio::spawn(supervise(
                tasks.clone(),
                "alerting.decider",
                clock,
                stop_rx.clone(),
                decider,
                supervised("alerting.decider"),
            )),
            tokio::spawn(supervise(
                tasks.clone(),
                "alerting.dispatcher",
                clock,
                stop_rx.clone(),
                dispatcher,
                supervised("alerting.dispatcher"),
            )),
            tokio::spawn(supervise(
                tasks.clone(),
                "evidence.availability",
                clock,
                stop_rx.clone(),
                availability,
                supervised("evidence.availability"),
            )),
            tokio::spawn(supervise(
                tasks,
                "evidence.posture",
                clock,
                stop_rx,
                posture,
                supervised("evidence.posture"),
            )),
        ];
        Ok(Alerting {
            handle,
            tasks,
            stop,
        })
    }

    /// Watches what runs beside alerting and pages every escalation channel (as the
    /// service `continuo`, like a panic of alerting's own tasks) when
    /// - the store writer's failure lasts ([`WriterStatus::lasting_failure`]: writes
    ///   refused for 30 s, a full disk say): checks keep running but their results are
    ///   only buffered, and `/readyz` alone is not a page. Once per failure (again after
    ///   writes succeeded in between);
    /// - the store writer or one of the engine's supervised tasks (its coordinator)
    ///   panicked and restarted.
    ///
    /// Pages go through the outbox, or straight through the channels when the outbox
    /// cannot be written (the usual case with a full disk: the same store); their keys
    /// hold the hour, so each condition pages at most once an hour per channel.
    pub fn watch(&mut self, engine: &crate::EngineHandle) {
        let handle = self.handle.clone();
        let engine = engine.clone();
        let mut stop = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            let writer: Option<Arc<WriterStatus>> = engine.writer().map(|w| w.status().clone());
            let mut paged_lasting = false;
            let mut writer_restarts = writer.as_ref().map_or(0, |w| w.restarts());
            let mut restarts: HashMap<String, u64> = engine
                .tasks()
                .into_iter()
                .map(|t| (t.name, t.restarts))
                .collect();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(WATCH_EVERY) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    break;
                }
                if let Some(status) = &writer {
                    match status.lasting_failure() {
                        Some(reason) if !paged_lasting => {
                            paged_lasting = true;
                            let summary = continuo_core::tr!(
                                "Continuo cannot write to its database: {reason}. Checks keep running and pages still go out, but results are only held in memory and are lost if Continuo stops.",
                                "Continuo kan niet naar zijn database schrijven: {reason}. Controles lopen door en oproepen gaan nog uit, maar resultaten staan alleen in het geheugen en gaan verloren als Continuo stopt."
                            );
                            page_continuo(&handle, "continuo/store", &summary).await;
                        }
                        Some(_) => {}
                        None => paged_lasting = false,
                    }
                    let now = status.restarts();
                    if now > writer_restarts {
                        writer_restarts = now;
                        let message = status
                            .last_error()
                            .unwrap_or_else(|| "a panic".to_string());
                        self_page(&handle, "store.writer", &message).await;
                    }
                }
                for task in engine.tasks() {
                    let seen = restarts.entry(task.name.clone()).or_insert(0);
                    if task.restarts > *seen {
                        *seen = task.restarts;
                        let message = task.last_panic.unwrap_or_else(|| "a panic".to_string());
                        self_page(&handle, &task.name, &message).await;
                    }
                }
            }
        }));
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

/// What alerting keeps in the store and loads at start (and after a panic of the
/// decision task).
struct Saved {
    book: AlertBook,
    windows: Vec<continuo_core::maintenance::Window>,
    incidents: continuo_core::incident::book::IncidentBook,
    confirmed: Vec<continuo_core::subscribers::Subscriber>,
}

impl Saved {
    async fn load(store: &dyn Persist, now_ms: i64) -> Result<Saved, AlertingError> {
        let book: AlertBook = match store.alert_book().await.map_err(AlertingError::Store)? {
            Some(value) => serde_json::from_value(value)
                .map_err(|e| AlertingError::Unreadable(format!("the saved alert book: {e}")))?,
            None => AlertBook::default(),
        };
        let windows = store.windows(now_ms).await.map_err(AlertingError::Store)?;
        let incidents = crate::incidents::load(store, now_ms).await?;
        let confirmed = crate::subscribers::load_confirmed(store)
            .await
            .map_err(AlertingError::Store)?;
        Ok(Saved {
            book,
            windows,
            incidents,
            confirmed,
        })
    }

    fn install(self, shared: &Shared) {
        *crate::shared::lock(&shared.book) = self.book;
        *crate::shared::lock(&shared.windows) = self.windows;
        *crate::shared::lock(&shared.incidents) = self.incidents;
        *crate::shared::lock(&shared.confirmed_subscribers) = self.confirmed;
    }
}

/// Pages about Continuo itself: the task `task` panicked (`message`) and is restarting.
/// A firing notice to every channel an escalation names (else every channel), through
/// the outbox so the dispatcher sends it with retries; straight through the channels
/// when the store cannot take it. The key names the task and the hour, so a task that
/// keeps failing pages once an hour, not at every restart.
async fn self_page(handle: &AlertHandle, task: &str, message: &str) {
    let summary = continuo_core::tr!(
        "Continuo's task `{task}` failed and is restarting; alerting may be incomplete until it runs again: {message}",
        "De taak `{task}` van Continuo is vastgelopen en start opnieuw; tot ze weer draait kan de alarmering onvolledig zijn: {message}"
    );
    page_continuo(handle, &format!("continuo/task/{task}"), &summary).await;
}

/// Pages every channel of every escalation (every channel when no escalation names
/// one) about Continuo itself, as the service `continuo`, with the alert key `about`:
/// through the outbox, or directly when the outbox cannot be written. The key holds
/// the hour, so a repeated failure pages at most once an hour per channel.
async fn page_continuo(handle: &AlertHandle, about: &str, summary: &continuo_core::Text) {
    let catalog = handle.catalog();
    let now = handle.clock.now_ms();
    let hour = now.div_euclid(3_600_000);
    let mut channels: Vec<String> = Vec::new();
    for level in catalog.escalations.iter().flat_map(|e| &e.levels) {
        for target in &level.notify {
            if target.kind == continuo_core::catalog::TargetKind::Channel
                && !channels.contains(&target.id.value)
            {
                channels.push(target.id.value.clone());
            }
        }
    }
    if channels.is_empty() {
        channels = catalog
            .channels
            .iter()
            .map(|c| c.id.value.clone())
            .collect();
    }
    let mut items = Vec::new();
    let mut notices = Vec::new();
    for channel in channels {
        let language = catalog
            .channels
            .iter()
            .find(|c| c.id.value == channel)
            .and_then(|c| c.language)
            .or_else(|| catalog.organization.languages.first().copied())
            .unwrap_or(continuo_core::Lang::En);
        let key = format!("{about}/{hour}/{channel}");
        let notice = continuo_notify::Notice {
            idempotency_key: key.clone(),
            alert_key: about.to_string(),
            event: continuo_notify::NoticeEvent::Firing,
            language,
            organization: catalog.organization.name.clone(),
            service: continuo_notify::NoticeService {
                id: "continuo".into(),
                name: "Continuo".into(),
                tier: 1,
            },
            impacted: Vec::new(),
            summary: summary.get(language).to_string(),
            started_ms: now,
            at_ms: now,
            timezone: catalog.organization.timezone.clone(),
            level: 0,
            ack_url: None,
            dashboard_url: Some(format!("{}/readyz", handle.public_url)),
            acknowledged_by: None,
            recipient: None,
        };
        let Ok(value) = serde_json::to_value(&notice) else {
            continue;
        };
        items.push(continuo_store::OutboxItem::new(
            key,
            channel.clone(),
            about.to_string(),
            continuo_notify::NoticeEvent::Firing.name().into(),
            format!("channel:{channel}"),
            value,
            now,
        ));
        notices.push((channel, notice));
    }
    match handle.store.outbox_add(&items).await {
        Ok(()) => handle.shared.wake_dispatcher.notify_one(),
        Err(e) => {
            tracing::warn!(error = %e, about, "cannot store a page about Continuo itself; sending it directly");
            for (channel, notice) in notices {
                if let Err(e) = handle.deliver.deliver(&channel, &notice).await {
                    tracing::warn!(error = %e, about, channel = %channel, "cannot page about Continuo itself");
                }
            }
        }
    }
}

impl AlertHandle {
    /// Records that a task running outside alerting (a gateway's listener or health
    /// check, say) panicked and was restarted: it shows on `/readyz` and `/metrics` as
    /// `task`, unhealthy for a minute, and every escalation channel is paged about it.
    pub async fn task_panicked(&self, task: &str, message: &str) {
        self.shared
            .tasks
            .panicked(task, message, self.clock.now_ms());
        self_page(self, task, message).await;
    }
}

fn summary_of(catalog: &Catalog, service: &str) -> String {
    match catalog.service(service) {
        Some(s) => format!("{} is down", s.name),
        None => format!("{service} is down"),
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
