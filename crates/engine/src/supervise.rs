//! Supervised tasks: a long-running task (the decision task, the dispatcher, the engine's
//! coordinator, ...) that panics is caught, reported and restarted from its persisted
//! state, instead of leaving the process running with nobody deciding or sending.
//!
//! [`Tasks`] is the register `/readyz` and `/metrics` read: every supervised task with
//! its restarts and its last panic. A task that panicked in the last
//! [`UNHEALTHY_FOR_MS`] is not healthy; it is again once it has run that long.
//! [`supervise`] runs a task on its own tokio task (so a panic unwinds there, is caught
//! by tokio and seen here as a [`tokio::task::JoinError`]), and restarts it after a
//! back-off of 1 s doubling to a minute, with a report each time.

use crate::clock::Clock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// How long a task counts as unhealthy after a panic.
pub const UNHEALTHY_FOR_MS: i64 = 60_000;

/// The longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What is known of one supervised task.
#[derive(Clone, Debug, Default)]
struct TaskState {
    restarts: u64,
    last_panic: Option<String>,
    last_panic_ms: Option<i64>,
}

/// One supervised task, as `/readyz` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskReport {
    /// The task's name (`alerting.decider`, `engine.coordinator`, ...).
    pub name: String,
    /// False while the task is restarting, and for a minute after a panic.
    pub healthy: bool,
    /// Restarts since this process started.
    pub restarts: u64,
    /// What the last panic said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_panic: Option<String>,
    /// When it happened (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_panic_ms: Option<i64>,
}

/// The register of supervised tasks.
#[derive(Debug, Default)]
pub struct Tasks {
    states: Mutex<BTreeMap<String, TaskState>>,
}

impl Tasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, TaskState>> {
        self.states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes `name` known (healthy, no restarts).
    pub fn register(&self, name: &str) {
        self.lock().entry(name.to_string()).or_default();
    }

    /// Records a panic of `name` at `now_ms`.
    pub fn panicked(&self, name: &str, message: &str, now_ms: i64) {
        let mut states = self.lock();
        let state = states.entry(name.to_string()).or_default();
        state.restarts += 1;
        state.last_panic = Some(message.to_string());
        state.last_panic_ms = Some(now_ms);
    }

    /// Every task, by name, as of `now_ms`.
    pub fn report(&self, now_ms: i64) -> Vec<TaskReport> {
        self.lock()
            .iter()
            .map(|(name, s)| TaskReport {
                name: name.clone(),
                healthy: s
                    .last_panic_ms
                    .is_none_or(|at| now_ms.saturating_sub(at) >= UNHEALTHY_FOR_MS),
                restarts: s.restarts,
                last_panic: s.last_panic.clone(),
                last_panic_ms: s.last_panic_ms,
            })
            .collect()
    }

    /// Whether every task is healthy at `now_ms`.
    pub fn healthy(&self, now_ms: i64) -> bool {
        self.report(now_ms).iter().all(|t| t.healthy)
    }
}

/// The text of a panic's payload (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Runs the task `start()` builds until it returns (it was stopped) or `stop` is set; a
/// panic is recorded in `tasks`, logged, handed to `on_panic` (which may page), and the
/// task is started again after a back-off. `start` is called for each run, so it
/// rebuilds the task from its persisted state.
pub async fn supervise<F, Fut, P, PFut>(
    tasks: std::sync::Arc<Tasks>,
    name: &'static str,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
    mut start: F,
    mut on_panic: P,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
    P: FnMut(String) -> PFut,
    PFut: Future<Output = ()>,
{
    tasks.register(name);
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = tokio::time::Instant::now();
        match tokio::spawn(start()).await {
            Ok(()) => return,
            Err(e) if e.is_cancelled() => return,
            Err(e) => {
                let message = panic_message(&*e.into_panic());
                tasks.panicked(name, &message, clock.now_ms());
                tracing::error!(task = name, panic = %message, retry_in_ms = backoff.as_millis() as u64, "task panicked, restarting");
                on_panic(message).await;
            }
        }
        // A task that ran for a good while before failing starts again quickly.
        if started.elapsed() > MAX_BACKOFF * 5 {
            backoff = Duration::from_secs(1);
        }
        if *stop.borrow() {
            return;
        }
        let wait = tokio::time::sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                changed = stop.changed() => match changed {
                    Ok(()) if *stop.borrow() => return,
                    Ok(()) => {}
                    // Nobody can stop it any more: finish the wait.
                    Err(_) => {
                        (&mut wait).await;
                        break;
                    }
                },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_and_reported() {
        let tasks = Arc::new(Tasks::default());
        let runs = Arc::new(AtomicU32::new(0));
        let panics = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, stop) = watch::channel(false);
        let clock = Clock::starting_at(0);
        let supervisor = {
            let (tasks, runs, panics) = (tasks.clone(), runs.clone(), panics.clone());
            tokio::spawn(supervise(
                tasks,
                "test.task",
                clock,
                stop,
                move || {
                    let runs = runs.clone();
                    async move {
                        // Panics twice, then runs until stopped.
                        if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                            panic!("boom");
                        }
                        std::future::pending::<()>().await;
                    }
                },
                move |message| {
                    panics.lock().expect("lock").push(message);
                    async {}
                },
            ))
        };
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "started again after each panic"
        );
        assert_eq!(*panics.lock().expect("lock"), vec!["boom", "boom"]);
        let report = tasks.report(clock.now_ms());
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].restarts, 2);
        assert_eq!(report[0].last_panic.as_deref(), Some("boom"));
        assert!(
            !report[0].healthy,
            "a panic a few seconds ago is not healthy"
        );
        assert!(!tasks.healthy(clock.now_ms()));
        tokio::time::sleep(Duration::from_millis(UNHEALTHY_FOR_MS as u64)).await;
        assert!(
            tasks.healthy(clock.now_ms()),
            "healthy after a quiet minute"
        );
        stop_tx.send(true).expect("stop");
        // The running task is still pending: stopping the supervisor is the caller's
        // job (it aborts or the task itself watches `stop`); here we abort it.
        supervisor.abort();
    }
}
