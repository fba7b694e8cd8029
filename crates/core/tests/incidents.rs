//! Incident decisions, data-driven: alerts and operators in, incidents out, with explicit
//! time.

mod common;

use continuo_core::alerting::{AlertBook, Context, Recipient};
use continuo_core::catalog::Catalog;
use continuo_core::incident::book::{
    Callout, Change, EventKind, IncidentBook, IncidentContext, Review, runbook_steps,
};
use continuo_core::incident::stats::stats;
use continuo_core::incident::{Audience, CrisisRole, Recovery, Severity, Status};
use continuo_core::load_text;
use continuo_core::state::{CheckStatus, Health, ServiceHealth};
use continuo_core::text::Text;
use std::collections::BTreeMap;

use common::{HOUR, MIN, T0};

/// The organisation, before the shared people and rota.
const HEAD: &str = r#"
[organization]
name = "Acme"
timezone = "Europe/Amsterdam"
regulations = ["nis2"]

"#;

/// What this test adds after the people and rota.
const CONFIG: &str = r#"[[escalation]]
id = "pager"
levels = [{ after = "0m", notify = ["schedule:web-primary"] }]

[[channel]]
id = "crisis-room"
kind = "slack"
url = "http://127.0.0.1:9/x"

[[response_plan]]
id = "major"
severity = ["SEV1"]
roles = { incident_commander = "schedule:web-primary", operations_lead = "team:db", scribe = "person:bram" }
notify = ["channel:crisis-room"]
significant = true
update_every = "30m"

[[service]]
id = "db"
name = "Orders database"
tier = 1
owner = "db"
rto = "30m"
rpo = "15m"
cost_per_hour = 6000.0

[[service]]
id = "shop"
name = "Webshop"
tier = 1
owner = "web"
rto = "1h"
depends_on = ["db"]

[[service]]
id = "api"
name = "Partner API"
tier = 2
owner = "web"
rto = "2h"
depends_on = ["db"]

[[service]]
id = "wiki"
name = "Wiki"
tier = 4
owner = "web"
rto = "3d"
"#;

fn config() -> String {
    format!(
        "{HEAD}{}{CONFIG}",
        common::people_and_rota("pager", "pager")
    )
}

const RUNBOOK: &str = "# Orders database\n\nSome words.\n\n1. Check the primary's disk\n2. Promote the replica\n- [ ] Point the shop at the new primary\n";

struct World {
    catalog: Catalog,
    alerts: AlertBook,
    incidents: IncidentBook,
}

/// Health from `db=down@-2 shop=impacted api=up` (`@-2`: failing since 2 minutes before).
fn health(now: i64, spec: &str) -> BTreeMap<String, ServiceHealth> {
    spec.split_whitespace()
        .map(|part| {
            let (service, rest) = part.split_once('=').expect("service=health");
            let (h, since) = rest.split_once('@').unwrap_or((rest, ""));
            let (health, own) = match h {
                "down" => (Health::Down, CheckStatus::Down),
                "impacted" => (Health::Impacted, CheckStatus::Down),
                "up" => (Health::Operational, CheckStatus::Up),
                other => panic!("unknown health {other}"),
            };
            let failing_since_ms =
                (!since.is_empty()).then(|| now + since.parse::<i64>().expect("minutes") * MIN);
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
                    failing_since_ms,
                },
            )
        })
        .collect()
}

impl World {
    fn new() -> World {
        World {
            catalog: load_text(&config()).expect("valid config"),
            alerts: AlertBook::default(),
            incidents: IncidentBook::default(),
        }
    }

