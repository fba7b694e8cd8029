//! Evidence: every continuity claim beside the measurement that supports or contradicts
//! it (`DESIGN.md` section 4b).
//!
//! - A [`Claim`] is derived from the catalog ([`claims`]), never typed twice: a
//!   [`ClaimKind`], the [`Subject`] it is about, its target and its validity window.
//! - An [`Evidence`] record is one measurement: append-only, never updated, only
//!   superseded by a newer one. Stages write them in the same transaction as what they
//!   measured; the store keeps them.
//! - The verdict of a claim now is a pure function of the claim, its records and the
//!   time ([`verdict`]): the freshest conclusive record inside the validity window
//!   decides; none inside is *stale*, none ever is *unproven*.
//!
//! A new kind of proof (restore tests, drills, tabletop exercises) adds a [`ClaimKind`]
//! variant's derivation and writes records; the record, the verdict and every surface
//! stay as they are.

pub mod availability;
pub mod claims;
pub mod records;
pub mod verdict;

use crate::text::Text;
use crate::tr;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;

/// The UTC date (`2026-11-25`) of an instant.
pub(crate) fn date_of(day_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(day_ms)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .to_string()
        })
        .unwrap_or_default()
}

/// What is claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// The service comes back within its RTO.
    Rto,
    /// The service loses at most its RPO of data.
    Rpo,
    /// A backup takes over when the primary fails.
    Redundancy,
    /// The runbook exists and was reviewed within its interval.
    RunbookCurrent,
    /// A page to the service's escalation is acknowledged in time.
    EscalationReachable,
    /// Measured uptime meets the service level objective.
    Availability,
    /// The continuity plan was reviewed within its interval (organisation-wide).
    PlanReviewed,
    /// Backups follow 3-2-1-1-0 (per dataset).
    Backup321,
    /// A restore was tested within its cadence.
    RestoreTested,
    /// A drill was run within its cadence.
    DrillCurrent,
    /// The crisis team exercised (tabletop) within its cadence.
    CrisisTeamExercised,
}

impl ClaimKind {
    /// Every kind, in the order surfaces show them.
    pub const ALL: [ClaimKind; 11] = [
        ClaimKind::Rto,
        ClaimKind::Rpo,
        ClaimKind::Redundancy,
        ClaimKind::RunbookCurrent,
        ClaimKind::EscalationReachable,
        ClaimKind::Availability,
        ClaimKind::PlanReviewed,
        ClaimKind::Backup321,
        ClaimKind::RestoreTested,
        ClaimKind::DrillCurrent,
        ClaimKind::CrisisTeamExercised,
    ];

    /// The stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            ClaimKind::Rto => "rto",
            ClaimKind::Rpo => "rpo",
            ClaimKind::Redundancy => "redundancy",
            ClaimKind::RunbookCurrent => "runbook_current",
            ClaimKind::EscalationReachable => "escalation_reachable",
            ClaimKind::Availability => "availability",
            ClaimKind::PlanReviewed => "plan_reviewed",
            ClaimKind::Backup321 => "backup_321",
            ClaimKind::RestoreTested => "restore_tested",
            ClaimKind::DrillCurrent => "drill_current",
            ClaimKind::CrisisTeamExercised => "crisis_team_exercised",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<ClaimKind> {
        ClaimKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A short label for tables and matrix headers.
    pub fn label(self) -> Text {
        match self {
            ClaimKind::Rto => tr!("RTO", "RTO"),
            ClaimKind::Rpo => tr!("RPO", "RPO"),
            ClaimKind::Redundancy => tr!("Redundancy", "Redundantie"),
            ClaimKind::RunbookCurrent => tr!("Runbook current", "Draaiboek actueel"),
            ClaimKind::EscalationReachable => tr!("Escalation reachable", "Escalatie bereikbaar"),
            ClaimKind::Availability => tr!("Availability", "Beschikbaarheid"),
            ClaimKind::PlanReviewed => tr!("Plan reviewed", "Plan herzien"),
            ClaimKind::Backup321 => tr!("Backups 3-2-1-1-0", "Back-ups 3-2-1-1-0"),
            ClaimKind::RestoreTested => tr!("Restore tested", "Herstel getest"),
            ClaimKind::DrillCurrent => tr!("Drill current", "Oefening actueel"),
            ClaimKind::CrisisTeamExercised => {
                tr!("Crisis team exercised", "Crisisteam geoefend")
            }
        }
    }
}

/// What a claim is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Subject {
    /// A service of the catalog.
    Service(String),
    /// A dataset of the catalog.
    Dataset(String),
    /// The organisation as a whole.
    Organization,
}

