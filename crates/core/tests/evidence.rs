//! Evidence and posture, data-driven with explicit time: which claims a catalog makes,
//! how a claim's verdict follows its records and the clock (met, breached, stale,
//! unproven), what each source records, and availability from day rollups.

mod common;

use common::{HOUR, MIN, T0, people_and_rota};
use continuo_core::catalog::Catalog;
use continuo_core::evidence::availability::{CheckDay, month_bounds, period};
use continuo_core::evidence::claims::{catalog_evidence, claims};
use continuo_core::evidence::records::{self, Failover};
use continuo_core::evidence::verdict::{State, error_budget, verdict, verdicts};
use continuo_core::evidence::{
    ClaimKind, Evidence, Measure, Outcome, Source, SourceKind, Subject, posture,
};
use continuo_core::incident::book::{Affected, Incident};
use continuo_core::load_text;

const DAY: i64 = 24 * HOUR;

fn catalog() -> Catalog {
    let config = format!(
        r#"[organization]
name = "Acme"
reviewed = "2026-05-01"
review_every = "365d"

{}
[[escalation]]
id = "pager"
levels = [{{ after = "0m", notify = ["schedule:web-primary"] }}, {{ after = "15m", notify = ["person:chen"] }}]

[[escalation]]
id = "db-pager"
levels = [{{ after = "0m", notify = ["person:chen"] }}]

[[service]]
id = "shop"
name = "Web shop"
tier = 1
owner = "web"
rto = "1h"
rpo = "15m"
slo = "99.9%"
runbook = {{ path = "runbooks/shop.md", review_every = "90d", reviewed = "2026-05-20" }}
endpoint = [{{ url = "http://127.0.0.1:9/a", role = "primary" }}, {{ url = "http://127.0.0.1:9/b", role = "backup" }}]
[[service.check]]
id = "shop-http"
kind = "tcp"
target = "127.0.0.1:9"

[[service]]
id = "blog"
name = "Blog"
tier = 4
owner = "db"
rto = "1d"
"#,
        people_and_rota("pager", "db-pager")
    );
    load_text(&config).unwrap_or_else(|e| panic!("the test catalog loads: {e:?}"))
}

fn kinds_of(catalog: &Catalog, subject: &Subject) -> Vec<ClaimKind> {
    claims(catalog)
        .into_iter()
        .filter(|c| &c.subject == subject)
        .map(|c| c.kind)
        .collect()
}

#[test]
fn claims_come_from_the_catalog() {
    let c = catalog();
    let shop = Subject::Service("shop".into());
    assert_eq!(
        kinds_of(&c, &shop),
        [
            ClaimKind::Rto,
            ClaimKind::Rpo,
            ClaimKind::Redundancy,
            ClaimKind::RunbookCurrent,
            ClaimKind::EscalationReachable,
            ClaimKind::Availability,
        ]
    );
    // Tier 4, no RPO, no backup, no runbook needed, no SLO: only the RTO and the pager.
    assert_eq!(
        kinds_of(&c, &Subject::Service("blog".into())),
        [ClaimKind::Rto, ClaimKind::EscalationReachable]
    );
    assert_eq!(
        kinds_of(&c, &Subject::Organization),
        [ClaimKind::PlanReviewed]
    );
    let all = claims(&c);
    let rto = all.iter().find(|x| x.kind == ClaimKind::Rto).expect("rto");
    assert_eq!(rto.target, Some(Measure::ms(HOUR)));
    assert_eq!(rto.tier, Some(1));
    let ack = all
        .iter()
        .find(|x| x.kind == ClaimKind::EscalationReachable && x.subject == shop)
        .expect("escalation");
    // The time before the escalation pages its second level.
    assert_eq!(ack.target, Some(Measure::ms(15 * MIN)));
    let slo = all
        .iter()
        .find(|x| x.kind == ClaimKind::Availability)
        .expect("slo");
    assert_eq!(slo.target, Some(Measure::percent(99.9)));
}

