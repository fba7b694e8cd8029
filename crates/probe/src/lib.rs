//! Continuo's active probes. One module per kind; each builds from a validated
//! [`continuo_core::catalog::Check`] and runs into a [`Measurement`].
//!
//! **Invariant:** a failing target is a measurement with a failure verdict and a reason,
//! never an `Err` and never a panic. Only a check that cannot be built at all (an
//! unreadable CA file, an invalid regular expression) is an error, reported with the
//! place in the configuration.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod command;
mod dns;
mod http;
mod icmp;
mod net;
mod tcp;
mod tls;

use continuo_core::catalog::{Catalog, Check, CheckSpec};
use continuo_core::diag::{Diagnostic, Loc};
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_core::{Text, tr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why a check could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    /// Where in the configuration.
    pub loc: Loc,
    /// What is wrong.
    pub message: Text,
    /// What would be right.
    pub help: Option<Text>,
}

impl BuildError {
    fn new(loc: &Loc, message: Text) -> BuildError {
        BuildError {
            loc: loc.clone(),
            message,
            help: None,
        }
    }

    /// The error as a configuration diagnostic.
    pub fn into_diagnostic(self) -> Diagnostic {
        let d = Diagnostic::error("bad-check", self.loc, self.message, tr!("here", "hier"));
        match self.help {
            Some(help) => d.with_help(help),
            None => d,
        }
    }
}

/// What probes are built against. (The system's trusted roots, which every HTTPS and
/// TLS check shares, are loaded once per process by `continuo_net::tls`.)
#[derive(Clone)]
pub struct ProbeContext {
    /// Directory that relative paths (CA files) are resolved against.
    pub base_dir: PathBuf,
}

impl ProbeContext {
    /// A context whose relative paths resolve against `base_dir`.
    pub fn new(base_dir: impl Into<PathBuf>) -> ProbeContext {
        ProbeContext {
            base_dir: base_dir.into(),
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// A ready-to-run probe; cheap to clone.
#[derive(Clone)]
pub struct Probe(Kind);

#[derive(Clone)]
enum Kind {
    /// HTTP(S).
    Http(Arc<http::HttpProbe>),
    /// TCP connect and optional exchange.
    Tcp(Arc<tcp::TcpProbe>),
    /// DNS query.
    Dns(Arc<dns::DnsProbe>),
    /// TLS handshake and certificate.
    Tls(Arc<tls::TlsProbe>),
    /// ICMP echo.
    Icmp(Arc<icmp::IcmpProbe>),
    /// Local command.
    Command(Arc<command::CommandProbe>),
}

/// Builds the probe for a check; `None` for heartbeats, which are pushed, not probed.
pub fn build(check: &Check, ctx: &ProbeContext) -> Result<Option<Probe>, BuildError> {
    Ok(Some(match &check.spec {
        CheckSpec::Http(spec) => Probe(Kind::Http(Arc::new(http::HttpProbe::build(spec, ctx)?))),
        CheckSpec::Tcp(spec) => Probe(Kind::Tcp(Arc::new(tcp::TcpProbe::build(spec)?))),
        CheckSpec::Dns(spec) => Probe(Kind::Dns(Arc::new(dns::DnsProbe::build(spec)?))),
        CheckSpec::Tls(spec) => Probe(Kind::Tls(Arc::new(tls::TlsProbe::build(spec, ctx)?))),
        CheckSpec::Icmp(spec) => Probe(Kind::Icmp(Arc::new(icmp::IcmpProbe::build(spec)))),
        CheckSpec::Command(spec) => {
            Probe(Kind::Command(Arc::new(command::CommandProbe::build(spec))))
        }
        CheckSpec::Heartbeat(_) => return Ok(None),
    }))
}

impl Probe {
    /// Runs the probe once. Never takes longer than `timeout` (plus scheduling noise):
    /// past it the measurement is a failure that says so.
    pub async fn run(&self, timeout: Duration) -> Measurement {
        let started = tokio::time::Instant::now();
        let work = async {
            match &self.0 {
                Kind::Http(p) => p.run(timeout).await,
                Kind::Tcp(p) => p.run(timeout, started + timeout).await,
                Kind::Dns(p) => p.run(timeout).await,
                Kind::Tls(p) => p.run().await,
                Kind::Icmp(p) => p.run(timeout).await,
                Kind::Command(p) => p.run().await,
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(measurement) => measurement,
            Err(_) => Measurement::failure(
                format!("timed out after {}", continuo_core::HumanDuration(timeout)),
                Timings {
                    total_us: micros(started.elapsed()),
                    ..Timings::default()
                },
            ),
        }
    }
}

/// Builds every probe of the catalog to find what cannot be built, and warns about
/// probes that cannot run on this host (ICMP without permission).
pub fn validate(catalog: &Catalog, ctx: &ProbeContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut icmp_checked = None;
    for check in catalog.services.iter().flat_map(|s| &s.checks) {
        if let Err(e) = build(check, ctx) {
            out.push(e.into_diagnostic());
        }
        if let CheckSpec::Icmp(spec) = &check.spec {
            let available = icmp_checked.get_or_insert_with(icmp::available).clone();
            if let Err(reason) = available {
                out.push(
                    Diagnostic::warning(
                        "icmp-unavailable",
                        spec.host.loc.clone(),
                        tr!(
                            "ICMP is unavailable on this host ({reason}): this check will report `unknown`",
                            "ICMP is niet beschikbaar op deze host ({reason}): deze check meldt `unknown`"
                        ),
                        tr!("cannot ping from here", "kan hiervandaan niet pingen"),
                    )
                    .with_help(tr!(
                        "allow unprivileged ICMP (sysctl net.ipv4.ping_group_range) or use a tcp check",
                        "sta ICMP zonder rechten toe (sysctl net.ipv4.ping_group_range) of gebruik een tcp-check"
                    )),
                );
            }
        }
    }
    out
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A measurement from a verdict and a message.
fn measured(
    verdict: Verdict,
    message: impl Into<String>,
    code: Option<i32>,
    timings: Timings,
) -> Measurement {
    Measurement {
        verdict,
        message: message.into(),
        code,
        timings,
    }
}
