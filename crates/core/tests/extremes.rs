//! Validation is the contract (issue 16): whatever `check` accepts must run. Extreme but
//! valid values — every duration from zero to the century `HumanDuration::MAX`, the
//! longest rotation, the most repeats — go through on-call, escalation, maintenance,
//! heartbeats and the posture at instants from now to a century ahead. The property is
//! that each answers (or answers "none") instead of panicking; the catalog must load.

mod common;

use common::T0;
use continuo_core::alerting::{AlertBook, Context};
use continuo_core::catalog::CheckSpec;
use continuo_core::heartbeat::{HeartbeatSchedule, PingHistory};
use continuo_core::state::{CheckStatus, Health, ServiceHealth};
use continuo_core::{evidence, load_text, maintenance, oncall};
use proptest::prelude::*;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
/// A century, as `HumanDuration::MAX` (36,525 days).
const CENTURY_MS: i64 = 36_525 * DAY_MS;

/// A duration as the configuration writes it, from zero to the century.
fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0s".to_string()),
        Just("1ms".to_string()),
        Just("36525d".to_string()),
        Just("5217w".to_string()),
        (1u64..=36_525).prop_map(|d| format!("{d}d")),
        (1u64..=3_155_760_000).prop_map(|s| format!("{s}s")),
    ]
}

/// A positive duration (where zero is refused).
fn positive() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1ms".to_string()),
        Just("36525d".to_string()),
        (1u64..=36_525).prop_map(|d| format!("{d}d")),
    ]
}

#[derive(Debug, Clone)]
struct Extremes {
    rotation_days: u64,
    after: String,
    repeat: u32,
    reminder: String,
    rto: String,
    slo_window: String,
    review_every: String,
    period: String,
    grace: String,
    maintenance: String,
}

fn extremes() -> impl Strategy<Value = Extremes> {
    (
        (1u64..=366),
        duration(),
        0u32..=100,
        positive(),
        positive(),
        positive(),
        positive(),
        positive(),
        duration(),
        positive(),
    )
        .prop_map(
            |(
                rotation_days,
                after,
                repeat,
                reminder,
                rto,
                slo_window,
                review_every,
                period,
                grace,
                maintenance,
            )| Extremes {
                rotation_days,
                after,
                repeat,
                reminder,
                rto,
                slo_window,
                review_every,
                period,
                grace,
                maintenance,
            },
        )
}

fn config(e: &Extremes) -> String {
    let rota = common::people_and_rota("pager", "pager").replace(
        "rotation = \"1w\"",
        &format!("rotation = \"{}d\"", e.rotation_days),
    );
    format!(
        r#"[organization]
name = "Acme"
timezone = "Europe/Amsterdam"
reviewed = "2026-01-01"
review_every = "{review}"

{rota}
[[escalation]]
id = "pager"
repeat = {repeat}
reminder = "{reminder}"
levels = [{{ after = "0m", notify = ["schedule:web-primary"] }}, {{ after = "{after}", notify = ["person:chen"] }}]

[[maintenance]]
id = "nightly"
title = "Nightly"
services = ["shop"]
schedule = "0 2 * * *"
duration = "{maintenance}"

[[service]]
id = "shop"
name = "Shop"
tier = 1
owner = "web"
rto = "{rto}"
rpo = "{rto}"
slo = "99.9%"
slo_window = "{slo_window}"
runbook = {{ path = "r.md", review_every = "{review}", reviewed = "2026-01-01" }}
[[service.check]]
id = "shop-tcp"
kind = "tcp"
target = "127.0.0.1:9"

[[service.check]]
id = "shop-backup"
kind = "heartbeat"
uuid = "0a6d1d44-5c1e-4b8e-9d7e-2f3c4b5a6d7e"
period = "{period}"
grace = "{grace}"
"#,
        review = e.review_every,
        repeat = e.repeat,
        reminder = e.reminder,
        after = e.after,
        maintenance = e.maintenance,
        rto = e.rto,
        slo_window = e.slo_window,
        period = e.period,
        grace = e.grace,
    )
}

fn health(down: bool) -> BTreeMap<String, ServiceHealth> {
    let (health, own) = if down {
        (Health::Down, CheckStatus::Down)
    } else {
        (Health::Operational, CheckStatus::Up)
    };
    BTreeMap::from([(
        "shop".to_string(),
        ServiceHealth {
            health,
            own,
            root_causes: Vec::new(),
            failing_since_ms: None,
        },
    )])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn extreme_valid_configurations_never_panic(e in extremes()) {
        let catalog = load_text(&config(&e))
            .unwrap_or_else(|errors| panic!("valid by construction: {errors:?}\n{e:?}"));
        let instants = [T0, T0 + DAY_MS, T0 + CENTURY_MS / 2, T0 + CENTURY_MS];
        // On-call: who is on now, and the next hand-offs.
        for schedule in &catalog.schedules {
            for &at in &instants {
                let _ = oncall::on_call_at(schedule, "Europe/Amsterdam", at);
                let _ = oncall::upcoming(schedule, "Europe/Amsterdam", at, 3);
            }
        }
        // Maintenance now and ahead.
        for &at in &instants {
            let _ = maintenance::active(&catalog, &[], at);
            let _ = maintenance::scheduled(&catalog, &[], at, CENTURY_MS, 3);
        }
        // Heartbeats: the next deadline after a start and after a success.
        for check in catalog.services.iter().flat_map(|s| &s.checks) {
            if let CheckSpec::Heartbeat(spec) = &check.spec {
                let schedule = HeartbeatSchedule::new(spec, "Europe/Amsterdam")
                    .expect("a periodic heartbeat has a schedule");
                for &at in &instants {
                    let _ = schedule.deadline(&PingHistory {
                        since_ms: at,
                        last_success_ms: Some(at),
                        running_since_ms: Some(at),
                    });
                }
            }
        }
        // Escalation: down, every level and repeat, a reminder, acknowledge and resolve.
        let mut book = AlertBook::default();
        let settle = |_: &str| 0;
        let group_wait = |_: &str| 0;
        let summary = |s: &str| format!("{s} is down");
        for (i, &at) in instants.iter().enumerate() {
            let ctx = Context {
                catalog: &catalog,
                now_ms: at,
                maintenance: &[],
                settle_ms: &settle,
                summary: &summary,
                group_wait_ms: &group_wait,
            };
            let _ = book.observe(&ctx, &health(i % 2 == 0));
            let _ = book.tick(&ctx);
            let ids: Vec<String> = book.alerts.keys().cloned().collect();
            for id in ids {
                let _ = book.acknowledge(&ctx, &id, "anna");
                let _ = book.tick(&ctx);
                let _ = book.resolve(&ctx, &id, "api");
            }
        }
        // The posture, now and a century on.
        for &at in &instants {
            let posture = evidence::posture(&catalog, &[], &[], at);
            prop_assert!(!posture.verdicts.is_empty());
        }
    }
}
