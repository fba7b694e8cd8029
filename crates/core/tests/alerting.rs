//! Alerting decisions, data-driven: a catalog, health over time, and the pages that
//! must (and must not) result.

mod common;

use continuo_core::alerting::{
    AlertBook, AlertState, Context, Inbound, Page, PageEvent, Recipient, plan,
};
use continuo_core::catalog::Catalog;
use continuo_core::load_text;
use continuo_core::maintenance::Window;
use continuo_core::state::{CheckStatus, Health, ServiceHealth};
use std::collections::BTreeMap;

use common::{MIN, T0};

/// The organisation, before the shared people and rota.
const HEAD: &str = r#"
[organization]
name = "Acme"
timezone = "UTC"

"#;

/// What this test adds after the people and rota.
const CONFIG: &str = r#"[[escalation]]
id = "web-default"
levels = [
  { after = "0m", notify = ["schedule:web-primary", "channel:ops-chat"] },
  { after = "10m", notify = ["team:web"] },
]

[[escalation]]
id = "db-default"
repeat = 1
reminder = "30m"
levels = [
  { after = "0m", notify = ["person:chen", "channel:ops-chat"] },
  { after = "10m", notify = ["team:web"] },
]

[[channel]]
id = "ops-chat"
kind = "slack"
url = "http://127.0.0.1:9/x"

[[service]]
id = "db"
tier = 1
owner = "db"
rto = "1h"

[[service]]
id = "shop"
tier = 1
owner = "web"
rto = "1h"
depends_on = ["db"]

[[service]]
id = "api"
tier = 2
owner = "web"
rto = "1h"
depends_on = ["db"]
"#;

fn config() -> String {
    format!(
        "{HEAD}{}{CONFIG}",
        common::people_and_rota("web-default", "db-default")
    )
}

fn catalog() -> Catalog {
    load_text(&config()).expect("valid config")
}

/// Health from a compact description: `db=down shop=impacted:db api=up`.
fn health(spec: &str) -> BTreeMap<String, ServiceHealth> {
    spec.split_whitespace()
        .map(|part| {
            let (service, rest) = part.split_once('=').expect("service=health");
            let (h, causes) = rest.split_once(':').unwrap_or((rest, ""));
            let (health, own) = match h {
                "down" => (Health::Down, CheckStatus::Down),
                "impacted" => (Health::Impacted, CheckStatus::Down),
                "up" => (Health::Operational, CheckStatus::Up),
                "unknown" => (Health::Unknown, CheckStatus::Unknown),
                other => panic!("unknown health {other}"),
            };
            let root_causes = causes
                .split(',')
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect();
            (
                service.to_string(),
                ServiceHealth {
                    health,
                    own,
                    root_causes,
                    failing_since_ms: None,
                },
            )
        })
        .collect()
}

struct World {
    catalog: Catalog,
    book: AlertBook,
    maintenance: Vec<Window>,
    /// Grouping wait of services other than `db` (which depends on nothing).
    group_wait: i64,
}

impl World {
    fn new() -> World {
        World {
            catalog: catalog(),
            book: AlertBook::default(),
            maintenance: Vec::new(),
            group_wait: 0,
        }
    }

