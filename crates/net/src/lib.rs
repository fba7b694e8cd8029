//! Network and process plumbing shared by the crates that talk to the outside world
//! (probe, notify, gateway): TLS client configurations with the system's roots loaded once,
//! the HTTP client builder, the public-only resolver and its address classifier, one
//! bounded process runner and one bounded file reader.
//!
//! Why a crate of its own: these rules used to exist once per caller (three root loaders,
//! two process-group killers), and the gateway depended on notify and probe only to reach
//! them. They sit here, below every IO crate and above nothing of Continuo's.
//!
//! **Invariant:** this is the only crate that starts processes or reads the system's
//! certificate store; the root `clippy.toml` denies `tokio::process::Command::new`,
//! `std::process::Command::new` and `rustls_native_certs::load_native_certs` elsewhere.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod address;
pub mod file;
pub mod http;
pub mod listen;
pub mod process;
pub mod tls;

pub use address::{PublicOnly, is_internal};
pub use process::{Finished, Process, RunError};
