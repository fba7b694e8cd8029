//! Status page subscribers: who is told what, and in which words.

// In tests an unwrap is an assertion.
#![allow(clippy::unwrap_used)]

use continuo_core::incident::book::{Change, IncidentBook, IncidentContext};
use continuo_core::incident::{Audience, Status};
use continuo_core::public::PublicView;
use continuo_core::state::{CheckStatus, Health, ServiceHealth};
use continuo_core::subscribers::{
    Announcement, ComponentStatus, Links, News, PayloadContext, Subscriber, SubscriberKind,
    SubscriberState, announcement_mail, check_components, check_email, component_announcements,
    component_status, incident_announcements, is_told, page_status, payload,
};
use continuo_core::{Catalog, Lang, Text, load_text};
use std::collections::BTreeMap;

const CONFIG: &str = r#"
[organization]
name = "Acme Retail"
timezone = "Europe/Amsterdam"

[[person]]
id = "anna"
name = "Anna"

[[team]]
id = "web"
members = ["anna"]

[[service]]
id = "shop"
name = "Webshop"
tier = 1
owner = "web"
rto = "15m"
status_page = { component = "Webshop", group = "Shopping" }

[[service]]
id = "db"
name = "Orders database"
tier = 1
owner = "web"
rto = "15m"
"#;

fn catalog() -> Catalog {
    load_text(CONFIG).expect("valid config")
}

#[test]
fn email_addresses() {
    let check = |input: &str, expected: Option<&str>| {
        assert_eq!(check_email(input).ok().as_deref(), expected, "{input}");
    };
    check("anna@example.com", Some("anna@example.com"));
    check(
        "  Anna.de.Vries+status@Example.NL ",
        Some("Anna.de.Vries+status@example.nl"),
    );
    check("anna", None);
    check("anna@localhost", None);
    check("@example.com", None);
    check("anna@@example.com", None);
    check("anna @example.com", None);
    check("Anna <anna@example.com>", None);
    check("anna@-example.com", None);
    check("a..b@example.com", None);
    check("", None);
    let error = check_email("nope").unwrap_err();
    assert!(error.en.contains("name@example.com") && error.nl.contains("naam@example.com"));
}

#[test]
fn components_are_the_services_on_the_status_page() {
    let catalog = catalog();
    // By service id, public id (the status page API's) or name: the same component.
    assert_eq!(
        check_components(
            &catalog,
            &["shop".into(), "webshop".into(), "Webshop".into()]
        ),
        Ok(vec!["shop".to_string()])
    );
    assert_eq!(check_components(&catalog, &[]), Ok(vec![]));
    let error = check_components(&catalog, &["db".into()]).unwrap_err();
    assert!(error.en.contains("choose from: webshop"), "{}", error.en);
}

#[test]
fn component_status_from_health() {
    let mut catalog = catalog();
    let health = |health: Health, own: CheckStatus, cause: &str| ServiceHealth {
        health,
        own,
        root_causes: if cause.is_empty() {
            Vec::new()
        } else {
            vec![cause.to_string()]
        },
        failing_since_ms: None,
    };
    let check = |catalog: &Catalog,
                 h: Option<ServiceHealth>,
                 maintenance: bool,
                 expected: ComponentStatus| {
        assert_eq!(
            component_status(catalog, h.as_ref(), maintenance),
            expected,
            "{h:?} {maintenance}"
        );
    };
    use CheckStatus::{Down, Up};
    check(
        &catalog,
        Some(health(Health::Down, Down, "")),
        false,
        ComponentStatus::MajorOutage,
    );
    // Impacted with its own checks still passing: a partial outage.
    check(
        &catalog,
        Some(health(Health::Impacted, Up, "db")),
        false,
        ComponentStatus::PartialOutage,
    );
    // Its own checks fail and the root cause (the database) is not on the page: nothing
    // else on the page shows how bad it is, so a major outage.
    check(
        &catalog,
        Some(health(Health::Impacted, Down, "db")),
        false,
        ComponentStatus::MajorOutage,
    );
    check(
        &catalog,
        Some(health(Health::Degraded, Up, "")),
        false,
        ComponentStatus::DegradedPerformance,
    );
    check(
        &catalog,
        Some(health(Health::Operational, Up, "")),
        false,
        ComponentStatus::Operational,
    );
    // No data is announced as operational (Statuspage has no word for it).
    check(
        &catalog,
        Some(health(Health::Unknown, CheckStatus::Unknown, "")),
        false,
        ComponentStatus::Operational,
    );
    check(&catalog, None, false, ComponentStatus::Operational);
    check(
        &catalog,
        Some(health(Health::Down, Down, "")),
        true,
        ComponentStatus::UnderMaintenance,
    );
    // When the root cause is public itself, it shows the outage: partial here.
    let db = catalog
        .services
        .iter_mut()
        .find(|s| s.id.value == "db")
        .expect("db");
    db.status_page.component = Some("Orders".into());
    check(
        &catalog,
        Some(health(Health::Impacted, Down, "db")),
        false,
        ComponentStatus::PartialOutage,
    );
}