    fn with<R>(&mut self, now: i64, f: impl FnOnce(&mut AlertBook, &Context<'_>) -> R) -> R {
        let settle = |_: &str| 2 * MIN;
        let summary = |s: &str| format!("{s} is not answering");
        let wait = self.group_wait;
        let group_wait = |s: &str| if s == "db" { 0 } else { wait };
        let ctx = Context {
            catalog: &self.catalog,
            now_ms: now,
            maintenance: &self.maintenance,
            settle_ms: &settle,
            summary: &summary,
            group_wait_ms: &group_wait,
        };
        f(&mut self.book, &ctx)
    }

    fn observe(&mut self, now: i64, spec: &str) -> Vec<String> {
        let h = health(spec);
        describe(&self.with(now, |book, ctx| book.observe(ctx, &h)))
    }

    fn tick(&mut self, now: i64) -> Vec<String> {
        describe(&self.with(now, |book, ctx| book.tick(ctx)))
    }

    fn ack(&mut self, now: i64, id: &str) -> Vec<String> {
        describe(
            &self
                .with(now, |book, ctx| book.acknowledge(ctx, id, "anna"))
                .expect("acknowledged"),
        )
    }

    fn resolve(&mut self, now: i64, id: &str) -> Vec<String> {
        describe(
            &self
                .with(now, |book, ctx| book.resolve(ctx, id, "api"))
                .expect("resolved"),
        )
    }

    fn alert_of(&self, service: &str) -> String {
        self.book
            .alerts
            .values()
            .rfind(|a| a.service == service)
            .map(|a| a.id.clone())
            .expect("an alert")
    }
}

/// Pages as `event L<level> <alert service> -> recipients`.
fn describe(pages: &[Page]) -> Vec<String> {
    pages
        .iter()
        .map(|p| {
            let service = p.alert.rsplit_once('-').map_or(&*p.alert, |(s, _)| s);
            let who: Vec<String> = p.recipients.iter().map(Recipient::to_string).collect();
            format!(
                "{} L{} {service} -> {}",
                p.event.name(),
                p.level,
                who.join(" ")
            )
        })
        .collect()
}

#[test]
fn escalates_by_level_until_acknowledged_then_resolves_to_everyone_paged() {
    let mut w = World::new();
    assert_eq!(
        w.observe(T0, "db=up shop=down api=up"),
        ["firing L1 shop -> person:anna channel:ops-chat"]
    );
    assert!(w.tick(T0 + 9 * MIN + 59_000).is_empty());
    assert_eq!(
        w.tick(T0 + 10 * MIN),
        ["firing L2 shop -> person:anna person:bram"]
    );
    // No repeat configured: nothing more.
    assert!(w.tick(T0 + 60 * MIN).is_empty());
    let id = w.alert_of("shop");
    assert_eq!(
        w.observe(T0 + 61 * MIN, "db=up shop=up api=up"),
        ["resolved L0 shop -> person:anna person:bram channel:ops-chat"]
    );
    assert_eq!(w.book.alerts[&id].state, AlertState::Resolved);
}

#[test]
fn acknowledgement_at_five_minutes_stops_level_two() {
    let mut w = World::new();
    w.observe(T0, "db=up shop=down api=up");
    let id = w.alert_of("shop");
    assert_eq!(
        w.ack(T0 + 5 * MIN, &id),
        ["acknowledged L0 shop -> person:anna channel:ops-chat"]
    );
    // A second acknowledgement is a no-op.
    assert!(w.ack(T0 + 6 * MIN, &id).is_empty());
    assert!(w.tick(T0 + 10 * MIN).is_empty());
    assert!(w.tick(T0 + 120 * MIN).is_empty());
    // Resolution goes to exactly those who were paged: not bram (level 2 never ran).
    assert_eq!(
        w.resolve(T0 + 130 * MIN, &id),
        ["resolved L0 shop -> person:anna channel:ops-chat"]
    );
}

#[test]
fn policy_repeats_and_reminds_after_acknowledgement() {
    let mut w = World::new();
    // db-default repeats once; levels at 0 and 10 min, so a round lasts 20 min.
    let policy = w.catalog.escalations[1].clone();
    let offsets: Vec<i64> = plan(&policy).iter().map(|s| s.at_ms / MIN).collect();
    assert_eq!(offsets, [0, 10, 20, 30]);
    w.observe(T0, "db=down shop=impacted:db api=impacted:db");
    w.tick(T0 + 10 * MIN);
    assert_eq!(
        w.tick(T0 + 20 * MIN),
        ["firing L1 db -> person:chen channel:ops-chat"]
    );
    let id = w.alert_of("db");
    w.ack(T0 + 21 * MIN, &id);
    assert!(w.tick(T0 + 30 * MIN).is_empty(), "escalation stopped");
    assert_eq!(
        w.tick(T0 + 51 * MIN),
        ["reminder L0 db -> person:anna person:bram person:chen channel:ops-chat"]
    );
    assert!(w.tick(T0 + 52 * MIN).is_empty());
    assert_eq!(w.tick(T0 + 81 * MIN).len(), 1, "reminds every 30 min");
}

#[test]
fn root_cause_pages_once_and_impacted_services_wait_for_it() {
    let mut w = World::new();
    assert_eq!(
        w.observe(T0, "db=down shop=impacted:db api=impacted:db"),
        ["firing L1 db -> person:chen channel:ops-chat"]
    );
    let id = w.alert_of("db");
    let alert = &w.book.alerts[&id];
    assert_eq!(
        alert
            .impacted
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["api", "shop"]
    );
    assert_eq!(w.book.alerts.len(), 1, "no alerts for impacted services");
    // The database recovers; the shop stays down, the api recovers.
    assert_eq!(
        w.observe(T0 + 3 * MIN, "db=up shop=down api=up"),
        ["resolved L0 db -> person:chen channel:ops-chat"]
    );
    // Held while it settles (2 min), then it is a root cause of its own.
    assert!(w.tick(T0 + 4 * MIN).is_empty());
    assert_eq!(w.book.next_due(), Some(T0 + 5 * MIN));
    assert_eq!(
        w.tick(T0 + 5 * MIN),
        ["firing L1 shop -> person:anna channel:ops-chat"]
    );
}

#[test]
fn impacted_service_that_recovers_while_settling_never_pages() {
    let mut w = World::new();
    w.observe(T0, "db=down shop=impacted:db api=up");
    w.observe(T0 + MIN, "db=up shop=down api=up");
    assert!(w.observe(T0 + 2 * MIN, "db=up shop=up api=up").is_empty());
    assert!(w.tick(T0 + 10 * MIN).is_empty());
    assert_eq!(w.book.alerts.len(), 1);
}

#[test]
fn maintenance_holds_new_pages_but_never_a_resolution() {
    let mut w = World::new();
    w.maintenance = vec![Window {
        id: "m".into(),
        title: "upgrade".into(),
        services: vec!["shop".into()],
        from_ms: T0 + 5 * MIN,
        until_ms: T0 + 30 * MIN,
        origin: "api".into(),
    }];
    // Firing before maintenance: level 1 goes out.
    assert_eq!(w.observe(T0, "db=up shop=down api=up").len(), 1);
    // Level 2 is due at 10 min, inside maintenance: held.
    assert!(w.tick(T0 + 10 * MIN).is_empty());
    // Still down when maintenance ends: escalation resumes.
    assert_eq!(
        w.tick(T0 + 30 * MIN),
        ["firing L2 shop -> person:anna person:bram"]
    );
    // A new failure during another maintenance is held entirely...
    w.observe(T0 + 31 * MIN, "db=up shop=up api=up");
    w.maintenance[0].from_ms = T0 + 40 * MIN;
    w.maintenance[0].until_ms = T0 + 60 * MIN;
    assert!(
        w.observe(T0 + 41 * MIN, "db=up shop=down api=up")
            .is_empty()
    );
    let held = w.alert_of("shop");
    assert_eq!(w.book.alerts[&held].state, AlertState::Held);
    // ...and pages nobody if it recovers before the end.
    assert!(w.observe(T0 + 50 * MIN, "db=up shop=up api=up").is_empty());
    assert_eq!(w.book.alerts[&held].state, AlertState::Resolved);
}

#[test]
fn resolution_reaches_those_paged_even_when_recovered_in_maintenance() {
    let mut w = World::new();
    w.observe(T0, "db=up shop=down api=up");
    w.maintenance = vec![Window {
        id: "m".into(),
        title: "fix".into(),
        services: vec!["shop".into()],
        from_ms: T0 + MIN,
        until_ms: T0 + 60 * MIN,
        origin: "api".into(),
    }];
    assert_eq!(
        w.observe(T0 + 20 * MIN, "db=up shop=up api=up"),
        ["resolved L0 shop -> person:anna channel:ops-chat"]
    );
}

#[test]
fn resolving_by_hand_while_down_keeps_quiet_until_seen_up() {
    let mut w = World::new();
    w.observe(T0, "db=up shop=down api=up");
    let id = w.alert_of("shop");
    assert_eq!(w.resolve(T0 + MIN, &id).len(), 1);
    assert!(w.observe(T0 + 2 * MIN, "db=up shop=down api=up").is_empty());
    w.observe(T0 + 3 * MIN, "db=up shop=up api=up");
    assert_eq!(w.observe(T0 + 4 * MIN, "db=up shop=down api=up").len(), 1);
    let err = w
        .with(T0, |book, ctx| book.resolve(ctx, &id, "api"))
        .expect_err("already resolved");
    assert!(err.to_string().contains("already resolved"), "{err}");
    let err = w
        .with(T0, |book, ctx| book.acknowledge(ctx, "nope", "api"))
        .expect_err("unknown");
    assert_eq!(err.to_string(), "no alert with id `nope`");
}

#[test]
fn inbound_alerts_deduplicate_by_key_and_resolve() {
    let mut w = World::new();
    let mut event = Inbound {
        source: "alertmanager".into(),
        key: "abc".into(),
        service: "api".into(),
        summary: "DiskFull on db-1".into(),
        firing: true,
        started_ms: Some(T0 - MIN),
    };
    let first = w.with(T0, |book, ctx| book.inbound(ctx, &event));
    assert_eq!(
        describe(&first),
        [format!(
            "firing L1 {} -> person:anna channel:ops-chat",
            first[0].alert.rsplit_once('-').expect("id").0
        )]
    );
    assert!(
        w.with(T0 + MIN, |book, ctx| book.inbound(ctx, &event))
            .is_empty(),
        "a repeat of a firing alert pages nobody new"
    );
    assert_eq!(w.book.alerts.len(), 1);
    let alert = w.book.alerts.values().next().expect("alert");
    assert_eq!(alert.started_ms, T0 - MIN);
    event.firing = false;
    let done = w.with(T0 + 2 * MIN, |book, ctx| book.inbound(ctx, &event));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].event, PageEvent::Resolved);
    // A resolve for an unknown key does nothing.
    event.key = "other".into();
    assert!(
        w.with(T0 + 3 * MIN, |book, ctx| book.inbound(ctx, &event))
            .is_empty()
    );
}

