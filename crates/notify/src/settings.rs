//! Reading a channel's kind-specific settings into typed values.
//!
//! Core keeps settings as loosely typed values (a string, a number, a table...) because
//! only this crate knows what each kind needs. [`Settings`] reads them one by one and
//! collects every problem, each naming the channel and the setting and pointing at the
//! value in the configuration, so one `continuo check` shows all of them.

use crate::error::ConfigProblem;
use continuo_core::catalog::{Channel, Located, SettingValue};
use continuo_core::{HumanDuration, Text, tr};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// The settings of one channel, with the problems found so far.
pub(crate) struct Settings<'a> {
    channel: &'a Channel,
    problems: Vec<ConfigProblem>,
}

/// The name of a setting value's type, for "expected ..., found ..." messages.
fn type_name(value: &SettingValue) -> Text {
    match value {
        SettingValue::Text(_) => tr!("a string", "een tekst"),
        SettingValue::Integer(_) => tr!("a number", "een getal"),
        SettingValue::Bool(_) => tr!("true or false", "true of false"),
        SettingValue::Map(_) => tr!("a table", "een tabel"),
        SettingValue::List(_) => tr!("a list", "een lijst"),
    }
}

impl<'a> Settings<'a> {
    /// Starts reading `channel`'s settings.
    pub(crate) fn new(channel: &'a Channel) -> Settings<'a> {
        Settings {
            channel,
            problems: Vec::new(),
        }
    }

    /// The channel's id.
    pub(crate) fn id(&self) -> &str {
        &self.channel.id.value
    }

    fn get(&self, key: &str) -> Option<&'a Located<SettingValue>> {
        self.channel.settings.get(key)
    }

