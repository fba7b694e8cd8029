//! `continuo demo --headless`: the real binary plays each scenario on 127.0.0.1 and its
//! summary shows what was measured. The default plays the whole cycle: a failover
//! without failed requests, an incident opened and resolved, notifications delivered and
//! a postmortem on disk.

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary and the tools it works with"
)]

use std::process::Command;
use std::sync::Mutex;

/// One demo at a time: each runs its own Continuo, gateway and customers, and the
/// scenarios' measurements mean more on a machine that is not also running four others.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `continuo demo --headless` with `args`; gives the summary (the lines after its
/// heading) and the demo folder.
fn play(args: &[&str], heading: &str) -> (String, tempfile::TempDir) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["demo", "--headless", "--for", "90s"])
        .args(args)
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("run continuo demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let summary = stdout
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{stdout}"))
        .to_string();
    (summary, dir)
}

/// The summary line starting with `label`, without it.
fn line<'a>(summary: &'a str, label: &str) -> &'a str {
    summary
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` line:\n{summary}"))
}

/// The number after `key` in `text` (such as `failed requests: 3`).
fn number(text: &str, key: &str) -> u64 {
    let rest = text
        .split_once(key)
        .unwrap_or_else(|| panic!("no `{key}` in {text}"))
        .1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{key}` in {text}"))
}

/// The postmortem the summary points at.
fn postmortem(summary: &str) -> String {
    let path = line(summary, "postmortem: ");
    std::fs::read_to_string(path.trim()).expect("the postmortem file")
}

#[test]
fn the_headless_demo_plays_the_whole_continuity_cycle() {
    let (summary, dir) = play(&["--lang", "en"], "Summary");
    let failover = line(&summary, "failover: ");
    assert_eq!(
        number(failover, "failed requests: "),
        0,
        "a failover without customer errors:\n{summary}"
    );
    assert!(
        number(failover, "of ") > 0,
        "customers were shopping: {failover}"
    );
    let incident = line(&summary, "incident: ");
    assert!(
        incident.contains("root cause orders-db") && incident.contains("resolved after"),
        "{incident}"
    );
    assert!(
        number(&summary, "notifications delivered: ") > 0,
        "{summary}"
    );
    let text = postmortem(&summary);
    assert!(
        text.contains("## Timeline") && text.contains("Order database"),
        "{text}"
    );
    assert!(summary.contains("demo completed"), "{summary}");
    the_story_is_evidence(dir.path());
}

/// After the story, `continuo posture` shows its proof: the web shop's redundancy met
/// by the failover (its duration) and its RTO met by the incident (the measured
/// recovery), each linked to its source; what nothing proved is unproven.
fn the_story_is_evidence(dir: &std::path::Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["posture", "--format", "json", "-c"])
        .arg(dir.join("continuo.toml"))
        .output()
        .expect("run continuo posture");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let posture: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let verdict = |subject: &str, claim: &str| {
        posture["verdicts"]
            .as_array()
            .expect("verdicts")
            .iter()
            .find(|v| v["subject"] == subject && v["claim"] == claim)
            .unwrap_or_else(|| panic!("no {claim} claim of {subject}:\n{stdout}"))
            .clone()
    };
    let redundancy = verdict("service:webshop", "redundancy");
    assert_eq!(redundancy["state"], "met", "{redundancy:#}");
    assert_eq!(redundancy["source_kind"], "failover", "{redundancy:#}");
    assert_eq!(redundancy["value"]["unit"], "ms", "{redundancy:#}");
    assert!(
        redundancy["value"]["value"]
            .as_f64()
            .is_some_and(|ms| ms >= 0.0),
        "the failover's duration: {redundancy:#}"
    );
    assert_eq!(
        redundancy["link"], "/api/v1/services/webshop/events",
        "{redundancy:#}"
    );
    let rto = verdict("service:webshop", "rto");
    assert_eq!(rto["state"], "met", "{rto:#}");
    assert_eq!(rto["source_kind"], "incident", "{rto:#}");
    assert_eq!(rto["source_id"], "INC-1", "{rto:#}");
    assert_eq!(rto["link"], "/incidents/INC-1", "{rto:#}");
    assert_eq!(rto["target"]["value"], 15.0 * 60_000.0, "the RTO: {rto:#}");
    let took = rto["value"]["value"].as_f64().expect("a measured recovery");
    assert!(
        took > 0.0 && took < 15.0 * 60_000.0,
        "measured recovery within the RTO: {rto:#}"
    );
    // Claims nothing in the story proved.
    for (subject, claim) in [
        ("service:webshop", "escalation_reachable"),
        ("service:backups", "rto"),
        ("organization", "plan_reviewed"),
    ] {
        let v = verdict(subject, claim);
        assert_eq!(v["state"], "unproven", "{v:#}");
        assert_eq!(v["evidence_id"], serde_json::Value::Null, "{v:#}");
    }
}

