//! Wall-clock time for observations, derived from tokio's monotonic clock so that tests
//! on paused time see wall time advance with it.

use tokio::time::Instant;

/// UTC unix milliseconds that advance with tokio's clock.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base_ms: i64,
    base: Instant,
}

impl Clock {
    /// The real time.
    pub fn system() -> Clock {
        Clock::starting_at(jiff::Timestamp::now().as_millisecond())
    }

    /// A clock that reads `ms` now and advances with tokio's clock (paused or not).
    pub fn starting_at(ms: i64) -> Clock {
        Clock {
            base_ms: ms,
            base: Instant::now(),
        }
    }

    /// Now, in UTC unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.base_ms + i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// The tokio instant at which the wall clock reads `ms` (now, if that has passed).
    pub fn instant_at(&self, ms: i64) -> Instant {
        let now = Instant::now();
        let ahead = ms - self.now_ms();
        if ahead <= 0 {
            now
        } else {
            now + std::time::Duration::from_millis(ahead as u64)
        }
    }
}