fn rec(claim: ClaimKind, service: &str, observed_ms: i64, outcome: Outcome) -> Evidence {
    let subject = Subject::Service(service.into());
    let source = Source {
        kind: SourceKind::Manual,
        id: format!("t{observed_ms}"),
    };
    Evidence {
        id: Evidence::id_for(claim, &subject, &source),
        claim,
        subject,
        source,
        observed_ms,
        value: None,
        target: None,
        outcome,
        link: None,
        note: None,
        recorded_by: "test".into(),
        recorded_ms: observed_ms,
    }
}

/// One case: the records of the shop's RTO claim (valid for 365 days), the time of the
/// verdict, the state expected and the record that decides (by observation time).
fn check(records: &[Evidence], now_ms: i64, state: State, decided_at: Option<i64>) {
    let c = catalog();
    let claim = claims(&c)
        .into_iter()
        .find(|x| x.kind == ClaimKind::Rto && x.subject == Subject::Service("shop".into()))
        .expect("the RTO claim");
    let v = verdict(&claim, records, now_ms);
    assert_eq!(v.state, state, "records {records:?} at {now_ms}");
    assert_eq!(v.evidence.as_ref().map(|e| e.observed_ms), decided_at);
    assert_eq!(v.age_ms, decided_at.map(|at| now_ms - at));
}

#[test]
fn the_verdict_follows_the_records_and_the_clock() {
    use ClaimKind::Rto;
    use Outcome::{Breached, Inconclusive, Met};
    // Nothing ever: unproven.
    check(&[], T0, State::Unproven, None);
    // Only inconclusive records never decide.
    check(
        &[rec(Rto, "shop", T0, Inconclusive)],
        T0,
        State::Unproven,
        None,
    );
    // A fresh met record.
    check(&[rec(Rto, "shop", T0, Met)], T0 + DAY, State::Met, Some(T0));
    // The freshest one decides, whatever order they come in.
    let both = [
        rec(Rto, "shop", T0 + DAY, Breached),
        rec(Rto, "shop", T0, Met),
    ];
    check(&both, T0 + 2 * DAY, State::Breached, Some(T0 + DAY));
    // Inconclusive newer records are passed over.
    let newer = [
        rec(Rto, "shop", T0, Met),
        rec(Rto, "shop", T0 + DAY, Inconclusive),
    ];
    check(&newer, T0 + 2 * DAY, State::Met, Some(T0));
    // Exactly at the end of the window it still holds; a millisecond later it is stale.
    check(
        &[rec(Rto, "shop", T0, Met)],
        T0 + 365 * DAY,
        State::Met,
        Some(T0),
    );
    check(
        &[rec(Rto, "shop", T0, Met)],
        T0 + 365 * DAY + 1,
        State::Stale,
        Some(T0),
    );
    // Stale whatever the old record said.
    check(
        &[rec(Rto, "shop", T0, Breached)],
        T0 + 400 * DAY,
        State::Stale,
        Some(T0),
    );
    // Records of other claims and services, or from the future, do not count.
    let others = [
        rec(ClaimKind::Rpo, "shop", T0, Met),
        rec(Rto, "blog", T0, Met),
        rec(Rto, "shop", T0 + 10 * DAY, Met),
    ];
    check(&others, T0 + DAY, State::Unproven, None);
}

fn incident(services: Vec<Affected>, resolved_ms: Option<i64>) -> Incident {
    let mut value = serde_json::json!({
        "id": "INC-1", "number": 1, "title": "Web shop down", "status": "resolved",
        "severity": 1, "severity_by_hand": false, "declared_by": null,
        "alerts": [], "services": services,
        "milestones": {"started_ms": T0, "detected_ms": T0, "acknowledged_ms": null,
                        "mitigated_ms": null, "resolved_ms": resolved_ms},
        "roles": {}, "plans": [], "checklist": [], "updates": [], "significant_ms": null,
        "reports": [], "actions": [], "review": {}, "timeline": []
    });
    if resolved_ms.is_none() {
        value["status"] = "investigating".into();
    }
    serde_json::from_value(value).expect("an incident")
}

