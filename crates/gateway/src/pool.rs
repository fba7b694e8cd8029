//! The endpoints of one gateway and everything decided about them: health (passive, from
//! live traffic, and active, from checks), which tier serves, which endpoint a request
//! gets, failover episodes with what they cost, failback with hysteresis, and drains.
//!
//! One mutex guards it all: every decision is a few comparisons, never IO, and events
//! are handed to non-blocking sinks.

use crate::events::{EventKind, EventLog, FailoverReason, GatewayEvent, Tier};
use crate::metrics::{EndpointLabel, GatewayLabel, GatewayMetrics};
use crate::spec::GatewaySpec;
use continuo_core::catalog::Role;
use continuo_core::catalog::gateway::{ActionTrigger, Balance, Failback};
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// UTC unix milliseconds that advance with tokio's clock (so paused-time tests see wall
/// time move with it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    base_ms: i64,
    base: Instant,
}

impl Clock {
    pub(crate) fn system() -> Clock {
        Clock {
            base_ms: jiff::Timestamp::now().as_millisecond(),
            base: Instant::now(),
        }
    }

    pub(crate) fn ms(&self, at: Instant) -> i64 {
        self.base_ms
            + i64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(0)
    }
}

/// A failover that asks for the configured actions.
#[derive(Clone, Debug)]
pub(crate) struct ActionRequest {
    pub trigger: ActionTrigger,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub at_ms: i64,
}

#[derive(Debug)]
struct Endpoint {
    name: String,
    address: Arc<str>,
    role: Role,
    up: bool,
    drained: bool,
    /// Consecutive failures (traffic or checks) since the last success.
    failures: u32,
    /// Consecutive good checks while ejected.
    good_checks: u32,
    healthy_since: Option<Instant>,
    outstanding: usize,
    last_error: Option<String>,
    label: EndpointLabel,
}

impl Endpoint {
    fn eligible(&self) -> bool {
        self.up && !self.drained
    }
}

/// A failover in progress: from the first failure of a primary until a backup answered
/// and the primaries are out of rotation.
#[derive(Debug)]
struct Episode {
    reason: FailoverReason,
    first_failure: Instant,
    /// The endpoint whose failure started it; its success before the switch ends the
    /// episode quietly (a blip, not a failover).
    origin: usize,
    marked_down: Option<Instant>,
    backup_success: Option<Instant>,
    failed: u64,
    retried: u64,
}

#[derive(Debug)]
struct Inner {
    endpoints: Vec<Endpoint>,
    serving: Tier,
    next: usize,
    episode: Option<Episode>,
    served_backup_since: Option<Instant>,
}

/// See `Pool::counters`.
#[derive(Debug)]
struct Counters {
    requests: prometheus_client::metrics::counter::Counter,
    failed: prometheus_client::metrics::counter::Counter,
    retried: prometheus_client::metrics::counter::Counter,
}

/// What one try on an endpoint came to.
#[derive(Clone, Debug)]
pub(crate) enum TryOutcome {
    /// It answered (below 500) or connected.
    Success,
    /// Connect error, reset, timeout or a 5xx answer.
    Failure(String),
}

/// The endpoints of one gateway.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) spec: Arc<GatewaySpec>,
    inner: Mutex<Inner>,
    pub(crate) events: EventLog,
    pub(crate) metrics: Arc<GatewayMetrics>,
    /// This gateway's request counters, taken out of their families once: counting a
    /// request is then one atomic add, not a lookup under the family's lock.
    counters: Counters,
    clock: Clock,
    label: GatewayLabel,
    actions: Option<mpsc::UnboundedSender<ActionRequest>>,
    /// TLS to `https://` endpoints, for the proxy and the checks alike.
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// Panics a test asked the health checks to make ([`Pool::injected_panic`]).
    panics_to_inject: std::sync::atomic::AtomicU32,
}

/// An endpoint taken for one try; gives its slot back when dropped.
pub(crate) struct Lease {
    pool: Arc<Pool>,
    pub(crate) index: usize,
    pub(crate) address: Arc<str>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut inner = self.pool.lock();
        if let Some(e) = inner.endpoints.get_mut(self.index) {
            e.outstanding = e.outstanding.saturating_sub(1);
        }
    }
}

/// One endpoint in `status`.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointStatus {
    /// Its name.
    pub name: String,
    /// `host:port`.
    pub address: String,
    /// Primary or backup.
    pub role: Role,
    /// `up`, `down` (ejected) or `drained`.
    pub state: &'static str,
    /// Requests (or connections) in flight.
    pub outstanding: usize,
    /// Consecutive failures.
    pub failures: u32,
    /// The last failure seen.
    pub last_error: Option<String>,
}

