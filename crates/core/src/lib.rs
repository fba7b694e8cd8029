//! Continuo's domain: the catalog model, config loading and validation, and the pure
//! analyses (business impact, dependency graph, single points of failure, risk matrix).
//!
//! **Invariant:** this crate never touches the network, the disk, the environment or the
//! clock. Files arrive through the [`load::SourceProvider`] trait, environment variables
//! through a lookup function, and time (when it is needed) as an argument. Everything here
//! is therefore testable with plain values.

pub mod access;
pub mod alerting;
pub mod analysis;
pub mod cron;
pub mod diag;
pub mod duration;
pub mod hash;
pub mod heartbeat;
pub mod inbound;
pub mod incident;
pub mod load;
pub mod maintenance;
pub mod model;
pub mod observation;
pub mod oncall;
pub mod state;
pub mod subscribers;
pub mod text;

mod decode;
mod suggest;
mod validate;

pub use decode::gateway;
pub use decode::status_page;
pub use diag::{Diagnostic, Diagnostics, Severity, SourceMap};
pub use duration::HumanDuration;
pub use load::{LoadOutcome, SourceProvider, load, load_text};
pub use model::Catalog;
pub use text::{Lang, Text};
