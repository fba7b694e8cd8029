//! The built-in templates in English and Dutch for every event, and operators' overrides.

use crate::support::notice;
use continuo_core::Lang;
use continuo_notify::{Notice, NoticeEvent, TemplateError, Templates};

fn render(notice: &Notice) -> continuo_notify::Message {
    Templates::builtin()
        .render(notice)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The subject of the example notice for every event and language.
#[test]
fn subjects_in_english_and_dutch() {
    let check = |event, lang, expected: &str| {
        assert_eq!(render(&notice(event, lang)).subject, expected);
    };
    use NoticeEvent::*;
    check(
        Firing,
        Lang::En,
        "[FIRING] Payments API is down — impacts Checkout, Webshop",
    );
    check(
        Firing,
        Lang::Nl,
        "[STORING] Payments API ligt eruit — raakt Checkout, Webshop",
    );
    check(
        Acknowledged,
        Lang::En,
        "[ACKNOWLEDGED] Payments API is down — acknowledged by Alice de Vries",
    );
    check(
        Acknowledged,
        Lang::Nl,
        "[BEVESTIGD] Payments API ligt eruit — bevestigd door Alice de Vries",
    );
    check(
        Resolved,
        Lang::En,
        "[RESOLVED] Payments API is back up after 12m 5s",
    );
    check(
        Resolved,
        Lang::Nl,
        "[OPGELOST] Payments API werkt weer na 12m 5s",
    );
    check(
        Reminder,
        Lang::En,
        "[REMINDER] Payments API is still down after 12m 5s — impacts Checkout, Webshop",
    );
    check(
        Reminder,
        Lang::Nl,
        "[HERINNERING] Payments API ligt nog steeds eruit, al 12m 5s — raakt Checkout, Webshop",
    );
    check(
        Test,
        Lang::En,
        "[TEST] Test notification from Continuo for Acme Retail",
    );
    check(
        Test,
        Lang::Nl,
        "[TEST] Testmelding van Continuo voor Acme Retail",
    );
    check(
        Posture,
        Lang::En,
        "[CONTINUITY] Payments API — RTO breached: 2 h 5 min against 1 h (incident INC-3)",
    );
    check(
        Posture,
        Lang::Nl,
        "[CONTINUITEIT] Payments API — RTO geschonden: 2 h 5 min tegenover 1 h (incident INC-3)",
    );
}

/// A posture notice says the verdict, that nobody is paged, and since when; it has no
/// escalation level and no acknowledge link.
#[test]
fn posture_text_in_english_and_dutch() {
    let check = |lang, text: &str, says: &str, not: &str| {
        let message = render(&notice(NoticeEvent::Posture, lang));
        assert_eq!(message.text, text, "{lang}");
        assert!(message.html.contains(says), "{lang}: {}", message.html);
        assert!(!message.html.contains(not), "{lang}: {}", message.html);
        assert!(!message.html.contains("/ack/"), "{lang}: {}", message.html);
    };
    check(
        Lang::En,
        "RTO breached: 2 h 5 min against 1 h (incident INC-3)\n\
         This is a notice; nobody is paged.\n\
         \n\
         Service: Payments API (tier 1)\n\
         Since: 2026-11-25 14:03 CET\n\
         \n\
         Dashboard: https://continuo.example.com/posture/payments",
        "<p style=\"margin:0 0 16px;\">This is a notice; nobody is paged.</p>",
        "Escalation level",
    );
    check(
        Lang::Nl,
        "RTO geschonden: 2 h 5 min tegenover 1 h (incident INC-3)\n\
         Dit is een melding; er wordt niemand opgeroepen.\n\
         \n\
         Dienst: Payments API (tier 1)\n\
         Sinds: 2026-11-25 14:03 CET\n\
         \n\
         Dashboard: https://continuo.example.com/posture/payments",
        "<p style=\"margin:0 0 16px;\">Dit is een melding; er wordt niemand opgeroepen.</p>",
        "Escalatieniveau",
    );
}

/// An organisation-wide claim names the organisation, not a service with a tier.
#[test]
fn organisation_wide_posture_names_the_organisation() {
    let check = |lang, subject: &str, line: &str| {
        let mut notice = notice(NoticeEvent::Posture, lang);
        notice.service.id = "organization".into();
        notice.service.name = "Acme Retail".into();
        notice.summary = match lang {
            Lang::En => "Plan reviewed stale: last proven 2026-01-04, valid for 365 d".into(),
            Lang::Nl => {
                "Plan herzien verouderd: laatst bewezen op 2026-01-04, geldig voor 365 d".into()
            }
        };
        let message = render(&notice);
        assert_eq!(message.subject, subject);
        assert!(message.text.contains(line), "{lang}: {}", message.text);
        assert!(!message.text.contains("tier"), "{lang}: {}", message.text);
        assert!(
            !message.html.contains("(tier 1)"),
            "{lang}: {}",
            message.html
        );
    };
    check(
        Lang::En,
        "[CONTINUITY] Acme Retail — Plan reviewed stale: last proven 2026-01-04, valid for 365 d",
        "\nOrganisation: Acme Retail\n",
    );
    check(
        Lang::Nl,
        "[CONTINUITEIT] Acme Retail — Plan herzien verouderd: laatst bewezen op 2026-01-04, geldig voor 365 d",
        "\nOrganisatie: Acme Retail\n",
    );
}

/// Every event is written under its name in the outbox and in payloads, and the
/// built-in templates render each in both languages.
#[test]
fn every_event_has_its_name_and_renders() {
    let mut names: Vec<&str> = NoticeEvent::ALL.iter().map(|e| e.name()).collect();
    for event in NoticeEvent::ALL {
        assert_eq!(
            serde_json::to_value(event).expect("serialises"),
            event.name()
        );
        for lang in Lang::ALL {
            let message = render(&notice(event, lang));
            assert!(!message.subject.is_empty(), "{event:?} {lang}");
        }
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), NoticeEvent::ALL.len(), "{names:?}");
    assert!(names.contains(&"posture"));
}

