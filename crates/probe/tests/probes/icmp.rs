//! The `icmp` kind. Whether this process may send ICMP depends on the host (privileges,
//! `net.ipv4.ping_group_range`), so these tests accept either outcome the probe
//! documents, and check that the probe and `validate` agree on which one this host has.

use crate::support::{TIMEOUT, check, config};
use continuo_core::Severity;
use continuo_core::load_text;
use continuo_core::state::Verdict;
use continuo_probe::ProbeContext;

const ICMP_CHECK: &str = "kind = \"icmp\"\nhost = \"127.0.0.1\"";

#[tokio::test]
async fn loopback_answers_or_icmp_is_unavailable() {
    let probe = continuo_probe::build(&check(ICMP_CHECK), &ProbeContext::new("."))
        .expect("builds")
        .expect("active");
    let m = probe.run(TIMEOUT).await;
    match m.verdict {
        Verdict::Success => {
            assert!(m.message.contains("echo reply from 127.0.0.1"), "{m:?}");
            assert!(m.timings.first_byte_us.is_some(), "{m:?}");
        }
        // Never a failure: without ICMP we cannot tell whether the target is down.
        Verdict::Unknown => assert!(m.message.contains("ICMP unavailable"), "{m:?}"),
        _ => panic!("expected up or unknown for 127.0.0.1: {m:#?}"),
    }

    // `validate` warns exactly when the probe cannot run here.
    let catalog = load_text(&config(ICMP_CHECK)).expect("valid config");
    let diagnostics = continuo_probe::validate(&catalog, &ProbeContext::new("."));
    let warnings: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.code == "icmp-unavailable")
        .collect();
    if m.verdict == Verdict::Unknown {
        assert_eq!(warnings.len(), 1, "{diagnostics:#?}");
        assert_eq!(warnings[0].severity, Severity::Warning);
        assert!(
            warnings[0].message.en.contains("ICMP is unavailable"),
            "{:?}",
            warnings[0].message
        );
    } else {
        assert!(warnings.is_empty(), "{diagnostics:#?}");
    }
}

#[test]
fn validate_works_outside_a_runtime() {
    // `continuo check` validates without a tokio runtime; the ICMP check must not panic.
    let catalog = load_text(&config(ICMP_CHECK)).expect("valid config");
    let diagnostics = continuo_probe::validate(&catalog, &ProbeContext::new("."));
    assert!(
        diagnostics
            .iter()
            .all(|d| d.code == "icmp-unavailable" && d.severity == Severity::Warning),
        "{diagnostics:#?}"
    );
}
