//! Golden round trips of the JSON bodies the store keeps for alerting: an alert book and
//! an incident exactly as Continuo saved them before bodies had schema versions
//! (`tests/fixtures/*.json`, made once from the core types of that release). Each is read
//! through the store and the engine's deserialisation (`serde_json` into the core type)
//! and must serialise back to the same JSON. When a change of `AlertBook` or `Incident`
//! breaks this, a saved database would break too: raise the version in
//! `continuo_store::body` and upgrade the old shape there, do not edit the fixtures.
//!
//! On SQLite and on PostgreSQL (the shared harness in `continuo_store::testing`).

use continuo_core::alerting::{AlertBook, AlertState};
use continuo_core::incident::book::Incident;
use continuo_store::outbox::ALERT_BOOK_KEY;
use continuo_store::testing::TestDb;
use continuo_store::{BookChanges, IncidentRow, StoreError, backends};
use serde_json::{Value, json};

const ALERT_BOOK: &str = include_str!("fixtures/alert_book.json");
const INCIDENT: &str = include_str!("fixtures/incident.json");

backends!(
    an_alert_book_saved_before_versions_reads_back_unchanged,
    an_alert_book_round_trips_through_its_versioned_row,
    an_alert_book_of_version_1_has_its_alerts_moved_to_rows,
    an_incident_saved_before_versions_reads_back_unchanged,
    an_incident_round_trips_through_its_versioned_row,
    bodies_of_a_newer_version_are_refused_not_misread,
);

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// The engine's way in and back out: the stored value as an [`AlertBook`], as JSON.
fn through_alert_book(value: Value) -> Value {
    let book: AlertBook = serde_json::from_value(value).expect("reads as an AlertBook");
    serde_json::to_value(&book).expect("serialises")
}

/// The engine's way in and back out: the stored value as an [`Incident`], as JSON.
fn through_incident(value: Value) -> Value {
    let incident: Incident = serde_json::from_value(value).expect("reads as an Incident");
    serde_json::to_value(&incident).expect("serialises")
}

/// The fixtures hold what a saved database holds: escalation state, acknowledgement,
/// crisis roles, a checklist, updates and a timeline. (A fixture emptied by mistake
/// would make the round trips prove nothing.)
#[test]
fn the_fixtures_cover_what_alerting_saves() {
    let book: AlertBook = serde_json::from_str(ALERT_BOOK).expect("AlertBook");
    let states: Vec<AlertState> = book.alerts.values().map(|a| a.state).collect();
    assert_eq!(states, [AlertState::Firing, AlertState::Acknowledged]);
    assert!(
        book.alerts
            .values()
            .all(|a| a.escalation.is_some() && a.next_step > 0 && !a.notified.is_empty())
    );
    assert!(book.alerts.values().any(|a| a.acknowledged.is_some()));
    assert!(!book.health.is_empty());
    let incident: Incident = serde_json::from_str(INCIDENT).expect("Incident");
    assert!(incident.roles.len() >= 3, "{:?}", incident.roles);
    assert!(!incident.checklist.is_empty());
    assert!(!incident.updates.is_empty());
    assert!(!incident.reports.is_empty());
    assert!(incident.timeline.len() > 5);
}

/// Without a store: the core types read and write the fixtures unchanged.
#[test]
fn the_core_types_serialise_the_fixtures_unchanged() {
    assert_eq!(through_alert_book(fixture(ALERT_BOOK)), fixture(ALERT_BOOK));
    assert_eq!(through_incident(fixture(INCIDENT)), fixture(INCIDENT));
}

async fn an_alert_book_saved_before_versions_reads_back_unchanged(db: &TestDb) {
    // Today's databases hold the bare book, as `set_setting` writes it.
    let saved = fixture(ALERT_BOOK);
    db.store
        .set_setting(ALERT_BOOK_KEY, &saved)
        .await
        .expect("save as before versions");
    let read = db.store.alert_book().await.expect("read").expect("a book");
    assert_eq!(through_alert_book(read), saved);
}

