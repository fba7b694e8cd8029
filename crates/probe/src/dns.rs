//! The `dns` check kind: a query of one record type, at the system's resolver or a chosen
//! one, with expected values.

use super::net::split_host_port;
use super::{BuildError, measured, micros};
use continuo_core::catalog::{DnsSpec, RecordType};
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_core::tr;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
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
                let (message, rcode) = self.describe(&e);
                return measured(Verdict::Failure, message, rcode, timings);
            }
        };
        let answers: Vec<String> = lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == self.record_type)
            .map(|r| normalize(&r.data.to_string()))
            .collect();
        // An answer came, so the response code was NOERROR.
        let rcode = Some(0);
        if answers.is_empty() {
            return measured(
                Verdict::Failure,
                format!("no {} records for {}", self.record_type, self.name),
                rcode,
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
                rcode,
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
            rcode,
            timings,
        )
    }

    /// A failed lookup in words, with the DNS response code when the resolver answered.
    /// hickory's own text for "no records" prints its query structure for debugging.
    fn describe(&self, e: &NetError) -> (String, Option<i32>) {
        let (name, record_type) = (&self.name, self.record_type);
        match e {
            NetError::Dns(DnsError::NoRecordsFound(none)) => {
                let rcode = none.response_code;
                let message = match rcode {
                    ResponseCode::NXDomain => format!("{name} does not exist (NXDOMAIN)"),
                    ResponseCode::NoError => {
                        format!("no {record_type} records for {name}, though the name exists")
                    }
                    other => format!("no {record_type} records for {name} ({other})"),
                };
                (message, Some(i32::from(u16::from(rcode))))
            }
            NetError::Dns(DnsError::ResponseCode(rcode)) => (
                format!("{name} {record_type}: the resolver answered {rcode}"),
                Some(i32::from(u16::from(*rcode))),
            ),
            other => (format!("{name} {record_type} lookup failed: {other}"), None),
        }
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
