//! User-facing text in every language Continuo speaks (English and Dutch).
//!
//! Every message a user can read is built as a [`Text`] holding both languages, so the
//! choice of language is made where the text is shown, not where it is produced.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A language Continuo can speak to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// Dutch (Nederlands).
    Nl,
}

impl Lang {
    /// All supported languages, in the order they are offered.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Nl];

    /// The ISO 639-1 code (`en`, `nl`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    /// Parses an ISO 639-1 code, or a locale such as `nl_NL.UTF-8` or `nl-BE`.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code
            .split(['_', '-', '.'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One piece of user-facing text, in English and in Dutch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// The English text.
    pub en: String,
    /// The Dutch text.
    pub nl: String,
}

impl Text {
    /// Builds a text from its English and Dutch forms.
    pub fn new(en: impl Into<String>, nl: impl Into<String>) -> Text {
        Text {
            en: en.into(),
            nl: nl.into(),
        }
    }

    /// A text that reads the same in every language (an identifier, a path, a number).
    pub fn same(both: impl Into<String>) -> Text {
        let both = both.into();
        Text {
            en: both.clone(),
            nl: both,
        }
    }

    /// Names listed as a sentence lists them: `A`, `A and B`, `A, B and C` (`en` in
    /// Dutch); empty for none.
    pub fn list(names: &[&str]) -> Text {
        match names {
            [] => Text::same(String::new()),
            [one] => Text::same(*one),
            [head @ .., last] => {
                let head = head.join(", ");
                Text::new(format!("{head} and {last}"), format!("{head} en {last}"))
            }
        }
    }

    /// The text in the given language.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Nl => &self.nl,
        }
    }
}

impl fmt::Display for Text {
    /// Displays the English form; use [`Text::get`] to choose.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

/// Builds a [`Text`] from two format strings that share their arguments:
/// `tr!("unknown field `{}`", "onbekend veld `{}`"; name)`. Arguments are evaluated once
/// per language.
#[macro_export]
macro_rules! tr {
    ($en:literal, $nl:literal) => {
        $crate::text::Text::new(format!($en), format!($nl))
    };
    ($en:literal, $nl:literal, $($a:expr),+; $($b:expr),+) => {
        $crate::text::Text::new(format!($en, $($a),+), format!($nl, $($b),+))
    };
    ($en:literal, $nl:literal; $($args:tt)+) => {
        $crate::text::Text::new(format!($en, $($args)+), format!($nl, $($args)+))
    };
}