impl Subject {
    /// The stored form: `service:web`, `dataset:orders`, `organization`.
    pub fn key(&self) -> String {
        match self {
            Subject::Service(id) => format!("service:{id}"),
            Subject::Dataset(id) => format!("dataset:{id}"),
            Subject::Organization => "organization".into(),
        }
    }

    /// The subject of a stored form (a bare id is a service).
    pub fn parse(key: &str) -> Option<Subject> {
        let key = key.trim();
        if key == "organization" || key == "organisation" {
            return Some(Subject::Organization);
        }
        let subject = match key.split_once(':') {
            Some(("service", id)) => Subject::Service(id.to_string()),
            Some(("dataset", id)) => Subject::Dataset(id.to_string()),
            Some(_) => return None,
            None => Subject::Service(key.to_string()),
        };
        match &subject {
            Subject::Service(id) | Subject::Dataset(id) if id.is_empty() => None,
            _ => Some(subject),
        }
    }

    /// The service it is about, if it is one.
    pub fn service(&self) -> Option<&str> {
        match self {
            Subject::Service(id) => Some(id),
            _ => None,
        }
    }
}

/// What produced a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An incident's resolution.
    Incident,
    /// A gateway failover.
    Failover,
    /// An acknowledged page.
    PageAck,
    /// The day rollups of a service's checks.
    Rollup,
    /// A review date written in the catalog.
    Review,
    /// A drill run.
    DrillRun,
    /// A restore test.
    RestoreTest,
    /// A backup copy's freshness or verification.
    BackupCopy,
    /// A tabletop exercise.
    Tabletop,
    /// Recorded by a person (an external audit, a test done elsewhere).
    Manual,
}

impl SourceKind {
    /// Every kind.
    pub const ALL: [SourceKind; 10] = [
        SourceKind::Incident,
        SourceKind::Failover,
        SourceKind::PageAck,
        SourceKind::Rollup,
        SourceKind::Review,
        SourceKind::DrillRun,
        SourceKind::RestoreTest,
        SourceKind::BackupCopy,
        SourceKind::Tabletop,
        SourceKind::Manual,
    ];

    /// The stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Incident => "incident",
            SourceKind::Failover => "failover",
            SourceKind::PageAck => "page_ack",
            SourceKind::Rollup => "rollup",
            SourceKind::Review => "review",
            SourceKind::DrillRun => "drill_run",
            SourceKind::RestoreTest => "restore_test",
            SourceKind::BackupCopy => "backup_copy",
            SourceKind::Tabletop => "tabletop",
            SourceKind::Manual => "manual",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How it reads to people.
    pub fn text(self) -> Text {
        match self {
            SourceKind::Incident => tr!("incident", "incident"),
            SourceKind::Failover => tr!("failover", "failover"),
            SourceKind::PageAck => tr!("acknowledged page", "bevestigde oproep"),
            SourceKind::Rollup => tr!("measured uptime", "gemeten beschikbaarheid"),
            SourceKind::Review => tr!("review", "herziening"),
            SourceKind::DrillRun => tr!("drill", "oefening"),
            SourceKind::RestoreTest => tr!("restore test", "hersteltest"),
            SourceKind::BackupCopy => tr!("backup copy", "back-upkopie"),
            SourceKind::Tabletop => tr!("tabletop exercise", "tabletopoefening"),
            SourceKind::Manual => tr!("recorded by hand", "handmatig vastgelegd"),
        }
    }
}

/// The unit of a measured or target value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Milliseconds (a duration).
    Ms,
    /// A percentage (0 to 100).
    Percent,
    /// A count.
    Count,
}

impl Unit {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Percent => "percent",
            Unit::Count => "count",
        }
    }

    /// The unit with this name.
    pub fn from_name(name: &str) -> Option<Unit> {
        [Unit::Ms, Unit::Percent, Unit::Count]
            .into_iter()
            .find(|u| u.name() == name)
    }
}

