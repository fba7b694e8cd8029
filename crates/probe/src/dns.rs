//! The `dns` check kind: a query of one record type, at the system's resolver or a chosen
//! one, with expected values.

use super::net::split_host_port;
use super::{BuildError, measured, micros};
use continuo_core::model::{DnsSpec, RecordType};
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_core::tr;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType as WireType;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::Instant;

pub(crate) struct DnsProbe {
    name: String,
    record_type: WireType,
    resolver: Option<SocketAddr>,
    expect: Vec<String>,
}

impl DnsProbe {
    pub(crate) fn build(spec: &DnsSpec) -> Result<DnsProbe, BuildError> {
        let resolver = match &spec.resolver {
            Some(r) => {
                let addr = split_host_port(&r.value)
                    .and_then(|(host, port)| {
                        host.parse::<IpAddr>()
                            .ok()
                            .map(|ip| SocketAddr::new(ip, port))
                    })
                    .ok_or_else(|| {
                        BuildError::new(
                            &r.loc,
                            tr!(
                                "a resolver is an IP address and port, e.g. \"127.0.0.1:53\"",
                                "een resolver is een IP-adres en poort, bijv. \"127.0.0.1:53\""
                            ),
                        )
                    })?;
                Some(addr)
            }
            None => None,
        };
        Ok(DnsProbe {
            name: spec.name.value.clone(),
            record_type: match spec.record_type {
                RecordType::A => WireType::A,
                RecordType::Aaaa => WireType::AAAA,
                RecordType::Cname => WireType::CNAME,
                RecordType::Mx => WireType::MX,
                RecordType::Ns => WireType::NS,
                RecordType::Txt => WireType::TXT,
            },
            resolver,
            expect: spec.expect.iter().map(|e| normalize(e)).collect(),
        })
    }

    pub(crate) async fn run(&self, timeout: Duration) -> Measurement {
        let started = Instant::now();
        let mut timings = Timings::default();
        let builder = match self.resolver {
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                hickory_resolver::Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => match hickory_resolver::Resolver::builder_tokio() {
                Ok(b) => b,
                Err(e) => return Measurement::failure(format!("no system resolver: {e}"), timings),
            },
        };
        let mut builder = builder;
        // A probe measures the resolver now: no cache, one attempt within the timeout.
        let options = builder.options_mut();
        options.cache_size = 0;
        options.attempts = 1;
        options.timeout = timeout;
        let resolver = match builder.build() {
            Ok(r) => r,
            Err(e) => {
                return Measurement::failure(format!("cannot set up the resolver: {e}"), timings);
            }
        };
        let result = resolver.lookup(self.name.as_str(), self.record_type).await;
        timings.dns_us = Some(micros(started.elapsed()));
        timings.total_us = micros(started.elapsed());
        let lookup = match result {
            Ok(lookup) => lookup,
            Err(e) => {
                return measured(
                    Verdict::Failure,
                    format!("{} {} lookup failed: {e}", self.name, self.record_type),
                    None,
                    timings,
                );
            }
        };
        let answers: Vec<String> = lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == self.record_type)
            .map(|r| normalize(&r.data.to_string()))
            .collect();
        if answers.is_empty() {
            return measured(
                Verdict::Failure,
                format!("no {} records for {}", self.record_type, self.name),
                None,
                timings,
            );
        }
        let missing: Vec<&String> = self
            .expect
            .iter()
            .filter(|e| !answers.contains(e))
            .collect();
        if !missing.is_empty() {
            return measured(
                Verdict::Failure,
                format!(
                    "answer {} lacks {}",
                    answers.join(", "),
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
                timings,
            );
        }
        measured(
            Verdict::Success,
            format!(
                "{} {} = {}",
                self.name,
                self.record_type,
                answers.join(", ")
            ),
            None,
            timings,
        )
    }
}

/// Compares names without the trailing dot and case, and TXT without quotes.
fn normalize(value: &str) -> String {
    value
        .trim()
        .trim_matches('"')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}