#[test]
fn schedule_with_nobody_on_call_is_reported_unreachable() {
    let mut w = World::new();
    // Before the rotation starts nobody is on call.
    let early = T0 - 86_400_000;
    let h = health("db=up shop=down api=up");
    let pages = w.with(early, |book, ctx| book.observe(ctx, &h));
    assert_eq!(pages[0].unreachable, ["schedule:web-primary"]);
    assert_eq!(pages[0].recipients, [Recipient::Channel("ops-chat".into())]);
}

#[test]
fn the_book_survives_a_round_trip_through_json() {
    let mut w = World::new();
    w.observe(T0, "db=down shop=impacted:db api=up");
    let json = serde_json::to_string(&w.book).expect("serialize");
    let back: AlertBook = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, w.book);
}

#[test]
fn a_symptom_seen_before_its_cause_never_pages() {
    let mut w = World::new();
    w.group_wait = 30_000;
    // The shop's check notices first: it looks like a root cause, but waits.
    assert!(w.observe(T0, "db=up shop=down api=up").is_empty());
    assert_eq!(w.book.next_due(), Some(T0 + 30_000));
    // Ten seconds later the database is found down: the shop is only impacted.
    assert_eq!(
        w.observe(T0 + 10_000, "db=down shop=impacted:db api=impacted:db"),
        ["firing L1 db -> person:chen channel:ops-chat"]
    );
    let db = w.alert_of("db");
    assert_eq!(w.book.alerts[&db].impacted.len(), 2);
    let shop = w.alert_of("shop");
    assert_eq!(w.book.alerts[&shop].state, AlertState::Resolved);
    assert!(w.book.alerts[&shop].notified.is_empty());
    assert!(w.tick(T0 + 60_000).is_empty(), "the shop never pages");
}