#[test]
fn firing_text_in_english() {
    let text = render(&notice(NoticeEvent::Firing, Lang::En)).text;
    assert_eq!(
        text,
        "Payments API is down: connection refused\n\
         \n\
         Service: Payments API (tier 1)\n\
         Impacted: Checkout, Webshop\n\
         Started: 2026-11-25 14:03 CET\n\
         Escalation level: 1\n\
         \n\
         Acknowledge: https://continuo.example.com/ack/example-token\n\
         Dashboard: https://continuo.example.com/services/payments"
    );
}

#[test]
fn firing_text_in_dutch() {
    let text = render(&notice(NoticeEvent::Firing, Lang::Nl)).text;
    assert_eq!(
        text,
        "Payments API ligt eruit: connection refused\n\
         \n\
         Dienst: Payments API (tier 1)\n\
         Geraakt: Checkout, Webshop\n\
         Begonnen: 2026-11-25 14:03 CET\n\
         Escalatieniveau: 1\n\
         \n\
         Bevestigen: https://continuo.example.com/ack/example-token\n\
         Dashboard: https://continuo.example.com/services/payments"
    );
}

/// What every event's text says, in both languages: the event in words, times in the
/// notice's zone, and the ack link whenever the notice has one.
#[test]
fn every_event_renders_in_both_languages() {
    let cases: [(NoticeEvent, &str, &str); 5] = [
        (
            NoticeEvent::Firing,
            "is down: connection refused",
            "ligt eruit: connection refused",
        ),
        (
            NoticeEvent::Acknowledged,
            "Alice de Vries acknowledged the alert; escalation has stopped.",
            "Alice de Vries heeft de melding bevestigd; de escalatie is gestopt.",
        ),
        (
            NoticeEvent::Resolved,
            "It was down for 12m 5s, from 2026-11-25 14:03 CET to 2026-11-25 14:15 CET.",
            "De storing duurde 12m 5s, van 2026-11-25 14:03 CET tot 2026-11-25 14:15 CET.",
        ),
        (
            NoticeEvent::Reminder,
            "is still down, for 12m 5s now: connection refused",
            "ligt nog steeds eruit, nu al 12m 5s: connection refused",
        ),
        (
            NoticeEvent::Test,
            "If you can read it, this channel works.",
            "Kun je dit lezen, dan werkt dit kanaal.",
        ),
    ];
    for (event, en, nl) in cases {
        for (lang, says, ack) in [
            (Lang::En, en, "Acknowledge: "),
            (Lang::Nl, nl, "Bevestigen: "),
        ] {
            let mut notice = notice(event, lang);
            let message = render(&notice);
            assert!(
                message.text.contains(says),
                "{event:?} {lang}: {}",
                message.text
            );
            let link = format!("{ack}https://continuo.example.com/ack/example-token");
            assert!(
                message.text.contains(&link),
                "{event:?} {lang}: {}",
                message.text
            );
            assert!(message.html.contains(&format!("<html lang=\"{lang}\">")));
            assert!(message.html.contains("Acme Retail"), "{event:?} {lang}");

            notice.ack_url = None;
            let message = render(&notice);
            assert!(
                !message.text.contains(ack),
                "{event:?} {lang}: {}",
                message.text
            );
        }
    }
}

