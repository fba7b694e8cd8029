//! Times, durations and the few fixed labels channels show besides the templates
//! (button captions, card facts), in English and Dutch.

use continuo_core::{Lang, Text, tr};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// An instant as people read it in the notice's time zone: `2026-11-25 14:03 CET`.
/// An unknown time zone shows UTC rather than failing the notification.
pub(crate) fn local_time(ms: i64, timezone: &str) -> String {
    let Ok(at) = Timestamp::from_millisecond(ms) else {
        return ms.to_string();
    };
    let zone = TimeZone::get(timezone).unwrap_or(TimeZone::UTC);
    at.to_zoned_datetime(zone)
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// An instant in RFC 3339, UTC, to the second: `2026-11-25T13:03:00Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    match Timestamp::from_millisecond(ms.div_euclid(1000) * 1000) {
        Ok(at) => at.to_string(),
        Err(_) => ms.to_string(),
    }
}

/// How long between two instants, in the two largest units: `1h 12m`, `12m 5s`, `2d 3h`
/// (Dutch `1u 12m`, `2d 3u`). Negative spans (clock skew) count as zero.
pub(crate) fn elapsed(from_ms: i64, to_ms: i64, lang: Lang) -> String {
    let secs = u64::try_from(to_ms.saturating_sub(from_ms) / 1000).unwrap_or(0);
    let hour = match lang {
        Lang::En => "h",
        Lang::Nl => "u",
    };
    let units = [(86_400, "d"), (3_600, hour), (60, "m"), (1, "s")];
    let first = units
        .iter()
        .position(|(size, _)| secs >= *size)
        .unwrap_or(units.len() - 1);
    let (size, name) = units[first];
    let mut out = format!("{}{name}", secs / size);
    if let Some((next, next_name)) = units.get(first + 1) {
        let count = (secs % size) / next;
        if count > 0 {
            out.push_str(&format!(" {count}{next_name}"));
        }
    }
    out
}

/// Caption of the acknowledge button or link.
pub(crate) fn acknowledge() -> Text {
    tr!("Acknowledge", "Bevestigen")
}

/// Caption of the dashboard button or link.
pub(crate) fn dashboard() -> Text {
    tr!("Open dashboard", "Open dashboard")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_shows_the_two_largest_units() {
        let check = |secs: i64, en: &str, nl: &str| {
            assert_eq!(elapsed(0, secs * 1000, Lang::En), en, "{secs}s in English");
            assert_eq!(elapsed(0, secs * 1000, Lang::Nl), nl, "{secs}s in Dutch");
        };
        check(0, "0s", "0s");
        check(45, "45s", "45s");
        check(60, "1m", "1m");
        check(725, "12m 5s", "12m 5s");
        check(3_600, "1h", "1u");
        check(4_320, "1h 12m", "1u 12m");
        check(3_605, "1h", "1u");
        check(2 * 86_400 + 3 * 3_600 + 59, "2d 3h", "2d 3u");
        check(-5, "0s", "0s");
    }

    #[test]
    fn local_time_uses_the_zone_abbreviation() {
        let at = 1_795_611_780_000; // 2026-11-25 13:03 UTC
        assert_eq!(local_time(at, "Europe/Amsterdam"), "2026-11-25 14:03 CET");
        assert_eq!(local_time(at, "UTC"), "2026-11-25 13:03 UTC");
        assert_eq!(local_time(at, "Mars/Olympus"), "2026-11-25 13:03 UTC");
        assert_eq!(rfc3339(at + 999), "2026-11-25T13:03:00Z");
    }
}
