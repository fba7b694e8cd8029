//! Who is on call: pure arithmetic over a schedule's rotation layers and overrides.
//! Time is an argument (UTC unix milliseconds).
//!
//! - A layer's first shift starts on its `start` date at its `handoff` time in the
//!   schedule's time zone (the organisation's when the schedule names none). Rotations of
//!   whole days hand off at the same wall-clock time every time, across daylight-saving
//!   changes; other lengths (`12h`) are exact spans of elapsed time.
//! - Shift `k` belongs to member `k mod n`. Before its start a layer has nobody.
//! - A later layer wins wherever it has someone on call; an override wins over every
//!   layer for its span, the last matching override in the file winning.

use crate::catalog::{Layer, Schedule};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use serde::Serialize;

const DAY_MS: i64 = 86_400_000;

/// Who is on call, from when until when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnCall {
    /// The person's id.
    pub person: String,
    /// Start of the shift (or override).
    pub from_ms: i64,
    /// End of the shift (or override); the next hand-off.
    pub until_ms: i64,
    /// Which rule put them there.
    pub source: OnCallSource,
}

/// The rule that puts someone on call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum OnCallSource {
    /// The rotation layer with this index (0-based, in file order).
    Layer(usize),
    /// The override with this index (0-based, in file order).
    Override(usize),
}

/// Parses an instant written as RFC 3339 (`2026-12-24T18:00:00Z`, with an offset) or as a
/// local date-time (`2026-12-24T18:00`, `2026-12-24 18:00`) in `tz`. `None` when it is
/// neither.
pub fn parse_instant(text: &str, tz: &TimeZone) -> Option<i64> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let civil: DateTime = text.replacen(' ', "T", 1).parse().ok()?;
    let zoned = civil.to_zoned_datetime(tz.clone()).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// The schedule's time zone: its own, else `default_tz`, else UTC.
pub fn schedule_zone(schedule: &Schedule, default_tz: &str) -> TimeZone {
    schedule
        .timezone
        .as_deref()
        .and_then(|z| TimeZone::get(z).ok())
        .or_else(|| TimeZone::get(default_tz).ok())
        .unwrap_or(TimeZone::UTC)
}

/// Who is on call in `schedule` at `at_ms`; `default_tz` is the organisation's zone.
/// `None` when nobody is (before every layer starts, or a schedule without layers).
pub fn on_call_at(schedule: &Schedule, default_tz: &str, at_ms: i64) -> Option<OnCall> {
    let tz = schedule_zone(schedule, default_tz);
    let mut found = None;
    for (index, layer) in schedule.layers.iter().enumerate() {
        if let Some(shift) = layer_shift(layer, &tz, at_ms) {
            found = Some(OnCall {
                person: shift.person,
                from_ms: shift.from_ms,
                until_ms: shift.until_ms,
                source: OnCallSource::Layer(index),
            });
        }
    }
    for (index, o) in schedule.overrides.iter().enumerate() {
        let (Some(from), Some(until)) = (parse_instant(&o.from, &tz), parse_instant(&o.until, &tz))
        else {
            continue;
        };
        if from <= at_ms && at_ms < until {
            found = Some(OnCall {
                person: o.person.value.clone(),
                from_ms: from,
                until_ms: until,
                source: OnCallSource::Override(index),
            });
        }
    }
    found
}

/// The next `count` hand-offs from `from_ms` on: who is on call in each consecutive
/// stretch, as the schedule will page them. Stretches where nobody is on call are left
/// out; stops early when nobody will ever be on call again.
pub fn upcoming(schedule: &Schedule, default_tz: &str, from_ms: i64, count: usize) -> Vec<OnCall> {
    let mut out: Vec<OnCall> = Vec::new();
    let mut at = from_ms;
    let mut idle_steps = 0;
    while out.len() < count && idle_steps < 64 {
        match on_call_at(schedule, default_tz, at) {
            Some(mut who) => {
                idle_steps = 0;
                // A stretch ends at the earliest boundary of any rule, not only the winner's.
                who.until_ms = next_boundary(schedule, default_tz, at).unwrap_or(who.until_ms);
                who.from_ms = who.from_ms.max(at);
                at = who.until_ms;
                match out.last_mut() {
                    Some(last) if last.person == who.person && last.until_ms == who.from_ms => {
                        last.until_ms = who.until_ms;
                    }
                    _ => out.push(who),
                }
            }
            None => {
                idle_steps += 1;
                match next_boundary(schedule, default_tz, at) {
                    Some(next) if next > at => at = next,
                    _ => break,
                }
            }
        }
    }
    out
}

