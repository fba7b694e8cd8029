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
use crate::dispatch::Dispatcher;
use crate::evidence::EvidenceStage;
use crate::incidents::{IncidentOptions, Incidents};
use crate::paging::Paging;
use crate::persist::Persist;
use crate::shared::Shared;
use crate::stage::Stage;
use crate::subscribers::Subscribers;
use continuo_core::alerting::{AlertBook, policy};
use continuo_core::catalog::Catalog;
use continuo_core::oncall;
use continuo_core::state::ServiceHealth;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

pub use crate::deliver::{Channels, Deliver, Sending};
pub use crate::dispatch::{MAX_ATTEMPTS, backoff_ms};
pub use crate::links::{ACK_LINK_LIFETIME_MS, AckTokenError, sign_ack, verify_ack};
pub use crate::paging::AlertView;
pub use crate::recipient::Recipient;
pub use crate::shared::{AlertHandle, AlertingError};

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

impl Alerting {
    /// Loads the saved alert book and windows and starts both tasks. `health` carries
    /// the engine's service health as it changes.
    pub async fn start(
        catalog: Arc<Catalog>,
        options: AlertOptions,
        health: watch::Receiver<Arc<BTreeMap<String, ServiceHealth>>>,
    ) -> Result<Alerting, AlertingError> {
        let store = options.store.clone();
        let book: AlertBook = match store.alert_book().await.map_err(AlertingError::Store)? {
            Some(value) => serde_json::from_value(value)
                .map_err(|e| AlertingError::Unreadable(format!("the saved alert book: {e}")))?,
            None => AlertBook::default(),
        };
        let now = options.clock.now_ms();
        let windows = store.windows(now).await.map_err(AlertingError::Store)?;
        let incidents = crate::incidents::load(store.as_ref(), now).await?;
        let confirmed = crate::subscribers::load_confirmed(store.as_ref())
            .await
            .map_err(AlertingError::Store)?;
        let shared = Arc::new(Shared {
            book: Mutex::new(book),
            incidents: Mutex::new(incidents),
            incident_options: options.incidents,
            confirmed_subscribers: Mutex::new(confirmed),
            health: Mutex::new(None),
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
        let stages = stages();
        let decider = Decider {
            handle: handle.clone(),
            store: store.clone(),
            stages: stages.clone(),
            policies: Policies {
                settle_ms: policy::settle_ms,
                group_wait_ms: policy::group_wait_ms,
                summary: summary_of,
            },
            unsaved: Vec::new(),
            unsaved_incidents: BTreeMap::new(),
            unsaved_evidence: Vec::new(),
            book_dirty: false,
        };
        let dispatcher = Dispatcher {
            shared: shared.clone(),
            store,
            deliver: options.deliver.clone(),
            stages,
            clock: options.clock,
            max_in_flight: options.max_in_flight.max(1),
            paced: HashMap::new(),
        };
        let tasks = vec![
            tokio::spawn(decider.run(command_rx, health, stop_rx.clone())),
            tokio::spawn(crate::evidence::availability_task(
                handle.clone(),
                stop_rx.clone(),
            )),
            tokio::spawn(crate::evidence::posture_task(
                handle.clone(),
                stop_rx.clone(),
            )),
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