/// One gateway in `status`.
#[derive(Clone, Debug, Serialize)]
pub struct GatewayStatus {
    /// The gateway's id.
    pub id: String,
    /// The service it fronts.
    pub service: String,
    /// Where it listens.
    pub listen: String,
    /// `http` or `tcp`.
    pub mode: continuo_core::catalog::gateway::GatewayMode,
    /// The tier that serves.
    pub serving: Tier,
    /// Whether a failover is in progress.
    pub failover_in_progress: bool,
    /// The endpoints.
    pub endpoints: Vec<EndpointStatus>,
    /// Recent events, oldest first.
    pub events: Vec<GatewayEvent>,
}

/// Why an operator command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No such gateway.
    #[error("no gateway `{0}`")]
    UnknownGateway(String),
    /// No such endpoint in the gateway.
    #[error("gateway `{gateway}` has no endpoint `{endpoint}`")]
    UnknownEndpoint {
        /// The gateway.
        gateway: String,
        /// The endpoint asked for.
        endpoint: String,
    },
    /// Manual failback while no primary is healthy.
    #[error("no primary endpoint of gateway `{0}` is healthy: failback refused")]
    NoHealthyPrimary(String),
}

impl Pool {
    pub(crate) fn new(
        spec: Arc<GatewaySpec>,
        events: EventLog,
        metrics: Arc<GatewayMetrics>,
        actions: Option<mpsc::UnboundedSender<ActionRequest>>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Pool {
        let now = Instant::now();
        let label = GatewayLabel {
            gateway: spec.id.clone(),
        };
        let endpoints = spec
            .endpoints
            .iter()
            .map(|e| {
                let label = EndpointLabel {
                    gateway: spec.id.clone(),
                    endpoint: e.name.clone(),
                    role: role_name(e.role).to_string(),
                };
                metrics.endpoint_up.get_or_create(&label).set(1);
                metrics.endpoint_drained.get_or_create(&label).set(0);
                Endpoint {
                    name: e.name.clone(),
                    address: Arc::from(e.address.as_str()),
                    role: e.role,
                    // Optimistic until the first check or request says otherwise: a
                    // dead endpoint costs a retry, not an outage.
                    up: true,
                    drained: false,
                    failures: 0,
                    good_checks: 0,
                    healthy_since: Some(now),
                    outstanding: 0,
                    last_error: None,
                    label,
                }
            })
            .collect();
        metrics.serving_backup.get_or_create(&label).set(0);
        // Every series exists from the start, so a zero is a zero and not an absence.
        for family in [
            &metrics.requests,
            &metrics.failed,
            &metrics.retried,
            &metrics.failovers,
            &metrics.failbacks,
            &metrics.failover_failed,
            &metrics.failover_retried,
            &metrics.actions_failed,
        ] {
            family.get_or_create(&label).inc_by(0);
        }
        let counters = Counters {
            requests: metrics.requests.get_or_create(&label).clone(),
            failed: metrics.failed.get_or_create(&label).clone(),
            retried: metrics.retried.get_or_create(&label).clone(),
        };
        let has_primary = spec.endpoints.iter().any(|e| e.role == Role::Primary);
        Pool {
            inner: Mutex::new(Inner {
                endpoints,
                serving: if has_primary {
                    Tier::Primary
                } else {
                    Tier::Backup
                },
                next: 0,
                episode: None,
                served_backup_since: None,
            }),
            spec,
            events,
            metrics,
            counters,
            clock: Clock::system(),
            label,
            actions,
            tls,
            panics_to_inject: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Asks the next `n` health check rounds to panic (fault tests only).
    pub(crate) fn inject_panics(&self, n: u32) {
        self.panics_to_inject
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Panics when a test asked for it ([`Pool::inject_panics`]); nothing otherwise.
    pub(crate) fn injected_panic(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let take = self
            .panics_to_inject
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
        if take.is_ok() {
            panic!("a panic injected by a test");
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, at: Instant, kind: EventKind) {
        self.events.emit(GatewayEvent {
            gateway: self.spec.id.clone(),
            service: self.spec.service.clone(),
            at_ms: self.clock.ms(at),
            kind,
        });
    }

    /// Takes an endpoint for one try: the serving tier first, then the other one (a
    /// retry after a primary failed may go to a backup before the primary is ejected),
    /// never one in `tried`, never an ejected or drained one.
    pub(crate) fn pick(self: &Arc<Self>, tried: &[usize]) -> Option<Lease> {
        let mut inner = self.lock();
        // A request's first retry counts toward the failover under way now, when it is
        // decided: the retry may well be the backup's first success, which ends the
        // episode before the request itself is done.
        if tried.len() == 1
            && let Some(ep) = inner.episode.as_mut()
        {
            ep.retried += 1;
        }
        let serving = role_of(inner.serving);
        let other = if serving == Role::Primary {
            Role::Backup
        } else {
            Role::Primary
        };
        let start = inner.next;
        let count = inner.endpoints.len();
        let chosen = [serving, other].into_iter().find_map(|role| {
            let mut candidates = (0..count).map(|i| (start + i) % count).filter(|&i| {
                let e = &inner.endpoints[i];
                e.role == role && e.eligible() && !tried.contains(&i)
            });
            match self.spec.balance {
                Balance::RoundRobin => candidates.next(),
                Balance::LeastOutstanding => {
                    candidates.min_by_key(|&i| inner.endpoints[i].outstanding)
                }
            }
        })?;
        inner.next = chosen + 1;
        let endpoint = &mut inner.endpoints[chosen];
        endpoint.outstanding += 1;
        Some(Lease {
            pool: self.clone(),
            index: chosen,
            address: endpoint.address.clone(),
        })
    }

    /// Records what a try (or a check, `from_check`) on an endpoint came to.
    pub(crate) fn report(&self, index: usize, outcome: TryOutcome, from_check: bool) {
        let now = Instant::now();
        let mut inner = self.lock();
        let eject_after = self.spec.eject_after;
        let recover_after = self.spec.recover_after;
        let serving = inner.serving;
        let Some(endpoint) = inner.endpoints.get_mut(index) else {
            return;
        };
        match outcome {
            TryOutcome::Success => {
                endpoint.failures = 0;
                let role = endpoint.role;
                if !endpoint.up {
                    // Only checks bring an ejected endpoint back: it gets no traffic
                    // until it has answered them `recover_after` times in a row.
                    if from_check {
                        endpoint.good_checks += 1;
                        if endpoint.good_checks >= recover_after {
                            endpoint.up = true;
                            endpoint.good_checks = 0;
                            endpoint.healthy_since = Some(now);
                            endpoint.last_error = None;
                            self.metrics
                                .endpoint_up
                                .get_or_create(&endpoint.label)
                                .set(1);
                            let name = endpoint.name.clone();
                            self.emit(now, EventKind::EndpointUp { endpoint: name });
                            self.evaluate(&mut inner, now);
                        }
                    }
                    return;
                }
                if !from_check && role == Role::Backup {
                    if let Some(ep) = inner.episode.as_mut()
                        && ep.backup_success.is_none()
                    {
                        ep.backup_success = Some(now);
                    }
                    self.finish_episode(&mut inner);
                } else if let Some(ep) = &inner.episode
                    && ep.origin == index
                    && ep.marked_down.is_none()
                {
                    // The primary answered again before it was ejected: a blip.
                    inner.episode = None;
                }
            }
            TryOutcome::Failure(reason) => {
                endpoint.failures += 1;
                endpoint.good_checks = 0;
                endpoint.last_error = Some(reason.clone());
                let role = endpoint.role;
                let eject = endpoint.up && endpoint.failures >= eject_after;
                if role == Role::Primary && serving == Tier::Primary && inner.episode.is_none() {
                    inner.episode = Some(Episode {
                        reason: FailoverReason::Failure,
                        first_failure: now,
                        origin: index,
                        marked_down: None,
                        backup_success: None,
                        failed: 0,
                        retried: 0,
                    });
                }
                if eject {
                    let endpoint = &mut inner.endpoints[index];
                    endpoint.up = false;
                    endpoint.healthy_since = None;
                    self.metrics
                        .endpoint_up
                        .get_or_create(&endpoint.label)
                        .set(0);
                    let name = endpoint.name.clone();
                    self.emit(
                        now,
                        EventKind::EndpointDown {
                            endpoint: name,
                            reason,
                        },
                    );
                    self.evaluate(&mut inner, now);
                }
            }
        }
    }

    /// Counts one finished client request (or TCP connection).
    pub(crate) fn request_done(&self, failed: bool, retried: bool) {
        self.counters.requests.inc();
        if failed {
            self.counters.failed.inc();
        }
        if retried {
            self.counters.retried.inc();
        }
        if failed {
            let mut inner = self.lock();
            if let Some(ep) = inner.episode.as_mut() {
                // Retries were counted when they were decided (`pick`).
                ep.failed += u64::from(failed);
            }
        }
    }

    /// Re-evaluates the serving tier (failback hysteresis needs time to pass); the
    /// checker calls it after every round.
    pub(crate) fn tick(&self) {
        let mut inner = self.lock();
        self.evaluate(&mut inner, Instant::now());
    }

    /// Decides which tier serves. Strict: the backup tier serves only while no primary
    /// is eligible; traffic returns after a primary has been healthy for
    /// `failback_after` (automatic), on an operator's word (manual), or at once when no
    /// backup is left.
    fn evaluate(&self, inner: &mut Inner, now: Instant) {
        let any = |inner: &Inner, role: Role| {
            inner
                .endpoints
                .iter()
                .any(|e| e.role == role && e.eligible())
        };
        let primary_ok = any(inner, Role::Primary);
        let backup_ok = any(inner, Role::Backup);
        match inner.serving {
            Tier::Primary if !primary_ok && backup_ok => {
                let drained = inner
                    .endpoints
                    .iter()
                    .filter(|e| e.role == Role::Primary)
                    .all(|e| e.drained || !e.up)
                    && inner
                        .endpoints
                        .iter()
                        .any(|e| e.role == Role::Primary && e.drained);
                let episode = inner.episode.get_or_insert(Episode {
                    reason: if drained {
                        FailoverReason::Drain
                    } else {
                        FailoverReason::Failure
                    },
                    first_failure: now,
                    origin: usize::MAX,
                    marked_down: None,
                    backup_success: None,
                    failed: 0,
                    retried: 0,
                });
                episode.marked_down = Some(now);
                let (reason, first) = (episode.reason, episode.first_failure);
                inner.serving = Tier::Backup;
                inner.served_backup_since = Some(now);
                self.metrics.failovers.get_or_create(&self.label).inc();
                self.metrics
                    .serving_backup
                    .get_or_create(&self.label)
                    .set(1);
                self.emit(
                    now,
                    EventKind::FailoverStarted {
                        reason,
                        first_failure_ms: self.clock.ms(first),
                    },
                );
                self.request_actions(inner, ActionTrigger::Failover, now, reason_word(reason));
                self.finish_episode(inner);
            }
            Tier::Backup if primary_ok => {
                let healthy_for = inner
                    .endpoints
                    .iter()
                    .filter(|e| e.role == Role::Primary && e.eligible())
                    .filter_map(|e| e.healthy_since)
                    .map(|since| now.saturating_duration_since(since))
                    .max()
                    .unwrap_or_default();
                let automatic =
                    self.spec.failback == Failback::Auto && healthy_for >= self.spec.failback_after;
                if automatic || !backup_ok {
                    self.fail_back(inner, now, automatic, healthy_for);
                }
            }
            _ => {}
        }
    }

    fn fail_back(
        &self,
        inner: &mut Inner,
        now: Instant,
        automatic: bool,
        healthy_for: std::time::Duration,
    ) {
        inner.serving = Tier::Primary;
        inner.episode = None;
        inner.served_backup_since = None;
        self.metrics.failbacks.get_or_create(&self.label).inc();
        self.metrics
            .serving_backup
            .get_or_create(&self.label)
            .set(0);
        self.emit(
            now,
            EventKind::Failback {
                automatic,
                healthy_for_ms: i64::try_from(healthy_for.as_millis()).unwrap_or(i64::MAX),
            },
        );
        let why = if automatic { "healthy" } else { "operator" };
        self.request_actions(inner, ActionTrigger::Failback, now, why);
    }

    /// Ends the episode once the primaries are out and a backup has answered.
    fn finish_episode(&self, inner: &mut Inner) {
        let Some(ep) = &inner.episode else { return };
        let (Some(down), Some(success)) = (ep.marked_down, ep.backup_success) else {
            return;
        };
        let Some(ep) = inner.episode.take() else {
            return;
        };
        let duration = success.saturating_duration_since(ep.first_failure);
        let m = &self.metrics;
        m.failover_duration
            .get_or_create(&self.label)
            .observe(duration.as_secs_f64());
        m.failover_failed
            .get_or_create(&self.label)
            .inc_by(ep.failed);
        m.failover_retried
            .get_or_create(&self.label)
            .inc_by(ep.retried);
        m.last_failover_seconds
            .get_or_create(&self.label)
            .set(duration.as_secs_f64());
        m.last_failover_failed
            .get_or_create(&self.label)
            .set(i64::try_from(ep.failed).unwrap_or(i64::MAX));
        self.emit(
            down.max(success),
            EventKind::FailoverFinished {
                reason: ep.reason,
                first_failure_ms: self.clock.ms(ep.first_failure),
                marked_down_ms: self.clock.ms(down),
                first_backup_success_ms: self.clock.ms(success),
                // From the same millisecond stamps as the fields above, so they add up.
                duration_ms: self.clock.ms(success) - self.clock.ms(ep.first_failure),
                failed_requests: ep.failed,
                retried_requests: ep.retried,
            },
        );
    }

    fn request_actions(&self, inner: &Inner, trigger: ActionTrigger, now: Instant, reason: &str) {
        let Some(tx) = &self.actions else { return };
        let names = |role: Role| {
            inner
                .endpoints
                .iter()
                .filter(|e| e.role == role)
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let (from, to) = match trigger {
            ActionTrigger::Failover => (names(Role::Primary), names(Role::Backup)),
            ActionTrigger::Failback => (names(Role::Backup), names(Role::Primary)),
        };
        let _ = tx.send(ActionRequest {
            trigger,
            from,
            to,
            reason: reason.to_string(),
            at_ms: self.clock.ms(now),
        });
    }

    /// Drains (`true`) or undrains an endpoint by name.
    pub(crate) fn set_drained(&self, endpoint: &str, drained: bool) -> Result<(), ControlError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let Some(e) = inner.endpoints.iter_mut().find(|e| e.name == endpoint) else {
            return Err(ControlError::UnknownEndpoint {
                gateway: self.spec.id.clone(),
                endpoint: endpoint.to_string(),
            });
        };
        if e.drained == drained {
            return Ok(());
        }
        e.drained = drained;
        self.metrics
            .endpoint_drained
            .get_or_create(&e.label)
            .set(i64::from(drained));
        let name = e.name.clone();
        self.emit(
            now,
            if drained {
                EventKind::Drained { endpoint: name }
            } else {
                EventKind::Undrained { endpoint: name }
            },
        );
        self.evaluate(&mut inner, now);
        Ok(())
    }

    /// Manual failback: traffic returns to the primaries now, if one is healthy.
    pub(crate) fn fail_back_now(&self) -> Result<(), ControlError> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.serving == Tier::Primary {
            return Ok(());
        }
        let healthy_for = inner
            .endpoints
            .iter()
            .filter(|e| e.role == Role::Primary && e.eligible())
            .filter_map(|e| e.healthy_since)
            .map(|since| now.saturating_duration_since(since))
            .max();
        let Some(healthy_for) = healthy_for else {
            return Err(ControlError::NoHealthyPrimary(self.spec.id.clone()));
        };
        self.fail_back(&mut inner, now, false, healthy_for);
        Ok(())
    }

    /// Whether an endpoint is changing state (failing but not ejected, or ejected and
    /// passing checks): its checks then run at the fast interval.
    pub(crate) fn changing(&self, index: usize) -> bool {
        let inner = self.lock();
        inner
            .endpoints
            .get(index)
            .is_some_and(|e| (e.up && e.failures > 0) || (!e.up && e.good_checks > 0))
            || inner.episode.is_some()
    }

    /// The gateway as `status` shows it.
    pub(crate) fn status(&self) -> GatewayStatus {
        let inner = self.lock();
        GatewayStatus {
            id: self.spec.id.clone(),
            service: self.spec.service.clone(),
            listen: self.spec.listen.to_string(),
            mode: self.spec.mode,
            serving: inner.serving,
            failover_in_progress: inner
                .episode
                .as_ref()
                .is_some_and(|e| e.marked_down.is_some()),
            endpoints: inner
                .endpoints
                .iter()
                .map(|e| EndpointStatus {
                    name: e.name.clone(),
                    address: e.address.to_string(),
                    role: e.role,
                    state: if e.drained {
                        "drained"
                    } else if e.up {
                        "up"
                    } else {
                        "down"
                    },
                    outstanding: e.outstanding,
                    failures: e.failures,
                    last_error: e.last_error.clone(),
                })
                .collect(),
            events: self.events.recent(),
        }
    }

    /// Counts a failed failover action in the metrics.
    pub(crate) fn action_failed(&self) {
        self.metrics.actions_failed.get_or_create(&self.label).inc();
    }

    /// Emits an event now.
    pub(crate) fn emit_now(&self, kind: EventKind) {
        self.emit(Instant::now(), kind);
    }
}

fn role_of(tier: Tier) -> Role {
    match tier {
        Tier::Primary => Role::Primary,
        Tier::Backup => Role::Backup,
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Primary => "primary",
        Role::Backup => "backup",
    }
}

fn reason_word(reason: FailoverReason) -> &'static str {
    match reason {
        FailoverReason::Failure => "failure",
        FailoverReason::Drain => "drain",
    }
}
