//! A sync limited to what a decision changed (`IncidentBook::sync_in` with
//! `Scope::of_change`) must leave the incidents exactly as the whole sync does: the
//! engine runs the narrow one after most decisions, so that a decision's cost follows
//! what changed rather than how much is open. Random sequences of health, inbound
//! alerts, acknowledgements and resolutions are run through both, side by side.

mod common;

use common::{MIN, T0};
use continuo_core::alerting::{AlertBook, AlertState, Context, Inbound};
use continuo_core::catalog::Catalog;
use continuo_core::incident::book::{IncidentBook, IncidentContext, Scope};
use continuo_core::load_text;
use continuo_core::state::{CheckStatus, Health, ServiceHealth};
use proptest::prelude::*;
use std::collections::BTreeMap;

const SERVICES: [&str; 5] = ["db", "shop", "api", "wiki", "mail"];

const CONFIG: &str = r#"[[escalation]]
id = "pager"
levels = [{ after = "0m", notify = ["schedule:web-primary"] }, { after = "5m", notify = ["team:db"] }]

[[channel]]
id = "crisis-room"
kind = "slack"
url = "http://127.0.0.1:9/x"

[[response_plan]]
id = "major"
severity = ["SEV1"]
roles = { incident_commander = "schedule:web-primary", scribe = "person:bram" }
notify = ["channel:crisis-room"]

[status_page]
title = "Acme"

[[service]]
id = "db"
name = "Orders database"
tier = 1
owner = "db"
rto = "30m"

[[service]]
id = "shop"
name = "Webshop"
tier = 1
owner = "web"
rto = "1h"
depends_on = ["db"]
status_page = { component = "Webshop" }

[[service]]
id = "api"
name = "Partner API"
tier = 2
owner = "web"
rto = "2h"
depends_on = ["db"]
status_page = { component = "API" }

[[service]]
id = "wiki"
name = "Wiki"
tier = 4
owner = "web"
rto = "3d"

[[service]]
id = "mail"
name = "Mail"
tier = 3
owner = "web"
rto = "4h"
"#;

#[derive(Clone, Debug)]
enum Step {
    /// Health per service (0 up, 1 down, 2 impacted by db).
    Observe([u8; 5]),
    /// An inbound alert about a service, firing or resolved.
    Inbound(usize, bool),
    /// Acknowledge the n-th open alert.
    Ack(usize),
    /// Resolve the n-th open alert by hand.
    Resolve(usize),
    /// Time passes with no new health (a tick).
    Tick,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::array::uniform5(0u8..3).prop_map(Step::Observe),
        2 => (0usize..5, any::<bool>()).prop_map(|(s, f)| Step::Inbound(s, f)),
        1 => (0usize..4).prop_map(Step::Ack),
        1 => (0usize..4).prop_map(Step::Resolve),
        1 => Just(Step::Tick),
    ]
}

fn health(now: i64, spec: &[u8; 5]) -> BTreeMap<String, ServiceHealth> {
    SERVICES
        .iter()
        .zip(spec)
        .map(|(service, h)| {
            let (health, own) = match h {
                0 => (Health::Operational, CheckStatus::Up),
                1 => (Health::Down, CheckStatus::Down),
                _ => (Health::Impacted, CheckStatus::Down),
            };
            let root_causes = if health == Health::Impacted {
                vec!["db".to_string()]
            } else {
                Vec::new()
            };
            (
                service.to_string(),
                ServiceHealth {
                    health,
                    own,
                    root_causes,
                    failing_since_ms: (health != Health::Operational).then_some(now - MIN),
                },
            )
        })
        .collect()
}

fn catalog() -> Catalog {
    let text = format!("{}{CONFIG}", common::people_and_rota("pager", "pager"));
    load_text(&text).expect("valid config")
}