/// The first instant after `at_ms` at which any layer or override changes hands.
fn next_boundary(schedule: &Schedule, default_tz: &str, at_ms: i64) -> Option<i64> {
    let tz = schedule_zone(schedule, default_tz);
    let mut best: Option<i64> = None;
    let mut consider = |t: i64| {
        if t > at_ms && best.is_none_or(|b| t < b) {
            best = Some(t);
        }
    };
    for layer in &schedule.layers {
        match layer_shift(layer, &tz, at_ms) {
            Some(shift) => consider(shift.until_ms),
            None => {
                if let Some(start) = layer_start(layer, &tz) {
                    consider(start);
                }
            }
        }
    }
    for o in &schedule.overrides {
        if let Some(from) = parse_instant(&o.from, &tz) {
            consider(from);
        }
        if let Some(until) = parse_instant(&o.until, &tz) {
            consider(until);
        }
    }
    best
}

struct Shift {
    person: String,
    from_ms: i64,
    until_ms: i64,
}

fn layer_start(layer: &Layer, tz: &TimeZone) -> Option<i64> {
    let date: Date = layer.start.parse().ok()?;
    let time: Time = format!("{}:00", layer.handoff).parse().ok()?;
    let zoned = date.to_datetime(time).to_zoned_datetime(tz.clone()).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// The start of shift `k` of a layer.
fn shift_start(layer: &Layer, tz: &TimeZone, start_ms: i64, k: i64) -> Option<i64> {
    let rotation_ms = i64::try_from(layer.rotation.get().as_millis()).ok()?;
    if rotation_ms % DAY_MS == 0 {
        // Whole days: the same wall-clock hand-off every time.
        let days = rotation_ms / DAY_MS;
        let date: Date = layer.start.parse().ok()?;
        let time: Time = format!("{}:00", layer.handoff).parse().ok()?;
        let day = date
            // `days` panics past its range (about 20,000 years): `try_days` refuses instead.
            .checked_add(jiff::Span::new().try_days(k.checked_mul(days)?).ok()?)
            .ok()?;
        let zoned = day.to_datetime(time).to_zoned_datetime(tz.clone()).ok()?;
        Some(zoned.timestamp().as_millisecond())
    } else {
        start_ms.checked_add(k.checked_mul(rotation_ms)?)
    }
}

fn layer_shift(layer: &Layer, tz: &TimeZone, at_ms: i64) -> Option<Shift> {
    if layer.members.is_empty() {
        return None;
    }
    let rotation_ms = i64::try_from(layer.rotation.get().as_millis()).ok()?;
    if rotation_ms <= 0 {
        return None;
    }
    let start_ms = layer_start(layer, tz)?;
    if at_ms < start_ms {
        return None;
    }
    // An estimate from elapsed time, corrected for the hour a DST change may shift it.
    let mut k = (at_ms - start_ms) / rotation_ms;
    loop {
        let from = shift_start(layer, tz, start_ms, k)?;
        if from > at_ms && k > 0 {
            k -= 1;
            continue;
        }
        let until = shift_start(layer, tz, start_ms, k + 1)?;
        if until <= at_ms {
            k += 1;
            continue;
        }
        let n = layer.members.len() as i64;
        let person = layer.members[usize::try_from(k.rem_euclid(n)).ok()?]
            .value
            .clone();
        return Some(Shift {
            person,
            from_ms: from,
            until_ms: until,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HumanDuration;
    use crate::catalog::{Id, Override};
    use crate::diag::{FileId, Loc};

    fn id(s: &str) -> Id {
        Id::new(
            s.to_string(),
            Loc {
                file: FileId(0),
                span: 0..0,
            },
        )
    }

    fn layer(members: &[&str], rotation: &str, handoff: &str, start: &str) -> Layer {
        Layer {
            members: members.iter().map(|m| id(m)).collect(),
            rotation: HumanDuration::parse(rotation).expect("rotation"),
            handoff: handoff.into(),
            start: start.into(),
        }
    }

    fn schedule(layers: Vec<Layer>, overrides: Vec<(&str, &str, &str)>) -> Schedule {
        Schedule {
            id: id("s"),
            name: "s".into(),
            timezone: Some("Europe/Amsterdam".into()),
            layers,
            overrides: overrides
                .into_iter()
                .map(|(p, f, u)| Override {
                    person: id(p),
                    from: f.into(),
                    until: u.into(),
                })
                .collect(),
        }
    }

    fn at(text: &str) -> i64 {
        parse_instant(text, &TimeZone::get("Europe/Amsterdam").expect("tz")).expect("instant")
    }

    fn who(s: &Schedule, when: &str) -> Option<String> {
        on_call_at(s, "UTC", at(when)).map(|o| o.person)
    }

    #[test]
    fn weekly_rotation_hands_off_at_local_time_across_dst() {
        // 2026-01-05 is a Monday; DST starts 2026-03-29 and ends 2026-10-25.
        let s = schedule(
            vec![layer(&["chen", "daan"], "1w", "09:00", "2026-01-05")],
            vec![],
        );
        let cases = [
            ("2026-01-04T12:00", None),
            ("2026-01-05T08:59", None),
            ("2026-01-05T09:00", Some("chen")),
            ("2026-01-12T08:59", Some("chen")),
            ("2026-01-12T09:00", Some("daan")),
            ("2026-01-19T09:00", Some("chen")),
            // Week 12 starts Monday 2026-03-30 09:00 CEST, the day after DST began.
            ("2026-03-30T08:59", Some("daan")),
            ("2026-03-30T09:00", Some("chen")),
            // After DST ends, still 09:00 local.
            ("2026-10-26T08:59", Some("daan")),
            ("2026-10-26T09:00", Some("chen")),
        ];
        for (when, expected) in cases {
            assert_eq!(who(&s, when).as_deref(), expected, "at {when}");
        }
        let shift = on_call_at(&s, "UTC", at("2026-03-31T12:00")).expect("someone");
        assert_eq!(shift.from_ms, at("2026-03-30T09:00"));
        assert_eq!(shift.until_ms, at("2026-04-06T09:00"));
    }

    #[test]
    fn sub_day_rotation_is_elapsed_time() {
        let s = schedule(
            vec![layer(&["a", "b", "c"], "12h", "08:00", "2026-03-28")],
            vec![],
        );
        // 2026-03-28 08:00 CET; 12 h later is 20:00 CET; DST starts 02:00 on the 29th,
        // so 24 h later is 09:00 CEST.
        let cases = [
            ("2026-03-28T19:59", "a"),
            ("2026-03-28T20:00", "b"),
            ("2026-03-29T08:59", "b"),
            ("2026-03-29T09:00", "c"),
            ("2026-03-29T21:00", "a"),
        ];
        for (when, expected) in cases {
            assert_eq!(who(&s, when).as_deref(), Some(expected), "at {when}");
        }
    }

    #[test]
    fn later_layer_and_overrides_win() {
        let s = schedule(
            vec![
                layer(&["anna", "bram"], "1d", "09:00", "2026-06-01"),
                // A weekend layer: only starts later.
                layer(&["chen"], "1d", "09:00", "2026-06-10"),
            ],
            vec![
                ("eva", "2026-06-03T12:00", "2026-06-03T18:00"),
                ("femke", "2026-06-03T17:00Z", "2026-06-03T19:00+02:00"),
            ],
        );
        let cases = [
            ("2026-06-01T10:00", "anna"),
            ("2026-06-02T10:00", "bram"),
            ("2026-06-03T11:59", "anna"),
            ("2026-06-03T12:00", "eva"),
            // 17:00Z is 19:00 local: femke's override begins exactly as it ends.
            ("2026-06-03T17:59", "eva"),
            ("2026-06-03T18:30", "anna"),
            ("2026-06-10T10:00", "chen"),
        ];
        for (when, expected) in cases {
            assert_eq!(who(&s, when).as_deref(), Some(expected), "at {when}");
        }
    }

    #[test]
    fn upcoming_lists_consecutive_stretches() {
        let s = schedule(
            vec![layer(&["anna", "bram"], "1d", "09:00", "2026-06-01")],
            vec![("eva", "2026-06-02T12:00", "2026-06-02T14:00")],
        );
        let list = upcoming(&s, "UTC", at("2026-06-01T10:00"), 4);
        let people: Vec<&str> = list.iter().map(|o| o.person.as_str()).collect();
        assert_eq!(people, ["anna", "bram", "eva", "bram"]);
        assert_eq!(list[0].from_ms, at("2026-06-01T10:00"));
        assert_eq!(list[0].until_ms, at("2026-06-02T09:00"));
        assert_eq!(list[1].until_ms, at("2026-06-02T12:00"));
        assert_eq!(list[2].until_ms, at("2026-06-02T14:00"));
        assert_eq!(list[3].until_ms, at("2026-06-03T09:00"));
        // Before the start, the list begins at the first shift.
        let early = upcoming(&s, "UTC", at("2026-05-01T00:00"), 1);
        assert_eq!(early[0].person, "anna");
        assert_eq!(early[0].from_ms, at("2026-06-01T09:00"));
    }

    #[test]
    fn instants_parse_in_both_forms() {
        let tz = TimeZone::get("Europe/Amsterdam").expect("tz");
        assert_eq!(
            parse_instant("2026-12-24T18:00", &tz),
            parse_instant("2026-12-24T17:00:00Z", &tz)
        );
        assert_eq!(
            parse_instant("2026-12-24 18:00", &tz),
            parse_instant("2026-12-24T17:00:00Z", &tz)
        );
        assert_eq!(parse_instant("christmas", &tz), None);
    }
}
