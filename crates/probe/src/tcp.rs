//! The `tcp` check kind: connect, and optionally send something and expect a reply.

use super::net::{connect, resolve, split_host_port};
use super::{BuildError, measured, micros};
use continuo_core::catalog::TcpSpec;
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_core::{HumanDuration, tr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Most bytes read while waiting for the expected reply.
const MAX_REPLY: usize = 64 * 1024;

pub(crate) struct TcpProbe {
    host: String,
    port: u16,
    send: Option<Vec<u8>>,
    expect: Option<Vec<u8>>,
}

impl TcpProbe {
    pub(crate) fn build(spec: &TcpSpec) -> Result<TcpProbe, BuildError> {
        let (host, port) = split_host_port(&spec.target.value).ok_or_else(|| {
            BuildError::new(
                &spec.target.loc,
                tr!("expected host:port", "verwacht host:poort"),
            )
        })?;
        Ok(TcpProbe {
            host,
            port,
            // Configs write "\r\n" as TOML escapes; what arrives here are real bytes.
            send: spec.send.as_ref().map(|s| s.as_bytes().to_vec()),
            expect: spec.expect_reply.as_ref().map(|s| s.as_bytes().to_vec()),
        })
    }

    /// Runs once. `deadline` is when the caller gives up (after `timeout`): waiting for
    /// the reply stops there, so a service that answers something else and keeps the
    /// connection open is reported with what it said, not as a bare timeout.
    pub(crate) async fn run(&self, timeout: Duration, deadline: Instant) -> Measurement {
        let started = Instant::now();
        let mut timings = Timings::default();
        let finish = |mut timings: Timings, verdict, message: String| {
            timings.total_us = micros(started.elapsed());
            measured(verdict, message, None, timings)
        };
        let (addr, dns) = match resolve(&self.host, self.port).await {
            Ok(r) => r,
            Err(e) => return finish(timings, Verdict::Failure, e),
        };
        timings.dns_us = dns;
        let (mut stream, connect_us) = match connect(addr).await {
            Ok(r) => r,
            Err(e) => return finish(timings, Verdict::Failure, e),
        };
        timings.connect_us = Some(connect_us);
        if let Some(send) = &self.send
            && let Err(e) = stream.write_all(send).await
        {
            return finish(timings, Verdict::Failure, format!("cannot send: {e}"));
        }
        let Some(expect) = &self.expect else {
            return finish(timings, Verdict::Success, format!("connected to {addr}"));
        };
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        let sent_at = Instant::now();
        loop {
            // The same deadline as the caller's: when both have passed, this inner one is
            // polled first and its measurement wins.
            let Ok(read) = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await else {
                let got = shown(&received);
                return finish(
                    timings,
                    Verdict::Failure,
                    format!(
                        "timed out after {} waiting for a reply containing {:?}; got {got}",
                        HumanDuration(timeout),
                        String::from_utf8_lossy(expect)
                    ),
                );
            };
            match read {
                Ok(0) => break,
                Ok(n) => {
                    if timings.first_byte_us.is_none() {
                        timings.first_byte_us = Some(micros(sent_at.elapsed()));
                    }
                    received.extend_from_slice(&buffer[..n]);
                    if contains(&received, expect) {
                        return finish(
                            timings,
                            Verdict::Success,
                            format!("{addr} replied as expected"),
                        );
                    }
                    if received.len() >= MAX_REPLY {
                        break;
                    }
                }
                Err(e) => {
                    return finish(timings, Verdict::Failure, format!("cannot read reply: {e}"));
                }
            }
        }
        let got = shown(&received);
        finish(
            timings,
            Verdict::Failure,
            format!(
                "reply does not contain {:?}; got {got}",
                String::from_utf8_lossy(expect)
            ),
        )
    }
}

/// The start of what was received, for a message.
fn shown(received: &[u8]) -> String {
    if received.is_empty() {
        return "nothing".into();
    }
    format!(
        "{:?}",
        String::from_utf8_lossy(&received[..received.len().min(200)])
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