async fn an_alert_book_round_trips_through_its_versioned_row(db: &TestDb) {
    let book = through_alert_book(fixture(ALERT_BOOK));
    db.store
        .commit_alerting(&BookChanges::whole(&book), &[], &[])
        .await
        .expect("commit");
    let stored = db
        .store
        .setting(ALERT_BOOK_KEY)
        .await
        .expect("raw")
        .expect("a row");
    // Version 2: the book without its alerts; each alert a versioned row of its own.
    let mut rest = fixture(ALERT_BOOK);
    let alerts = rest
        .as_object_mut()
        .and_then(|m| m.remove("alerts"))
        .expect("the fixture has alerts");
    assert_eq!(stored, json!({"version": 2, "body": rest}));
    assert!(
        alerts.as_object().is_some_and(|m| !m.is_empty()),
        "the fixture has alerts to keep as rows"
    );
    let read = db.reopen().await.alert_book().await.expect("read");
    assert_eq!(read.map(through_alert_book), Some(fixture(ALERT_BOOK)));
}

async fn an_alert_book_of_version_1_has_its_alerts_moved_to_rows(db: &TestDb) {
    // A book saved by the Continuo before version 2: alerts inline, in the envelope.
    let saved = json!({"version": 1, "body": fixture(ALERT_BOOK)});
    db.store
        .set_setting(ALERT_BOOK_KEY, &saved)
        .await
        .expect("save as version 1");
    let read = db.store.alert_book().await.expect("read").expect("a book");
    assert_eq!(through_alert_book(read), fixture(ALERT_BOOK));
    // Moved: the setting has no alerts any more, the rows have them, and a later
    // commit that changes nothing of them loses none.
    let stored = db
        .store
        .setting(ALERT_BOOK_KEY)
        .await
        .expect("raw")
        .expect("row");
    assert_eq!(stored["version"], json!(2));
    assert!(stored["body"].get("alerts").is_none(), "{stored}");
    db.store
        .commit_alerting(
            &BookChanges {
                rest: Some(json!({})),
                ..BookChanges::default()
            },
            &[],
            &[],
        )
        .await
        .expect("commit");
    let again = db
        .reopen()
        .await
        .alert_book()
        .await
        .expect("read")
        .expect("a book");
    assert_eq!(
        again["alerts"],
        fixture(ALERT_BOOK)["alerts"],
        "every alert still there"
    );
}

/// The row of the fixture incident, with `body` as its JSON.
fn incident_row(body: Value) -> IncidentRow {
    let incident: Incident = serde_json::from_value(body.clone()).expect("Incident");
    IncidentRow {
        id: incident.id.clone(),
        number: i64::try_from(incident.number).expect("number"),
        status: incident.status.name().to_string(),
        severity: i64::from(incident.severity.0),
        detected_ms: incident.milestones.detected_ms,
        resolved_ms: incident.milestones.resolved_ms,
        body,
    }
}

async fn an_incident_saved_before_versions_reads_back_unchanged(db: &TestDb) {
    // Today's databases hold the bare incident in `body`.
    let row = incident_row(fixture(INCIDENT));
    let text = row.body.to_string().replace('\'', "''");
    db.execute(&format!(
        "INSERT INTO incidents (id, number, status, severity, detected_ms, resolved_ms, body) \
         VALUES ('{}', {}, '{}', {}, {}, NULL, '{text}')",
        row.id,
        row.number,
        row.status,
        row.severity,
        row.detected_ms.expect("detected"),
    ))
    .await;
    let read = db.store.incident(&row.id).await.expect("read").expect("it");
    assert_eq!(through_incident(read), fixture(INCIDENT));
    let recent = db.store.incidents_recent(0).await.expect("recent");
    assert_eq!(
        recent.into_iter().map(through_incident).collect::<Vec<_>>(),
        [fixture(INCIDENT)]
    );
}

