//! Continuo's domain: the catalog model, config loading and validation, and the pure
//! analyses (business impact, dependency graph, single points of failure, risk matrix).
//!
//! **Invariant:** this crate never touches the network, the disk, the environment or the
//! clock. Files arrive through the [`load::SourceProvider`] trait, environment variables
//! through a lookup function, and time (when it is needed) as an argument. Everything here
//! is therefore testable with plain values.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod access;
pub mod alerting;
pub mod analysis;
pub mod catalog;
pub mod cron;
pub mod diag;
pub mod duration;
pub mod evidence;
pub mod hash;
pub mod heartbeat;
pub mod inbound;
pub mod incident;
pub mod load;
pub mod maintenance;
pub mod observation;
pub mod oncall;
pub mod public;
pub mod state;
pub mod subscribers;
pub mod text;

mod decode;
pub mod suggest;
mod validate;

pub use catalog::Catalog;
/// The tables and fields the configuration accepts, for the configuration reference.
pub use decode::schema;
pub use diag::{Diagnostic, Diagnostics, Severity, SourceMap};
pub use duration::HumanDuration;
pub use load::{GlobError, LoadOutcome, ReadError, SourceProvider, load, load_text};
pub use text::{Lang, Text};