    /// The setting's raw value, to choose how to read it.
    pub(crate) fn value(&self, key: &str) -> Option<&'a SettingValue> {
        self.get(key).map(|v| &v.value)
    }

    /// True when the setting is present.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Records a problem with `setting`, at its value (or at the channel's id when the
    /// setting is absent).
    pub(crate) fn problem(&mut self, setting: &str, message: Text) {
        let loc = self
            .get(setting)
            .map_or_else(|| self.channel.id.loc.clone(), |v| v.loc.clone());
        self.problems.push(ConfigProblem {
            channel: self.id().to_string(),
            setting: Some(setting.to_string()),
            message,
            loc,
        });
    }

    fn missing(&mut self, key: &str) {
        self.problem(key, tr!("is required", "is verplicht"));
    }

    fn wrong_type(&mut self, key: &str, expected: Text, found: &SettingValue) {
        let found = type_name(found);
        self.problem(
            key,
            Text::new(
                format!("expected {}, found {}", expected.en, found.en),
                format!("verwacht {}, gevonden: {}", expected.nl, found.nl),
            ),
        );
    }

    /// An optional string; an empty one is a problem (it usually is an unset `${VAR}`).
    pub(crate) fn text(&mut self, key: &str) -> Option<String> {
        let value = self.get(key)?;
        match &value.value {
            SettingValue::Text(s) if s.trim().is_empty() => {
                self.problem(key, tr!("must not be empty", "mag niet leeg zijn"));
                None
            }
            SettingValue::Text(s) => Some(s.clone()),
            other => {
                self.wrong_type(key, tr!("a string", "een tekst"), other);
                None
            }
        }
    }

    /// A string the channel cannot work without.
    pub(crate) fn required_text(&mut self, key: &str) -> Option<String> {
        if !self.has(key) {
            self.missing(key);
            return None;
        }
        self.text(key)
    }

    /// A string or a number, as text (Telegram chat ids are either).
    pub(crate) fn required_text_or_number(&mut self, key: &str) -> Option<String> {
        match self.get(key).map(|v| &v.value) {
            Some(SettingValue::Integer(n)) => Some(n.to_string()),
            Some(SettingValue::Text(_)) => self.text(key),
            Some(other) => {
                self.wrong_type(
                    key,
                    tr!("a string or a number", "een tekst of getal"),
                    other,
                );
                None
            }
            None => {
                self.missing(key);
                None
            }
        }
    }

    /// An http or https URL; `required` reports its absence.
    pub(crate) fn url(&mut self, key: &str, required: bool) -> Option<Url> {
        let text = if required {
            self.required_text(key)?
        } else {
            self.text(key)?
        };
        match parse_http_url(&text) {
            Ok(url) => Some(url),
            Err(message) => {
                self.problem(key, message);
                None
            }
        }
    }

    /// An optional table of strings (headers).
    pub(crate) fn map(&mut self, key: &str) -> BTreeMap<String, String> {
        match self.get(key).map(|v| &v.value) {
            None => BTreeMap::new(),
            Some(SettingValue::Map(map)) => map.clone(),
            Some(other) => {
                self.wrong_type(key, tr!("a table", "een tabel"), other);
                BTreeMap::new()
            }
        }
    }

    /// A required list of strings, where a single string counts as a list of one.
    pub(crate) fn required_list(&mut self, key: &str) -> Option<Vec<String>> {
        match self.get(key).map(|v| &v.value) {
            None => {
                self.missing(key);
                None
            }
            Some(SettingValue::Text(_)) => self.text(key).map(|s| vec![s]),
            Some(SettingValue::List(items)) if items.is_empty() => {
                self.problem(key, tr!("must not be empty", "mag niet leeg zijn"));
                None
            }
            Some(SettingValue::List(items)) => Some(items.clone()),
            Some(other) => {
                self.wrong_type(key, tr!("a string or a list", "een tekst of lijst"), other);
                None
            }
        }
    }

    /// An optional whole number in `min..=max`.
    pub(crate) fn integer(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        match self.get(key).map(|v| &v.value) {
            None => None,
            Some(SettingValue::Integer(n)) if (min..=max).contains(n) => Some(*n),
            Some(SettingValue::Integer(n)) => {
                self.problem(
                    key,
                    tr!(
                        "{n} is out of range, use {min} to {max}",
                        "{n} valt buiten het bereik, gebruik {min} tot en met {max}"
                    ),
                );
                None
            }
            Some(other) => {
                self.wrong_type(key, tr!("a number", "een getal"), other);
                None
            }
        }
    }

    /// An optional choice among `options`, compared without regard to case.
    pub(crate) fn choice(&mut self, key: &str, options: &[&'static str]) -> Option<&'static str> {
        let text = self.text(key)?;
        let lower = text.to_ascii_lowercase();
        if let Some(found) = options.iter().find(|o| **o == lower) {
            return Some(found);
        }
        let list = options
            .iter()
            .map(|o| format!("\"{o}\""))
            .collect::<Vec<_>>()
            .join(", ");
        self.problem(
            key,
            tr!(
                "\"{text}\" is not one of {list}",
                "\"{text}\" is niet een van {list}"
            ),
        );
        None
    }

    /// An optional duration (`"10s"`, `"1m30s"`, or a number of seconds) in `min..=max`.
    pub(crate) fn duration(&mut self, key: &str, min: Duration, max: Duration) -> Option<Duration> {
        let duration = match self.get(key).map(|v| &v.value) {
            None => return None,
            Some(SettingValue::Integer(n)) => Duration::from_secs(u64::try_from(*n).unwrap_or(0)),
            Some(SettingValue::Text(s)) => match HumanDuration::parse(s) {
                Ok(d) => d.get(),
                Err(e) => {
                    self.problem(key, e.text());
                    return None;
                }
            },
            Some(other) => {
                self.wrong_type(
                    key,
                    tr!("a duration such as \"10s\"", "een duur zoals \"10s\""),
                    other,
                );
                return None;
            }
        };
        if duration < min || duration > max {
            let (min, max) = (HumanDuration(min), HumanDuration(max));
            self.problem(
                key,
                tr!(
                    "must be between {min} and {max}",
                    "moet tussen {min} en {max} liggen"
                ),
            );
            return None;
        }
        Some(duration)
    }

    /// An optional file path.
    pub(crate) fn path(&mut self, key: &str) -> Option<PathBuf> {
        self.text(key).map(PathBuf::from)
    }

    /// The problems found, or `value` when there were none.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, Vec<ConfigProblem>> {
        match value {
            Some(value) if self.problems.is_empty() => Ok(value),
            _ => Err(self.problems),
        }
    }

    /// True when no problem was found so far.
    pub(crate) fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Parses an absolute http or https URL.
pub(crate) fn parse_http_url(text: &str) -> Result<Url, Text> {
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        Ok(url) => {
            let scheme = url.scheme().to_string();
            Err(tr!(
                "not an http or https URL (scheme `{scheme}`)",
                "geen http- of https-URL (schema `{scheme}`)"
            ))
        }
        Err(e) => Err(tr!("not a valid URL ({e})", "geen geldige URL ({e})")),
    }
}
