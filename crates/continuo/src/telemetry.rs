//! How the process's tracing events look and where they go, decided once in the binary.
//!
//! The library crates only emit levelled, structured events (`tracing`); this module
//! installs the one subscriber that filters and writes them. Events always go to
//! stderr, so a command's real output on stdout (tables, JSON answers) stays clean for
//! pipes and scripts.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// How events are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human line per event (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, target, message and the event's fields.
    Json,
}

/// The least severe level shown for Continuo's own crates (dependencies show warnings
/// and errors only, unless `RUST_LOG` says otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Only failures.
    Error,
    /// Failures and what an operator should look at.
    Warn,
    /// What happens: listening, reloads, gateway events, shutdown.
    #[default]
    Info,
    /// Detail for finding a problem.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        }
    }
}

/// What the command line asked of the logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOptions {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// `--log-level`, if given: it wins over `RUST_LOG`.
    pub level: Option<LogLevel>,
    /// Whether text may use colour (the caller asks the terminal and `--color`).
    pub color: bool,
}

/// The filter: an explicit `--log-level` for Continuo's crates, else `RUST_LOG` when it
/// is set and valid, else `info` for Continuo's crates and `warn` for the rest.
///
/// Every Continuo crate's target starts with `continuo` (`continuo_engine::alerts`, …),
/// and a directive's target matches by prefix, so one directive covers them all.
fn filter(level: Option<LogLevel>, rust_log: Option<&str>) -> EnvFilter {
    let ours = |level: LogLevel| {
        EnvFilter::builder().parse_lossy(format!("warn,continuo={}", level.filter()))
    };
    if let Some(level) = level {
        return ours(level);
    }
    match rust_log.filter(|text| !text.trim().is_empty()) {
        Some(text) => EnvFilter::try_new(text).unwrap_or_else(|_| ours(LogLevel::Info)),
        None => ours(LogLevel::Info),
    }
}

/// Installs the process's subscriber. Called once, before any command runs; a second
/// call (there is none) would leave the first in place.
pub fn init(options: LogOptions) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = filter(options.level, rust_log.as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // An error means a subscriber is already set; events then go there, which is fine.
    let _ = match options.format {
        LogFormat::Text => builder.with_ansi(options.color).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter's directives, in a stable order.
    fn directives(filter: EnvFilter) -> Vec<String> {
        let mut all: Vec<String> = filter.to_string().split(',').map(String::from).collect();
        all.sort();
        all
    }

    #[test]
    fn the_filter_prefers_the_flag_then_rust_log_then_info_for_continuo() {
        let default = ["continuo=info", "warn"];
        assert_eq!(directives(filter(None, None)), default);
        assert_eq!(directives(filter(None, Some("  "))), default);
        assert_eq!(directives(filter(None, Some("debug"))), ["debug"]);
        assert_eq!(
            directives(filter(Some(LogLevel::Debug), Some("error"))),
            ["continuo=debug", "warn"]
        );
        // A RUST_LOG that does not parse does not silence the logs.
        assert_eq!(directives(filter(None, Some("continuo=loud"))), default);
    }
}
