//! Inbound routing and requested maintenance windows, table by table: which service
//! labels reach, how an Alertmanager group becomes events, which Events API v2 events
//! are refused and why, and which window requests are refused and why.

use continuo_core::catalog::Catalog;
use continuo_core::inbound::{
    AlertmanagerAlert, AlertmanagerPayload, Event, Labels, alertmanager, by_integration_key,
    check_event, instant, route,
};
use continuo_core::load_text;
use continuo_core::maintenance::{WindowError, WindowRequest, validate_window};

/// A catalog with a default route (written first: it still only takes what no other
/// route matches) and a service with an integration key.
fn with_default_route() -> Catalog {
    load_text(
        "[organization]\nname = \"Acme\"\ntimezone = \"Europe/Amsterdam\"\n\
         [[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"platform\"\ntier = 2\nowner = \"ops\"\nrto = \"1h\"\n\
         [[service]]\nid = \"db\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\nintegration_key = \"db-key-1\"\n\
         [[route]]\nservice = \"platform\"\n\
         [[route]]\nmatch = { job = \"postgres\" }\nservice = \"db\"\n",
    )
    .expect("valid config")
}

#[test]
fn what_no_route_matches_goes_to_the_default_route() {
    let c = with_default_route();
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: [Case<'_>; 5] = [
        (&[("job", "postgres")], Some("db")),
        (&[("job", "nginx")], Some("platform")),
        (&[], Some("platform")),
        // PagerDuty's `payload.component` naming a service addresses it directly.
        (&[("component", "db")], Some("db")),
        (&[("component", "no such service")], Some("platform")),
    ];
    for (pairs, expected) in cases {
        assert_eq!(
            route(&c, &labels(pairs)).as_deref(),
            expected,
            "labels {pairs:?}"
        );
    }
    // Without a default route, nothing takes them.
    assert_eq!(route(&catalog(), &labels(&[("job", "nginx")])), None);
}

#[test]
fn an_integration_key_addresses_its_service() {
    let c = with_default_route();
    assert_eq!(by_integration_key(&c, "db-key-1"), Some("db"));
    assert_eq!(by_integration_key(&c, "db-key-2"), None);
    assert_eq!(by_integration_key(&c, ""), None);
}

