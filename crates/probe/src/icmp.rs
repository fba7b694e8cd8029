//! The `icmp` check kind: one echo request. Where the operating system refuses ICMP
//! sockets to this process, the verdict is `unknown` with that reason, never a failure:
//! we cannot tell whether the target is down.

use super::net::resolve;
use super::{measured, micros};
use continuo_core::catalog::IcmpSpec;
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence};
use tokio::time::Instant;

pub(crate) struct IcmpProbe {
    host: String,
}

/// Identifiers for echo requests, so concurrent probes do not take each other's replies.
static NEXT_ID: AtomicU16 = AtomicU16::new(1);

impl IcmpProbe {
    pub(crate) fn build(spec: &IcmpSpec) -> IcmpProbe {
        IcmpProbe {
            host: spec.host.value.clone(),
        }
    }

    pub(crate) async fn run(&self, timeout: Duration) -> Measurement {
        let started = Instant::now();
        let mut timings = Timings::default();
        let (addr, dns) = match resolve(&self.host, 0).await {
            Ok(r) => r,
            Err(e) => return Measurement::failure(e, timings),
        };
        timings.dns_us = dns;
        let config = match addr.ip() {
            IpAddr::V4(_) => Config::default(),
            IpAddr::V6(_) => Config::builder().kind(ICMP::V6).build(),
        };
        let client = match Client::new(&config) {
            Ok(c) => c,
            Err(e) => {
                timings.total_us = micros(started.elapsed());
                return measured(
                    Verdict::Unknown,
                    format!("ICMP unavailable: {e}"),
                    None,
                    timings,
                );
            }
        };
        let id = PingIdentifier(NEXT_ID.fetch_add(1, Ordering::Relaxed));
        let mut pinger = client.pinger(addr.ip(), id).await;
        pinger.timeout(timeout);
        let result = pinger.ping(PingSequence(0), &[0u8; 16]).await;
        timings.total_us = micros(started.elapsed());
        match result {
            Ok((_, rtt)) => {
                timings.first_byte_us = Some(micros(rtt));
                measured(
                    Verdict::Success,
                    format!("echo reply from {} in {} us", addr.ip(), rtt.as_micros()),
                    None,
                    timings,
                )
            }
            Err(e) => {
                Measurement::failure(format!("no echo reply from {}: {e}", addr.ip()), timings)
            }
        }
    }
}

/// Whether this process may open ICMP sockets; the error says why not.
pub(crate) fn available() -> Result<(), String> {
    let attempt = || {
        Client::new(&Config::default())
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        return attempt();
    }
    // Outside a runtime (as in `continuo check`) the socket still needs a reactor.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async { attempt() })
}
