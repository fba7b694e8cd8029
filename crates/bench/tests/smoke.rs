//! The benchmark runs end to end on a small workload: every probe succeeds, every
//! ping is stored and every alert arrives once (the binary exits non-zero otherwise). No timing is asserted here;
//! numbers belong in the report, never in tests.

#![allow(
    clippy::disallowed_methods,
    reason = "the smoke test runs the bench binary"
)]

use std::process::Command;

fn bench(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_continuo-bench"))
        .args(args)
        .output()
        .expect("run continuo-bench");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "continuo-bench {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn two_hundred_http_probes_all_succeed() {
    let report = bench(&["--only", "http", "--probes", "200", "--concurrency", "16"]);
    assert!(
        report.contains("| HTTP probes/s (fresh connection per probe, 200 probes) |"),
        "{report}"
    );
    assert!(
        report.contains("| CPU seconds per 1,000 HTTP probes |"),
        "{report}"
    );
}

#[test]
fn every_ping_is_stored() {
    let report = bench(&[
        "--only",
        "pings",
        "--pings",
        "500",
        "--ping-checks",
        "20",
        "--concurrency",
        "8",
    ]);
    assert!(
        report.contains("| Heartbeat pings durably stored/s (500 × `POST /ping/<uuid>`) |"),
        "{report}"
    );
    assert!(report.contains("500 of 500 rows"), "{report}");
}

#[test]
fn every_alert_arrives_exactly_once() {
    // Alertmanager takes part when it is installed (CI installs it); without it the row
    // says "not available" and Continuo's numbers still have to be complete.
    let report = bench(&["--only", "alerting", "--alerts", "50"]);
    assert!(
        report.contains("| Alert latency p50 / p99 (transition → webhook POST, 50 at once) |"),
        "{report}"
    );
    assert!(
        report.contains(
            "| Alerts delivered as one firing notification each (50 at once) | 50 of 50 |"
        ),
        "{report}"
    );
}
