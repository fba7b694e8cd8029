//! What a gateway reports: failovers (with their measured duration and the requests
//! they cost), failbacks, endpoints going down and up, drains, and the results of
//! failover actions. Each event goes to the sink the caller passed in (a tokio
//! broadcast channel, so the incident timeline and anything else can subscribe) and to a
//! bounded list of recent events that `status` shows.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Where events go: a broadcast sender the caller owns (subscribe before starting).
pub type EventSink = broadcast::Sender<GatewayEvent>;

/// How many recent events each gateway keeps for `status`.
pub const RECENT_EVENTS: usize = 100;

/// Which tier of endpoints serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The primary endpoints.
    Primary,
    /// The backup endpoints (only while no primary is healthy).
    Backup,
}

/// Why traffic left the primary tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailoverReason {
    /// Primaries failed (live traffic or checks).
    Failure,
    /// An operator drained the primaries (a planned switchover).
    Drain,
}

/// One thing that happened to a gateway.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GatewayEvent {
    /// The gateway's id.
    pub gateway: String,
    /// The service it fronts.
    pub service: String,
    /// When, in UTC unix milliseconds.
    pub at_ms: i64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// Traffic left the primary tier for the backup tier.
    FailoverStarted {
        /// Why.
        reason: FailoverReason,
        /// The first failure of a primary that led to it (UTC ms).
        first_failure_ms: i64,
    },
    /// The backup tier answered: the failover is over, and this is what it cost.
    FailoverFinished {
        /// Why it happened.
        reason: FailoverReason,
        /// The first failure seen (UTC ms).
        first_failure_ms: i64,
        /// When the last primary was marked down or drained (UTC ms).
        marked_down_ms: i64,
        /// The first successful answer from a backup (UTC ms).
        first_backup_success_ms: i64,
        /// From the first failure to the first success on a backup.
        duration_ms: i64,
        /// Client requests that failed meanwhile (errors and 5xx answers).
        failed_requests: u64,
        /// Client requests that were retried on another endpoint meanwhile.
        retried_requests: u64,
    },
    /// Traffic returned to the primary tier.
    Failback {
        /// True when the hysteresis allowed it, false when an operator asked (or no
        /// backup was left).
        automatic: bool,
        /// How long the primary had been healthy.
        healthy_for_ms: i64,
    },
    /// An endpoint was taken out of rotation.
    EndpointDown {
        /// The endpoint's name.
        endpoint: String,
        /// The last failure.
        reason: String,
    },
    /// An ejected endpoint passed its checks again.
    EndpointUp {
        /// The endpoint's name.
        endpoint: String,
    },
    /// An operator drained an endpoint: it gets no new traffic.
    Drained {
        /// The endpoint's name.
        endpoint: String,
    },
    /// An operator undrained an endpoint.
    Undrained {
        /// The endpoint's name.
        endpoint: String,
    },
    /// A task of the gateway (`listener`, `check <endpoint>`, `actions`) panicked and
    /// was started again.
    TaskRestarted {
        /// Which task.
        task: String,
        /// What the panic said.
        message: String,
    },
    /// A failover action ran (or, in dry-run mode, would have run).
    Action {
        /// What it was (`command /usr/bin/x`, `webhook https://...`, `haproxy app/s1 maint`).
        action: String,
        /// `failover` or `failback`.
        trigger: String,
        /// Whether it succeeded.
        ok: bool,
        /// Only reported, not run.
        dry_run: bool,
        /// What it said, or why it failed.
        message: String,
        /// How long it took.
        duration_ms: i64,
    },
}

/// The sink and the recent-events list of one gateway.
#[derive(Debug)]
pub(crate) struct EventLog {
    sink: Option<EventSink>,
    recent: Mutex<VecDeque<GatewayEvent>>,
}

impl EventLog {
    pub(crate) fn new(sink: Option<EventSink>) -> EventLog {
        EventLog {
            sink,
            recent: Mutex::new(VecDeque::with_capacity(RECENT_EVENTS)),
        }
    }

    /// Records an event; never blocks (a broadcast send only fails without subscribers).
    pub(crate) fn emit(&self, event: GatewayEvent) {
        if let Some(sink) = &self.sink {
            let _ = sink.send(event.clone());
        }
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == RECENT_EVENTS {
            recent.pop_front();
        }
        recent.push_back(event);
    }

    /// The recent events, oldest first.
    pub(crate) fn recent(&self) -> Vec<GatewayEvent> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.iter().cloned().collect()
    }
}
