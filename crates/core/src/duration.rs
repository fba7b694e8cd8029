//! Human durations as people write them in continuity plans: `90s`, `15m`, `4h`, `2d`,
//! `1h30m`, `500ms`, `1w`.

use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration that prints the way a human wrote it (`1h30m`, not `5400s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("the duration is empty")]
    Empty,
    /// A number is missing its unit, e.g. `15`.
    #[error("`{0}` has no unit")]
    MissingUnit(String),
    /// A unit that is not one of ms, s, m, h, d, w.
    #[error("`{0}` is not a unit")]
    UnknownUnit(String),
    /// A unit without a number before it, or a stray character.
    #[error("expected a number at `{0}`")]
    ExpectedNumber(String),
    /// Larger than Continuo can represent.
    #[error("the duration is too long")]
    Overflow,
    /// Longer than [`HumanDuration::MAX`]: no plan measures in centuries, and every
    /// instant plus an accepted duration stays far inside the calendar and `i64`.
    #[error("the duration is longer than 100 years (36525d)")]
    TooLong,
}

const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

impl DurationError {
    /// The reason in English and Dutch.
    pub fn text(&self) -> crate::text::Text {
        use crate::tr;
        match self {
            DurationError::Empty => tr!("the duration is empty", "de duur is leeg"),
            DurationError::MissingUnit(t) => tr!("`{t}` has no unit", "`{t}` heeft geen eenheid"),
            DurationError::UnknownUnit(u) => tr!("`{u}` is not a unit", "`{u}` is geen eenheid"),
            DurationError::ExpectedNumber(t) => {
                tr!("expected a number at `{t}`", "verwacht een getal bij `{t}`")
            }
            DurationError::Overflow => tr!("the duration is too long", "de duur is te lang"),
            DurationError::TooLong => tr!(
                "the duration is longer than 100 years (36525d)",
                "de duur is langer dan 100 jaar (36525d)"
            ),
        }
    }
}

impl HumanDuration {
    /// The longest duration Continuo accepts: 100 years (36,525 days). Bounding every
    /// duration where it is read makes the time arithmetic on it safe: any instant of
    /// this century plus or minus a few such durations fits the calendar and `i64`
    /// milliseconds.
    pub const MAX: HumanDuration = HumanDuration(Duration::from_secs(36_525 * 86_400));

    /// Parses `90s`, `15m`, `4h`, `2d`, `1w`, `500ms` and sums like `1h30m` or `1h 30m`.
    pub fn parse(input: &str) -> Result<HumanDuration, DurationError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        let mut total_ms: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            rest = rest.trim_start();
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(DurationError::ExpectedNumber(rest.to_string()));
            }
            let number: u64 = rest[..digits]
                .parse()
                .map_err(|_| DurationError::Overflow)?;
            rest = rest[digits..].trim_start();
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            if unit_len == 0 {
                return Err(DurationError::MissingUnit(text.to_string()));
            }
            let unit = &rest[..unit_len];
            let factor = UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, f)| *f)
                .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
            total_ms = number
                .checked_mul(factor)
                .and_then(|ms| total_ms.checked_add(ms))
                .ok_or(DurationError::Overflow)?;
            rest = &rest[unit_len..];
        }
        let parsed = HumanDuration(Duration::from_millis(total_ms));
        if parsed > HumanDuration::MAX {
            return Err(DurationError::TooLong);
        }
        Ok(parsed)
    }

    /// A duration of whole seconds.
    pub fn from_secs(secs: u64) -> HumanDuration {
        HumanDuration(Duration::from_secs(secs))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Whole seconds (rounded down).
    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl fmt::Display for HumanDuration {
    /// Prints the shortest exact form: `1h30m`, `2d`, `90s` prints as `1m30s`, zero as `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return f.write_str("0s");
        }
        // Weeks are left out on purpose: "9d" reads better than "1w2d" in a plan.
        for (name, factor) in UNITS.iter().rev().filter(|(n, _)| *n != "w") {
            if ms >= *factor {
                write!(f, "{}{}", ms / factor, name)?;
                ms %= factor;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, secs: u64, shown: &str) {
        let d = HumanDuration::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(d.as_secs(), secs, "{input}");
        assert_eq!(d.to_string(), shown, "{input}");
    }

    fn err(input: &str, expected: DurationError) {
        assert_eq!(HumanDuration::parse(input), Err(expected), "{input}");
    }

    #[test]
    fn parses_human_durations() {
        ok("90s", 90, "1m30s");
        ok("15m", 900, "15m");
        ok("4h", 14_400, "4h");
        ok("2d", 172_800, "2d");
        ok("1w", 604_800, "7d");
        ok("1h30m", 5_400, "1h30m");
        ok("1h 30m", 5_400, "1h30m");
        ok(" 0s ", 0, "0s");
        assert_eq!(
            HumanDuration::parse("500ms").map(|d| d.0.as_millis()),
            Ok(500)
        );
    }

    #[test]
    fn rejects_malformed_durations() {
        err("", DurationError::Empty);
        err("15", DurationError::MissingUnit("15".into()));
        err("15 minutes", DurationError::UnknownUnit("minutes".into()));
        ok("15 m", 900, "15m");
        err("15x", DurationError::UnknownUnit("x".into()));
        err("m15", DurationError::ExpectedNumber("m15".into()));
        err("-5m", DurationError::ExpectedNumber("-5m".into()));
        err("99999999999999999999d", DurationError::Overflow);
        err("999999999999999w", DurationError::Overflow);
        // At most a century: what check accepts, the time arithmetic can take.
        assert_eq!(
            HumanDuration::parse("36525d").map(HumanDuration::get),
            Ok(HumanDuration::MAX.get())
        );
        err("36525d1ms", DurationError::TooLong);
        err("7304485d", DurationError::TooLong);
    }
}
