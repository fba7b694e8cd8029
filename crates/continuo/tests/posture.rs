//! `continuo posture`, `continuo evidence` and `continuo report availability` as an
//! operator runs them: the real binary on a temporary configuration with a SQLite
//! store, its exit statuses and its errors, in both languages. The month report reads
//! day rollups written here through the store's writer, with a known outage and a day
//! without data.

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary"
)]

mod common;

use common::workspace;
use continuo_core::observation::{Measurement, Observation, Timings};
use continuo_core::state::Verdict;
use continuo_store::Store;
use continuo_store::writer::{Record, Writer, WriterConfig};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const MIN: i64 = 60_000;
const DAY: i64 = 24 * 60 * MIN;
/// 2026-11-01T00:00:00Z.
const NOV: i64 = 1_793_491_200_000;

/// Two tier-3 services (no runbook claim without a runbook) and no escalation, so an
/// empty store proves nothing: every claim is unproven.
const CONFIG: &str = r#"
[organization]
name = "Posture Test"
timezone = "UTC"

[server]
database = "sqlite://state/continuo.db"

[[team]]
id = "ops"

[[service]]
id = "shop"
name = "Web shop"
tier = 3
owner = "ops"
rto = "1h"
rpo = "15m"
slo = "99.9%"
[[service.check]]
id = "shop-http"
kind = "tcp"
target = "127.0.0.1:9"

[[service]]
id = "wiki"
name = "Wiki"
tier = 4
owner = "ops"
rto = "1d"
"#;

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_continuo"));
    c.args(args)
        .current_dir(dir)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("CONTINUO_LANG")
        .env_remove("CONTINUO_CONFIG")
        .env_remove("CONTINUO_DATABASE")
        .env("USER", "tester")
        .env("NO_COLOR", "1");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args)
        .output()
        .expect("the continuo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and expects exit status `code`; returns stdout.
fn expect(dir: &Path, args: &[&str], code: i32) -> String {
    let out = run(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs, expects failure (status 1) and returns stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = expect(dir, args, 0);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}):\n{out}"))
}

fn verdict<'a>(posture: &'a Value, subject: &str, claim: &str) -> &'a Value {
    posture["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["subject"] == subject && v["claim"] == claim)
        .unwrap_or_else(|| panic!("no {claim} verdict for {subject} in {posture:#}"))
}

#[test]
fn an_empty_store_leaves_every_claim_unproven() {
    let dir = workspace(CONFIG);
    let d = dir.path();
    let posture = json(d, &["posture", "--format", "json"]);
    let verdicts = posture["verdicts"].as_array().expect("verdicts");
    let claims: Vec<String> = verdicts
        .iter()
        .map(|v| format!("{} {}", v["subject"].as_str().unwrap_or(""), v["claim"]))
        .collect();
    assert_eq!(
        claims,
        [
            "service:shop \"rto\"",
            "service:shop \"rpo\"",
            "service:shop \"availability\"",
            "service:wiki \"rto\"",
            "organization \"plan_reviewed\"",
        ]
    );
    for v in verdicts {
        assert_eq!(v["state"], "unproven", "{v:#}");
        assert_eq!(v["evidence_id"], Value::Null, "{v:#}");
    }
    assert_eq!(
        verdict(&posture, "service:shop", "rto")["target"]["value"],
        3_600_000.0
    );
    // Unproven fails no gate; the table and the Markdown say the same in words.
    expect(d, &["posture", "--fail-on", "stale"], 0);
    let table = expect(d, &["posture"], 0);
    assert!(table.contains("Web shop (shop, tier 3)"), "{table}");
    assert!(table.contains("unproven"), "{table}");
    assert!(
        !table.contains('\x1b'),
        "no colour when not a terminal:\n{table}"
    );
    let nl = expect(d, &["posture", "--format", "markdown", "--lang", "nl"], 0);
    assert!(nl.contains("# Continuïteitspositie: Posture Test"), "{nl}");
    assert!(nl.contains("**onbewezen**"), "{nl}");
    let one = json(d, &["posture", "--service", "wiki", "--format", "json"]);
    assert_eq!(one["verdicts"].as_array().map(Vec::len), Some(1), "{one:#}");
}