#[test]
fn page_status_is_the_worst_component() {
    let check = |statuses: &[ComponentStatus], expected: &str| {
        let map: BTreeMap<String, ComponentStatus> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| (i.to_string(), *s))
            .collect();
        assert_eq!(page_status(&map).0, expected, "{statuses:?}");
    };
    check(&[], "none");
    check(&[ComponentStatus::Operational], "none");
    check(
        &[
            ComponentStatus::Operational,
            ComponentStatus::DegradedPerformance,
        ],
        "minor",
    );
    check(
        &[
            ComponentStatus::PartialOutage,
            ComponentStatus::DegradedPerformance,
        ],
        "major",
    );
    check(
        &[
            ComponentStatus::MajorOutage,
            ComponentStatus::UnderMaintenance,
        ],
        "critical",
    );
    check(
        &[
            ComponentStatus::UnderMaintenance,
            ComponentStatus::Operational,
        ],
        // As the status page says it: `none`, described as maintenance.
        "none",
    );
    let maintenance: BTreeMap<String, ComponentStatus> =
        [("0".to_string(), ComponentStatus::UnderMaintenance)].into();
    assert_eq!(page_status(&maintenance).1, "Service Under Maintenance");
}

fn subscriber(
    state: SubscriberState,
    confirmed_ms: Option<i64>,
    components: &[&str],
) -> Subscriber {
    Subscriber {
        id: "s1".into(),
        kind: SubscriberKind::Email,
        address: "anna@example.com".into(),
        components: components.iter().map(|c| c.to_string()).collect(),
        language: Lang::Nl,
        state,
        created_ms: 0,
        confirmed_ms,
    }
}

#[test]
fn who_is_told() {
    let announcement = Announcement {
        key: "INC-1/created".into(),
        at_ms: 1_000,
        news: News::IncidentCreated {
            incident: "INC-1".into(),
        },
        components: vec!["shop".into()],
    };
    let check =
        |s: Subscriber, expected: bool| assert_eq!(is_told(&s, &announcement), expected, "{s:?}");
    check(subscriber(SubscriberState::Confirmed, Some(500), &[]), true);
    check(
        subscriber(SubscriberState::Confirmed, Some(1_000), &["shop"]),
        true,
    );
    check(
        subscriber(SubscriberState::Confirmed, Some(500), &["other"]),
        false,
    );
    // Confirmed after it happened: no backlog of old news.
    check(
        subscriber(SubscriberState::Confirmed, Some(1_001), &[]),
        false,
    );
    check(subscriber(SubscriberState::Pending, None, &[]), false);
    check(
        subscriber(SubscriberState::Unsubscribed, Some(500), &[]),
        false,
    );
}

#[test]
fn component_changes_only_for_known_components() {
    let before: BTreeMap<String, ComponentStatus> =
        [("shop".to_string(), ComponentStatus::Operational)].into();
    let after: BTreeMap<String, ComponentStatus> = [
        ("shop".to_string(), ComponentStatus::MajorOutage),
        ("new".to_string(), ComponentStatus::MajorOutage),
    ]
    .into();
    let changes = component_announcements(&before, &after, 42);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].key, "component/shop/at42");
    assert!(component_announcements(&after, &after, 43).is_empty());
}