fn affected(service: &str, down_ms: i64, up_ms: Option<i64>, rto_ms: i64) -> Affected {
    Affected {
        service: service.into(),
        name: service.into(),
        tier: 1,
        root_cause: true,
        down_ms,
        up_ms,
        rto_ms,
        rpo_ms: Some(15 * MIN),
        last_good_ms: Some(down_ms - 20 * MIN),
    }
}

#[test]
fn an_incident_records_recovery_against_the_rto_and_data_loss_against_the_rpo() {
    // Open: nothing yet.
    assert!(
        records::incident_resolved(&incident(vec![affected("shop", T0, None, HOUR)], None), T0)
            .is_empty()
    );
    let inc = incident(
        vec![
            affected("shop", T0, Some(T0 + 9 * MIN), HOUR),
            // Longer than its RTO: breached.
            affected("pay", T0, Some(T0 + 2 * HOUR), HOUR),
            // Resolved by hand while still down: inconclusive.
            affected("blog", T0, None, HOUR),
        ],
        Some(T0 + 3 * HOUR),
    );
    let out = records::incident_resolved(&inc, T0 + 3 * HOUR);
    let find = |claim, service: &str| {
        out.iter()
            .find(|e| e.claim == claim && e.subject == Subject::Service(service.into()))
            .unwrap_or_else(|| panic!("a {claim:?} record for {service}"))
    };
    let shop = find(ClaimKind::Rto, "shop");
    assert_eq!(shop.outcome, Outcome::Met);
    assert_eq!(shop.value, Some(Measure::ms(9 * MIN)));
    assert_eq!(shop.target, Some(Measure::ms(HOUR)));
    assert_eq!(shop.observed_ms, T0 + 9 * MIN);
    assert_eq!(shop.link.as_deref(), Some("/incidents/INC-1"));
    assert_eq!(shop.source.kind, SourceKind::Incident);
    assert_eq!(shop.source.id, "INC-1");
    assert_eq!(find(ClaimKind::Rto, "pay").outcome, Outcome::Breached);
    assert_eq!(find(ClaimKind::Rto, "blog").outcome, Outcome::Inconclusive);
    // The last good heartbeat 20 minutes before the failure, against an RPO of 15.
    let rpo = find(ClaimKind::Rpo, "shop");
    assert_eq!(rpo.value, Some(Measure::ms(20 * MIN)));
    assert_eq!(rpo.outcome, Outcome::Breached);

    // Through the verdict: the shop's RTO is met, and turns stale a year later.
    let c = catalog();
    let v = verdicts(&claims(&c), &out, T0 + DAY);
    let shop_rto = v
        .iter()
        .find(|v| {
            v.claim.kind == ClaimKind::Rto && v.claim.subject == Subject::Service("shop".into())
        })
        .expect("verdict");
    assert_eq!(shop_rto.state, State::Met);
    let later = verdicts(&claims(&c), &out, T0 + 366 * DAY);
    assert!(
        later
            .iter()
            .any(|v| v.claim.kind == ClaimKind::Rto && v.state == State::Stale)
    );
}

#[test]
fn a_failover_proves_redundancy_within_the_rto() {
    let f = Failover {
        gateway: "shop-gw".into(),
        service: "shop".into(),
        at_ms: T0,
        duration_ms: 4_200,
        failed_requests: 3,
        retried_requests: 12,
        planned: false,
    };
    let met = records::failover(&f, Some(HOUR), T0);
    assert_eq!(
        (met.claim, met.outcome),
        (ClaimKind::Redundancy, Outcome::Met)
    );
    assert_eq!(met.value, Some(Measure::ms(4_200)));
    let slow = Failover {
        duration_ms: 2 * HOUR,
        ..f
    };
    assert_eq!(
        records::failover(&slow, Some(HOUR), T0).outcome,
        Outcome::Breached
    );
}

