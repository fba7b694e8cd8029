//! What can go wrong: a channel's configuration (found when it is validated or built), and
//! one delivery (found when a notice is sent).

use continuo_core::diag::{Diagnostic, Loc, Severity};
use continuo_core::{Lang, Text, tr};
use std::fmt;
use std::time::Duration;

/// One thing wrong with a channel's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigProblem {
    /// The channel's id.
    pub channel: String,
    /// The setting at fault, when one is.
    pub setting: Option<String>,
    /// What is wrong, in English and Dutch.
    pub message: Text,
    /// Where: the setting's value, or the channel's id when the setting is missing.
    pub loc: Loc,
}

impl ConfigProblem {
    /// The problem in one language: `channel ops-chat: setting "url": not a valid URL (…)`.
    pub fn display(&self, lang: Lang) -> String {
        let channel = tr!("channel", "kanaal");
        let setting = tr!("setting", "instelling");
        match &self.setting {
            Some(name) => format!(
                "{} {}: {} \"{name}\": {}",
                channel.get(lang),
                self.channel,
                setting.get(lang),
                self.message.get(lang)
            ),
            None => format!(
                "{} {}: {}",
                channel.get(lang),
                self.channel,
                self.message.get(lang)
            ),
        }
    }

    /// The problem as a configuration diagnostic (code `bad-channel`), for `continuo check`.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let message = Text::new(self.display(Lang::En), self.display(Lang::Nl));
        Diagnostic {
            severity: Severity::Error,
            code: "bad-channel",
            message,
            loc: Some(self.loc.clone()),
            label: self.message.clone(),
            help: None,
            related: Vec::new(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    /// The English form; use [`ConfigProblem::display`] to choose.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display(Lang::En))
    }
}

impl std::error::Error for ConfigProblem {}

/// Why a channel could not be built: every problem found, in settings order.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// The problems; never empty.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A notice reached its receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// What the receiver answered (`HTTP 202 Accepted`, `250 2.0.0 Ok: queued as 4F2A`).
    pub detail: String,
}

/// Whether trying the same send again can succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendErrorKind {
    /// The receiver was unreachable, slow, overloaded or rate limiting (connection
    /// errors, timeouts, HTTP 408, 429 and 5xx, SMTP 4xx): try again later.
    Retryable,
    /// The receiver refused this notice and will refuse it again (HTTP 4xx, SMTP 5xx, a
    /// template that does not render): retrying cannot help; dead-letter it.
    Permanent,
}

/// A notice could not be delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Whether to try again.
    pub kind: SendErrorKind,
    /// How long the receiver asked us to wait (`Retry-After`), if it said.
    pub retry_after: Option<Duration>,
    /// What went wrong, with the receiver's answer when there was one.
    pub message: String,
}

impl SendError {
    /// A failure that may pass on a later try.
    pub(crate) fn retryable(message: impl Into<String>) -> SendError {
        SendError {
            kind: SendErrorKind::Retryable,
            retry_after: None,
            message: message.into(),
        }
    }

    /// A failure that will happen again.
    pub(crate) fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            kind: SendErrorKind::Permanent,
            retry_after: None,
            message: message.into(),
        }
    }

    /// True when trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == SendErrorKind::Retryable
    }
}