#[test]
fn incidents_announce_creation_customer_updates_and_resolution() {
    let catalog = catalog();
    let runbook = |_: &str| None;
    let last_good = |_: &str, _: i64| None;
    let ctx = |now_ms| IncidentContext {
        catalog: &catalog,
        now_ms,
        runbook: &runbook,
        last_good_ms: &last_good,
    };
    let mut book = IncidentBook::default();
    let (id, _) = book
        .declare(
            &ctx(1_000),
            "Checkout fails",
            &["shop".into()],
            None,
            "anna",
        )
        .unwrap();
    let text = |s: &str| Text::new(s, format!("nl: {s}"));
    book.post_update(
        &ctx(2_000),
        &id,
        None,
        Audience::Internal,
        text("db is on fire"),
        "anna",
    )
    .unwrap();
    book.post_update(
        &ctx(3_000),
        &id,
        Some(Status::Identified),
        Audience::Customers,
        text("We found it"),
        "anna",
    )
    .unwrap();
    book.change(
        &ctx(4_000),
        &id,
        &Change {
            status: Some(Status::Resolved),
            ..Change::default()
        },
        "anna",
    )
    .unwrap();
    let incident = book.get(&id).unwrap().clone();
    let keys: Vec<(String, i64)> = incident_announcements(&catalog, &incident)
        .into_iter()
        .map(|a| (a.key, a.at_ms))
        .collect();
    assert_eq!(
        keys,
        vec![
            (format!("{id}/created"), 1_000),
            (format!("{id}/update-1"), 3_000),
            (format!("{id}/resolved"), 4_000),
        ]
    );
    let links = Links {
        status_page: "https://status.example.com/status".into(),
        unsubscribe: "https://status.example.com/status/unsubscribe/tok".into(),
    };
    let all = incident_announcements(&catalog, &incident);
    let update = announcement_mail(&catalog, Lang::Nl, &all[1], Some(&incident), &links).unwrap();
    assert_eq!(update.subject, "[Acme Retail] Update: Checkout fails");
    assert!(update.text.contains("nl: We found it"), "{}", update.text);
    assert!(
        update
            .text
            .contains("Afmelden: https://status.example.com/status/unsubscribe/tok")
    );
    assert!(!update.text.contains("on fire"));
    let resolved = announcement_mail(&catalog, Lang::En, &all[2], Some(&incident), &links).unwrap();
    assert_eq!(resolved.subject, "[Acme Retail] Resolved: Checkout fails");
    assert!(resolved.text.contains("Unsubscribe: "));

    let statuses: BTreeMap<String, ComponentStatus> =
        [("shop".to_string(), ComponentStatus::Operational)].into();
    let view = PublicView::project(&catalog, |s| statuses[s], [&incident]);
    let pctx = PayloadContext {
        catalog: &catalog,
        view: &view,
        links: &links,
    };
    let json =
        serde_json::to_value(payload(&pctx, Lang::En, &all[2], Some(&incident)).unwrap()).unwrap();
    assert_eq!(json["meta"]["unsubscribe"], links.unsubscribe.as_str());
    assert_eq!(json["page"]["status_indicator"], "none");
    assert_eq!(json["incident"]["status"], "resolved");
    assert_eq!(json["incident"]["resolved_at"], "1970-01-01T00:00:04.000Z");
    let updates = json["incident"]["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1, "only the customer update: {updates:?}");
    assert_eq!(updates[0]["body"], "We found it");
    assert_eq!(json["incident"]["components"][0]["name"], "Webshop");
    assert!(json.get("component_update").is_none());

    // An incident that hits no status page component is not announced.
    let (internal, _) = book
        .declare(&ctx(5_000), "db slow", &["db".into()], None, "anna")
        .unwrap();
    assert!(incident_announcements(&catalog, book.get(&internal).unwrap()).is_empty());
}

#[test]
fn component_payload_has_statuspage_shape() {
    let catalog = catalog();
    let links = Links {
        status_page: "s".into(),
        unsubscribe: "u".into(),
    };
    let statuses: BTreeMap<String, ComponentStatus> =
        [("shop".to_string(), ComponentStatus::MajorOutage)].into();
    let view = PublicView::project(&catalog, |s| statuses[s], []);
    let pctx = PayloadContext {
        catalog: &catalog,
        view: &view,
        links: &links,
    };
    let a = &component_announcements(
        &[("shop".to_string(), ComponentStatus::Operational)].into(),
        &statuses,
        60_000,
    )[0];
    let json = serde_json::to_value(payload(&pctx, Lang::En, a, None).unwrap()).unwrap();
    assert_eq!(json["component_update"]["old_status"], "operational");
    assert_eq!(json["component_update"]["new_status"], "major_outage");
    assert_eq!(
        json["component_update"]["component_id"], "webshop",
        "the public id, as /api/v2/components.json gives it"
    );
    assert_eq!(json["component"]["status"], "major_outage");
    assert_eq!(json["page"]["status_indicator"], "critical");
    let mail = announcement_mail(&catalog, Lang::Nl, a, None, &links).unwrap();
    assert_eq!(mail.subject, "[Acme Retail] Webshop is ernstige storing");
}