#[test]
fn manual_evidence_meets_its_claim_and_gates_fail_on_breached_or_stale() {
    let dir = workspace(CONFIG);
    let d = dir.path();
    let added = expect(
        d,
        &[
            "evidence",
            "add",
            "--claim",
            "rto",
            "--subject",
            "service:shop",
            "--outcome",
            "met",
            "--value",
            "42m",
            "--observed",
            "2026-11-25T10:00:00Z",
            "--note",
            "Restore drill, report in the ISMS",
            "--by",
            "anna",
        ],
        0,
    );
    assert!(
        added.starts_with("recorded rto/service:shop/manual/"),
        "{added}"
    );
    let posture = json(d, &["posture", "--format", "json"]);
    let rto = verdict(&posture, "service:shop", "rto");
    assert_eq!(rto["state"], "met", "{rto:#}");
    assert_eq!(rto["manual"], true);
    assert_eq!(rto["source_kind"], "manual");
    assert_eq!(rto["recorded_by"], "anna");
    assert_eq!(rto["observed_at"], "2026-11-25T10:00:00Z");
    assert_eq!(rto["value"]["value"], 2_520_000.0);
    assert_eq!(rto["value"]["text"], "42 min");
    assert_eq!(rto["note"]["en"], "Restore drill, report in the ISMS");
    assert!(
        rto["age_seconds"].as_i64().is_some_and(|a| a > 0),
        "{rto:#}"
    );
    assert_eq!(posture["readiness"][0]["met"], serde_json::json!(["rto"]));
    // A met claim fails no gate.
    expect(d, &["posture", "--fail-on", "breached"], 0);
    expect(d, &["posture", "--fail-on", "stale"], 0);

    // The RPO proven long ago, outside its year: stale fails the stale gate only.
    expect(
        d,
        &[
            "evidence",
            "add",
            "--claim",
            "rpo",
            "--subject",
            "shop",
            "--outcome",
            "met",
            "--observed",
            "2024-01-15",
            "--note",
            "Audit 2024",
        ],
        0,
    );
    let posture = json(d, &["posture", "--format", "json"]);
    let rpo = verdict(&posture, "service:shop", "rpo");
    assert_eq!(rpo["state"], "stale", "{rpo:#}");
    assert_eq!(rpo["recorded_by"], "tester", "$USER records by default");
    expect(d, &["posture", "--fail-on", "breached"], 0);
    expect(d, &["posture", "--fail-on", "stale"], 1);
    expect(d, &["posture"], 0);

    // A newer record that contradicts the wiki's RTO: breached fails both gates.
    expect(
        d,
        &[
            "evidence",
            "add",
            "--claim",
            "rto",
            "--subject",
            "service:wiki",
            "--outcome",
            "breached",
            "--value",
            "30h",
            "--note",
            "Restore took too long",
        ],
        0,
    );
    expect(d, &["posture", "--fail-on", "breached"], 1);
    expect(d, &["posture", "--fail-on", "stale"], 1);
    // Only the shop: stale, not breached.
    expect(
        d,
        &["posture", "--service", "shop", "--fail-on", "breached"],
        0,
    );

    let list = json(d, &["evidence", "list", "--format", "json"]);
    let records = list["evidence"].as_array().expect("records");
    assert_eq!(records.len(), 3, "{list:#}");
    assert_eq!(records[0]["subject"], "service:wiki", "newest first");
    let only = json(
        d,
        &["evidence", "list", "--claim", "rpo", "--format", "json"],
    );
    assert_eq!(only["evidence"].as_array().map(Vec::len), Some(1));
    let table = expect(d, &["evidence", "list", "--subject", "service:shop"], 0);
    assert!(table.contains("recorded by hand (anna)"), "{table}");
}