#[test]
fn a_root_cause_pages_after_its_grouping_wait() {
    let mut w = World::new();
    w.group_wait = 30_000;
    assert!(w.observe(T0, "db=up shop=down api=up").is_empty());
    assert!(w.tick(T0 + 29_999).is_empty());
    assert_eq!(
        w.tick(T0 + 30_000),
        ["firing L1 shop -> person:anna channel:ops-chat"]
    );
    // Level 2 counts from the start of paging.
    assert!(w.tick(T0 + 30_000 + 10 * MIN - 1).is_empty());
    assert_eq!(w.tick(T0 + 30_000 + 10 * MIN).len(), 1);
}

#[test]
fn a_paged_service_that_turns_out_impacted_stops_escalating_but_hears_the_end() {
    let mut w = World::new();
    // The shop pages at once (no grouping wait), then the database is found down.
    assert_eq!(w.observe(T0, "db=up shop=down api=up").len(), 1);
    w.observe(T0 + MIN, "db=down shop=impacted:db api=up");
    // Its level 2 (due at 10 min) is held while it is only impacted.
    let pages = w.tick(T0 + 11 * MIN);
    assert!(
        pages.iter().all(|p| !p.starts_with("firing L2 shop")),
        "{pages:?}"
    );
    // Everything recovers: the shop's paged recipients hear the resolution.
    let end = w.observe(T0 + 12 * MIN, "db=up shop=up api=up");
    assert!(
        end.contains(&"resolved L0 shop -> person:anna channel:ops-chat".to_string()),
        "{end:?}"
    );
}

