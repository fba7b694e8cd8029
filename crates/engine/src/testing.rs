//! Test support shared by the engine's tests and the benchmarks (not part of the API):
//! a probe stub that does no IO and answers up or down as a switch says.

use crate::{ProbeFactory, RunProbe};
use continuo_core::catalog::Check;
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A probe that answers at once: up, or down (`connection refused`) while the switch is
/// on.
pub struct Switch(pub Arc<AtomicBool>);

impl RunProbe for Switch {
    fn run(&self, _timeout: Duration) -> Pin<Box<dyn Future<Output = Measurement> + Send + '_>> {
        Box::pin(async move {
            let down = self.0.load(Ordering::SeqCst);
            Measurement {
                verdict: if down {
                    Verdict::Failure
                } else {
                    Verdict::Success
                },
                message: if down { "connection refused" } else { "ok" }.into(),
                code: None,
                timings: Timings::default(),
            }
        })
    }
}

/// Every check gets a [`Switch`] on the same switch, so they all fail together.
pub struct Switches(pub Arc<AtomicBool>);

impl ProbeFactory for Switches {
    fn build(&self, _check: &Check) -> Result<Option<Arc<dyn RunProbe>>, String> {
        Ok(Some(Arc::new(Switch(self.0.clone()))))
    }
}