#[test]
fn an_acknowledged_page_proves_the_escalation_reachable_in_time() {
    let quick = records::page_acknowledged("a1", "shop", T0, T0 + 4 * MIN, "anna", 15 * MIN, T0);
    assert_eq!(quick.outcome, Outcome::Met);
    assert_eq!(quick.value, Some(Measure::ms(4 * MIN)));
    let late = records::page_acknowledged("a2", "shop", T0, T0 + 16 * MIN, "anna", 15 * MIN, T0);
    assert_eq!(late.outcome, Outcome::Breached);
}

#[test]
fn review_dates_in_the_catalog_are_evidence_until_their_interval_ends() {
    let c = catalog();
    let at = |now| {
        let p = posture(&c, &[], &[], now);
        let state = |kind, subject: Subject| {
            p.verdicts
                .iter()
                .find(|v| v.claim.kind == kind && v.claim.subject == subject)
                .map(|v| v.state)
        };
        (
            state(ClaimKind::RunbookCurrent, Subject::Service("shop".into())),
            state(ClaimKind::PlanReviewed, Subject::Organization),
        )
    };
    // Runbook reviewed 2026-05-20 every 90 days; plan 2026-05-01 every 365 days.
    assert_eq!(at(T0), (Some(State::Met), Some(State::Met)));
    assert_eq!(at(T0 + 100 * DAY), (Some(State::Stale), Some(State::Met)));
    assert_eq!(at(T0 + 400 * DAY), (Some(State::Stale), Some(State::Stale)));
    // Without a runbook, a tier 1 service's claim stands breached.
    let mut bare = c.clone();
    bare.services[0].runbook = None;
    let r = catalog_evidence(&bare, T0);
    assert!(
        r.iter()
            .any(|e| e.claim == ClaimKind::RunbookCurrent && e.outcome == Outcome::Breached)
    );
}

#[test]
fn readiness_lists_claims_by_state_and_never_scores() {
    let c = catalog();
    let stored = [rec(ClaimKind::Rto, "shop", T0, Outcome::Met)];
    let p = posture(&c, &stored, &[], T0 + DAY);
    let (_, shop) = p
        .subjects
        .iter()
        .find(|(s, _)| *s == Subject::Service("shop".into()))
        .expect("the shop");
    assert!(shop.met.contains(&ClaimKind::Rto));
    assert!(shop.unproven.contains(&ClaimKind::Redundancy));
    assert!(!shop.all_met());
    let tier1 = p.tiers.iter().find(|t| t.tier == 1).expect("tier 1");
    assert_eq!(
        tier1.totals.get("met").copied().unwrap_or(0) as usize,
        shop.met.len()
    );
}

fn day(check: &str, day_ms: i64, count: u64, failures: u64) -> CheckDay {
    CheckDay {
        check: check.into(),
        day_ms,
        count,
        failures,
    }
}

#[test]
fn availability_counts_known_downtime_and_never_counts_a_day_without_data() {
    let (from, until) = month_bounds("2026-11").expect("a month");
    assert_eq!(until - from, 30 * DAY);
    let checks = vec!["shop-http".to_string(), "shop-tls".to_string()];
    let mut rows: Vec<CheckDay> = (0..30)
        .filter(|d| *d != 10)
        .map(|d| day("shop-http", from + d * DAY, 1_440, 0))
        .collect();
    // Day 3: 90 failed minutes of the HTTP check, 30 of the TLS check: the worst counts.
    rows[3].failures = 90;
    rows.push(day("shop-tls", from + 3 * DAY, 1_440, 30));
    // Another check's rows and an empty day change nothing.
    rows.push(day("other", from + 4 * DAY, 1_440, 1_440));
    rows.push(day("shop-http", from + 10 * DAY, 0, 0));
    let p = period(&checks, &rows, from, until);
    assert_eq!(p.days.len(), 30);
    assert_eq!(p.days_with_data, 29);
    assert_eq!(p.days_without_data, 1);
    assert_eq!(p.down_minutes, 90.0);
    assert_eq!(p.days[3].down_minutes, Some(90.0));
    assert_eq!(p.days[10].availability, None);
    assert_eq!(p.days[10].date, "2026-11-11");
    // 90 minutes down out of 29 measured days.
    let expected = ((1.0 - 90.0 / (29.0 * 1_440.0)) * 100.0 * 1000.0_f64).round() / 1000.0;
    assert_eq!(p.availability, Some(expected));
    // A period with no data at all has no availability, not 100 %.
    assert_eq!(period(&checks, &[], from, until).availability, None);

    // 99.9 % over 30 days allows 43.2 minutes.
    let b = error_budget(0.999, 30 * DAY, 90.0);
    assert!((b.allowed_minutes - 43.2).abs() < 1e-9);
    assert!((b.remaining_minutes - (43.2 - 90.0)).abs() < 1e-9);

    let r = records::availability("shop", 0.999, "2026-12-01", &p, until, until);
    assert_eq!(r.outcome, Outcome::Breached);
    assert_eq!(r.claim, ClaimKind::Availability);
    let none = records::availability(
        "shop",
        0.999,
        "2026-12-01",
        &period(&checks, &[], from, until),
        until,
        until,
    );
    assert_eq!(none.outcome, Outcome::Inconclusive);
}

