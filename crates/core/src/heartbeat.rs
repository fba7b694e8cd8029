//! When a push heartbeat is late: pure deadline arithmetic over a period or a cron
//! schedule, plus the grace time. Time is an argument (UTC unix milliseconds).
//!
//! - With a `period`, the next ping is due `period` after the last one (or after
//!   monitoring began, for a check that never pinged), and late after `grace` more.
//! - With a cron `schedule`, the next ping is due at the first scheduled time after the
//!   last ping, in the schedule's time zone, and late after `grace` more.
//! - A `/start` ping without a finish is late `grace` after the start: a job that starts
//!   and hangs is noticed before its next scheduled run.

use crate::catalog::HeartbeatSpec;
use crate::cron::Cron;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// What is known about a heartbeat's pings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PingHistory {
    /// When monitoring of this heartbeat began (the reference for a check that never pinged).
    pub since_ms: i64,
    /// The last success ping.
    pub last_success_ms: Option<i64>,
    /// A start ping that has not been finished yet.
    pub running_since_ms: Option<i64>,
}

/// A heartbeat's schedule, ready to evaluate.
#[derive(Clone, Debug)]
pub struct HeartbeatSchedule {
    period_ms: Option<i64>,
    cron: Option<(Cron, TimeZone)>,
    grace_ms: i64,
}

/// Why the deadline was set where it is, to explain a missed heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// When the next ping was expected.
    pub due_ms: i64,
    /// When it counts as missed (due + grace, or start + grace).
    pub late_ms: i64,
    /// Whether the deadline comes from an unfinished start.
    pub from_start: bool,
}

impl HeartbeatSchedule {
    /// Builds the schedule of a spec; `default_tz` is the organisation's zone. `None`
    /// when the spec's cron expression or zone is invalid (validation reports those).
    pub fn new(spec: &HeartbeatSpec, default_tz: &str) -> Option<HeartbeatSchedule> {
        let cron = match &spec.schedule {
            Some(expr) => {
                let cron = Cron::parse(&expr.value).ok()?;
                let zone = spec
                    .timezone
                    .as_ref()
                    .map_or(default_tz, |t| t.value.as_str());
                Some((cron, TimeZone::get(zone).ok()?))
            }
            None => None,
        };
        Some(HeartbeatSchedule {
            period_ms: spec.period.map(|p| p.get().as_millis() as i64),
            cron,
            grace_ms: spec.grace.get().as_millis() as i64,
        })
    }

    /// The deadline given the ping history; `None` for a cron schedule that never fires.
    pub fn deadline(&self, history: &PingHistory) -> Option<Deadline> {
        let reference = history.last_success_ms.unwrap_or(history.since_ms);
        let due_ms = if let Some((cron, tz)) = &self.cron {
            let after = Timestamp::from_millisecond(reference).ok()?;
            cron.next_after(after, tz)?.as_millisecond()
        } else {
            reference + self.period_ms.unwrap_or(0)
        };
        let mut deadline = Deadline {
            due_ms,
            late_ms: due_ms + self.grace_ms,
            from_start: false,
        };
        if let Some(start) = history.running_since_ms
            && start + self.grace_ms <= deadline.late_ms
        {
            deadline = Deadline {
                due_ms: start,
                late_ms: start + self.grace_ms,
                from_start: true,
            };
        }
        Some(deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Located;
    use crate::diag::{FileId, Loc};
    use crate::duration::HumanDuration;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().expect("timestamp").as_millisecond()
    }

    fn spec(
        period: Option<&str>,
        schedule: Option<&str>,
        tz: Option<&str>,
        grace: &str,
    ) -> HeartbeatSpec {
        let loc = Loc::new(FileId(0), 0..0);
        HeartbeatSpec {
            uuid: Located::new("0f8d4c2e-6a1b-4b7e-9d3c-2a5e8f1b7c40".into(), loc.clone()),
            period: period.map(|p| HumanDuration::parse(p).expect("duration")),
            schedule: schedule.map(|s| Located::new(s.to_string(), loc.clone())),
            timezone: tz.map(|t| Located::new(t.to_string(), loc.clone())),
            grace: HumanDuration::parse(grace).expect("duration"),
        }
    }

    #[test]
    fn deadlines() {
        struct Case {
            spec: HeartbeatSpec,
            history: PingHistory,
            due: &'static str,
            late: &'static str,
            from_start: bool,
        }
        let cases = [
            // Period: due one period after the last ping.
            Case {
                spec: spec(Some("1h"), None, None, "5m"),
                history: PingHistory {
                    since_ms: ms("2026-11-24T00:00:00Z"),
                    last_success_ms: Some(ms("2026-11-24T10:00:00Z")),
                    running_since_ms: None,
                },
                due: "2026-11-24T11:00:00Z",
                late: "2026-11-24T11:05:00Z",
                from_start: false,
            },
            // Never pinged: counted from when monitoring began.
            Case {
                spec: spec(Some("1d"), None, None, "1h"),
                history: PingHistory {
                    since_ms: ms("2026-11-24T08:00:00Z"),
                    ..PingHistory::default()
                },
                due: "2026-11-25T08:00:00Z",
                late: "2026-11-25T09:00:00Z",
                from_start: false,
            },
            // Cron at 02:00 Amsterdam (01:00 UTC in winter): a ping at 02:05 local
            // makes the next one due tomorrow at 02:00 local.
            Case {
                spec: spec(None, Some("0 2 * * *"), Some("Europe/Amsterdam"), "1h"),
                history: PingHistory {
                    since_ms: ms("2026-11-01T00:00:00Z"),
                    last_success_ms: Some(ms("2026-11-24T01:05:00Z")),
                    running_since_ms: None,
                },
                due: "2026-11-25T01:00:00Z",
                late: "2026-11-25T02:00:00Z",
                from_start: false,
            },
            // A start without a finish is late after the grace.
            Case {
                spec: spec(None, Some("0 2 * * *"), Some("Europe/Amsterdam"), "30m"),
                history: PingHistory {
                    since_ms: ms("2026-11-01T00:00:00Z"),
                    last_success_ms: Some(ms("2026-11-24T01:05:00Z")),
                    running_since_ms: Some(ms("2026-11-25T01:00:00Z")),
                },
                due: "2026-11-25T01:00:00Z",
                late: "2026-11-25T01:30:00Z",
                from_start: true,
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            let schedule = HeartbeatSchedule::new(&case.spec, "UTC").expect("valid");
            let d = schedule.deadline(&case.history).expect("deadline");
            assert_eq!(d.due_ms, ms(case.due), "case {i}: due");
            assert_eq!(d.late_ms, ms(case.late), "case {i}: late");
            assert_eq!(d.from_start, case.from_start, "case {i}: from_start");
        }
    }

    #[test]
    fn organisation_zone_is_the_default() {
        let s = spec(None, Some("0 2 * * *"), None, "0s");
        let history = PingHistory {
            since_ms: ms("2026-07-01T12:00:00Z"),
            ..PingHistory::default()
        };
        let amsterdam = HeartbeatSchedule::new(&s, "Europe/Amsterdam").expect("valid");
        let utc = HeartbeatSchedule::new(&s, "UTC").expect("valid");
        assert_eq!(
            amsterdam.deadline(&history).expect("d").due_ms,
            ms("2026-07-02T00:00:00Z")
        );
        assert_eq!(
            utc.deadline(&history).expect("d").due_ms,
            ms("2026-07-02T02:00:00Z")
        );
    }
}
