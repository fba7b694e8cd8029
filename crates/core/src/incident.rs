//! Incident rules, pure: lifecycle, severity from business impact, milestones and the
//! durations measured from them, recovery against the RTO, and the reporting deadlines
//! of NIS2 and DORA. Time is an argument (UTC unix milliseconds).

pub mod book;
pub mod stats;

pub use crate::catalog::incident::{CrisisRole, Regime, Severity};
use crate::text::Text;
use crate::tr;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Where an incident is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Something is wrong; the cause is being looked for.
    Investigating,
    /// The cause is known; recovery is under way.
    Identified,
    /// A fix is in place; watching that it holds.
    Monitoring,
    /// Over.
    Resolved,
}

impl Status {
    /// Every status in lifecycle order.
    pub const ALL: [Status; 4] = [
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
        Status::Resolved,
    ];

    /// The stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
        }
    }

    /// The status with this name.
    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The name shown to people.
    pub fn text(self) -> Text {
        match self {
            Status::Investigating => tr!("Investigating", "Onderzoek"),
            Status::Identified => tr!("Identified", "Oorzaak gevonden"),
            Status::Monitoring => tr!("Monitoring", "In observatie"),
            Status::Resolved => tr!("Resolved", "Opgelost"),
        }
    }

    /// Whether an incident may move from `self` to `next`: forward in any steps, back
    /// to an earlier open status (a fix that did not hold), and a resolved incident may
    /// reopen as investigating. Staying put is not a move.
    pub fn may_move_to(self, next: Status) -> bool {
        match (self, next) {
            (a, b) if a == b => false,
            (Status::Resolved, b) => b == Status::Investigating,
            _ => true,
        }
    }
}

/// Whom a status update is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Customers: published on the status page.
    Customers,
    /// Staff.
    Internal,
    /// Management and board.
    Management,
}

impl Audience {
    /// Every audience.
    pub const ALL: [Audience; 3] = [
        Audience::Customers,
        Audience::Internal,
        Audience::Management,
    ];

    /// The API name.
    pub fn name(self) -> &'static str {
        match self {
            Audience::Customers => "customers",
            Audience::Internal => "internal",
            Audience::Management => "management",
        }
    }

    /// The audience with this name.
    pub fn from_name(name: &str) -> Option<Audience> {
        Audience::ALL
            .into_iter()
            .find(|a| a.name() == name.trim().to_ascii_lowercase())
    }

    /// The name shown to people.
    pub fn text(self) -> Text {
        match self {
            Audience::Customers => tr!("customers", "klanten"),
            Audience::Internal => tr!("internal", "intern"),
            Audience::Management => tr!("management", "directie"),
        }
    }
}

/// Severity from the impact: the highest tier hit sets it (tier 1 → SEV1 .. tier 4 →
/// SEV4), and a wide incident (`services` ≥ 3 services down or impacted) is one level
/// worse, never beyond SEV1. No services at all (declared by hand): SEV3.
pub fn derive_severity(highest_tier: Option<u8>, services: usize) -> Severity {
    let Some(tier) = highest_tier else {
        return Severity(3);
    };
    let base = tier.clamp(1, 4);
    let widened = if services >= 3 { base - 1 } else { base };
    Severity(widened.max(1))
}

/// The moments that measure an incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestones {
    /// The first failing observation.
    pub started_ms: Option<i64>,
    /// When Continuo (or a person) declared it: the organisation became aware.
    pub detected_ms: Option<i64>,
    /// When someone took it.
    pub acknowledged_ms: Option<i64>,
    /// When the impact stopped (a workaround, a failover), if before the fix.
    pub mitigated_ms: Option<i64>,
    /// When it was over.
    pub resolved_ms: Option<i64>,
}

/// Durations measured from the milestones, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durations {
    /// Started → detected.
    pub to_detect_ms: Option<i64>,
    /// Detected → acknowledged.
    pub to_acknowledge_ms: Option<i64>,
    /// Started → mitigated (or resolved, when never mitigated first).
    pub to_mitigate_ms: Option<i64>,
    /// Started → resolved.
    pub to_resolve_ms: Option<i64>,
}

impl Milestones {
    /// The durations that the milestones so far allow (never negative).
    pub fn durations(&self) -> Durations {
        let span = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some((b - a).max(0)),
            _ => None,
        };
        Durations {
            to_detect_ms: span(self.started_ms, self.detected_ms),
            to_acknowledge_ms: span(self.detected_ms, self.acknowledged_ms),
            to_mitigate_ms: span(self.started_ms, self.mitigated_ms.or(self.resolved_ms)),
            to_resolve_ms: span(self.started_ms, self.resolved_ms),
        }
    }
}