    fn ctx<R>(
        &mut self,
        now: i64,
        f: impl FnOnce(&mut IncidentBook, &IncidentContext<'_>) -> R,
    ) -> R {
        let runbook = |s: &str| (s == "db").then(|| RUNBOOK.to_string());
        let last_good = |s: &str, _before: i64| (s == "db").then_some(T0 - 40 * MIN);
        let ctx = IncidentContext {
            catalog: &self.catalog,
            now_ms: now,
            runbook: &runbook,
            last_good_ms: &last_good,
        };
        f(&mut self.incidents, &ctx)
    }

    /// Observes health, lets alerting decide, then syncs incidents.
    fn observe(&mut self, now: i64, spec: &str) -> Vec<Callout> {
        let h = health(now, spec);
        {
            let settle = |_: &str| 0;
            let summary = |s: &str| format!("{s} is not answering");
            let wait = |_: &str| 0;
            let ctx = Context {
                catalog: &self.catalog,
                now_ms: now,
                maintenance: &[],
                settle_ms: &settle,
                summary: &summary,
                group_wait_ms: &wait,
            };
            self.alerts.observe(&ctx, &h);
        }
        let alerts = self.alerts.clone();
        self.ctx(now, |book, ctx| book.sync(ctx, &alerts))
    }

    /// An inbound alert (Alertmanager) about `service`, firing or resolved, then a sync.
    fn inbound(&mut self, now: i64, service: &str, firing: bool, started_ms: i64) {
        {
            let settle = |_: &str| 0;
            let summary = |s: &str| s.to_string();
            let wait = |_: &str| 0;
            let ctx = Context {
                catalog: &self.catalog,
                now_ms: now,
                maintenance: &[],
                settle_ms: &settle,
                summary: &summary,
                group_wait_ms: &wait,
            };
            self.alerts.inbound(
                &ctx,
                &continuo_core::alerting::Inbound {
                    source: "alertmanager".into(),
                    key: format!("group|{service}"),
                    service: service.into(),
                    summary: "Replication lag above 5 minutes".into(),
                    firing,
                    started_ms: Some(started_ms),
                },
            );
        }
        let alerts = self.alerts.clone();
        self.ctx(now, |book, ctx| book.sync(ctx, &alerts));
    }

    fn ack_alert(&mut self, now: i64, by: &str) {
        let id = self
            .alerts
            .alerts
            .values()
            .find(|a| a.state != continuo_core::alerting::AlertState::Resolved)
            .expect("an open alert")
            .id
            .clone();
        let settle = |_: &str| 0;
        let summary = |s: &str| s.to_string();
        let wait = |_: &str| 0;
        let ctx = Context {
            catalog: &self.catalog,
            now_ms: now,
            maintenance: &[],
            settle_ms: &settle,
            summary: &summary,
            group_wait_ms: &wait,
        };
        self.alerts
            .acknowledge(&ctx, &id, by)
            .expect("acknowledged");
    }
}

#[test]
fn an_inbound_alert_on_a_green_service_holds_its_incident_until_it_resolves() {
    let mut w = World::new();
    // The database's own checks are green the whole time.
    w.observe(T0, "db=up shop=up api=up wiki=up");
    w.inbound(T0 + MIN, "db", true, T0 - 4 * MIN);
    // Later observations (checks still green) and an hour later: still down.
    w.observe(T0 + 2 * MIN, "db=up shop=up api=up wiki=up");
    w.observe(T0 + HOUR, "db=up shop=up api=up wiki=up");
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    assert!(inc.is_open(), "open while the alert fires");
    assert_eq!(
        inc.milestones.mitigated_ms, None,
        "not mitigated while it fires"
    );
    let db = &inc.services[0];
    assert_eq!(
        (db.service.as_str(), db.down_ms, db.up_ms),
        ("db", T0 - 4 * MIN, None)
    );
    assert!(
        !inc.timeline.iter().any(|e| e.kind == EventKind::ServiceUp),
        "no recovery on the timeline: {:?}",
        inc.timeline
    );
    // The alert resolves: recovered then, after the alert's real duration.
    let end = T0 + HOUR + 5 * MIN;
    w.inbound(end, "db", false, T0 - 4 * MIN);
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    assert!(!inc.is_open(), "resolved with its alert");
    assert_eq!(inc.services[0].up_ms, Some(end));
    assert_eq!(inc.milestones.mitigated_ms, Some(end));
    assert_eq!(inc.milestones.resolved_ms, Some(end));
    // 69 minutes against an RTO of 30: breached, as the postmortem must say.
    assert!(
        matches!(inc.services[0].recovery(end), Recovery::Breached { .. }),
        "{:?}",
        inc.services[0].recovery(end)
    );
}

#[test]
fn an_inbound_alert_on_a_service_without_checks_recovers_when_it_resolves() {
    let mut w = World::new();
    // `wiki` has no checks: no health at all is known for it.
    w.observe(T0, "db=up shop=up api=up");
    w.inbound(T0, "wiki", true, T0);
    w.observe(T0 + 10 * MIN, "db=up shop=up api=up");
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    assert_eq!(
        inc.services[0].up_ms, None,
        "still down while the alert fires"
    );
    w.inbound(T0 + 20 * MIN, "wiki", false, T0);
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    assert_eq!(inc.services[0].up_ms, Some(T0 + 20 * MIN));
    assert!(!inc.is_open());
}

/// The world with the webshop on the status page and the database not.
fn public_world(automatic: Option<bool>) -> World {
    let setting = automatic
        .map(|on| format!("[status_page]\nautomatic_incidents = {on}\n"))
        .unwrap_or_default();
    let config = config().replace(
        "depends_on = [\"db\"]\n\n[[service]]\nid = \"api\"",
        "depends_on = [\"db\"]\nstatus_page = { component = \"Webshop\" }\n\n[[service]]\nid = \"api\"",
    );
    assert!(config.contains("component = \"Webshop\""));
    World {
        catalog: load_text(&format!("{setting}{config}")).expect("valid config"),
        alerts: AlertBook::default(),
        incidents: IncidentBook::default(),
    }
}

#[test]
fn an_incident_that_takes_a_public_component_down_is_published_and_closed_publicly() {
    let mut w = public_world(None);
    w.observe(T0, "db=down@-2 shop=impacted@-1 api=impacted wiki=up");
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    let public: Vec<(&str, Status, &str, &str)> = inc
        .updates
        .iter()
        .filter(|u| u.audience == Audience::Customers)
        .map(|u| {
            (
                u.by.as_str(),
                u.status,
                u.body.en.as_str(),
                u.body.nl.as_str(),
            )
        })
        .collect();
    // Only the public component is named, never the database behind it.
    assert_eq!(
        public,
        [(
            "continuo",
            Status::Investigating,
            "We are investigating a disruption of Webshop.",
            "We onderzoeken een verstoring van Webshop."
        )]
    );
    // The generated title names the database; customers see one of their own.
    assert!(inc.title.starts_with("Orders database"), "{}", inc.title);
    assert_eq!(
        inc.public_title(),
        Text::new("Disruption of Webshop", "Verstoring van Webshop")
    );
    // Nothing is posted twice.
    w.observe(T0 + MIN, "db=down@-3 shop=impacted@-2 api=impacted wiki=up");
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    assert_eq!(inc.updates.len(), 1);
    // It resolves with no closing message from anyone: one is added, at the resolution.
    w.observe(T0 + 30 * MIN, "db=up shop=up api=up wiki=up");
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    assert!(!inc.is_open());
    let last = inc.updates.last().expect("a closing update");
    assert_eq!(
        (
            last.audience,
            last.status,
            last.body.en.as_str(),
            last.body.nl.as_str()
        ),
        (
            Audience::Customers,
            Status::Resolved,
            "This incident has been resolved.",
            "Dit incident is opgelost."
        )
    );
    assert_eq!(Some(last.at_ms), inc.milestones.resolved_ms);
    // Later decisions add nothing more.
    w.observe(T0 + 31 * MIN, "db=up shop=up api=up wiki=up");
    assert_eq!(w.incidents.get("INC-1").expect("INC-1").updates.len(), 2);
}

#[test]
fn automatic_incidents_can_be_turned_off_and_an_incident_off_the_page_stays_internal() {
    let mut w = public_world(Some(false));
    w.observe(T0, "db=down@-2 shop=impacted@-1 api=impacted wiki=up");
    assert!(w.incidents.get("INC-1").expect("INC-1").updates.is_empty());
    // On by default, but an incident that hits nothing public publishes nothing.
    let mut w = World::new();
    w.observe(T0, "db=down@-2 shop=impacted@-1 api=impacted wiki=up");
    assert!(w.incidents.get("INC-1").expect("INC-1").updates.is_empty());
    w.observe(T0 + 30 * MIN, "db=up shop=up api=up wiki=up");
    assert!(w.incidents.get("INC-1").expect("INC-1").updates.is_empty());
}

#[test]
fn an_alert_opens_one_incident_with_severity_crisis_team_clocks_and_resolves_with_it() {
    let mut w = World::new();
    let callouts = w.observe(T0, "db=down@-2 shop=impacted@-1 api=impacted wiki=up");
    assert_eq!(
        w.incidents.incidents.len(),
        1,
        "one incident per root cause"
    );
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    let services: Vec<(&str, bool)> = inc
        .services
        .iter()
        .map(|s| (s.service.as_str(), s.root_cause))
        .collect();
    assert_eq!(services, [("db", true), ("api", false), ("shop", false)]);
    // Tier 1 and three services: SEV1.
    assert_eq!(inc.severity, Severity(1));
    assert_eq!(
        inc.milestones.started_ms,
        Some(T0 - 2 * MIN),
        "first failing observation"
    );
    assert_eq!(inc.milestones.detected_ms, Some(T0));
    assert_eq!(
        inc.services[2].down_ms,
        T0 - MIN,
        "shop failing since a minute"
    );
    // The SEV1 plan: roles from the schedule (anna on call), the db team, bram.
    assert_eq!(
        inc.roles
            .get(&CrisisRole::IncidentCommander)
            .map(String::as_str),
        Some("anna")
    );
    assert_eq!(
        inc.roles
            .get(&CrisisRole::OperationsLead)
            .map(String::as_str),
        Some("chen")
    );
    assert_eq!(
        inc.roles.get(&CrisisRole::Scribe).map(String::as_str),
        Some("bram")
    );
    assert!(!inc.roles.contains_key(&CrisisRole::CommunicationsLead));
    let called: Vec<(&str, &[Recipient])> = callouts
        .iter()
        .map(|c| (c.key.as_str(), c.recipients.as_slice()))
        .collect();
    assert_eq!(called.len(), 4, "{called:?}");
    assert_eq!(called[3].0, "major/notify");
    assert_eq!(called[3].1, [Recipient::Channel("crisis-room".into())]);
    assert!(
        callouts[0].text.nl.contains("u bent incidentcommandant"),
        "{:?}",
        callouts[0].text
    );
    // Significant under NIS2: 24 h, 72 h and one month from detection.
    let due: Vec<(&str, i64)> = inc
        .reports
        .iter()
        .map(|r| (r.deadline.key.as_str(), r.deadline.due_ms - T0))
        .collect();
    assert_eq!(
        due,
        [
            ("nis2-early-warning", 24 * HOUR),
            ("nis2-notification", 72 * HOUR),
            // 1 June + 1 month = 1 July, 30 days.
            ("nis2-final-report", 30 * 24 * HOUR)
        ]
    );
    // Checklist: dependencies first, runbook steps for db, defaults for the others.
    let order: Vec<&str> = inc.checklist.iter().map(|t| t.service.as_str()).collect();
    assert_eq!(order, ["db", "shop", "api"]);
    assert_eq!(inc.checklist[0].steps.len(), 3);
    assert_eq!(inc.checklist[0].steps[1].text.en, "Promote the replica");
    assert_eq!(
        inc.checklist[1].steps[0].text.nl,
        "Bevestig de storing van Webshop en de oorzaak"
    );
    // The data-loss window: last good 40 min before, down 2 min before T0 → 38 min > 15.
    let loss = inc.services[0].data_loss().expect("known");
    assert_eq!(loss.window_ms, 38 * MIN);
    assert_eq!(loss.within_rpo, Some(false));

    // Observing the same again changes nothing and calls nobody again.
    assert!(
        w.observe(T0 + MIN, "db=down@-3 shop=impacted@-2 api=impacted wiki=up")
            .is_empty()
    );
    assert_eq!(w.incidents.incidents.len(), 1);

    // Acknowledged through the alert.
    w.ack_alert(T0 + 4 * MIN, "anna");
    w.observe(T0 + 5 * MIN, "db=down shop=impacted api=impacted wiki=up");
    let inc = w.incidents.get("INC-1").expect("INC-1");
    assert_eq!(inc.milestones.acknowledged_ms, Some(T0 + 4 * MIN));

    // db back at +20 (RTO 30 m from T0-2: met), the others too; the alert resolves and
    // with it the incident.
    w.observe(T0 + 20 * MIN, "db=up shop=up api=up wiki=up");
    let inc = w.incidents.get("INC-1").expect("INC-1");
    assert_eq!(inc.status, Status::Resolved);
    assert_eq!(inc.milestones.resolved_ms, Some(T0 + 20 * MIN));
    assert_eq!(inc.milestones.mitigated_ms, Some(T0 + 20 * MIN));
    assert_eq!(
        inc.services[0].recovery(T0 + 20 * MIN),
        Recovery::Met { took_ms: 22 * MIN }
    );
    let d = inc.milestones.durations();
    assert_eq!(d.to_detect_ms, Some(2 * MIN));
    assert_eq!(d.to_acknowledge_ms, Some(4 * MIN));
    assert_eq!(d.to_resolve_ms, Some(22 * MIN));
    // The timeline is in time order and every entry exists in both languages.
    assert!(inc.timeline.windows(2).all(|p| p[0].at_ms <= p[1].at_ms));
    assert!(
        inc.timeline
            .iter()
            .all(|e| !e.text.en.is_empty() && !e.text.nl.is_empty())
    );
    let kinds: Vec<EventKind> = inc.timeline.iter().map(|e| e.kind).collect();
    for kind in [
        EventKind::Opened,
        EventKind::ServiceDown,
        EventKind::Plan,
        EventKind::Role,
        EventKind::Classified,
        EventKind::Milestone,
        EventKind::ServiceUp,
        EventKind::Resolved,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    assert_eq!(
        inc.timeline[0].kind,
        EventKind::ServiceDown,
        "started before it was detected"
    );
}

#[test]
fn declared_by_hand_moves_through_its_lifecycle_and_records_every_human_act() {
    let mut w = World::new();
    let err = w
        .ctx(T0, |b, c| {
            b.declare(c, "Wiki slow", &["wikki".into()], None, "bram")
        })
        .expect_err("unknown service");
    assert!(err.to_string().contains("`wikki`"), "{err}");
    assert!(
        w.ctx(T0, |b, c| b.declare(c, "  ", &[], None, "bram"))
            .is_err()
    );
    let (id, callouts) = w
        .ctx(T0, |b, c| {
            b.declare(c, "Wiki slow", &["wiki".into()], None, "bram")
        })
        .expect("declared");
    assert_eq!(id, "INC-1");
    assert!(callouts.is_empty(), "no plan for SEV4");
    assert_eq!(w.incidents.get(&id).expect("it").severity, Severity(4));

    // Raised by hand to SEV1: the plan is activated and NIS2 clocks start.
    let (_, callouts) = w
        .ctx(T0 + MIN, |b, c| {
            b.change(
                c,
                &id,
                &Change {
                    severity: Some(Severity(1)),
                    ..Change::default()
                },
                "bram",
            )
        })
        .expect("changed");
    assert!(!callouts.is_empty());
    let inc = w.incidents.get(&id).expect("it");
    assert!(inc.severity_by_hand);
    assert_eq!(inc.reports.len(), 3);

    // Status moves; a resolved incident only reopens as investigating.
    let body = Text::new("We found it", "We hebben het gevonden");
    w.ctx(T0 + 2 * MIN, |b, c| {
        b.post_update(
            c,
            &id,
            Some(Status::Identified),
            Audience::Customers,
            body.clone(),
            "anna",
        )
    })
    .expect("update");
    w.ctx(T0 + 3 * MIN, |b, c| {
        b.change(
            c,
            &id,
            &Change {
                status: Some(Status::Monitoring),
                ..Change::default()
            },
            "anna",
        )
    })
    .expect("monitoring");
    assert_eq!(
        w.incidents.get(&id).expect("it").milestones.mitigated_ms,
        Some(T0 + 3 * MIN),
        "monitoring means a fix is in place"
    );
    w.ctx(T0 + 4 * MIN, |b, c| b.acknowledge(c, &id, "anna"))
        .expect("ack");
    w.ctx(T0 + 5 * MIN, |b, c| b.tick(c, &id, "wiki", 2, true, "anna"))
        .expect("tick");
    let err = w
        .ctx(T0 + 5 * MIN, |b, c| b.tick(c, &id, "wiki", 9, true, "anna"))
        .expect_err("no step 9");
    assert!(err.to_string().contains("steps 1 to 3"), "{err}");
    w.ctx(T0 + 6 * MIN, |b, c| {
        b.assign(c, &id, CrisisRole::IncidentCommander, "chen", "anna")
    })
    .expect("hand over");
    assert!(
        w.ctx(T0, |b, c| b.assign(
            c,
            &id,
            CrisisRole::Scribe,
            "nobody",
            "anna"
        ))
        .is_err()
    );
    w.ctx(T0 + 7 * MIN, |b, c| {
        b.submit_report(c, &id, "nis2-early-warning", "chen")
    })
    .expect("submitted");
    assert!(
        w.ctx(T0, |b, c| b.submit_report(c, &id, "nis2-nope", "chen"))
            .is_err()
    );
    let n = w
        .ctx(T0 + 8 * MIN, |b, c| {
            b.add_action(
                c,
                &id,
                "Add a disk alarm",
                Some("db"),
                Some("2026-06-15"),
                "chen",
            )
        })
        .expect("action");
    assert_eq!(n, 1);
    assert!(
        w.ctx(T0, |b, c| b.add_action(
            c,
            &id,
            "x",
            None,
            Some("next week"),
            "chen"
        ))
        .is_err()
    );
    w.ctx(T0 + 9 * MIN, |b, c| {
        b.complete_action(c, &id, 1, true, "chen")
    })
    .expect("done");
    w.ctx(T0 + 9 * MIN, |b, c| {
        b.review(
            c,
            &id,
            Review {
                trigger: Some("A full disk".into()),
                went_well: vec!["Fast failover".into()],
                ..Review::default()
            },
            "chen",
        )
    })
    .expect("review");
    w.ctx(T0 + 10 * MIN, |b, c| {
        b.note(c, &id, "Vendor called back", "bram")
    })
    .expect("note");
    w.ctx(T0 + 12 * MIN, |b, c| {
        b.change(
            c,
            &id,
            &Change {
                status: Some(Status::Resolved),
                ..Change::default()
            },
            "chen",
        )
    })
    .expect("resolved");
    let err = w
        .ctx(T0 + 13 * MIN, |b, c| {
            b.change(
                c,
                &id,
                &Change {
                    status: Some(Status::Monitoring),
                    ..Change::default()
                },
                "chen",
            )
        })
        .expect_err("resolved cannot go to monitoring");
    assert!(err.to_string().contains("reopened"), "{err}");
    assert!(w.ctx(T0, |b, c| b.acknowledge(c, &id, "anna")).is_err());

    let inc = w.incidents.get(&id).expect("it");
    assert_eq!(inc.updates.len(), 1);
    assert_eq!(inc.updates[0].status, Status::Identified);
    assert_eq!(
        inc.checklist[0].steps[1]
            .done
            .as_ref()
            .map(|a| a.by.as_str()),
        Some("anna")
    );
    assert_eq!(
        inc.reports[0].submitted.as_ref().map(|a| a.at_ms),
        Some(T0 + 7 * MIN)
    );
    assert!(inc.actions[0].done.is_some());
    assert_eq!(inc.review.trigger.as_deref(), Some("A full disk"));
    // Every human act is on the timeline with its author.
    let by_kind = |k: EventKind| {
        inc.timeline
            .iter()
            .filter(|e| e.kind == k)
            .map(|e| e.by.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(by_kind(EventKind::Note), ["bram"]);
    assert_eq!(by_kind(EventKind::Checklist), ["anna"]);
    assert_eq!(by_kind(EventKind::Report), ["chen"]);
    assert_eq!(by_kind(EventKind::Update), ["anna"]);
    assert!(
        inc.timeline.iter().any(|e| e.kind == EventKind::Role
            && e.text.en.contains("handed over from anna to chen")
            && e.text.nl.contains("overgedragen van anna aan chen")),
        "{:?}",
        inc.timeline
    );
    // The wiki had no recovery signal: counted as back at the resolution.
    assert_eq!(inc.services[0].up_ms, Some(T0 + 12 * MIN));
}

#[test]
fn figures_over_a_period_count_means_per_service_and_tier_and_rto_breaches() {
    let mut w = World::new();
    // Incident 1: db down 2 min before T0, back after 22 min (met).
    w.observe(T0, "db=down@-2 shop=impacted api=impacted wiki=up");
    w.ack_alert(T0 + 4 * MIN, "anna");
    w.observe(T0 + 20 * MIN, "db=up shop=up api=up wiki=up");
    // Incident 2: db down again for 50 min (RTO 30 min: breached), acked after 10.
    let t = T0 + 2 * HOUR;
    w.observe(t, "db=down@0 shop=up api=up wiki=up");
    w.ack_alert(t + 10 * MIN, "chen");
    w.observe(t + 10 * MIN, "db=down shop=up api=up wiki=up");
    w.observe(t + 50 * MIN, "db=up shop=up api=up wiki=up");
    let all: Vec<_> = w.incidents.incidents.values().cloned().collect();
    assert_eq!(all.len(), 2);
    let s = stats(&all, T0 - HOUR, T0 + 10 * HOUR, T0 + 10 * HOUR);
    let db = &s.by_service["db"];
    assert_eq!(db.incidents, 2);
    assert_eq!(db.rto_breaches, 1);
    assert_eq!(db.rto_met, 1);
    assert_eq!(db.mtta_ms, Some(7 * MIN), "(4 + 10) / 2");
    assert_eq!(db.mttr_ms, Some(36 * MIN), "(22 + 50) / 2");
    assert_eq!(s.all.incidents, 2);
    assert_eq!(s.by_tier[&1].incidents, 2);
    assert_eq!(
        s.by_tier[&2].incidents, 1,
        "only the first hit the tier-2 API"
    );
    // A period that holds only the second.
    let later = stats(&all, T0 + HOUR, T0 + 10 * HOUR, T0 + 10 * HOUR);
    assert_eq!(later.all.incidents, 1);
    assert_eq!(later.all.rto_breaches, 1);
}

#[test]
fn runbook_steps_come_from_task_and_numbered_lists() {
    assert_eq!(
        runbook_steps(RUNBOOK),
        [
            "Check the primary's disk",
            "Promote the replica",
            "Point the shop at the new primary"
        ]
    );
    assert!(
        runbook_steps("Just prose.\n\n- a bullet that is no step? no: plain bullets are prose")
            .is_empty()
    );
}

#[test]
fn update_facts_carry_rto_countdowns_and_the_data_loss_window() {
    let mut w = World::new();
    w.observe(T0, "db=down@-2 shop=impacted api=impacted wiki=up");
    let inc = w.incidents.get("INC-1").expect("INC-1").clone();
    let facts = inc.update_facts(
        &w.catalog,
        Status::Identified,
        Audience::Management,
        Some("  ".into()),
        T0 + 21 * MIN,
    );
    assert_eq!(facts.message, None, "blank words are no message");
    assert_eq!(facts.services[0].rto.en, "RTO breached in 7 min");
    assert_eq!(facts.services[0].rto.nl, "RTO overschreden over 7 min");
    let loss = facts.services[0].data_loss.as_ref().expect("known");
    assert_eq!(
        loss.en,
        "possible data loss 38 min (RPO of 15 min exceeded)"
    );
    assert_eq!(facts.next_update_ms, Some(T0 + 51 * MIN));
    assert_eq!(facts.cost_so_far, Some(2300.0), "6000/h for 23 min");
    assert_eq!(facts.reports_due.len(), 3);
}
