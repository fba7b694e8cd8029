//! Continuo's failover gateway: a proxy in front of one service's endpoints that keeps
//! traffic on the primary tier while a primary is healthy, moves it to the strict backup
//! tier when none is, and measures each failover: when the first failure was seen, when
//! the primaries were taken out, when the backup first answered, and how many client
//! requests failed or were retried meanwhile.
//!
//! - [`spec`]: a `[[gateway]]` joined with its service's endpoints.
//! - `pool`: health (passive from traffic, active from checks), tiers, balancing,
//!   failover episodes, failback with hysteresis, drains.
//! - `http`: HTTP/1.1 and HTTP/2 from clients, as tower layers; `tcp`: TCP mode.
//! - `check`: the gateway's own active checks; `actions`: failover actions.
//! - `tls`: TLS to `https://` endpoints (rustls with aws-lc-rs).
//! - [`events`]: what a gateway reports; [`metrics`]: Prometheus metrics.
//!
//! **Invariant:** the backup tier gets no request while a primary is eligible (up and not
//! drained), except a retry of a request that a primary just failed.
//! **Invariant:** a request whose body was not buffered, or that is not idempotent and
//! may have reached an endpoint, is never sent twice.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod actions;
mod check;
pub mod events;
mod http;
pub mod metrics;
mod pool;
mod restart;
pub mod spec;
mod tcp;
mod tls;
mod upstream;

pub use actions::haproxy as haproxy_command;
pub use continuo_net::listen::{Admission, ListenLimits};
pub use events::{EventKind, EventSink, FailoverReason, GatewayEvent, Tier};
pub use metrics::GatewayMetrics;
pub use pool::{ControlError, EndpointStatus, GatewayStatus};
pub use spec::{EndpointSpec, GatewaySpec, TlsSpec};