/// A service's recovery against its RTO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Recovery {
    /// Still down: time left before the RTO is breached (negative: breached already).
    Open {
        /// Milliseconds until the RTO passes.
        left_ms: i64,
    },
    /// Back within its RTO.
    Met {
        /// Achieved recovery time.
        took_ms: i64,
    },
    /// Back, but later than its RTO.
    Breached {
        /// Achieved recovery time.
        took_ms: i64,
        /// By how much the RTO was exceeded.
        over_ms: i64,
    },
}

/// Recovery of a service that went down at `down_ms`, against `rto_ms`: recovered at
/// `up_ms`, or still down at `now_ms`.
pub fn recovery(down_ms: i64, up_ms: Option<i64>, rto_ms: i64, now_ms: i64) -> Recovery {
    match up_ms {
        None => Recovery::Open {
            left_ms: down_ms + rto_ms - now_ms,
        },
        Some(up) => {
            let took = (up - down_ms).max(0);
            if took <= rto_ms {
                Recovery::Met { took_ms: took }
            } else {
                Recovery::Breached {
                    took_ms: took,
                    over_ms: took - rto_ms,
                }
            }
        }
    }
}

/// One report due to an authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// Regime it belongs to.
    pub regime: Regime,
    /// Stable key (`nis2-early-warning`).
    pub key: String,
    /// What is due.
    pub title: Text,
    /// When it is due, UTC unix milliseconds.
    pub due_ms: i64,
}

const HOUR_MS: i64 = 3_600_000;

/// `ms` plus one calendar month in `tz` (31 January + 1 month = 28/29 February).
fn plus_month(ms: i64, tz: &TimeZone) -> i64 {
    let Ok(t) = Timestamp::from_millisecond(ms) else {
        return ms + 30 * 24 * HOUR_MS;
    };
    t.to_zoned_datetime(tz.clone())
        .checked_add(jiff::Span::new().months(1))
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(ms + 30 * 24 * HOUR_MS)
}

/// The reporting deadlines of a significant (NIS2) or major (DORA) incident.
///
/// - NIS2 (art. 23): early warning within 24 h of becoming aware, incident notification
///   within 72 h of becoming aware, final report within one month (counted here from
///   becoming aware, the strictest reading, until the notification is marked submitted).
/// - DORA (art. 19 and its RTS): initial notification within 4 h of classifying the
///   incident as major and at most 24 h after becoming aware; intermediate report within
///   72 h of the initial notification (counted from the initial deadline until it is
///   submitted); final report within one month of the intermediate report (likewise).
///
/// `aware_ms` is detection; `classified_ms` when it was classified major (DORA).
pub fn deadlines(
    regime: Regime,
    aware_ms: i64,
    classified_ms: i64,
    tz: &TimeZone,
) -> Vec<Deadline> {
    match regime {
        Regime::Nis2 => vec![
            Deadline {
                regime,
                key: "nis2-early-warning".into(),
                title: tr!("NIS2 early warning", "NIS2 vroegtijdige waarschuwing"),
                due_ms: aware_ms + 24 * HOUR_MS,
            },
            Deadline {
                regime,
                key: "nis2-notification".into(),
                title: tr!("NIS2 incident notification", "NIS2 incidentmelding"),
                due_ms: aware_ms + 72 * HOUR_MS,
            },
            Deadline {
                regime,
                key: "nis2-final-report".into(),
                title: tr!("NIS2 final report", "NIS2 eindverslag"),
                due_ms: plus_month(aware_ms, tz),
            },
        ],
        Regime::Dora => {
            let initial = (classified_ms + 4 * HOUR_MS).min(aware_ms + 24 * HOUR_MS);
            let intermediate = initial + 72 * HOUR_MS;
            vec![
                Deadline {
                    regime,
                    key: "dora-initial".into(),
                    title: tr!("DORA initial notification", "DORA initiële melding"),
                    due_ms: initial,
                },
                Deadline {
                    regime,
                    key: "dora-intermediate".into(),
                    title: tr!("DORA intermediate report", "DORA tussentijds verslag"),
                    due_ms: intermediate,
                },
                Deadline {
                    regime,
                    key: "dora-final".into(),
                    title: tr!("DORA final report", "DORA eindverslag"),
                    due_ms: plus_month(intermediate, tz),
                },
            ]
        }
    }
}

