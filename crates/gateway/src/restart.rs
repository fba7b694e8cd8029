//! A gateway's long-running tasks (its listener, each endpoint's health check, its
//! failover actions) run under [`spawn_restarting`]: a panic is caught (the task runs on
//! a tokio task of its own, so the panic unwinds there), logged, emitted as an
//! [`EventKind::TaskRestarted`] event (which `serve` records as an unhealthy task, shows
//! on `/readyz` and pages about) and the task starts again after a back-off of 1 s
//! doubling to a minute. Without this a panicking health check would leave its endpoint
//! as last seen, and a panicking listener would stop the gateway, with nobody told.

use crate::events::EventKind;
use crate::pool::Pool;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Aborts the task it holds when dropped: aborting the supervisor aborts its task.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Spawns `make()`'s future as the task named `task` of `pool`'s gateway, started again
/// whenever it panics. A task that ends (or is aborted) is not restarted.
pub(crate) fn spawn_restarting<F, Fut>(pool: Arc<Pool>, task: String, mut make: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            let started = Instant::now();
            let running = tokio::spawn(make());
            let _abort = AbortOnDrop(running.abort_handle());
            let error = match running.await {
                Ok(()) => return,
                Err(e) if e.is_panic() => e,
                Err(_) => return,
            };
            let message = panic_message(error.into_panic());
            tracing::error!(
                gateway = %pool.spec.id,
                task = %task,
                panic = %message,
                "a gateway task panicked; restarting it"
            );
            pool.emit_now(EventKind::TaskRestarted {
                task: task.clone(),
                message,
            });
            // A task that ran a good while before failing starts over with a short wait.
            if started.elapsed() > MAX_BACKOFF {
                backoff = Duration::from_secs(1);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

/// What a panic said, when it said it as text.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(
            || "a panic without a message".to_string(),
            |s| s.to_string(),
        ),
    }
}
