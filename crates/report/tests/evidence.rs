//! Snapshots of the posture and the monthly availability report, from core's pure
//! functions on fixed records, rollups and times, in English and Dutch. A change in
//! wording or layout shows up as a snapshot diff to review.

use continuo_core::catalog::Catalog;
use continuo_core::evidence::availability::{
    CheckDay, ReportIncident, ServiceMonth, month_bounds, service_month,
};
use continuo_core::evidence::records::{self, Failover};
use continuo_core::evidence::{
    ClaimKind, Evidence, Measure, Outcome, Posture, Source, SourceKind, Subject, posture,
};
use continuo_core::{Lang, Text, load_text};
use continuo_report::evidence::{
    availability_csv, availability_markdown, minutes, posture_markdown, verdict_cells,
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2026-11-01T00:00:00Z.
const NOV: i64 = 1_793_491_200_000;
/// When the posture is taken: 2026-12-05T09:00:00Z.
const NOW: i64 = NOV + 34 * DAY + 9 * HOUR;

fn catalog() -> Catalog {
    load_text(
        r#"[organization]
name = "Acme"
timezone = "Europe/Amsterdam"
reviewed = "2025-06-01"
review_every = "365d"

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
rpo = "15m"
slo = "99.9%"
runbook = { path = "runbooks/shop.md", review_every = "90d", reviewed = "2026-10-01" }
endpoint = [{ url = "http://127.0.0.1:9/a", role = "primary" }, { url = "http://127.0.0.1:9/b", role = "backup" }]
[[service.check]]
id = "shop-http"
kind = "tcp"
target = "127.0.0.1:9"

[[service]]
id = "blog"
name = "Blog | news"
tier = 4
owner = "web"
rto = "1d"
"#,
    )
    .unwrap_or_else(|e| panic!("the test catalog loads: {e:?}"))
}

fn record(
    claim: ClaimKind,
    kind: SourceKind,
    id: &str,
    observed_ms: i64,
    value: Option<Measure>,
    outcome: Outcome,
) -> Evidence {
    let subject = Subject::Service("shop".into());
    let source = Source {
        kind,
        id: id.into(),
    };
    Evidence {
        id: Evidence::id_for(claim, &subject, &source),
        claim,
        subject,
        source,
        observed_ms,
        value,
        target: None,
        outcome,
        link: (kind == SourceKind::Incident).then(|| format!("/incidents/{id}")),
        note: None,
        recorded_by: "continuo".into(),
        recorded_ms: observed_ms,
    }
}

/// Every day of November but the 10th observed 144 times; on the 3rd three failed
/// (exactly 30 minutes down).
fn november() -> Vec<CheckDay> {
    (0..30)
        .filter(|d| *d != 9)
        .map(|d| CheckDay {
            check: "shop-http".into(),
            day_ms: NOV + d * DAY,
            count: 144,
            failures: if d == 2 { 3 } else { 0 },
        })
        .collect()
}

fn the_posture(catalog: &Catalog) -> Posture {
    let mut manual = record(
        ClaimKind::Rpo,
        SourceKind::Manual,
        "1764000000000-ab12",
        NOV + 24 * DAY + 10 * HOUR,
        Some(Measure::ms(4 * MIN)),
        Outcome::Met,
    );
    manual.recorded_by = "anna".into();
    manual.note = Some(Text::same("External audit, restore of 24 Nov"));
    let failover = records::failover(
        &Failover {
            gateway: "shop-gw".into(),
            service: "shop".into(),
            at_ms: NOV + 20 * DAY,
            duration_ms: 1_400,
            failed_requests: 0,
            retried_requests: 3,
            planned: false,
        },
        Some(HOUR),
        NOV + 20 * DAY,
    );
    let stored = vec![
        record(
            ClaimKind::Rto,
            SourceKind::Incident,
            "INC-1",
            NOV + 2 * DAY + 30 * MIN,
            Some(Measure::ms(30 * MIN)),
            Outcome::Met,
        ),
        manual,
        failover,
    ];
    posture(catalog, &stored, &november(), NOW)
}

fn the_month(catalog: &Catalog) -> Vec<ServiceMonth> {
    let (from, until) = month_bounds("2026-11").expect("a month");
    let incident = ReportIncident {
        id: "INC-1".into(),
        title: "Web shop down, \"checkout\" fails".into(),
        down_ms: NOV + 2 * DAY,
        up_ms: Some(NOV + 2 * DAY + 30 * MIN),
        duration_ms: Some(30 * MIN),
        rto: "met",
    };
    let shop = catalog.service("shop").expect("shop");
    let blog = catalog.service("blog").expect("blog");
    vec![
        service_month(shop, &november(), from, until, vec![incident]),
        service_month(blog, &november(), from, until, Vec::new()),
    ]
}

#[test]
fn posture_markdown_en() {
    let c = catalog();
    insta::assert_snapshot!(posture_markdown(&the_posture(&c), &c, Lang::En));
}

#[test]
fn posture_markdown_nl() {
    let c = catalog();
    insta::assert_snapshot!(posture_markdown(&the_posture(&c), &c, Lang::Nl));
}

#[test]
fn availability_markdown_en() {
    let c = catalog();
    insta::assert_snapshot!(availability_markdown(
        "2026-11",
        &the_month(&c),
        &c,
        Lang::En
    ));
}

#[test]
fn availability_markdown_nl() {
    let c = catalog();
    insta::assert_snapshot!(availability_markdown(
        "2026-11",
        &the_month(&c),
        &c,
        Lang::Nl
    ));
}

#[test]
fn availability_csv_en() {
    let c = catalog();
    insta::assert_snapshot!(availability_csv("2026-11", &the_month(&c), Lang::En));
}

#[test]
fn availability_csv_nl() {
    let c = catalog();
    insta::assert_snapshot!(availability_csv("2026-11", &the_month(&c), Lang::Nl));
}

/// The figures that matter, checked without a snapshot: exact downtime, the day without
/// data never counted as up, and the verdict cells of a manual record.
#[test]
fn exact_minutes_and_no_data_days() {
    let c = catalog();
    let month = the_month(&c);
    let shop = &month[0];
    assert_eq!(minutes(shop.period.down_minutes), "30");
    let csv = availability_csv("2026-11", &month, Lang::En);
    let row = csv.lines().nth(1).expect("the shop's row");
    assert!(row.contains(",30,29,1,2026-11-10,"), "{row}");
    let blog = csv.lines().nth(2).expect("the blog's row");
    assert!(
        blog.starts_with("2026-11,blog,Blog | news,4,no data,no data,0,30,"),
        "{blog}"
    );
    let md = availability_markdown("2026-11", &month, &c, Lang::En);
    assert!(md.contains("| 2026-11-10 | no data | no data |"), "{md}");

    let p = the_posture(&c);
    let rpo = p
        .verdicts
        .iter()
        .find(|v| v.claim.kind == ClaimKind::Rpo)
        .expect("an RPO claim");
    let cells = verdict_cells(rpo, &c, Lang::En);
    assert_eq!(cells.state, "met");
    assert_eq!(cells.figures, "4 min / 15 min");
    assert_eq!(cells.source, "recorded by hand (anna)");
    assert_eq!(cells.observed, "2026-11-25 11:00 CET");
    assert_eq!(cells.age, "9 d 23 h");
    assert_eq!(cells.note, "External audit, restore of 24 Nov");
}

#[test]
fn minutes_are_exact_and_never_negative_zero() {
    for (value, expected) in [
        (30.0, "30"),
        (30.5, "30.5"),
        (0.4166, "0.417"),
        (-0.0, "0"),
        (-12.25, "-12.25"),
        (43.2, "43.2"),
    ] {
        assert_eq!(minutes(value), expected, "{value}");
    }
}