/// A span of time for people: "45 s", "12 min 5 s", "3 h 7 min", "2 d 4 h".
pub fn span_text(ms: i64) -> String {
    let s = ms.max(0) / 1_000;
    let (d, h, m, sec) = (s / 86_400, (s / 3_600) % 24, (s / 60) % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec} s"),
        (0, 0, _) if sec == 0 => format!("{m} min"),
        (0, 0, _) => format!("{m} min {sec} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// A countdown to show beside a deadline or an RTO: "in 7 min", "23 h 5 min ago".
pub fn countdown(left_ms: i64) -> Text {
    let abs = left_ms.unsigned_abs() / 60_000;
    let (d, h, m) = (abs / 1_440, (abs / 60) % 24, abs % 60);
    let span = match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    };
    if left_ms >= 0 {
        tr!("in {span}", "over {span}")
    } else {
        tr!("{span} ago", "{span} geleden")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;
    const MIN: i64 = 60_000;

    #[test]
    fn lifecycle_moves() {
        use Status::*;
        let cases = [
            (Investigating, Identified, true),
            (Investigating, Resolved, true),
            (Monitoring, Investigating, true),
            (Identified, Identified, false),
            (Resolved, Investigating, true),
            (Resolved, Monitoring, false),
        ];
        for (from, to, ok) in cases {
            assert_eq!(from.may_move_to(to), ok, "{from:?} -> {to:?}");
        }
        for s in Status::ALL {
            assert_eq!(Status::from_name(s.name()), Some(s));
        }
        assert_eq!(Status::Identified.text().nl, "Oorzaak gevonden");
    }

    #[test]
    fn severity_from_tier_and_breadth() {
        let cases = [
            (Some(1), 1, 1),
            (Some(2), 1, 2),
            (Some(2), 3, 1),
            (Some(1), 5, 1),
            (Some(3), 2, 3),
            (Some(3), 3, 2),
            (Some(4), 1, 4),
            (None, 0, 3),
        ];
        for (tier, n, sev) in cases {
            assert_eq!(
                derive_severity(tier, n),
                Severity(sev),
                "tier {tier:?}, {n} services"
            );
        }
        assert_eq!(Severity::parse("sev2"), Some(Severity(2)));
        assert_eq!(Severity::parse("SEV5"), None);
        assert_eq!(Severity(1).name(), "SEV1");
    }

    #[test]
    fn durations_and_recovery_against_rto() {
        let m = Milestones {
            started_ms: Some(0),
            detected_ms: Some(2 * MIN),
            acknowledged_ms: Some(7 * MIN),
            mitigated_ms: None,
            resolved_ms: Some(40 * MIN),
        };
        let d = m.durations();
        assert_eq!(d.to_detect_ms, Some(2 * MIN));
        assert_eq!(d.to_acknowledge_ms, Some(5 * MIN));
        assert_eq!(
            d.to_mitigate_ms,
            Some(40 * MIN),
            "resolved counts as mitigated"
        );
        assert_eq!(d.to_resolve_ms, Some(40 * MIN));
        assert_eq!(
            recovery(0, Some(40 * MIN), 60 * MIN, 0),
            Recovery::Met { took_ms: 40 * MIN }
        );
        assert_eq!(
            recovery(0, Some(75 * MIN), 60 * MIN, 0),
            Recovery::Breached {
                took_ms: 75 * MIN,
                over_ms: 15 * MIN
            }
        );
        assert_eq!(
            recovery(0, None, 60 * MIN, 53 * MIN),
            Recovery::Open { left_ms: 7 * MIN }
        );
        assert_eq!(countdown(7 * MIN).en, "in 7 min");
        assert_eq!(countdown(-(25 * H + 5 * MIN)).nl, "1 d 1 h geleden");
    }

    #[test]
    fn nis2_deadlines_count_from_detection() {
        let tz = TimeZone::get("Europe/Amsterdam").expect("tz");
        // 2026-01-31 10:00 UTC.
        let aware = 1_769_853_600_000;
        let list = deadlines(Regime::Nis2, aware, aware, &tz);
        let due: Vec<i64> = list.iter().map(|d| d.due_ms - aware).collect();
        assert_eq!(due[0], 24 * H);
        assert_eq!(due[1], 72 * H);
        // One calendar month after 31 January is 28 February (2026 is no leap year).
        assert_eq!(due[2], 28 * 24 * H);
        assert_eq!(list[0].title.nl, "NIS2 vroegtijdige waarschuwing");
    }

    #[test]
    fn dora_initial_is_the_earlier_of_4h_after_classifying_and_24h_after_awareness() {
        let tz = TimeZone::UTC;
        let aware = 0;
        let quick = deadlines(Regime::Dora, aware, 2 * H, &tz);
        assert_eq!(quick[0].due_ms, 6 * H);
        assert_eq!(quick[1].due_ms, 78 * H);
        let late = deadlines(Regime::Dora, aware, 22 * H, &tz);
        assert_eq!(
            late[0].due_ms,
            24 * H,
            "never later than 24 h after awareness"
        );
        assert_eq!(late[0].key, "dora-initial");
    }
}