#[test]
fn the_failover_scenario_fails_over_and_back_without_errors_or_pages() {
    let (summary, _dir) = play(&["--scenario", "failover", "--lang", "en"], "Summary");
    let failover = line(&summary, "failover: ");
    assert_eq!(number(failover, "failed requests: "), 0, "{summary}");
    assert_eq!(number(failover, "pages: "), 0, "{summary}");
    let failback = line(&summary, "failback: ");
    assert_eq!(number(failback, "failed requests: "), 0, "{summary}");
    assert_eq!(number(failback, "pages: "), 0, "{summary}");
    // failback_after is 3 s: the gateway waits for a primary that stays healthy.
    let after: f64 = failback
        .split_once("to the primary ")
        .and_then(|(_, rest)| rest.split_once(" s after"))
        .and_then(|(secs, _)| secs.parse().ok())
        .unwrap_or_else(|| panic!("no failback time: {failback}"));
    assert!(
        after >= 3.0,
        "failed back before failback_after: {failback}"
    );
    assert_eq!(number(&summary, "notifications delivered: "), 0);
    assert!(!summary.contains("incident: "), "{summary}");
}

#[test]
fn the_outage_scenario_groups_the_incident_under_its_root_cause() {
    let (summary, _dir) = play(&["--scenario", "outage", "--lang", "en"], "Summary");
    assert!(!summary.contains("failover: "), "{summary}");
    let incident = line(&summary, "incident: ");
    assert!(
        incident.contains("root cause orders-db") && incident.contains("resolved after"),
        "{incident}"
    );
    assert!(number(&summary, "notifications delivered: ") > 0);
    let text = postmortem(&summary);
    assert!(
        text.contains("Web shop") && text.contains("Payments"),
        "{text}"
    );
}

#[test]
fn the_backup_scenario_notices_a_hanging_job_and_weighs_the_data_loss() {
    let (summary, _dir) = play(&["--scenario", "backup", "--lang", "en"], "Summary");
    let missed = line(&summary, "missed backup: ");
    let noticed: f64 = missed
        .strip_prefix("noticed ")
        .and_then(|rest| rest.split_once(" s after"))
        .and_then(|(secs, _)| secs.parse().ok())
        .unwrap_or_else(|| panic!("no time to notice: {missed}"));
    // Grace is 5 s: a job still running within it is not a missed heartbeat.
    assert!(
        noticed >= 5.0,
        "noticed before the grace time ended: {missed}"
    );
    assert!(missed.contains("within the RPO of 30.0 s"), "{missed}");
    let incident = line(&summary, "incident: ");
    assert!(
        incident.contains("root cause backups") && incident.contains("resolved after"),
        "{incident}"
    );
    assert!(number(&summary, "notifications delivered: ") > 0);
    assert!(postmortem(&summary).contains("Order backup"));
}

#[test]
fn the_maintenance_scenario_pages_nobody_and_speaks_dutch() {
    let (summary, _dir) = play(
        &["--scenario", "maintenance", "--lang", "nl"],
        "Samenvatting",
    );
    let maintenance = line(&summary, "onderhoud: ");
    assert!(
        maintenance.contains("statuspagina toonde under_maintenance"),
        "{maintenance}"
    );
    assert_eq!(number(maintenance, "oproepen: "), 0, "{summary}");
    // Seconds in Dutch notation: a decimal comma.
    let down = maintenance
        .strip_prefix("betaaldienst ")
        .and_then(|rest| rest.split_once(" s uit"))
        .map(|(secs, _)| secs)
        .unwrap_or_else(|| panic!("no time down: {maintenance}"));
    assert!(
        down.contains(',') && !down.contains('.'),
        "{down} in {maintenance}"
    );
    assert_eq!(number(&summary, "meldingen afgeleverd: "), 0);
    assert!(summary.contains("demo voltooid"), "{summary}");
}

#[test]
fn an_unknown_scenario_is_a_usage_error_naming_the_choices() {
    let out = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["demo", "--scenario", "meteor"])
        .output()
        .expect("run continuo demo");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["full", "failover", "outage", "backup", "maintenance"] {
        assert!(stderr.contains(name), "{stderr}");
    }
}

/// Without `--dir` the demo works in a temporary folder of its own and removes it when
/// done, unless `--keep` asks to keep it.
#[test]
fn the_demo_removes_its_temporary_folder_unless_asked_to_keep_it() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for keep in [false, true] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_continuo"));
        command
            .args([
                "demo",
                "--headless",
                "--for",
                "90s",
                "--scenario",
                "failover",
            ])
            .env("TMPDIR", tmp.path());
        if keep {
            command.arg("--keep");
        }
        let out = command.output().expect("run continuo demo");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("read the temporary folder")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("continuo-demo-"))
            .collect();
        if keep {
            assert_eq!(left.len(), 1, "kept: {left:?}\n{stdout}");
            assert!(
                tmp.path().join(&left[0]).join("continuo.toml").exists(),
                "{stdout}"
            );
        } else {
            assert!(left.is_empty(), "left behind: {left:?}\n{stdout}");
            assert!(stdout.contains("(--keep keeps them)"), "{stdout}");
        }
    }
}
