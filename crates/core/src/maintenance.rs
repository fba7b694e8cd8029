//! Maintenance windows as spans of time: the configured ones (one-off and recurring by
//! cron) and the ones created at run time. Pure: time is an argument.

use crate::catalog::{Catalog, Maintenance};
use crate::cron::Cron;
use crate::oncall::parse_instant;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// One occurrence of planned maintenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The window's id (the configured id, or one given at creation).
    pub id: String,
    /// What is being done.
    pub title: String,
    /// The services under maintenance.
    pub services: Vec<String>,
    /// Start, UTC unix milliseconds.
    pub from_ms: i64,
    /// End, UTC unix milliseconds.
    pub until_ms: i64,
    /// Whether it comes from the config (`config`) or was created through the API (`api`).
    pub origin: String,
}

impl Window {
    /// Whether the window covers `service` at `at_ms`.
    pub fn covers(&self, service: &str, at_ms: i64) -> bool {
        self.from_ms <= at_ms && at_ms < self.until_ms && self.services.iter().any(|s| s == service)
    }
}

/// The occurrences of a configured window that overlap `[from_ms, until_ms)`, at most
/// `limit` of them; `default_tz` is the organisation's zone.
pub fn occurrences(
    m: &Maintenance,
    default_tz: &str,
    from_ms: i64,
    until_ms: i64,
    limit: usize,
) -> Vec<Window> {
    let tz = m
        .timezone
        .as_deref()
        .and_then(|z| TimeZone::get(z).ok())
        .or_else(|| TimeZone::get(default_tz).ok())
        .unwrap_or(TimeZone::UTC);
    let make = |start: i64, end: i64| Window {
        id: m.id.value.clone(),
        title: m.title.clone(),
        services: m.services.iter().map(|s| s.value.clone()).collect(),
        from_ms: start,
        until_ms: end,
        origin: "config".into(),
    };
    let mut out = Vec::new();
    if let (Some(from), Some(until)) = (&m.from, &m.until) {
        if let (Some(start), Some(end)) = (parse_instant(from, &tz), parse_instant(until, &tz))
            && start < until_ms
            && end > from_ms
            && start < end
        {
            out.push(make(start, end));
        }
        return out;
    }
    let (Some(schedule), Some(duration)) = (&m.schedule, m.duration) else {
        return out;
    };
    let Ok(cron) = Cron::parse(&schedule.value) else {
        return out;
    };
    let Ok(length) = i64::try_from(duration.get().as_millis()) else {
        return out;
    };
    // The occurrence that may still be running at `from_ms` started at most `length` ago.
    let Ok(mut cursor) = Timestamp::from_millisecond(from_ms.saturating_sub(length)) else {
        return out;
    };
    while out.len() < limit {
        let Some(start) = cron.next_after(cursor, &tz) else {
            break;
        };
        let start_ms = start.as_millisecond();
        if start_ms >= until_ms {
            break;
        }
        let end_ms = start_ms.saturating_add(length);
        if end_ms > from_ms {
            out.push(make(start_ms, end_ms));
        }
        cursor = start;
    }
    out
}

/// Every window active at `at_ms`: configured ones and `extra` (created at run time).
pub fn active(catalog: &Catalog, extra: &[Window], at_ms: i64) -> Vec<Window> {
    let tz = &catalog.organization.timezone;
    let mut out: Vec<Window> = catalog
        .maintenances
        .iter()
        .flat_map(|m| occurrences(m, tz, at_ms, at_ms + 1, 1))
        .collect();
    out.extend(
        extra
            .iter()
            .filter(|w| w.from_ms <= at_ms && at_ms < w.until_ms)
            .cloned(),
    );
    out
}

/// Windows that start within `horizon_ms` after `at_ms` or are active at it, soonest
/// first, at most `limit`.
pub fn scheduled(
    catalog: &Catalog,
    extra: &[Window],
    at_ms: i64,
    horizon_ms: i64,
    limit: usize,
) -> Vec<Window> {
    let tz = &catalog.organization.timezone;
    let until = at_ms.saturating_add(horizon_ms);
    let mut out: Vec<Window> = catalog
        .maintenances
        .iter()
        .flat_map(|m| occurrences(m, tz, at_ms, until, limit))
        .collect();
    out.extend(
        extra
            .iter()
            .filter(|w| w.until_ms > at_ms && w.from_ms < until)
            .cloned(),
    );
    out.sort_by(|a, b| (a.from_ms, &a.id).cmp(&(b.from_ms, &b.id)));
    out.truncate(limit);
    out
}

