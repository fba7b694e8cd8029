//! The notice: everything a channel needs to tell someone about an alert, as plain data.
//!
//! A notice is written to the outbox as JSON before anything is sent, so it is
//! serialisable both ways and holds no references, handles or clocks. Channels render it
//! with the templates; none of them adds a decision of its own.

use continuo_core::Lang;
use serde::{Deserialize, Serialize};

/// What to tell someone: one notification, to one channel (and possibly one person).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique per notification, and the same on every resend of it: sent to receivers
    /// (`Idempotency-Key` header, webhook payload, email Message-ID) so they can
    /// deduplicate.
    pub idempotency_key: String,
    /// Stable for the whole life of one alert (firing, acknowledged, resolved): the
    /// PagerDuty `dedup_key`, the Opsgenie `alias`, the email thread.
    pub alert_key: String,
    /// What happened.
    pub event: NoticeEvent,
    /// The language to write in.
    #[serde(with = "lang_code")]
    pub language: Lang,
    /// The organisation's display name.
    pub organization: String,
    /// The root cause: the service whose own checks failed.
    pub service: NoticeService,
    /// Services that are down only because they depend on [`Notice::service`], grouped
    /// into this one alert.
    #[serde(default)]
    pub impacted: Vec<NoticeService>,
    /// Why, in a few words (`connection refused`).
    pub summary: String,
    /// When the problem started, UTC unix milliseconds; for [`NoticeEvent::Posture`], when
    /// the claim's verdict changed (the breaching record's time, or when it went stale).
    pub started_ms: i64,
    /// When this notice was made (for a resolution: when the service recovered), UTC unix
    /// milliseconds.
    pub at_ms: i64,
    /// IANA time zone in which times are shown (`Europe/Amsterdam`); an unknown zone
    /// shows UTC.
    pub timezone: String,
    /// Escalation level this notice belongs to, starting at 1; 0 for a notice that belongs
    /// to no escalation ([`NoticeEvent::Posture`]).
    pub level: u32,
    /// Signed link that acknowledges the alert without signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_url: Option<String>,
    /// Link to the alert or service in the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard_url: Option<String>,
    /// Who acknowledged the alert (for [`NoticeEvent::Acknowledged`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    /// The person this notice is for, when a person is notified through a channel: the
    /// email channel then writes to the person's address instead of the channel's `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
}

/// What a notice tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeEvent {
    /// The service went down: someone must act.
    Firing,
    /// Someone acknowledged the alert; escalation stopped.
    Acknowledged,
    /// The service is back up.
    Resolved,
    /// The service is still down and nobody acknowledged it yet.
    Reminder,
    /// A test message, to check that a channel works.
    Test,
    /// A continuity claim of this service is breached or has gone stale: a notice for
    /// the team, nobody is paged. [`Notice::summary`] is the claim's verdict in one line
    /// (`RTO breached: 2 h 5 min against 1 h (incident INC-3)`); a claim of the whole
    /// organisation names the organisation as the service, with id `organization`.
    /// Channels that page (PagerDuty, Opsgenie, ntfy) send it in their non-paging form.
    Posture,
}

impl NoticeEvent {
    /// Every event: an alert's, in lifecycle order, then the others.
    pub const ALL: [NoticeEvent; 6] = [
        NoticeEvent::Firing,
        NoticeEvent::Acknowledged,
        NoticeEvent::Resolved,
        NoticeEvent::Reminder,
        NoticeEvent::Test,
        NoticeEvent::Posture,
    ];

    /// The lowercase name used in payloads and templates (`firing`).
    pub fn name(self) -> &'static str {
        match self {
            NoticeEvent::Firing => "firing",
            NoticeEvent::Acknowledged => "acknowledged",
            NoticeEvent::Resolved => "resolved",
            NoticeEvent::Reminder => "reminder",
            NoticeEvent::Test => "test",
            NoticeEvent::Posture => "posture",
        }
    }
}

/// A service as a notice names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeService {
    /// Identifier in the catalog (`payments`).
    pub id: String,
    /// Display name (`Payments API`).
    pub name: String,
    /// Business criticality, 1 (mission-critical) to 4 (deferrable).
    pub tier: u8,
}

/// The person a notice is addressed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Identifier in the catalog (`alice`).
    pub id: String,
    /// Full name.
    pub name: String,
    /// Email address, used by the email channel instead of its `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number (E.164), for SMS gateways through the `http_template` channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Notice {
    /// An example notice about a made-up payments service, for previews, test messages
    /// and checking templates: every optional field is filled in, except that a
    /// [`NoticeEvent::Posture`] example is filled in the way the engine fills one (no
    /// acknowledge link, level 0, the posture page as its link).
    pub fn example(event: NoticeEvent, language: Lang) -> Notice {
        let notice = Notice::example_alert(event, language);
        if event != NoticeEvent::Posture {
            return notice;
        }
        // The verdict line as core writes it for a slow recovery.
        let summary = match language {
            Lang::En => "RTO breached: 2 h 5 min against 1 h (incident INC-3)",
            Lang::Nl => "RTO geschonden: 2 h 5 min tegenover 1 h (incident INC-3)",
        };
        Notice {
            alert_key: "posture/rto/payments".into(),
            impacted: Vec::new(),
            summary: summary.into(),
            level: 0,
            ack_url: None,
            dashboard_url: Some("https://continuo.example.com/posture/payments".into()),
            acknowledged_by: None,
            ..notice
        }
    }

    /// [`Notice::example`] with every optional field filled in.
    fn example_alert(event: NoticeEvent, language: Lang) -> Notice {
        // 2026-11-25 13:03:00 UTC, a winter afternoon in Amsterdam.
        let started_ms = 1_795_611_780_000;
        Notice {
            idempotency_key: format!("example-{}-{}", event.name(), language.code()),
            alert_key: "example-payments".into(),
            event,
            language,
            organization: "Acme Retail".into(),
            service: NoticeService {
                id: "payments".into(),
                name: "Payments API".into(),
                tier: 1,
            },
            impacted: vec![
                NoticeService {
                    id: "checkout".into(),
                    name: "Checkout".into(),
                    tier: 1,
                },
                NoticeService {
                    id: "webshop".into(),
                    name: "Webshop".into(),
                    tier: 2,
                },
            ],
            summary: "connection refused".into(),
            started_ms,
            at_ms: started_ms + 12 * 60_000 + 5_000,
            timezone: "Europe/Amsterdam".into(),
            level: 1,
            ack_url: Some("https://continuo.example.com/ack/example-token".into()),
            dashboard_url: Some("https://continuo.example.com/services/payments".into()),
            acknowledged_by: Some("Alice de Vries".into()),
            recipient: Some(Recipient {
                id: "alice".into(),
                name: "Alice de Vries".into(),
                email: Some("alice@example.com".into()),
                phone: Some("+31612345678".into()),
            }),
        }
    }
}

/// `Lang` as its ISO 639-1 code; core's `Lang` serialises that way but cannot be read
/// back, and the outbox must read what it wrote.
mod lang_code {
    use continuo_core::Lang;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(lang: &Lang, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(lang.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lang, D::Error> {
        let code = String::deserialize(deserializer)?;
        Lang::from_code(&code)
            .ok_or_else(|| D::Error::custom(format!("unknown language `{code}`, use en or nl")))
    }
}