use continuo_core::catalog::Catalog;
use continuo_core::catalog::gateway::GatewayMode;
use continuo_core::{Text, tr};
use events::EventLog;
use pool::Pool;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration does not describe a gateway that can run.
    #[error("{0}")]
    Spec(Text),
    /// The listen address cannot be bound.
    #[error("gateway `{id}` cannot listen on {listen}: {source}")]
    Bind {
        /// The gateway.
        id: String,
        /// The address.
        listen: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl GatewayError {
    /// The error in English and Dutch.
    pub fn text(&self) -> Text {
        match self {
            GatewayError::Spec(text) => text.clone(),
            GatewayError::Bind { id, listen, source } => tr!(
                "gateway `{id}` cannot listen on {listen}: {source}",
                "gateway `{id}` kan niet luisteren op {listen}: {source}"
            ),
        }
    }
}

/// One running gateway.
#[derive(Debug)]
pub struct Gateway {
    pool: Arc<Pool>,
    local_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

/// The operator's side of a running gateway: status, drain, undrain, failback.
#[derive(Clone, Debug)]
pub struct GatewayHandle {
    pool: Arc<Pool>,
}

impl Gateway {
    /// Binds the listen address and starts serving, checking and acting. Events go to
    /// `sink` (when given) and to the recent-events list that status shows.
    pub async fn start(
        spec: GatewaySpec,
        metrics: Arc<GatewayMetrics>,
        sink: Option<EventSink>,
    ) -> Result<Gateway, GatewayError> {
        let admission = Admission::new(ListenLimits::default());
        Gateway::start_with(spec, metrics, sink, admission).await
    }

    /// Like [`Gateway::start`], with the listener's connections counted in `admission`
    /// (shared with other listeners of the process, so they share one budget of file
    /// descriptors).
    pub async fn start_with(
        spec: GatewaySpec,
        metrics: Arc<GatewayMetrics>,
        sink: Option<EventSink>,
        admission: Arc<Admission>,
    ) -> Result<Gateway, GatewayError> {
        let listener = tokio::net::TcpListener::bind(spec.listen)
            .await
            .map_err(|source| GatewayError::Bind {
                id: spec.id.clone(),
                listen: spec.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| GatewayError::Bind {
            id: spec.id.clone(),
            listen: spec.listen,
            source,
        })?;
        let tls = tls::client_config(&spec).map_err(GatewayError::Spec)?;
        let spec = Arc::new(spec);
        let (actions_tx, actions_rx) = tokio::sync::mpsc::unbounded_channel();
        let has_actions = !spec.actions.is_empty();
        let pool = Arc::new(Pool::new(
            spec.clone(),
            EventLog::new(sink),
            metrics,
            has_actions.then_some(actions_tx),
            tls,
        ));
        // Every task restarts after a panic (`restart`): what they own outlives a run.
        let mut tasks = Vec::new();
        if has_actions {
            let requests = Arc::new(tokio::sync::Mutex::new(actions_rx));
            let run_pool = pool.clone();
            tasks.push(restart::spawn_restarting(
                pool.clone(),
                "actions".to_string(),
                move || actions::run(run_pool.clone(), requests.clone()),
            ));
        }
        for (index, endpoint) in spec.endpoints.iter().enumerate() {
            let run_pool = pool.clone();
            tasks.push(restart::spawn_restarting(
                pool.clone(),
                format!("check {}", endpoint.name),
                move || check::run(run_pool.clone(), index),
            ));
        }
        let listener = Arc::new(listener);
        let (run_pool, mode) = (pool.clone(), spec.mode);
        tasks.push(restart::spawn_restarting(
            pool.clone(),
            "listener".to_string(),
            move || {
                let (listener, pool, admission) =
                    (listener.clone(), run_pool.clone(), admission.clone());
                async move {
                    match mode {
                        GatewayMode::Http => http::serve(listener, pool, admission).await,
                        GatewayMode::Tcp => tcp::serve(listener, pool, admission).await,
                    }
                }
            },
        ));
        Ok(Gateway {
            pool,
            local_addr,
            tasks,
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The operator's handle.
    pub fn handle(&self) -> GatewayHandle {
        GatewayHandle {
            pool: self.pool.clone(),
        }
    }

    /// Stops accepting, checking and acting (connections in flight finish on their own).
    pub fn shutdown(self) {
        for task in self.tasks {
            task.abort();
        }
    }

    /// Like [`Gateway::shutdown`], and waits until its tasks (and so its listener) are
    /// gone, so its address can be bound again.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

impl GatewayHandle {
    /// Makes the next `n` rounds of this gateway's health checks panic: for fault tests
    /// of the restart after a panic, not for operators.
    #[doc(hidden)]
    pub fn inject_check_panics(&self, n: u32) {
        self.pool.inject_panics(n);
    }

    /// The gateway's id.
    pub fn id(&self) -> &str {
        &self.pool.spec.id
    }

    /// Its endpoints, serving tier and recent events.
    pub fn status(&self) -> GatewayStatus {
        self.pool.status()
    }

    /// Takes an endpoint out of rotation (a planned switchover when it is the last
    /// primary); requests in flight finish.
    pub fn drain(&self, endpoint: &str) -> Result<(), ControlError> {
        self.pool.set_drained(endpoint, true)
    }

    /// Puts a drained endpoint back.
    pub fn undrain(&self, endpoint: &str) -> Result<(), ControlError> {
        self.pool.set_drained(endpoint, false)
    }

    /// Returns traffic to the primary tier now (manual failback).
    pub fn fail_back(&self) -> Result<(), ControlError> {
        self.pool.fail_back_now()
    }
}

/// Every gateway of a catalog, sharing one metrics registry.
#[derive(Debug)]
pub struct Gateways {
    running: Vec<Gateway>,
    metrics: Arc<GatewayMetrics>,
    admission: Arc<Admission>,
}

impl Gateways {
    /// Starts every `[[gateway]]` of a validated catalog; stops those already started if
    /// one cannot start.
    pub async fn start(
        catalog: &Catalog,
        sink: Option<EventSink>,
    ) -> Result<Gateways, GatewayError> {
        Gateways::start_with(catalog, sink, Admission::new(ListenLimits::default())).await
    }

    /// Like [`Gateways::start`], every listener counting its connections in
    /// `admission` (also after a reload).
    pub async fn start_with(
        catalog: &Catalog,
        sink: Option<EventSink>,
        admission: Arc<Admission>,
    ) -> Result<Gateways, GatewayError> {
        let metrics = Arc::new(GatewayMetrics::new());
        let mut running = Vec::new();
        for gateway in &catalog.gateways {
            let started = match GatewaySpec::from_catalog(catalog, gateway) {
                Ok(spec) => {
                    Gateway::start_with(spec, metrics.clone(), sink.clone(), admission.clone())
                        .await
                }
                Err(text) => Err(GatewayError::Spec(text)),
            };
            match started {
                Ok(g) => running.push(g),
                Err(e) => {
                    for g in running {
                        g.shutdown();
                    }
                    return Err(e);
                }
            }
        }
        Ok(Gateways {
            running,
            metrics,
            admission,
        })
    }

    /// None running (a reload may start some).
    pub fn empty() -> Gateways {
        Gateways::empty_with(Admission::new(ListenLimits::default()))
    }

    /// None running; gateways a reload starts count their connections in `admission`.
    pub fn empty_with(admission: Arc<Admission>) -> Gateways {
        Gateways {
            running: Vec::new(),
            metrics: Arc::new(GatewayMetrics::new()),
            admission,
        }
    }

    /// How many run.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The running gateways' handles.
    pub fn handles(&self) -> Vec<GatewayHandle> {
        self.running.iter().map(Gateway::handle).collect()
    }

    /// One gateway's handle by id.
    pub fn handle(&self, id: &str) -> Result<GatewayHandle, ControlError> {
        self.running
            .iter()
            .find(|g| g.pool.spec.id == id)
            .map(Gateway::handle)
            .ok_or_else(|| ControlError::UnknownGateway(id.to_string()))
    }

    /// Registers the metrics of every gateway in `registry` (the one `/metrics`
    /// encodes); nothing while no gateway runs, so a configuration without gateways
    /// shows no empty gateway families.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        if !self.running.is_empty() {
            registry.register_collector(Box::new(self.metrics.clone()));
        }
    }

    /// Stops them all.
    pub fn shutdown(self) {
        for g in self.running {
            g.shutdown();
        }
    }

    /// Applies a new catalog: a gateway whose spec is unchanged keeps running with its
    /// state (health, drains, the serving tier); a changed one is stopped and started
    /// anew; a removed one is stopped; a new one is started. Returns the ids (started,
    /// restarted, stopped). A gateway that cannot start is reported and left out; the
    /// others are applied.
    pub async fn reload(
        &mut self,
        catalog: &Catalog,
        sink: Option<EventSink>,
    ) -> (ReloadReport, Vec<GatewayError>) {
        let mut report = ReloadReport::default();
        let mut errors = Vec::new();
        let mut old: Vec<Gateway> = std::mem::take(&mut self.running);
        for gateway in &catalog.gateways {
            let spec = match GatewaySpec::from_catalog(catalog, gateway) {
                Ok(spec) => spec,
                Err(text) => {
                    errors.push(GatewayError::Spec(text));
                    continue;
                }
            };
            let existing = old.iter().position(|g| g.pool.spec.id == spec.id);
            if let Some(i) = existing {
                if *old[i].pool.spec == spec {
                    self.running.push(old.remove(i));
                    continue;
                }
                old.remove(i).stop().await;
                report.restarted.push(spec.id.clone());
            } else {
                report.started.push(spec.id.clone());
            }
            // The old listener may take a moment to close its socket.
            let mut attempt = 0;
            loop {
                let started = Gateway::start_with(
                    spec.clone(),
                    self.metrics.clone(),
                    sink.clone(),
                    self.admission.clone(),
                )
                .await;
                match started {
                    Ok(g) => {
                        self.running.push(g);
                        break;
                    }
                    Err(GatewayError::Bind { .. }) if attempt < 20 => {
                        attempt += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Err(e) => {
                        errors.push(e);
                        break;
                    }
                }
            }
        }
        for g in old {
            report.stopped.push(g.pool.spec.id.clone());
            g.stop().await;
        }
        (report, errors)
    }
}

/// What a reload did to the gateways.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// New gateways.
    pub started: Vec<String>,
    /// Changed gateways, started anew.
    pub restarted: Vec<String>,
    /// Removed gateways.
    pub stopped: Vec<String>,
}