/// A value with its unit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// The number.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
}

impl Measure {
    /// A duration in milliseconds.
    pub fn ms(ms: i64) -> Measure {
        Measure {
            value: ms as f64,
            unit: Unit::Ms,
        }
    }

    /// A percentage.
    pub fn percent(value: f64) -> Measure {
        Measure {
            value,
            unit: Unit::Percent,
        }
    }

    /// How it reads: `9m 12s`, `99.95 %`, `3`.
    pub fn display(&self) -> String {
        match self.unit {
            Unit::Ms => human_ms(self.value as i64),
            Unit::Percent => format!("{} %", trim_float(self.value, 3)),
            Unit::Count => trim_float(self.value, 2),
        }
    }
}

/// A duration the way people read it: `450 ms`, `42 s`, `9 min 12 s`, `2 h 5 min`, `3 d 4 h`.
pub fn human_ms(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    let s = ms / 1_000;
    if s < 60 {
        let tenths = (ms % 1_000) / 100;
        return if s < 10 && tenths > 0 {
            format!("{s}.{tenths} s")
        } else {
            format!("{s} s")
        };
    }
    let (m, s) = (s / 60, s % 60);
    if m < 60 {
        return if s == 0 {
            format!("{m} min")
        } else {
            format!("{m} min {s} s")
        };
    }
    let (h, m) = (m / 60, m % 60);
    if h < 48 {
        return if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        };
    }
    let (d, h) = (h / 24, h % 24);
    if h == 0 {
        format!("{d} d")
    } else {
        format!("{d} d {h} h")
    }
}

fn trim_float(value: f64, decimals: usize) -> String {
    let s = format!("{value:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// What one record says about its claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The measurement supports the claim.
    Met,
    /// The measurement contradicts it.
    Breached,
    /// Measured, but it decides nothing (no target, not enough data).
    Inconclusive,
}

impl Outcome {
    /// The stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::Breached => "breached",
            Outcome::Inconclusive => "inconclusive",
        }
    }

    /// The outcome with this name.
    pub fn from_name(name: &str) -> Option<Outcome> {
        [Outcome::Met, Outcome::Breached, Outcome::Inconclusive]
            .into_iter()
            .find(|o| o.name() == name)
    }

    /// Met when `value` is at most `target` (durations), breached otherwise.
    pub fn at_most(value: i64, target: i64) -> Outcome {
        if value <= target {
            Outcome::Met
        } else {
            Outcome::Breached
        }
    }
}

/// Where a record came from: the kind of source and its id (an incident id, a gateway,
/// an alert, a rollup day, a config file).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    /// The kind.
    pub kind: SourceKind,
    /// Its id.
    pub id: String,
}

/// One measurement about one claim. Append-only: never updated, only superseded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Identifier, derived from the source so that writing the same measurement twice
    /// (a retry, a replay) keeps one record.
    pub id: String,
    /// The claim it is about.
    pub claim: ClaimKind,
    /// What the claim is about.
    pub subject: Subject,
    /// What produced it.
    pub source: Source,
    /// When the measurement was taken (UTC unix ms).
    pub observed_ms: i64,
    /// What was measured, if a number.
    pub value: Option<Measure>,
    /// The target it was held against, if any.
    pub target: Option<Measure>,
    /// What it says about the claim.
    pub outcome: Outcome,
    /// Where its source can be seen (a dashboard path such as `/incidents/INC-1`).
    pub link: Option<String>,
    /// A line about it, in both languages (for manual records: the attachment note as
    /// written, the same in both).
    pub note: Option<Text>,
    /// Who recorded it: `continuo` for measurements, a user's name for manual ones.
    pub recorded_by: String,
    /// When it was recorded (UTC unix ms).
    pub recorded_ms: i64,
}

impl Evidence {
    /// The id a measurement from `source` about `claim` of `subject` gets.
    pub fn id_for(claim: ClaimKind, subject: &Subject, source: &Source) -> String {
        format!(
            "{}/{}/{}/{}",
            claim.name(),
            subject.key(),
            source.kind.name(),
            source.id
        )
    }

