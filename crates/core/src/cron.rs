//! Cron schedules for heartbeats: the classic five fields (minute, hour, day of month,
//! month, day of week) with lists, ranges, steps, names and the `@daily`-style macros,
//! evaluated in a time zone. Pure: "now" is an argument.
//!
//! Semantics follow Vixie cron: when both day of month and day of week are restricted,
//! a day matches if either does. A time that does not exist because clocks jump forward
//! is moved forward with them (jiff's compatible disambiguation), so a job scheduled at
//! 02:30 on the night clocks skip 02:00-03:00 is expected at 03:30.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A parsed cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_restricted: bool,
    weekdays_restricted: bool,
}

/// Why an expression is not a valid cron schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    /// English explanation.
    pub en: String,
    /// Dutch explanation.
    pub nl: String,
}

fn error(en: String, nl: String) -> CronError {
    CronError { en, nl }
}

const FIELDS: [(&str, &str, u32, u32); 5] = [
    ("minute", "minuut", 0, 59),
    ("hour", "uur", 0, 23),
    ("day of month", "dag van de maand", 1, 31),
    ("month", "maand", 1, 12),
    ("day of week", "dag van de week", 0, 7),
];

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Cron {
    /// Parses an expression such as `0 2 * * *`, `*/15 8-18 * * mon-fri` or `@daily`.
    pub fn parse(expression: &str) -> Result<Cron, CronError> {
        let text = expression.trim();
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(error(
                    format!(
                        "unknown macro `{other}` (use @yearly, @monthly, @weekly, @daily or @hourly)"
                    ),
                    format!(
                        "onbekende macro `{other}` (gebruik @yearly, @monthly, @weekly, @daily of @hourly)"
                    ),
                ));
            }
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            let n = parts.len();
            return Err(error(
                format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), found {n}"
                ),
                format!(
                    "verwacht 5 velden (minuut uur dag-van-de-maand maand dag-van-de-week), gevonden: {n}"
                ),
            ));
        }
        let mut sets = [0u64; 5];
        for (i, part) in parts.iter().enumerate() {
            sets[i] = field(part, i)?;
        }
        // Day of week 7 is Sunday too.
        let mut weekdays = sets[4];
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes: sets[0],
            hours: sets[1] as u32,
            days: sets[2] as u32,
            months: sets[3] as u16,
            weekdays: (weekdays & 0x7f) as u8,
            days_restricted: parts[2] != "*" && !parts[2].starts_with("*/"),
            weekdays_restricted: parts[4] != "*" && !parts[4].starts_with("*/"),
        })
    }

    fn day_matches(&self, date: Date) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << date.day()) != 0;
        let dow = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The first scheduled time strictly after `after`, in `tz`. `None` only for a
    /// schedule that never fires within eight years (such as `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned_datetime(tz.clone());
        let mut date = start.date();
        for _ in 0..(366 * 8) {
            if self.day_matches(date) {
                for hour in 0..24i8 {
                    if self.hours & (1 << hour) == 0 {
                        continue;
                    }
                    for minute in 0..60i8 {
                        if self.minutes & (1 << minute) == 0 {
                            continue;
                        }
                        let civil = date.at(hour, minute, 0, 0);
                        let Ok(zoned) = civil.to_zoned_datetime(tz.clone()) else {
                            continue;
                        };
                        if zoned.timestamp() > after {
                            return Some(zoned.timestamp());
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// The last scheduled time at or before `at`, in `tz`, looking back at most eight
    /// years.
    pub fn last_at_or_before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = at.to_zoned_datetime(tz.clone());
        let mut date = start.date();
        for _ in 0..(366 * 8) {
            if self.day_matches(date) {
                for hour in (0..24i8).rev() {
                    if self.hours & (1 << hour) == 0 {
                        continue;
                    }
                    for minute in (0..60i8).rev() {
                        if self.minutes & (1 << minute) == 0 {
                            continue;
                        }
                        let civil = date.at(hour, minute, 0, 0);
                        let Ok(zoned) = civil.to_zoned_datetime(tz.clone()) else {
                            continue;
                        };
                        if zoned.timestamp() <= at {
                            return Some(zoned.timestamp());
                        }
                    }
                }
            }
            date = date.yesterday().ok()?;
        }
        None
    }
}

/// Parses one field into a bit set of allowed values.
fn field(text: &str, index: usize) -> Result<u64, CronError> {
    let (name_en, name_nl, min, max) = FIELDS[index];
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    error(
                        format!(
                            "`{item}`: the step in the {name_en} field must be a positive number"
                        ),
                        format!(
                            "`{item}`: de stap in het veld {name_nl} moet een positief getal zijn"
                        ),
                    )
                })?;
                (range, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, index)?, value(b, index)?)
        } else {
            let v = value(range, index)?;
            // `5/10` means from 5 to the end, every 10.
            if step > 1 { (v, max) } else { (v, v) }
        };
        if low > high {
            return Err(error(
                format!("`{item}`: the range in the {name_en} field runs backwards"),
                format!("`{item}`: het bereik in het veld {name_nl} loopt achteruit"),
            ));
        }
        let mut v = low;
        while v <= high {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(text: &str, index: usize) -> Result<u32, CronError> {
    let (name_en, name_nl, min, max) = FIELDS[index];
    let lower = text.to_ascii_lowercase();
    let named = match index {
        3 => MONTHS
            .iter()
            .position(|m| *m == lower)
            .map(|p| p as u32 + 1),
        4 => WEEKDAYS.iter().position(|d| *d == lower).map(|p| p as u32),
        _ => None,
    };
    let v = match named {
        Some(v) => v,
        None => text.parse::<u32>().map_err(|_| {
            error(
                format!("`{text}` is not a valid {name_en}"),
                format!("`{text}` is geen geldige waarde voor {name_nl}"),
            )
        })?,
    };
    if v < min || v > max {
        return Err(error(
            format!("{name_en} `{v}` is out of range {min}-{max}"),
            format!("{name_nl} `{v}` valt buiten {min}-{max}"),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn next(expr: &str, after: &str, tz: &str) -> String {
        let tz = TimeZone::get(tz).expect("tz");
        let cron = Cron::parse(expr).expect("valid");
        cron.next_after(ts(after), &tz).expect("fires").to_string()
    }

    #[test]
    fn next_occurrences() {
        let cases = [
            // expression, after (UTC), zone, expected next (UTC)
            (
                "0 2 * * *",
                "2026-03-10T12:00:00Z",
                "UTC",
                "2026-03-11T02:00:00Z",
            ),
            (
                "0 2 * * *",
                "2026-03-10T01:59:00Z",
                "UTC",
                "2026-03-10T02:00:00Z",
            ),
            // Amsterdam is UTC+1 in winter, UTC+2 in summer.
            (
                "0 2 * * *",
                "2026-01-10T12:00:00Z",
                "Europe/Amsterdam",
                "2026-01-11T01:00:00Z",
            ),
            (
                "0 2 * * *",
                "2026-07-10T12:00:00Z",
                "Europe/Amsterdam",
                "2026-07-11T00:00:00Z",
            ),
            // 02:30 does not exist on 29 March 2026 in Amsterdam: it moves to 03:30 CEST.
            (
                "30 2 * * *",
                "2026-03-28T12:00:00Z",
                "Europe/Amsterdam",
                "2026-03-29T01:30:00Z",
            ),
            (
                "*/15 * * * *",
                "2026-03-10T12:07:00Z",
                "UTC",
                "2026-03-10T12:15:00Z",
            ),
            (
                "0 9 * * mon-fri",
                "2026-11-27T10:00:00Z",
                "UTC",
                "2026-11-30T09:00:00Z",
            ),
            (
                "0 0 1 jan *",
                "2026-06-01T00:00:00Z",
                "UTC",
                "2027-01-01T00:00:00Z",
            ),
            (
                "@hourly",
                "2026-06-01T10:00:00Z",
                "UTC",
                "2026-06-01T11:00:00Z",
            ),
            // Day of month OR day of week when both are restricted: the 13th or a Friday.
            (
                "0 0 13 * 5",
                "2026-11-24T00:00:00Z",
                "UTC",
                "2026-11-27T00:00:00Z",
            ),
            (
                "0 0 * * 7",
                "2026-11-24T00:00:00Z",
                "UTC",
                "2026-11-29T00:00:00Z",
            ),
            (
                "5/20 * * * *",
                "2026-11-24T00:30:00Z",
                "UTC",
                "2026-11-24T00:45:00Z",
            ),
        ];
        for (expr, after, tz, expected) in cases {
            assert_eq!(
                next(expr, after, tz),
                expected,
                "{expr} after {after} in {tz}"
            );
        }
    }

    #[test]
    fn last_occurrence_at_or_before() {
        let tz = TimeZone::get("Europe/Amsterdam").expect("tz");
        let cron = Cron::parse("0 2 * * *").expect("valid");
        let last = cron
            .last_at_or_before(ts("2026-01-11T00:59:00Z"), &tz)
            .expect("fires");
        assert_eq!(last.to_string(), "2026-01-10T01:00:00Z");
        let exact = cron
            .last_at_or_before(ts("2026-01-11T01:00:00Z"), &tz)
            .expect("fires");
        assert_eq!(exact.to_string(), "2026-01-11T01:00:00Z");
    }

    #[test]
    fn never_firing_schedule_gives_none() {
        let cron = Cron::parse("0 0 30 2 *").expect("valid");
        assert_eq!(
            cron.next_after(ts("2026-01-01T00:00:00Z"), &TimeZone::UTC),
            None
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            (
                "0 2 * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
            ),
            ("60 * * * *", "minute `60` is out of range 0-59"),
            ("0 24 * * *", "hour `24` is out of range 0-23"),
            ("0 0 0 * *", "day of month `0` is out of range 1-31"),
            ("0 0 * 13 *", "month `13` is out of range 1-12"),
            ("0 0 * * 8", "day of week `8` is out of range 0-7"),
            ("0 0 * * fry", "`fry` is not a valid day of week"),
            (
                "*/0 * * * *",
                "`*/0`: the step in the minute field must be a positive number",
            ),
            (
                "0 5-2 * * *",
                "`5-2`: the range in the hour field runs backwards",
            ),
            (
                "@sometimes",
                "unknown macro `@sometimes` (use @yearly, @monthly, @weekly, @daily or @hourly)",
            ),
        ];
        for (expr, message) in cases {
            let err = Cron::parse(expr).expect_err(expr);
            assert_eq!(err.en, message, "{expr}");
            assert!(!err.nl.is_empty());
        }
    }
}
