//! `continuo demo --headless`: the real binary plays the whole scenario on 127.0.0.1 and
//! its summary shows a failover without failed requests, an incident opened and
//! resolved, notifications delivered and a postmortem on disk.

use std::process::Command;

#[test]
fn the_headless_demo_plays_the_whole_continuity_cycle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args([
            "demo",
            "--headless",
            "--for",
            "90s",
            "--lang",
            "en",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run continuo demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let summary = stdout
        .split("\nSummary\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    assert!(
        summary.contains("failed requests: 0 "),
        "a failover without customer errors:\n{summary}"
    );
    let incident = summary
        .lines()
        .find(|l| l.trim_start().starts_with("incident: "))
        .unwrap_or_else(|| panic!("no incident line:\n{summary}"));
    assert!(
        incident.contains("root cause orders-db") && incident.contains("resolved after"),
        "{incident}"
    );
    let delivered: usize = summary
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("notifications delivered: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no notification count:\n{summary}"));
    assert!(delivered > 0, "{summary}");
    let postmortem = summary
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("postmortem: "))
        .unwrap_or_else(|| panic!("no postmortem path:\n{summary}"));
    let text = std::fs::read_to_string(postmortem.trim()).expect("the postmortem file");
    assert!(
        text.contains("## Timeline") && text.contains("Order database"),
        "{text}"
    );
    assert!(summary.contains("demo completed"), "{summary}");
}