async fn an_incident_round_trips_through_its_versioned_row(db: &TestDb) {
    let row = incident_row(through_incident(fixture(INCIDENT)));
    let book = fixture(ALERT_BOOK);
    db.store
        .commit_alerting(&BookChanges::whole(&book), &[], std::slice::from_ref(&row))
        .await
        .expect("commit");
    let again = db.reopen().await;
    let read = again.incident(&row.id).await.expect("read").expect("it");
    assert_eq!(through_incident(read), fixture(INCIDENT));
    let between = again
        .incidents_between(0, i64::MAX, 10)
        .await
        .expect("between");
    assert_eq!(
        between
            .into_iter()
            .map(through_incident)
            .collect::<Vec<_>>(),
        [fixture(INCIDENT)]
    );
}

async fn bodies_of_a_newer_version_are_refused_not_misread(db: &TestDb) {
    db.store
        .set_setting(
            ALERT_BOOK_KEY,
            &json!({"version": 3, "body": {"alerts": 7}}),
        )
        .await
        .expect("save");
    let error = db.store.alert_book().await.expect_err("newer book");
    assert!(
        matches!(
            &error,
            StoreError::NewerVersion {
                table: "settings",
                found: 3,
                newest: 2,
                ..
            }
        ),
        "{error:?}"
    );
    db.execute(
        "INSERT INTO incidents (id, number, status, severity, detected_ms, resolved_ms, body) \
         VALUES ('INC-9', 9, 'investigating', 2, 5, NULL, '{\"version\": 99, \"body\": {}}')",
    )
    .await;
    let error = db
        .store
        .incident("INC-9")
        .await
        .expect_err("newer incident");
    assert!(
        matches!(&error, StoreError::NewerVersion { found: 99, id, .. } if id == "INC-9"),
        "{error:?}"
    );
    assert!(error.to_string().contains("INC-9"), "{error}");
    assert!(db.store.incidents_recent(0).await.is_err());
    assert!(db.store.incidents_between(0, 10, 5).await.is_err());
    // An alert row written by a newer Continuo is refused with its id, too.
    db.store
        .set_setting(ALERT_BOOK_KEY, &json!({"version": 2, "body": {}}))
        .await
        .expect("save");
    db.execute("INSERT INTO alerts (id, body) VALUES ('db-1', '{\"version\": 5, \"body\": {}}')")
        .await;
    let error = db.store.alert_book().await.expect_err("newer alert");
    assert!(
        matches!(&error, StoreError::NewerVersion { table: "alerts", found: 5, id, .. } if id == "db-1"),
        "{error:?}"
    );
}

const EVIDENCE: &str = include_str!("fixtures/evidence.json");

mod evidence_rows {
    use super::*;
    use continuo_core::evidence::Evidence;
    use continuo_store::EvidenceFilter;

    backends!(
        an_evidence_record_as_saved_reads_back_unchanged,
        an_evidence_record_of_a_newer_version_is_refused,
    );

    async fn insert(db: &TestDb, text: &str) {
        let quoted = text.trim().replace('\'', "''");
        db.execute(&format!(
            "INSERT INTO evidence (id, claim, subject, source_kind, observed_ms, outcome, recorded_ms, body) \
             VALUES ('r1', 'redundancy', 'service:webshop', 'failover', 1796446201311, 'met', 1796446201312, '{quoted}')"
        ))
        .await;
    }

    /// A record exactly as this release saves it reads back as the same JSON through
    /// the core type: a change of `Evidence` that breaks this must raise its version.
    async fn an_evidence_record_as_saved_reads_back_unchanged(db: &TestDb) {
        insert(db, EVIDENCE).await;
        let read = db
            .store
            .evidence(&EvidenceFilter::default())
            .await
            .expect("read");
        let expected: Evidence =
            serde_json::from_value(fixture(EVIDENCE)["body"].clone()).expect("an Evidence");
        assert_eq!(read, vec![expected.clone()]);
        assert_eq!(
            serde_json::to_value(&read[0]).expect("json"),
            fixture(EVIDENCE)["body"]
        );
    }

    async fn an_evidence_record_of_a_newer_version_is_refused(db: &TestDb) {
        insert(db, &json!({"version": 2, "body": {}}).to_string()).await;
        let error = db
            .store
            .evidence(&EvidenceFilter::default())
            .await
            .expect_err("newer");
        assert!(
            matches!(
                &error,
                StoreError::NewerVersion {
                    table: "evidence",
                    found: 2,
                    newest: 1,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