#[test]
fn optional_fields_may_be_absent() {
    let mut notice = notice(NoticeEvent::Acknowledged, Lang::En);
    notice.impacted.clear();
    notice.acknowledged_by = None;
    notice.ack_url = None;
    notice.dashboard_url = None;
    notice.recipient = None;
    let message = render(&notice);
    assert_eq!(message.subject, "[ACKNOWLEDGED] Payments API is down");
    assert!(
        message
            .text
            .contains("The alert was acknowledged; escalation has stopped.")
    );
    assert!(!message.text.contains("Impacted"));
    assert!(!message.text.contains("Dashboard"));
}

/// Values from the outside world are escaped in the HTML part and kept as they are in
/// the plain text; a summary with line breaks does not break the subject line.
#[test]
fn html_escapes_and_subject_stays_one_line() {
    let mut notice = notice(NoticeEvent::Firing, Lang::En);
    notice.service.name = "Pay<script>alert(1)</script>\nments".into();
    let message = render(&notice);
    assert!(!message.html.contains("<script>"), "{}", message.html);
    assert!(message.html.contains("&lt;script&gt;"));
    assert!(message.text.contains("<script>"));
    assert!(!message.subject.contains('\n'));
    // Nothing is loaded from elsewhere: no images, style sheets or scripts.
    assert!(!message.html.contains("src=") && !message.html.contains("<link"));
}

/// An unknown time zone shows UTC rather than failing the notification.
#[test]
fn unknown_time_zone_shows_utc() {
    let mut notice = notice(NoticeEvent::Firing, Lang::En);
    notice.timezone = "Nowhere/Special".into();
    assert!(
        render(&notice)
            .text
            .contains("Started: 2026-11-25 13:03 UTC")
    );
}

#[test]
fn an_override_replaces_one_template() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("text.nl.j2"),
        "Aangepast: {{ service.name }} ({{ event }}) sinds {{ started }}\n{% if ack_url %}Bevestigen: {{ ack_url }}{% endif %}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("README.md"), "not a template").expect("write");
    let templates = Templates::with_overrides(dir.path()).unwrap_or_else(|e| panic!("{e}"));

    let nl = templates
        .render(&notice(NoticeEvent::Firing, Lang::Nl))
        .expect("renders");
    assert_eq!(
        nl.text,
        "Aangepast: Payments API (firing) sinds 2026-11-25 14:03 CET\n\
         Bevestigen: https://continuo.example.com/ack/example-token"
    );
    // The other templates are still the built-in ones.
    assert_eq!(
        nl.subject,
        "[STORING] Payments API ligt eruit — raakt Checkout, Webshop"
    );
    let en = templates
        .render(&notice(NoticeEvent::Firing, Lang::En))
        .expect("renders");
    assert!(
        en.text
            .starts_with("Payments API is down: connection refused")
    );
}

