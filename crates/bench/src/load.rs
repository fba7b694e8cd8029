//! A fixed amount of work shared by a bounded number of workers, and what came of it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// `count` numbered jobs, handed out to whichever worker asks first.
pub struct Work {
    next: AtomicUsize,
    count: usize,
    failures: AtomicUsize,
    first_failure: Mutex<Option<String>>,
}

impl Work {
    /// Jobs `0..count`.
    pub fn new(count: usize) -> Work {
        Work {
            next: AtomicUsize::new(0),
            count,
            failures: AtomicUsize::new(0),
            first_failure: Mutex::new(None),
        }
    }

    /// The next job, or `None` when all are handed out.
    pub fn take(&self) -> Option<usize> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (n < self.count).then_some(n)
    }

    /// Records a failed job; the first reason is kept for the report.
    pub fn fail(&self, reason: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(reason);
    }

    /// What came of it, given the time it took.
    pub fn outcome(&self, elapsed: Duration) -> Outcome {
        Outcome {
            count: self.count,
            failures: self.failures.load(Ordering::Relaxed),
            first_failure: self
                .first_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            elapsed,
        }
    }
}

/// The result of a run of [`Work`].
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Jobs run.
    pub count: usize,
    /// Jobs that failed.
    pub failures: usize,
    /// Why the first one failed.
    pub first_failure: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// Jobs per second.
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// An error naming `what` when any job failed.
    pub fn require_all_succeeded(&self, what: &str) -> Result<(), String> {
        if self.failures == 0 {
            return Ok(());
        }
        Err(format!(
            "{what}: {} of {} failed; the first: {}",
            self.failures,
            self.count,
            self.first_failure.as_deref().unwrap_or("(no reason)")
        ))
    }
}