/// Runs the steps through one alert book and two incident books, one synced whole and
/// one synced within each decision's scope, and compares them after every step.
fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let catalog = catalog();
    let mut alerts = AlertBook::default();
    let mut whole = IncidentBook::default();
    let mut narrow = IncidentBook::default();
    let mut synced_health = BTreeMap::new();
    let settle = |_: &str| 2 * MIN;
    let summary = |s: &str| format!("{s} is not answering");
    let wait = |_: &str| 0;
    let runbook = |_: &str| None;
    let last_good = |_: &str, _: i64| None;
    for (i, step) in steps.iter().enumerate() {
        let now = T0 + i as i64 * 3 * MIN;
        let ctx = Context {
            catalog: &catalog,
            now_ms: now,
            maintenance: &[],
            settle_ms: &settle,
            summary: &summary,
            group_wait_ms: &wait,
        };
        let before = alerts.alerts.clone();
        let open: Vec<String> = alerts
            .alerts
            .values()
            .filter(|a| a.state != AlertState::Resolved)
            .map(|a| a.id.clone())
            .collect();
        match step {
            Step::Observe(spec) => {
                alerts.observe(&ctx, &health(now, spec));
            }
            Step::Inbound(s, firing) => {
                let event = Inbound {
                    source: "alertmanager".into(),
                    key: format!("group|{}", SERVICES[*s]),
                    service: SERVICES[*s].into(),
                    summary: "Replication lag".into(),
                    firing: *firing,
                    started_ms: Some(now - MIN),
                };
                alerts.inbound(&ctx, &event);
            }
            Step::Ack(n) => {
                if let Some(id) = open.get(*n) {
                    let _ = alerts.acknowledge(&ctx, id, "anna");
                }
            }
            Step::Resolve(n) => {
                if let Some(id) = open.get(*n) {
                    let _ = alerts.resolve(&ctx, id, "anna");
                }
            }
            Step::Tick => {
                alerts.tick(&ctx);
            }
        }
        let ictx = IncidentContext {
            catalog: &catalog,
            now_ms: now,
            runbook: &runbook,
            last_good_ms: &last_good,
        };
        let scope = Scope::of_change(&before, &alerts.alerts, &synced_health, &alerts.health);
        synced_health = alerts.health.clone();
        let whole_callouts = whole.sync(&ictx, &alerts);
        let narrow_callouts = narrow.sync_in(&ictx, &alerts, &scope);
        prop_assert_eq!(
            &whole_callouts,
            &narrow_callouts,
            "callouts after step {}",
            i
        );
        prop_assert_eq!(
            &whole.incidents,
            &narrow.incidents,
            "incidents after step {} ({:?})",
            i,
            step
        );
        prop_assert_eq!(
            whole.take_changed(),
            narrow.take_changed(),
            "changed after step {}",
            i
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_sync_within_the_scope_of_a_change_equals_the_whole_sync(
        steps in prop::collection::vec(step(), 1..30)
    ) {
        run(&steps)?;
    }
}

/// The scope names what changed and nothing else: an unchanged book and health give
/// an empty scope, and a service going down names that service.
#[test]
fn the_scope_of_a_change_names_only_what_changed() {
    let catalog = catalog();
    let mut alerts = AlertBook::default();
    let settle = |_: &str| 0;
    let summary = |s: &str| format!("{s} is not answering");
    let wait = |_: &str| 0;
    let ctx = Context {
        catalog: &catalog,
        now_ms: T0,
        maintenance: &[],
        settle_ms: &settle,
        summary: &summary,
        group_wait_ms: &wait,
    };
    let all_up = health(T0, &[0; 5]);
    alerts.observe(&ctx, &all_up);
    let before = alerts.alerts.clone();
    let Scope::Changed {
        alerts: ids,
        services,
    } = Scope::of_change(&before, &alerts.alerts, &all_up, &alerts.health)
    else {
        panic!("a change has a narrow scope");
    };
    assert!(
        ids.is_empty() && services.is_empty(),
        "{ids:?} {services:?}"
    );

    let wiki_down = health(T0, &[0, 0, 0, 1, 0]);
    alerts.observe(&ctx, &wiki_down);
    let Scope::Changed {
        alerts: ids,
        services,
    } = Scope::of_change(&before, &alerts.alerts, &all_up, &alerts.health)
    else {
        panic!("a change has a narrow scope");
    };
    assert_eq!(ids.len(), 1, "the wiki's new alert: {ids:?}");
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        vec!["wiki".to_string()]
    );
}