/// A maintenance window as someone asks for it (the API's body, the dashboard's form),
/// before [`validate_window`] has checked it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowRequest {
    /// Letters, digits, `-` and `_`; by default `mw-<start>`.
    pub id: Option<String>,
    /// What is being done.
    pub title: String,
    /// The services under maintenance (at least one).
    pub services: Vec<String>,
    /// Start, RFC 3339 or a local date-time; by default now.
    pub from: Option<String>,
    /// End, RFC 3339 or a local date-time (give this or `duration`).
    pub until: Option<String>,
    /// Length, such as `2h` (give this or `until`).
    pub duration: Option<String>,
}

/// Why a requested maintenance window is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `services` is empty.
    #[error("`services` must name at least one service")]
    NoServices,
    /// A service that the catalog does not have.
    #[error("`services`: no service with id `{0}`")]
    UnknownService(String),
    /// `from` or `until` is not an instant.
    #[error("`{field}` must be a date and time such as 2026-12-24T18:00, not `{text}`")]
    NotAnInstant {
        /// `from` or `until`.
        field: &'static str,
        /// What was written.
        text: String,
    },
    /// `duration` is not a duration (the text says why, in both languages).
    #[error("`duration`: {}", .0.en)]
    NotADuration(crate::text::Text),
    /// `duration` runs past the end of time.
    #[error("`duration` is too long")]
    TooLong,
    /// Neither or both of `until` and `duration`.
    #[error("give either `until` or `duration` (such as \"2h\")")]
    NoEnd,
    /// The end is not after the start.
    #[error("the window must end after it starts")]
    EndsBeforeStart,
    /// An id with other characters than letters, digits, `-` and `_`.
    #[error("`id` may hold letters, digits, - and _ only, not `{0}`")]
    BadId(String),
}

impl WindowError {
    /// What is wrong, in English and Dutch.
    pub fn text(&self) -> crate::text::Text {
        use crate::text::Text;
        let nl = match self {
            WindowError::NoServices => "`services` moet minstens één dienst noemen".to_string(),
            WindowError::UnknownService(s) => format!("`services`: geen dienst met id `{s}`"),
            WindowError::NotAnInstant { field, text } => format!(
                "`{field}` moet een datum en tijd zijn zoals 2026-12-24T18:00, niet `{text}`"
            ),
            WindowError::NotADuration(why) => format!("`duration`: {}", why.nl),
            WindowError::TooLong => "`duration` is te lang".to_string(),
            WindowError::NoEnd => {
                "geef `until` of `duration` (zoals \"2h\"), niet allebei of geen van beide"
                    .to_string()
            }
            WindowError::EndsBeforeStart => "het venster moet eindigen na het begin".to_string(),
            WindowError::BadId(id) => {
                format!("`id` mag alleen letters, cijfers, - en _ bevatten, niet `{id}`")
            }
        };
        Text::new(self.to_string(), nl)
    }
}

