//! Snapshots of the documents: the postmortem and the NIS2 and DORA report drafts of one
//! incident, built with core's incident book at fixed times so every run writes the
//! same text. A change in wording or layout shows up as a snapshot diff to review.

use continuo_core::catalog::Catalog;
use continuo_core::incident::book::{Change, Incident, IncidentBook, IncidentContext, Review};
use continuo_core::incident::{Audience, Regime, Severity, Status};
use continuo_core::text::Text;
use continuo_core::{Lang, load_text};
use continuo_report::{postmortem, report_draft};

const MIN: i64 = 60_000;
/// 2026-06-01T09:00:00Z.
const T0: i64 = 1_780_304_400_000;

const CONFIG: &str = r#"
[organization]
name = "Acme"
timezone = "Europe/Amsterdam"
regulations = ["nis2", "dora"]

[[person]]
id = "anna"
name = "Anna"

[[team]]
id = "ops"
members = ["anna"]

[[service]]
id = "db"
name = "Orders database"
tier = 1
owner = "ops"
rto = "30m"
rpo = "15m"
cost_per_hour = 6000.0

[[service]]
id = "shop"
name = "Webshop"
tier = 1
owner = "ops"
rto = "1h"
depends_on = ["db"]
"#;

/// One incident through its whole life: declared SEV1 on the database and the shop,
/// updates for customers and staff, classified significant, resolved, reviewed.
fn incident(catalog: &Catalog) -> Incident {
    let mut book = IncidentBook::default();
    let runbook = |_: &str| None;
    let last_good = |s: &str, _before: i64| (s == "db").then_some(T0 - 40 * MIN);
    let at = |now_ms: i64| IncidentContext {
        catalog,
        now_ms,
        runbook: &runbook,
        last_good_ms: &last_good,
    };
    let (id, _) = book
        .declare(
            &at(T0),
            "Orders cannot be placed",
            &["db".into(), "shop".into()],
            Some(Severity(1)),
            "anna",
        )
        .expect("declared");
    book.change(
        &at(T0 + 5 * MIN),
        &id,
        &Change {
            significant: Some(true),
            ..Change::default()
        },
        "anna",
    )
    .expect("classified");
    book.post_update(
        &at(T0 + 10 * MIN),
        &id,
        Some(Status::Identified),
        Audience::Customers,
        Text::new(
            "The orders database is full; we are moving it.",
            "De database met bestellingen is vol; we verhuizen hem.",
        ),
        "anna",
    )
    .expect("customer update");
    book.post_update(
        &at(T0 + 12 * MIN),
        &id,
        None,
        Audience::Internal,
        Text::new("Replica promoted.", "Replica gepromoveerd."),
        "anna",
    )
    .expect("internal update");
    book.note(&at(T0 + 15 * MIN), &id, "Disk alarm was muted", "anna")
        .expect("note");
    book.change(
        &at(T0 + 45 * MIN),
        &id,
        &Change {
            status: Some(Status::Resolved),
            ..Change::default()
        },
        "anna",
    )
    .expect("resolved");
    book.add_action(
        &at(T0 + 60 * MIN),
        &id,
        "Alert on disk usage at 80%",
        Some("anna"),
        Some("2026-06-15"),
        "anna",
    )
    .expect("action");
    book.review(
        &at(T0 + 90 * MIN),
        &id,
        Review {
            summary: Some("The orders database ran out of disk.".into()),
            root_causes: Some("Log files were never rotated.".into()),
            trigger: Some("A sale doubled the write load.".into()),
            resolution: Some("The replica was promoted.".into()),
            went_well: vec!["The replica was current.".into()],
            went_wrong: vec!["The disk alarm was muted.".into()],
            lucky: vec!["It happened during office hours.".into()],
            malicious: Some(false),
            cross_border: None,
        },
        "anna",
    )
    .expect("reviewed");
    book.get(&id).expect("the incident").clone()
}

fn catalog() -> Catalog {
    load_text(CONFIG).expect("valid config")
}

#[test]
fn postmortem_in_english_and_dutch() {
    let catalog = catalog();
    let incident = incident(&catalog);
    let now = T0 + 120 * MIN;
    insta::assert_snapshot!(
        "postmortem_en",
        postmortem(&incident, &catalog, now, Lang::En)
    );
    insta::assert_snapshot!(
        "postmortem_nl",
        postmortem(&incident, &catalog, now, Lang::Nl)
    );
}

#[test]
fn nis2_and_dora_report_drafts() {
    let catalog = catalog();
    let incident = incident(&catalog);
    let now = T0 + 120 * MIN;
    insta::assert_snapshot!(
        "nis2_en",
        report_draft(&incident, &catalog, Regime::Nis2, now, Lang::En)
    );
    insta::assert_snapshot!(
        "dora_en",
        report_draft(&incident, &catalog, Regime::Dora, now, Lang::En)
    );
    insta::assert_snapshot!(
        "nis2_nl",
        report_draft(&incident, &catalog, Regime::Nis2, now, Lang::Nl)
    );
}
