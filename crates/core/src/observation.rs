//! Observations: one result of running a check, with its phase timings.

use crate::state::Verdict;
use serde::{Deserialize, Serialize};

/// How long each phase of a probe took, in microseconds. A phase that did not happen (no
/// DNS for an IP literal, no TLS for plain HTTP) is `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Name resolution.
    pub dns_us: Option<u64>,
    /// TCP connect.
    pub connect_us: Option<u64>,
    /// TLS handshake.
    pub tls_us: Option<u64>,
    /// From sending the request to the first byte of the response.
    pub first_byte_us: Option<u64>,
    /// The whole probe.
    pub total_us: u64,
}

/// What a probe measured: the verdict, why, and how long it took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// Success, degraded, failure or unknown.
    pub verdict: Verdict,
    /// Why (failure reason, or a short summary of the success), in English: it comes
    /// from the target or the operating system as often as from us.
    pub message: String,
    /// Protocol status, where there is one (HTTP status, exit code, DNS rcode).
    pub code: Option<i32>,
    /// Phase timings.
    pub timings: Timings,
}

impl Measurement {
    /// A failure with a reason.
    pub fn failure(message: impl Into<String>, timings: Timings) -> Measurement {
        Measurement {
            verdict: Verdict::Failure,
            message: message.into(),
            code: None,
            timings,
        }
    }
}

/// One measurement of one check at one location and time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The check.
    pub check_id: String,
    /// Where it was measured from.
    pub location: String,
    /// When the probe started (UTC unix milliseconds).
    pub at_ms: i64,
    /// What was measured.
    #[serde(flatten)]
    pub measurement: Measurement,
}