    /// Whether it was recorded by a person rather than measured.
    pub fn is_manual(&self) -> bool {
        self.source.kind == SourceKind::Manual
    }
}

/// A continuity claim derived from the catalog.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Claim {
    /// What is claimed.
    pub kind: ClaimKind,
    /// About what.
    pub subject: Subject,
    /// The service's tier, for service claims.
    pub tier: Option<u8>,
    /// The target (the RTO, the SLO, the review interval...), if it has one.
    pub target: Option<Measure>,
    /// How long a record proves it (UTC ms); older records leave it stale.
    pub valid_ms: i64,
}

/// Validity windows of the claims that have no cadence of their own in the catalog.
pub mod windows {
    use super::DAY_MS;

    /// A measured recovery (an incident, a drill) proves the RTO and RPO for a year.
    pub const RECOVERY_MS: i64 = 365 * DAY_MS;
    /// A failover (real or drilled) proves redundancy for a quarter.
    pub const REDUNDANCY_MS: i64 = 90 * DAY_MS;
    /// An acknowledged page proves the escalation reachable for a quarter.
    pub const ESCALATION_MS: i64 = 90 * DAY_MS;
    /// The daily availability record must be at most two days old.
    pub const AVAILABILITY_MS: i64 = 2 * DAY_MS;
    /// A runbook without `review_every` must be reviewed every half year.
    pub const RUNBOOK_MS: i64 = 182 * DAY_MS;
    /// The plan without `review_every` must be reviewed every year.
    pub const PLAN_MS: i64 = 365 * DAY_MS;
    /// Time to acknowledge when the escalation has one level only.
    pub const ACK_TARGET_MS: i64 = 30 * 60_000;
}

/// The posture of the organisation now: every claim with its verdict, readiness per
/// subject and tier, and the error budget of every service with an SLO.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Posture {
    /// When it was computed (UTC unix ms).
    pub at_ms: i64,
    /// Every claim with its verdict, in catalog order.
    pub verdicts: Vec<verdict::Verdict>,
    /// Which claims of each subject are met, breached, stale and unproven.
    pub subjects: Vec<(Subject, verdict::Readiness)>,
    /// Per tier, the claims of its services by state.
    pub tiers: Vec<verdict::TierReadiness>,
    /// Per service with an SLO: its error budget over its SLO window.
    pub budgets: Vec<(String, verdict::ErrorBudget)>,
}

/// The posture at `now_ms` from the stored records (`stored`: at least the newest
/// conclusive record of each claim and subject) and the day rollups of the services'
/// checks over their SLO windows (`days`); the catalog's own records (review dates)
/// are added here.
pub fn posture(
    catalog: &crate::Catalog,
    stored: &[Evidence],
    days: &[availability::CheckDay],
    now_ms: i64,
) -> Posture {
    let claims = claims::claims(catalog);
    let mut records = stored.to_vec();
    records.extend(claims::catalog_evidence(catalog, now_ms));
    let verdicts = verdict::verdicts(&claims, &records, now_ms);
    let subjects = verdict::readiness_by_subject(&verdicts);
    let tiers = verdict::readiness_by_tier(&verdicts);
    let budgets = catalog
        .services
        .iter()
        .filter_map(|s| {
            let slo = s.slo.as_ref()?.value;
            let (from, until) = slo_window(s, now_ms);
            let checks: Vec<String> = s.checks.iter().map(|c| c.id.value.clone()).collect();
            let period = availability::period(&checks, days, from, until);
            Some((
                s.id.value.clone(),
                verdict::error_budget(slo, until - from, period.down_minutes),
            ))
        })
        .collect();
    Posture {
        at_ms: now_ms,
        verdicts,
        subjects,
        tiers,
        budgets,
    }
}

/// The whole UTC days of a service's SLO window that end with today: `[from, until)`.
pub fn slo_window(service: &crate::catalog::Service, now_ms: i64) -> (i64, i64) {
    let until = now_ms.div_euclid(DAY_MS) * DAY_MS + DAY_MS;
    let days =
        (i64::try_from(service.slo_window.0.as_millis()).unwrap_or(i64::MAX / 4) / DAY_MS).max(1);
    (until - days * DAY_MS, until)
}