#[test]
fn bad_input_is_refused_with_what_and_where() {
    let dir = workspace(CONFIG);
    let d = dir.path();
    let add = |claim: &str, subject: &str| {
        refused(
            d,
            &[
                "evidence",
                "add",
                "--claim",
                claim,
                "--subject",
                subject,
                "--outcome",
                "met",
                "--note",
                "x",
            ],
        )
    };
    let e = add("rtoo", "service:shop");
    assert!(
        e.contains("`rtoo` is not a claim; did you mean `rto`?"),
        "{e}"
    );
    let e = add("rto", "service:shpo");
    assert!(e.contains("no service `shpo`"), "{e}");
    assert!(e.contains("did you mean `shop`?"), "{e}");
    let e = add("redundancy", "service:shop");
    assert!(
        e.contains("service `shop` (continuo.toml:") && e.contains("makes no `redundancy` claim"),
        "{e}"
    );
    assert!(e.contains("its claims: rto, rpo, availability"), "{e}");
    let e = add("rto", "team:ops");
    assert!(e.contains("`team:ops` is not a subject"), "{e}");
    let e = refused(
        d,
        &[
            "evidence",
            "add",
            "--claim",
            "rto",
            "--subject",
            "service:shop",
            "--outcome",
            "met",
            "--value",
            "fast",
            "--note",
            "x",
        ],
    );
    assert!(e.contains("--value `fast` is not a measurement"), "{e}");
    let e = refused(
        d,
        &[
            "evidence",
            "add",
            "--claim",
            "rto",
            "--subject",
            "service:shop",
            "--outcome",
            "met",
            "--observed",
            "2999-01-01",
            "--note",
            "x",
        ],
    );
    assert!(e.contains("is in the future"), "{e}");

    let e = refused(d, &["posture", "--service", "shpo"]);
    assert!(e.contains("did you mean `shop`?"), "{e}");
    let e = refused(d, &["report", "availability", "--month", "2026-13"]);
    assert!(
        e.contains("--month `2026-13` is not a month; write YYYY-MM"),
        "{e}"
    );
    let e = refused(d, &["report", "availability", "--month", "2999-01"]);
    assert!(e.contains("--month `2999-01` has not begun yet"), "{e}");
    let e = refused(
        d,
        &[
            "report",
            "availability",
            "--month",
            "2026-11",
            "--service",
            "wikki",
        ],
    );
    assert!(e.contains("did you mean `wiki`?"), "{e}");
    // The same in Dutch.
    let e = refused(
        d,
        &["--lang", "nl", "report", "availability", "--month", "nov"],
    );
    assert!(e.starts_with("fout: --month `nov` is geen maand"), "{e}");
    let e = refused(d, &["--lang", "nl", "posture", "--service", "shpo"]);
    assert!(e.contains("bedoelde je `shop`?"), "{e}");
    // Nothing was recorded by any of it.
    let list = json(d, &["evidence", "list", "--format", "json"]);
    assert_eq!(list["evidence"].as_array().map(Vec::len), Some(0));
}

fn observation(at_ms: i64, verdict: Verdict) -> Observation {
    Observation {
        check_id: "shop-http".into(),
        location: "local".into(),
        at_ms,
        measurement: Measurement {
            verdict,
            message: String::new(),
            code: None,
            timings: Timings {
                total_us: 1_000,
                ..Timings::default()
            },
        },
    }
}

/// November observed every 10 minutes but on the 10th; on the 3rd three observations
/// failed: 3/144 of a day is exactly 30 minutes down.
fn write_november(db: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = Store::open(&format!("sqlite://{}", db.display()))
            .await
            .expect("store");
        let writer = Writer::spawn(store.clone(), WriterConfig::default());
        for day in 0..30 {
            if day == 9 {
                continue;
            }
            for i in 0..144 {
                let verdict = if day == 2 && i < 3 {
                    Verdict::Failure
                } else {
                    Verdict::Success
                };
                writer.submit(Record::Observation(observation(
                    NOV + day * DAY + i * 10 * MIN,
                    verdict,
                )));
            }
        }
        writer.flush().await;
        assert!(writer.status().healthy(), "{:?}", writer.status());
        store.close().await;
    });
}

#[test]
fn the_month_report_gives_exact_downtime_and_no_data_days() {
    let dir = workspace(CONFIG);
    let d = dir.path();
    write_november(&d.join("state/continuo.db"));

    let report = json(
        d,
        &[
            "report",
            "availability",
            "--month",
            "2026-11",
            "--format",
            "json",
        ],
    );
    assert_eq!(report["from"], "2026-11-01T00:00:00Z");
    let shop = &report["services"][0];
    assert_eq!(shop["service"], "shop");
    assert_eq!(shop["period"]["down_minutes"], 30.0);
    assert_eq!(shop["period"]["days_with_data"], 29);
    assert_eq!(shop["period"]["days_without_data"], 1);
    assert_eq!(shop["period"]["days"][9]["date"], "2026-11-10");
    assert_eq!(shop["period"]["days"][9]["availability"], Value::Null);
    assert_eq!(shop["slo_met"], true);
    assert_eq!(report["services"][1]["period"]["days_with_data"], 0);

    let csv = expect(
        d,
        &[
            "report",
            "availability",
            "--month",
            "2026-11",
            "--service",
            "shop",
            "--format",
            "csv",
        ],
        0,
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].starts_with("2026-11,shop,Web shop,3,99.928,30,29,1,2026-11-10,99.9,met,"),
        "{csv}"
    );

    let md = expect(d, &["report", "availability", "--month", "2026-11"], 0);
    assert!(md.contains("| 2026-11-03 | 97.917 % | 30 |"), "{md}");
    assert!(md.contains("| 2026-11-10 | no data | no data |"), "{md}");
    assert!(md.contains("| Wiki | 4 | no data | no data | 30 |"), "{md}");
    let nl = expect(
        d,
        &[
            "--lang",
            "nl",
            "report",
            "availability",
            "--month",
            "2026-11",
            "--service",
            "shop",
        ],
        0,
    );
    assert!(
        nl.contains("| 2026-11-10 | geen gegevens | geen gegevens |"),
        "{nl}"
    );
}
