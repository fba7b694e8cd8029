//! Evidence records in the store: append-only and idempotent by id, filtered newest
//! first, kept across a restart, the same on SQLite and PostgreSQL; the posture and the
//! monthly availability report read from them and from the day rollups.

use continuo_core::catalog::Catalog;
use continuo_core::evidence::verdict::State;
use continuo_core::evidence::{ClaimKind, Evidence, Measure, Outcome, Source, SourceKind, Subject};
use continuo_core::observation::{Measurement, Observation, Timings};
use continuo_core::state::Verdict;
use continuo_store::testing::TestDb;
use continuo_store::writer::{Record, Writer, WriterConfig};
use continuo_store::{BookChanges, EvidenceFilter, IncidentRow, Store, backends};
use serde_json::json;

backends!(
    records_are_append_only_and_kept_across_a_restart,
    filters_read_newest_first,
    the_freshest_conclusive_record_decides_the_posture,
    evidence_commits_with_what_it_measured,
    the_month_report_gives_exact_downtime_and_days_without_data,
);

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2026-11-01T00:00:00Z.
const NOV: i64 = 1_793_491_200_000;

fn catalog() -> Catalog {
    continuo_core::load_text(
        r#"[organization]
name = "Acme"

[[person]]
id = "anna"
name = "Anna"

[[team]]
id = "web"
members = ["anna"]

[[service]]
id = "shop"
name = "Web shop"
tier = 1
owner = "web"
rto = "1h"
slo = "99.9%"
[[service.check]]
id = "shop-http"
kind = "tcp"
target = "127.0.0.1:9"

[[service]]
id = "blog"
name = "Blog"
tier = 4
owner = "web"
rto = "1d"
"#,
    )
    .unwrap_or_else(|e| panic!("the test catalog loads: {e:?}"))
}

fn record(
    claim: ClaimKind,
    subject: &str,
    source: &str,
    observed_ms: i64,
    outcome: Outcome,
) -> Evidence {
    let subject = Subject::parse(subject).expect("a subject");
    let source = Source {
        kind: SourceKind::Incident,
        id: source.into(),
    };
    Evidence {
        id: Evidence::id_for(claim, &subject, &source),
        claim,
        subject,
        source,
        observed_ms,
        value: Some(Measure::ms(9 * MIN)),
        target: Some(Measure::ms(HOUR)),
        outcome,
        link: Some("/incidents/INC-1".into()),
        note: None,
        recorded_by: "continuo".into(),
        recorded_ms: observed_ms + 1,
    }
}

async fn records_are_append_only_and_kept_across_a_restart(db: &TestDb) {
    let store = db.reopen().await;
    let first = record(ClaimKind::Rto, "service:shop", "INC-1", NOV, Outcome::Met);
    assert_eq!(
        store
            .add_evidence(std::slice::from_ref(&first))
            .await
            .expect("add"),
        1
    );
    // The same id again, even with other figures, changes nothing: records are never
    // updated.
    let mut again = first.clone();
    again.outcome = Outcome::Breached;
    assert_eq!(store.add_evidence(&[again]).await.expect("add again"), 0);
    let reopened = db.reopen().await;
    let all = reopened
        .evidence(&EvidenceFilter::default())
        .await
        .expect("read");
    assert_eq!(all, vec![first]);
}

async fn filters_read_newest_first(store: Store) {
    let records = vec![
        record(ClaimKind::Rto, "service:shop", "INC-1", NOV, Outcome::Met),
        record(
            ClaimKind::Rto,
            "service:shop",
            "INC-2",
            NOV + DAY,
            Outcome::Breached,
        ),
        record(
            ClaimKind::Rto,
            "service:blog",
            "INC-2",
            NOV + DAY,
            Outcome::Met,
        ),
        record(
            ClaimKind::Rpo,
            "service:shop",
            "INC-2",
            NOV + 2 * DAY,
            Outcome::Met,
        ),
    ];
    assert_eq!(store.add_evidence(&records).await.expect("add"), 4);
    let ids = |list: Vec<Evidence>| list.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let shop_rto = store
        .evidence(&EvidenceFilter {
            claim: Some(ClaimKind::Rto),
            subject: Subject::parse("service:shop"),
            ..EvidenceFilter::default()
        })
        .await
        .expect("read");
    assert_eq!(
        ids(shop_rto),
        [
            "rto/service:shop/incident/INC-2",
            "rto/service:shop/incident/INC-1"
        ]
    );
    let window = store
        .evidence(&EvidenceFilter {
            since_ms: Some(NOV + DAY),
            until_ms: Some(NOV + 2 * DAY),
            ..EvidenceFilter::default()
        })
        .await
        .expect("read");
    assert_eq!(
        ids(window),
        [
            "rto/service:shop/incident/INC-2",
            "rto/service:blog/incident/INC-2"
        ]
    );
    let one = store
        .evidence(&EvidenceFilter {
            limit: 1,
            ..EvidenceFilter::default()
        })
        .await
        .expect("read");
    assert_eq!(ids(one), ["rpo/service:shop/incident/INC-2"]);
    let none = store
        .evidence(&EvidenceFilter {
            source_kind: Some(SourceKind::Manual),
            ..EvidenceFilter::default()
        })
        .await
        .expect("read");
    assert!(none.is_empty());
}