/// Checks a requested window against the catalog and makes it a [`Window`] created at
/// run time (`origin` `api`). Times are read in the organisation's time zone; `now_ms`
/// is the start when none is given.
pub fn validate_window(
    catalog: &Catalog,
    now_ms: i64,
    request: WindowRequest,
) -> Result<Window, WindowError> {
    let tz = TimeZone::get(&catalog.organization.timezone).unwrap_or(TimeZone::UTC);
    if request.services.is_empty() {
        return Err(WindowError::NoServices);
    }
    if let Some(unknown) = request
        .services
        .iter()
        .find(|s| catalog.service(s).is_none())
    {
        return Err(WindowError::UnknownService(unknown.clone()));
    }
    let instant = |field: &'static str, text: &str| {
        parse_instant(text, &tz).ok_or_else(|| WindowError::NotAnInstant {
            field,
            text: text.to_string(),
        })
    };
    let from = match &request.from {
        Some(t) => instant("from", t)?,
        None => now_ms,
    };
    let until = match (&request.until, &request.duration) {
        (Some(t), None) => instant("until", t)?,
        (None, Some(d)) => {
            let d =
                crate::HumanDuration::parse(d).map_err(|e| WindowError::NotADuration(e.text()))?;
            i64::try_from(d.get().as_millis())
                .ok()
                .and_then(|ms| from.checked_add(ms))
                .ok_or(WindowError::TooLong)?
        }
        _ => return Err(WindowError::NoEnd),
    };
    if until <= from {
        return Err(WindowError::EndsBeforeStart);
    }
    let id = request.id.unwrap_or_else(|| format!("mw-{from}"));
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(WindowError::BadId(id));
    }
    Ok(Window {
        id,
        title: request.title,
        services: request.services,
        from_ms: from,
        until_ms: until,
        origin: "api".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_text;

    fn catalog(extra: &str) -> Catalog {
        let text = format!(
            "[organization]\nname = \"T\"\ntimezone = \"Europe/Amsterdam\"\n\
             [[team]]\nid = \"ops\"\n\
             [[service]]\nid = \"erp\"\ntier = 3\nowner = \"ops\"\nrto = \"1d\"\n{extra}"
        );
        load_text(&text).expect("valid config")
    }

    fn at(text: &str) -> i64 {
        parse_instant(text, &TimeZone::get("Europe/Amsterdam").expect("tz")).expect("instant")
    }

    #[test]
    fn one_off_window_covers_its_span_only() {
        let c = catalog(
            "[[maintenance]]\nid = \"upgrade\"\ntitle = \"ERP upgrade\"\nservices = [\"erp\"]\n\
             from = \"2026-12-24T02:00\"\nuntil = \"2026-12-24T04:00\"\n",
        );
        let cases = [
            ("2026-12-24T01:59", false),
            ("2026-12-24T02:00", true),
            ("2026-12-24T03:59", true),
            ("2026-12-24T04:00", false),
        ];
        for (when, expected) in cases {
            let found = active(&c, &[], at(when));
            assert_eq!(
                found.iter().any(|w| w.covers("erp", at(when))),
                expected,
                "{when}"
            );
        }
        let list = scheduled(&c, &[], at("2026-12-01T00:00"), 30 * 86_400_000, 5);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].title, "ERP upgrade");
    }

    #[test]
    fn recurring_window_follows_its_cron_in_local_time() {
        // Sundays 03:00 for 90 minutes, Amsterdam time.
        let c = catalog(
            "[[maintenance]]\nid = \"weekly\"\nservices = [\"erp\"]\nschedule = \"0 3 * * 0\"\nduration = \"90m\"\n",
        );
        let cases = [
            ("2026-11-29T02:59", false),
            ("2026-11-29T03:00", true),
            ("2026-11-29T04:29", true),
            ("2026-11-29T04:30", false),
            ("2026-11-30T03:30", false),
            // Summer time: still 03:00 local.
            ("2026-07-05T03:10", true),
            ("2026-07-05T02:50", false),
        ];
        for (when, expected) in cases {
            let found = active(&c, &[], at(when));
            assert_eq!(!found.is_empty(), expected, "{when}");
        }
        let next = scheduled(&c, &[], at("2026-11-25T12:00"), 14 * 86_400_000, 10);
        let starts: Vec<i64> = next.iter().map(|w| w.from_ms).collect();
        assert_eq!(starts, [at("2026-11-29T03:00"), at("2026-12-06T03:00")]);
    }

    #[test]
    fn api_windows_join_the_configured_ones() {
        let c = catalog("");
        let extra = [Window {
            id: "w1".into(),
            title: "DB failover test".into(),
            services: vec!["erp".into()],
            from_ms: 1_000,
            until_ms: 2_000,
            origin: "api".into(),
        }];
        assert!(active(&c, &extra, 999).is_empty());
        assert_eq!(active(&c, &extra, 1_000).len(), 1);
        assert!(active(&c, &extra, 2_000).is_empty());
        assert!(!extra[0].covers("web", 1_500));
    }
}
