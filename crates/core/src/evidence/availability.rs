//! Measured availability: per service and UTC day, from the day rollups of its checks.
//! A day's downtime is the share of failed observations of its worst check times the
//! day's minutes (a service is down while any of its checks fails); a day without
//! observations is *no data*, never counted as up. The monthly report (the SLA report)
//! adds the SLO, the error budget and the month's incidents.

use super::verdict::{ErrorBudget, error_budget};
use serde::Serialize;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
const DAY_MINUTES: f64 = 1_440.0;

/// One check's observations on one UTC day (all locations together).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckDay {
    /// The check.
    pub check: String,
    /// Start of the UTC day (unix ms).
    pub day_ms: i64,
    /// Observations.
    pub count: u64,
    /// Of which failed.
    pub failures: u64,
}

/// One service's day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Day {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Start of the UTC day (unix ms).
    pub day_ms: i64,
    /// Measured availability in percent, `None` without data.
    pub availability: Option<f64>,
    /// Measured downtime in minutes, `None` without data.
    pub down_minutes: Option<f64>,
}

/// A service's availability over a period of whole UTC days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Period {
    /// Every day of the period, in order.
    pub days: Vec<Day>,
    /// Days with data.
    pub days_with_data: u32,
    /// Days without.
    pub days_without_data: u32,
    /// Downtime over the days with data (minutes).
    pub down_minutes: f64,
    /// Availability over the days with data (percent), `None` when none has data.
    pub availability: Option<f64>,
}

/// The availability of a service with `checks` over the days from `from_ms` (inclusive)
/// to `until_ms` (exclusive), both rounded down to UTC days.
pub fn period(checks: &[String], rows: &[CheckDay], from_ms: i64, until_ms: i64) -> Period {
    let first = from_ms.div_euclid(DAY_MS) * DAY_MS;
    let mut worst: BTreeMap<i64, f64> = BTreeMap::new();
    for row in rows {
        if row.count == 0
            || !checks.contains(&row.check)
            || row.day_ms < first
            || row.day_ms >= until_ms
        {
            continue;
        }
        let share = (row.failures.min(row.count)) as f64 / row.count as f64;
        let day = row.day_ms.div_euclid(DAY_MS) * DAY_MS;
        let entry = worst.entry(day).or_insert(0.0);
        *entry = entry.max(share);
    }
    let mut days = Vec::new();
    let (mut with, mut without, mut down) = (0u32, 0u32, 0.0f64);
    let mut day_ms = first;
    while day_ms < until_ms {
        let date = super::date_of(day_ms);
        match worst.get(&day_ms) {
            Some(share) => {
                with += 1;
                let minutes = round3(share * DAY_MINUTES);
                down += minutes;
                days.push(Day {
                    date,
                    day_ms,
                    availability: Some(round3((1.0 - share) * 100.0)),
                    down_minutes: Some(minutes),
                });
            }
            None => {
                without += 1;
                days.push(Day {
                    date,
                    day_ms,
                    availability: None,
                    down_minutes: None,
                });
            }
        }
        day_ms += DAY_MS;
    }
    let availability =
        (with > 0).then(|| round3((1.0 - down / (f64::from(with) * DAY_MINUTES)) * 100.0));
    Period {
        days,
        days_with_data: with,
        days_without_data: without,
        down_minutes: round3(down),
        availability,
    }
}

/// An incident of the month as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReportIncident {
    /// Its id (`INC-3`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// When the service went down (unix ms).
    pub down_ms: i64,
    /// When it came back, if it did.
    pub up_ms: Option<i64>,
    /// How long it was down (ms), if it came back.
    pub duration_ms: Option<i64>,
    /// `met`, `breached` or `open`, against the RTO.
    pub rto: &'static str,
}

/// One service's month: the SLA report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceMonth {
    /// The service.
    pub service: String,
    /// Its name.
    pub name: String,
    /// Its tier.
    pub tier: u8,
    /// Its SLO in percent, if it has one.
    pub slo: Option<f64>,
    /// Whether the month's availability met it (`None`: no SLO, or no data).
    pub slo_met: Option<bool>,
    /// The measured month.
    pub period: Period,
    /// The month's error budget (over the days with data), with an SLO.
    pub budget: Option<ErrorBudget>,
    /// The incidents that took it down this month.
    pub incidents: Vec<ReportIncident>,
}

/// A month's report for one service.
pub fn service_month(
    service: &crate::catalog::Service,
    rows: &[CheckDay],
    from_ms: i64,
    until_ms: i64,
    incidents: Vec<ReportIncident>,
) -> ServiceMonth {
    let checks: Vec<String> = service.checks.iter().map(|c| c.id.value.clone()).collect();
    let period = period(&checks, rows, from_ms, until_ms);
    let slo = service.slo.as_ref().map(|s| s.value);
    let budget = slo.map(|s| {
        error_budget(
            s,
            i64::from(period.days_with_data) * DAY_MS,
            period.down_minutes,
        )
    });
    ServiceMonth {
        service: service.id.value.clone(),
        name: service.name.clone(),
        tier: service.tier.value.0,
        slo: slo.map(|s| round3(s * 100.0)),
        slo_met: match (slo, period.availability) {
            (Some(s), Some(a)) => Some(a + 1e-9 >= s * 100.0),
            _ => None,
        },
        period,
        budget,
        incidents,
    }
}

/// The first and last-plus-one UTC midnight of a month written `YYYY-MM`.
pub fn month_bounds(month: &str) -> Option<(i64, i64)> {
    let (y, m) = month.trim().split_once('-')?;
    let (y, m): (i16, i8) = (y.parse().ok()?, m.parse().ok()?);
    let start = jiff::civil::Date::new(y, m, 1).ok()?;
    let end = start.checked_add(jiff::Span::new().months(1)).ok()?;
    let ms = |d: jiff::civil::Date| {
        d.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_millisecond())
    };
    Some((ms(start)?, ms(end)?))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