#[test]
fn a_broken_override_names_the_file_and_line() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("html.en.j2");
    std::fs::write(
        &path,
        "<p>\n{{ service.name }}\n{% if ack_url %}\n<a>{{ ack_url }</a>\n",
    )
    .expect("write");
    let error = Templates::with_overrides(dir.path()).expect_err("does not parse");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("{}:4: ", path.display())),
        "{shown}"
    );
    assert!(
        matches!(error, TemplateError::Syntax { line: 4, .. }),
        "{error:?}"
    );
    assert!(
        error.text().nl.contains("html.en.j2:4"),
        "{:?}",
        error.text()
    );
}

/// A template that parses but fails when rendered (an unknown filter) is found when the
/// overrides are loaded, not on the first page.
#[test]
fn an_override_that_cannot_render_fails_at_load() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("subject.nl.j2");
    std::fs::write(&path, "[STORING]\n{{ service.name|shout }}\n").expect("write");
    let error = Templates::with_overrides(dir.path()).expect_err("unknown filter");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("{}:2: ", path.display())),
        "{shown}"
    );
    assert!(shown.contains("shout"), "{shown}");
}

#[test]
fn a_misnamed_override_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("txt.nl.j2"), "x").expect("write");
    let error = Templates::with_overrides(dir.path()).expect_err("unknown name");
    assert!(
        matches!(error, TemplateError::UnknownFile { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("txt.nl.j2"), "{error}");

    let missing = Templates::with_overrides(&dir.path().join("absent")).expect_err("no dir");
    assert!(matches!(missing, TemplateError::Read { .. }), "{missing:?}");
}

/// Regression (issue 16, failure 8): a template override that never ends (a device
/// linked in by mistake) or is huge is refused at 1 MiB, in both languages.
#[test]
fn an_endless_template_file_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("text.en.j2");
    std::os::unix::fs::symlink("/dev/zero", &path).expect("symlink");
    let error = Templates::with_overrides(dir.path()).expect_err("endless");
    assert!(matches!(error, TemplateError::TooLarge { .. }), "{error:?}");
    let text = error.text();
    assert_eq!(
        text.en,
        format!(
            "{} is larger than 1 MiB, too large for a template",
            path.display()
        )
    );
    assert_eq!(
        text.nl,
        format!(
            "{} is groter dan 1 MiB, te groot voor een sjabloon",
            path.display()
        )
    );
}

/// The notice is stored as JSON in the outbox: it reads back equal, and optional fields
/// may be left out.
#[test]
fn notice_round_trips_through_json() {
    let notice = notice(NoticeEvent::Resolved, Lang::Nl);
    let json = serde_json::to_value(&notice).expect("serialises");
    assert_eq!(json["event"], "resolved");
    assert_eq!(json["language"], "nl");
    let back: Notice = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, notice);

    let minimal = serde_json::json!({
        "idempotency_key": "k", "alert_key": "a", "event": "firing", "language": "en",
        "organization": "Acme", "service": { "id": "db", "name": "Orders DB", "tier": 2 },
        "summary": "down", "started_ms": 0, "at_ms": 1000, "timezone": "UTC", "level": 1
    });
    let read: Notice = serde_json::from_value(minimal).expect("deserialises");
    assert!(read.impacted.is_empty() && read.ack_url.is_none() && read.recipient.is_none());

    let wrong = serde_json::json!({ "language": "de" });
    assert!(serde_json::from_value::<Notice>(wrong).is_err());
}