#[test]
fn months_and_subjects_parse_strictly() {
    assert!(month_bounds("2026-13").is_none());
    assert!(month_bounds("november").is_none());
    assert_eq!(Subject::parse("web"), Some(Subject::Service("web".into())));
    assert_eq!(
        Subject::parse("dataset:orders"),
        Some(Subject::Dataset("orders".into()))
    );
    assert_eq!(Subject::parse("organization"), Some(Subject::Organization));
    assert_eq!(Subject::parse("team:x"), None);
    assert_eq!(Subject::parse("service:"), None);
    for kind in ClaimKind::ALL {
        assert_eq!(ClaimKind::from_name(kind.name()), Some(kind));
    }
    assert_eq!(ClaimKind::from_name("uptime"), None);
}

#[test]
fn a_verdict_reads_as_one_line_in_both_languages() {
    let c = catalog();
    let claim = claims(&c)
        .into_iter()
        .find(|x| x.kind == ClaimKind::Rto && x.subject == Subject::Service("shop".into()))
        .expect("the RTO claim");
    let line = |records: &[Evidence], now_ms: i64| {
        let s = verdict(&claim, records, now_ms).summary();
        (s.en, s.nl)
    };
    let mut slow = rec(ClaimKind::Rto, "shop", T0, Outcome::Breached);
    slow.value = Some(Measure::ms(2 * HOUR + 5 * MIN));
    slow.target = Some(Measure::ms(HOUR));
    slow.source = Source {
        kind: SourceKind::Incident,
        id: "INC-3".into(),
    };
    assert_eq!(
        line(std::slice::from_ref(&slow), T0 + DAY),
        (
            "RTO breached: 2 h 5 min against 1 h (incident INC-3)".to_string(),
            "RTO geschonden: 2 h 5 min tegenover 1 h (incident INC-3)".to_string()
        )
    );
    // T0 is 2026-06-01 09:00 UTC; a year and a day later the proof is stale.
    assert_eq!(
        line(&[slow], T0 + 366 * DAY),
        (
            "RTO stale: last proven 2026-06-01, valid for 365 d".to_string(),
            "RTO verouderd: laatst bewezen op 2026-06-01, geldig voor 365 d".to_string()
        )
    );
    let mut quick = rec(ClaimKind::Rto, "shop", T0, Outcome::Met);
    quick.value = Some(Measure::ms(2_100));
    quick.target = Some(Measure::ms(HOUR));
    assert_eq!(
        line(&[quick], T0 + DAY).1,
        "RTO gehaald: 2,1 s tegenover 1 h (handmatig vastgelegd t1780304400000)"
    );
    assert_eq!(
        line(&[], T0),
        (
            "RTO unproven: no evidence yet".to_string(),
            "RTO onbewezen: nog geen bewijs".to_string()
        )
    );
}