fn catalog() -> Catalog {
    load_text(
        "[organization]\nname = \"Acme\"\ntimezone = \"Europe/Amsterdam\"\n\
         [[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"db\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\n\
         [[service]]\nid = \"erp\"\ntier = 3\nowner = \"ops\"\nrto = \"4h\"\n\
         [[route]]\nmatch = { source = \"backup-host\" }\nservice = \"erp\"\n\
         [[route]]\nmatch = { job = \"postgres\", env = \"prod\" }\nservice = \"db\"\n\
         [[route]]\nmatch = { job = \"postgres\" }\nservice = \"erp\"\n",
    )
    .expect("valid config")
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn labels_route_to_a_service_label_else_the_first_matching_route() {
    let c = catalog();
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: [Case<'_>; 8] = [
        (&[("service", "db")], Some("db")),
        // A service label naming no service falls through to the routes.
        (
            &[("service", "nope"), ("source", "backup-host")],
            Some("erp"),
        ),
        (&[("service", "nope")], None),
        (&[("source", "backup-host")], Some("erp")),
        // Every matcher must match; the first route that does wins.
        (&[("job", "postgres"), ("env", "prod")], Some("db")),
        (&[("job", "postgres"), ("env", "test")], Some("erp")),
        (&[("env", "prod")], None),
        (&[], None),
    ];
    for (pairs, expected) in cases {
        assert_eq!(
            route(&c, &labels(pairs)).as_deref(),
            expected,
            "labels {pairs:?}"
        );
    }
}

#[test]
fn instants_as_senders_write_them() {
    for (text, expected) in [
        (None, None),
        (Some("0001-01-01T00:00:00Z"), None),
        (Some("not a time"), None),
        (Some("1970-01-01T00:00:01Z"), Some(1_000)),
        (Some("2026-11-25T13:00:00+01:00"), Some(1_795_608_000_000)),
    ] {
        assert_eq!(instant(text), expected, "{text:?}");
    }
}

fn am(
    status: &str,
    name: &str,
    pairs: &[(&str, &str)],
    summary: Option<&str>,
) -> AlertmanagerAlert {
    let mut l = labels(pairs);
    l.insert("alertname".into(), name.into());
    AlertmanagerAlert {
        status: status.into(),
        labels: l,
        annotations: summary
            .map(|s| [("summary".to_string(), s.to_string())].into())
            .unwrap_or_default(),
        starts_at: Some("2026-11-25T12:00:00Z".into()),
        fingerprint: None,
    }
}

#[test]
fn an_alertmanager_group_becomes_one_event_per_service() {
    let c = catalog();
    let payload = AlertmanagerPayload {
        version: "4".into(),
        group_key: "g1".into(),
        status: "firing".into(),
        alerts: vec![
            am(
                "firing",
                "DiskFull",
                &[("service", "db")],
                Some("Disk full"),
            ),
            am("firing", "Slow", &[("service", "db")], None),
            am("resolved", "Backup", &[("source", "backup-host")], None),
            am("firing", "Lost", &[("job", "other")], None),
        ],
    };
    let routed = alertmanager(&c, &payload);
    assert_eq!(routed.unrouted, ["Lost"]);
    let summary: Vec<(&str, &str, bool, &str)> = routed
        .events
        .iter()
        .map(|e| {
            (
                e.service.as_str(),
                e.key.as_str(),
                e.firing,
                e.summary.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("db", "g1|db", true, "2 alerts: Disk full; Slow"),
            ("erp", "g1|erp", false, ""),
        ]
    );
    assert_eq!(routed.events[0].source, "alertmanager");
    assert_eq!(
        routed.events[0].started_ms,
        instant(Some("2026-11-25T12:00:00Z"))
    );

    // A resolved group fires nothing, whatever its alerts say.
    let resolved = AlertmanagerPayload {
        status: "resolved".into(),
        ..payload
    };
    assert!(alertmanager(&c, &resolved).events.iter().all(|e| !e.firing));
}

#[test]
fn events_are_checked_as_the_events_api_does() {
    let trigger = Event {
        action: "trigger".into(),
        summary: Some("Disk full".into()),
        source: Some("backup-host".into()),
        severity: Some("critical".into()),
        ..Event::default()
    };
    let long = "x".repeat(1_025);
    let cases: Vec<(Event, &[&str])> = vec![
        (trigger.clone(), &[]),
        (
            Event {
                action: "explode".into(),
                ..trigger.clone()
            },
            // One reason, not a second one derived from it: an unknown action is not
            // an acknowledge or resolve that lacks a key.
            &["'event_action' must be trigger, acknowledge or resolve"],
        ),
        (
            Event {
                timestamp: Some("2026-12-06T10:15:00+01:00".into()),
                ..trigger.clone()
            },
            &[],
        ),
        (
            Event {
                timestamp: Some("yesterday".into()),
                ..trigger.clone()
            },
            &[
                "'payload.timestamp' must be an RFC 3339 timestamp (e.g. 2026-12-06T10:15:00Z), not \"yesterday\"",
            ],
        ),
        (
            Event {
                summary: None,
                source: Some(String::new()),
                severity: Some("fatal".into()),
                ..trigger.clone()
            },
            &[
                "'payload.summary' is missing or blank",
                "'payload.source' is missing or blank",
                "'payload.severity' must be critical, error, warning or info",
            ],
        ),
        (
            Event {
                summary: Some(long),
                dedup_key: Some("k".repeat(256)),
                ..trigger.clone()
            },
            &[
                "'dedup_key' is longer than 255 characters",
                "'payload.summary' is longer than 1024 characters",
            ],
        ),
        (
            Event {
                action: "resolve".into(),
                ..Event::default()
            },
            &["'dedup_key' is required for acknowledge and resolve"],
        ),
        (
            Event {
                action: "acknowledge".into(),
                dedup_key: Some("k1".into()),
                ..Event::default()
            },
            &[],
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(check_event(&event), expected, "{event:?}");
    }
}

fn request(
    services: &[&str],
    from: Option<&str>,
    until: Option<&str>,
    duration: Option<&str>,
) -> WindowRequest {
    WindowRequest {
        id: None,
        title: "Patching".into(),
        services: services.iter().map(|s| s.to_string()).collect(),
        from: from.map(str::to_string),
        until: until.map(str::to_string),
        duration: duration.map(str::to_string),
    }
}

#[test]
fn requested_windows_are_checked() {
    let c = catalog();
    let now = 1_795_608_000_000; // 2026-11-25T12:00:00Z
    type Case = (WindowRequest, Result<(i64, i64), WindowError>);
    let cases: Vec<Case> = vec![
        (
            request(&["db"], None, None, Some("2h")),
            Ok((now, now + 7_200_000)),
        ),
        // Local times are the organisation's (Amsterdam, UTC+1 in November).
        (
            request(
                &["db"],
                Some("2026-11-25T14:00"),
                Some("2026-11-25T15:00"),
                None,
            ),
            Ok((now + 3_600_000, now + 7_200_000)),
        ),
        (
            request(&[], None, None, Some("2h")),
            Err(WindowError::NoServices),
        ),
        (
            request(&["db", "nope"], None, None, Some("2h")),
            Err(WindowError::UnknownService("nope".into())),
        ),
        (
            request(&["db"], Some("soon"), None, Some("2h")),
            Err(WindowError::NotAnInstant {
                field: "from",
                text: "soon".into(),
            }),
        ),
        (request(&["db"], None, None, None), Err(WindowError::NoEnd)),
        (
            request(&["db"], None, Some("2026-11-25T15:00"), Some("2h")),
            Err(WindowError::NoEnd),
        ),
        (
            request(&["db"], None, Some("2026-11-25T12:00"), None),
            Err(WindowError::EndsBeforeStart),
        ),
    ];
    for (r, expected) in cases {
        let got = validate_window(&c, now, r.clone()).map(|w| (w.from_ms, w.until_ms));
        assert_eq!(got, expected, "{r:?}");
    }
    assert!(matches!(
        validate_window(&c, now, request(&["db"], None, None, Some("two hours"))),
        Err(WindowError::NotADuration(_))
    ));
    let bad_id = WindowRequest {
        id: Some("a b".into()),
        ..request(&["db"], None, None, Some("1h"))
    };
    assert_eq!(
        validate_window(&c, now, bad_id),
        Err(WindowError::BadId("a b".into()))
    );
    let w = validate_window(&c, now, request(&["erp"], None, None, Some("1h"))).expect("valid");
    assert_eq!(
        (w.id.as_str(), w.origin.as_str()),
        ("mw-1795608000000", "api")
    );
}

#[test]
fn window_errors_say_what_is_wrong_in_both_languages() {
    let e = WindowError::UnknownService("nope".into());
    let text = e.text();
    assert_eq!(text.en, "`services`: no service with id `nope`");
    assert_eq!(text.nl, "`services`: geen dienst met id `nope`");
}