async fn the_freshest_conclusive_record_decides_the_posture(store: Store) {
    let catalog = catalog();
    let mut inconclusive = record(
        ClaimKind::Rto,
        "service:shop",
        "INC-3",
        NOV + 2 * DAY,
        Outcome::Inconclusive,
    );
    inconclusive.value = None;
    store
        .add_evidence(&[
            record(ClaimKind::Rto, "service:shop", "INC-1", NOV, Outcome::Met),
            record(
                ClaimKind::Rto,
                "service:shop",
                "INC-2",
                NOV + DAY,
                Outcome::Breached,
            ),
            inconclusive,
            // Observed after "now": not yet part of the posture.
            record(
                ClaimKind::Rto,
                "service:blog",
                "INC-9",
                NOV + 30 * DAY,
                Outcome::Met,
            ),
        ])
        .await
        .expect("add");
    let latest = store.evidence_latest(NOV + 3 * DAY).await.expect("latest");
    assert_eq!(
        latest.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["rto/service:shop/incident/INC-2"]
    );
    let posture = store
        .posture(&catalog, NOV + 3 * DAY)
        .await
        .expect("posture");
    let state = |subject: &str, claim: ClaimKind| {
        posture
            .verdicts
            .iter()
            .find(|v| v.claim.kind == claim && v.claim.subject.key() == subject)
            .map(|v| v.state)
    };
    assert_eq!(state("service:shop", ClaimKind::Rto), Some(State::Breached));
    assert_eq!(state("service:blog", ClaimKind::Rto), Some(State::Unproven));
    // A year and a day later the breach is no longer current: stale.
    let later = store
        .posture(&catalog, NOV + 367 * DAY)
        .await
        .expect("posture");
    let later_state = later
        .verdicts
        .iter()
        .find(|v| v.claim.kind == ClaimKind::Rto && v.claim.subject.key() == "service:shop")
        .map(|v| v.state);
    assert_eq!(later_state, Some(State::Stale));
}

async fn evidence_commits_with_what_it_measured(db: &TestDb) {
    let store = db.reopen().await;
    let rto = record(ClaimKind::Rto, "service:shop", "INC-1", NOV, Outcome::Met);
    store
        .commit_alerting_with_evidence(
            &BookChanges::default(),
            &[],
            &[],
            std::slice::from_ref(&rto),
        )
        .await
        .expect("commit");
    let mut failover = record(
        ClaimKind::Redundancy,
        "service:shop",
        "gw",
        NOV + HOUR,
        Outcome::Met,
    );
    failover.source.kind = SourceKind::Failover;
    store
        .add_service_event_with_evidence(
            "shop",
            NOV + HOUR,
            "failover",
            &json!({"text": "moved"}),
            &[failover.clone()],
        )
        .await
        .expect("event");
    let reopened = db.reopen().await;
    let all = reopened
        .evidence(&EvidenceFilter::default())
        .await
        .expect("read");
    assert_eq!(all, vec![failover, rto]);
    assert_eq!(
        reopened
            .service_events("shop", 10)
            .await
            .expect("events")
            .len(),
        1
    );
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

async fn the_month_report_gives_exact_downtime_and_days_without_data(store: Store) {
    let catalog = catalog();
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    // Every day of November but the 10th observed every 10 minutes (144 a day); on the
    // 3rd, three of them failed: 3/144 of a day is exactly 30 minutes down.
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
    let incident = json!({
        "id": "INC-1", "number": 1, "title": "Web shop down", "status": "resolved",
        "severity": 1, "severity_by_hand": false, "declared_by": null, "alerts": [],
        "services": [{"service": "shop", "name": "Web shop", "tier": 1, "root_cause": true,
                      "down_ms": NOV + 2 * DAY, "up_ms": NOV + 2 * DAY + 30 * MIN,
                      "rto_ms": HOUR, "rpo_ms": null, "last_good_ms": null}],
        "milestones": {"started_ms": NOV + 2 * DAY, "detected_ms": NOV + 2 * DAY,
                       "acknowledged_ms": null, "mitigated_ms": null,
                       "resolved_ms": NOV + 2 * DAY + 30 * MIN},
        "roles": {}, "plans": [], "checklist": [], "updates": [], "significant_ms": null,
        "reports": [], "actions": [], "review": {}, "timeline": []
    });
    let row = IncidentRow {
        id: "INC-1".into(),
        number: 1,
        status: "resolved".into(),
        severity: 1,
        detected_ms: Some(NOV + 2 * DAY),
        resolved_ms: Some(NOV + 2 * DAY + 30 * MIN),
        body: incident,
    };
    store
        .commit_alerting(&BookChanges::default(), &[], &[row])
        .await
        .expect("commit");
    let (from, until) =
        continuo_core::evidence::availability::month_bounds("2026-11").expect("a month");
    assert_eq!((from, until), (NOV, NOV + 30 * DAY));
    let report = store
        .availability_month(&catalog, from, until, Some("shop"))
        .await
        .expect("report");
    assert_eq!(report.len(), 1);
    let shop = &report[0];
    assert_eq!(shop.period.down_minutes, 30.0);
    assert_eq!(shop.period.days_with_data, 29);
    assert_eq!(shop.period.days_without_data, 1);
    let tenth = &shop.period.days[9];
    assert_eq!(tenth.date, "2026-11-10");
    assert_eq!(tenth.availability, None);
    assert_eq!(tenth.down_minutes, None);
    assert_eq!(shop.period.days[2].down_minutes, Some(30.0));
    assert_eq!(shop.incidents.len(), 1);
    assert_eq!(shop.incidents[0].duration_ms, Some(30 * MIN));
    assert_eq!(shop.incidents[0].rto, "met");
    // Every service when none is named; the blog has no checks: no data at all.
    let all = store
        .availability_month(&catalog, from, until, None)
        .await
        .expect("report");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].period.days_with_data, 0);
    assert_eq!(all[1].period.availability, None);
}