#[test]
fn steps_overdue_after_a_long_pause_go_out_one_at_a_time() {
    let mut w = World::new();
    // db-default: repeat 1, levels at 0 and 10 min, a 20-minute round.
    w.maintenance = vec![Window {
        id: "m".into(),
        title: "long".into(),
        services: vec!["db".into()],
        from_ms: T0 + 2 * MIN,
        until_ms: T0 + 45 * MIN,
        origin: "api".into(),
    }];
    assert_eq!(
        w.observe(T0, "db=down shop=impacted:db api=impacted:db")
            .len(),
        1
    );
    assert!(w.tick(T0 + 30 * MIN).is_empty(), "held in maintenance");
    // At the end of maintenance only the next step goes out...
    assert_eq!(
        w.tick(T0 + 45 * MIN),
        ["firing L2 db -> person:anna person:bram"]
    );
    // ...and the second round keeps its spacing from there.
    assert!(w.tick(T0 + 54 * MIN).is_empty());
    assert_eq!(
        w.tick(T0 + 55 * MIN),
        ["firing L1 db -> person:chen channel:ops-chat"]
    );
}

#[test]
fn an_alert_whose_service_lost_its_checks_resolves() {
    let mut w = World::new();
    // `shop` has no checks in this catalog: once its health is unknown nothing can
    // ever say it is down, so its alert closes and those paged hear it.
    w.observe(T0, "db=up shop=down api=up");
    assert_eq!(
        w.observe(T0 + MIN, "db=up shop=unknown api=up"),
        ["resolved L0 shop -> person:anna channel:ops-chat"]
    );
}

/// A rotation longer than the time library's span of days (issue 16: `rotation =
/// "7304485d"` passed `check` and panicked inside the decision task on the first
/// outage). `check` now refuses it (`bad-rotation`); should such a schedule reach the
/// rules anyway, nobody is on call and neither asking nor paging panics.
#[test]
fn a_rotation_beyond_the_calendar_has_nobody_on_call_instead_of_a_panic() {
    let text = common::people_and_rota("pager", "pager")
        + "[[escalation]]\nid = \"pager\"\nlevels = [{ after = \"0m\", notify = [\"schedule:web-primary\"] }]\n";
    let catalog = load_text(&format!("[organization]\nname = \"Acme\"\n{text}"))
        .unwrap_or_else(|e| panic!("the catalog loads: {e:?}"));
    let mut schedule = catalog.schedules[0].clone();
    schedule.layers[0].rotation =
        continuo_core::duration::HumanDuration::from_secs(7_304_485 * 86_400);
    for at in [T0, T0 + 365 * 86_400_000, T0 + 100 * 365 * 86_400_000] {
        // Its hand-off cannot be placed on the calendar: no shift, so the page goes to
        // the escalation's other targets (the schedule is reported unreachable).
        assert_eq!(
            continuo_core::oncall::on_call_at(&schedule, "UTC", at),
            None,
            "at {at}"
        );
        let _ = continuo_core::oncall::upcoming(&schedule, "UTC", at, 5);
    }
}
