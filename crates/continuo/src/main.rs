//! The `continuo` binary: command-line interface and wiring.
//!
//! Exit status: 0 when all is well, 1 when the configuration is invalid (or another
//! failure), 2 for a usage error.

mod alerts_cli;
mod bia_output;
mod demo;
mod disk;
mod gateway_cli;
mod gateway_serve;
mod help_nl;
mod incident_cli;
mod init;
mod local;
mod posture_cli;
mod reach;
mod render;
mod serve;
mod status;
mod telemetry;
mod users_cli;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use continuo_core::{Lang, LoadOutcome, tr};
use render::DiagnosticFormat;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Continuo keeps digital services running, and proves that it can.
#[derive(Parser, Debug)]
#[command(name = "continuo", version, about, long_about = None)]
struct Cli {
    /// Language for output: `en` or `nl` (default: from CONTINUO_LANG or LANG).
    #[arg(long, global = true, value_parser = parse_lang)]
    lang: Option<Lang>,
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a complete, commented example configuration for a small company; existing
    /// files are kept.
    Init {
        /// Directory to write into (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
        /// Write the example that shows every field (optional ones commented out).
        #[arg(long)]
        full: bool,
    },
    /// Validate the configuration and print a summary; starts nothing.
    Check {
        /// The root configuration file.
        #[arg(short, long, env = "CONTINUO_CONFIG", default_value = "continuo.toml")]
        config: PathBuf,
        /// Treat warnings as failure (exit status 1).
        #[arg(long)]
        deny_warnings: bool,
        /// How to show problems.
        #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
        format: DiagnosticFormat,
    },
    /// Print the business impact analysis: recovery order, objectives, dependencies,
    /// single points of failure, cost exposure and the risk matrix.
    Bia {
        /// The root configuration file.
        #[arg(short, long, env = "CONTINUO_CONFIG", default_value = "continuo.toml")]
        config: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = bia_output::BiaFormat::Table)]
        format: bia_output::BiaFormat,
    },
    /// Run the monitoring engine and the HTTP listener (API, metrics, heartbeat pings).
    Serve {
        /// The root configuration file.
        #[arg(short, long, env = "CONTINUO_CONFIG", default_value = "continuo.toml")]
        config: PathBuf,
        /// Listen on this address instead of `[server] listen`.
        #[arg(long)]
        listen: Option<String>,
        /// Use this database instead of `[server] database`.
        #[arg(long, env = "CONTINUO_DATABASE")]
        database: Option<String>,
        /// How to write the log (on stderr): human lines, or one JSON object per line.
        #[arg(long, value_enum, default_value_t = telemetry::LogFormat::Text)]
        log_format: telemetry::LogFormat,
        /// The least severe events shown from Continuo itself (default `info`; wins over
        /// RUST_LOG, which can also set levels per module).
        #[arg(long, value_enum)]
        log_level: Option<telemetry::LogLevel>,
    },
    /// Show the live state of a running server.
    Status {
        /// Base URL of the server (default: from the configuration's `[server] listen`).
        #[arg(long, env = "CONTINUO_URL")]
        url: Option<String>,
        /// The configuration, to find the server's address.
        #[arg(short, long, env = "CONTINUO_CONFIG", default_value = "continuo.toml")]
        config: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = status::StatusFormat::Table)]
        format: status::StatusFormat,
    },
    /// Show who is on call now (or at --at) in every schedule, from the configuration.
    Oncall {
        /// The root configuration file.
        #[arg(short, long, env = "CONTINUO_CONFIG", default_value = "continuo.toml")]
        config: PathBuf,
        /// A moment: 2026-12-24T18:00 (organisation's time zone) or RFC 3339.
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an alert on a running server (needs CONTINUO_TOKEN or CONTINUO_ADMIN_TOKEN).
    Ack {
        /// The alert id (see GET /api/v1/alerts).
        alert: String,
        /// Base URL of the server (default: from the configuration's `[server] listen`).
        #[arg(long, env = "CONTINUO_URL")]
        url: Option<String>,
        /// The configuration, to find the server's address.
        #[arg(short, long, env = "CONTINUO_CONFIG", default_value = "continuo.toml")]
        config: PathBuf,
        /// Who acknowledges.
        #[arg(long)]
        by: Option<String>,
    },
    /// Incidents on a running server: list, show, declare, update, ack, resolve, note,
    /// postmortem, stats (needs CONTINUO_TOKEN or CONTINUO_ADMIN_TOKEN).
    Incident {
        /// Base URL of the server (default: from the configuration's `[server] listen`).
        #[arg(long, env = "CONTINUO_URL", global = true)]
        url: Option<String>,
        /// The configuration, to find the server's address.
        #[arg(
            short,
            long,
            env = "CONTINUO_CONFIG",
            default_value = "continuo.toml",
            global = true
        )]
        config: PathBuf,
        #[command(subcommand)]
        command: incident_cli::IncidentCommand,
    },
    /// Resolve an alert on a running server (needs CONTINUO_TOKEN or CONTINUO_ADMIN_TOKEN).
    Resolve {
        /// The alert id.
        alert: String,
        /// Base URL of the server (default: from the configuration's `[server] listen`).
        #[arg(long, env = "CONTINUO_URL")]
        url: Option<String>,
        /// The configuration, to find the server's address.
        #[arg(short, long, env = "CONTINUO_CONFIG", default_value = "continuo.toml")]
        config: PathBuf,
        /// Who resolves.
        #[arg(long)]
        by: Option<String>,
    },
    /// The failover gateways of a running server: status, drain, undrain, failback.
    Gateway {
        #[command(subcommand)]
        action: GatewayAction,
        /// Base URL of the server (default: from the configuration's `[server] listen`).
        #[arg(long, global = true, env = "CONTINUO_URL")]
        url: Option<String>,
        /// The configuration, to find the server's address.
        #[arg(
            short,
            long,
            env = "CONTINUO_CONFIG",
            default_value = "continuo.toml",
            global = true
        )]
        config: PathBuf,
    },
    /// Run a small simulated organisation and Continuo watching it, and play a scenario:
    /// by default a failover, an incident, notifications, recovery and a postmortem.
    Demo {
        /// The story to play.
        #[arg(long, value_enum, default_value_t = demo::Scenario::Full)]
        scenario: demo::Scenario,
        /// Directory for the configuration, database and postmortem (default: a new one
        /// under the temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the temporary folder after the demo (it is removed otherwise).
        #[arg(long)]
        keep: bool,
        /// Play the scenario without waiting for Enter, then exit with a summary.
        #[arg(long)]
        headless: bool,
        /// Fail when the scenario has not finished within this long (default: 90s
        /// headless).
        #[arg(long = "for", value_parser = parse_duration)]
        duration: Option<std::time::Duration>,
        /// How to write the log (on stderr): human lines, or one JSON object per line.
        #[arg(long, value_enum, default_value_t = telemetry::LogFormat::Text)]
        log_format: telemetry::LogFormat,
        /// The least severe events shown from Continuo itself (default `info`; wins over
        /// RUST_LOG, which can also set levels per module).
        #[arg(long, value_enum)]
        log_level: Option<telemetry::LogLevel>,
    },
    /// Every continuity claim beside the freshest evidence for it: met, breached, stale
    /// or unproven; readiness per tier and error budgets.
    Posture(posture_cli::PostureArgs),
    /// Evidence records: add one by hand (an audit, a test done elsewhere), or list them.
    Evidence(posture_cli::EvidenceArgs),
    /// Reports from measured facts: the monthly availability (SLA) report.
    Report(posture_cli::ReportArgs),
    #[command(flatten)]
    Access(AccessCommand),
}

#[derive(Subcommand, Debug)]
enum GatewayAction {
    /// Show every gateway: serving tier, endpoints, recent events.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Take an endpoint out of rotation (responder role: CONTINUO_TOKEN or CONTINUO_ADMIN_TOKEN).
    Drain {
        /// The gateway's id.
        gateway: String,
        /// The endpoint's name (its `name`, else its URL).
        endpoint: String,
    },
    /// Put a drained endpoint back (needs CONTINUO_ADMIN_TOKEN).
    Undrain {
        /// The gateway's id.
        gateway: String,
        /// The endpoint's name.
        endpoint: String,
    },
    /// Return traffic to the primary tier now (needs CONTINUO_ADMIN_TOKEN).
    Failback {
        /// The gateway's id.
        gateway: String,
    },
}

/// Commands of the sign-in work (issue 6), kept apart so other verbs merge cleanly.
#[derive(Subcommand, Debug)]
enum AccessCommand {
    /// Users who sign in at /login: add, list, remove, passwd, role.
    User(users_cli::UserArgs),
    /// API tokens for programs: add, list, revoke.
    Token(users_cli::TokenArgs),
    /// Show the audit log: every state-changing action, who did it and from where.
    Audit(users_cli::AuditArgs),
}

fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::from_code(text)
        .ok_or_else(|| format!("`{text}` is not a supported language; use `en` or `nl`"))
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    continuo_core::HumanDuration::parse(text)
        .map(continuo_core::HumanDuration::get)
        .map_err(|e| e.text().en)
}

/// The language from `--lang`, else `CONTINUO_LANG`, else the locale variables.
fn choose_lang(flag: Option<Lang>) -> Lang {
    flag.or_else(|| {
        ["CONTINUO_LANG", "LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Lang::from_code(&v))
    })
    .unwrap_or(Lang::En)
}

/// The language `--lang nl` or `--lang=nl` asks for, read before clap parses (so that
/// `--help` can be in it); `None` when absent or not a language, which clap then reports.
fn lang_in_args(args: &[OsString]) -> Option<Lang> {
    let mut rest = args.iter().skip(1).map(|a| a.to_str());
    while let Some(arg) = rest.next() {
        match arg {
            Some("--") => return None,
            Some("--lang") => return rest.next().flatten().and_then(Lang::from_code),
            Some(arg) => {
                if let Some(code) = arg.strip_prefix("--lang=") {
                    return Lang::from_code(code);
                }
            }
            None => {}
        }
    }
    None
}

/// Parses the command line, with `--help` in the chosen language.
fn parse_cli() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    if choose_lang(lang_in_args(&args)) == Lang::Nl {
        command = help_nl::localize(command);
    }
    // What `Cli::parse` does, with our command instead of `Cli::command()`.
    let mut matches = command
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| e.exit());
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// Whether to colour output written to stdout (`stream_is_tty`).
fn use_color(choice: ColorChoice, stream_is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// mimalloc: a request allocates and frees dozens of small blocks across threads, where
/// glibc's allocator spent about a tenth of the server's CPU in the status and gateway
/// benchmarks (`BENCHMARKS.md`). The bench uses the same allocator as the binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    continuo_notify::install_crypto_provider();
    let cli = parse_cli();
    let lang = choose_lang(cli.lang);
    telemetry::init(log_options(&cli));
    match run(cli, lang) {
        Ok(code) => code,
        Err(error) => {
            let prefix = tr!("error", "fout");
            eprintln!("{}: {error:#}", prefix.get(lang));
            ExitCode::from(1)
        }
    }
}

/// The log settings of the command: `serve` and `demo` take `--log-format` and
/// `--log-level`; every other command logs text at the default levels (its answers go to
/// stdout, and are not events).
fn log_options(cli: &Cli) -> telemetry::LogOptions {
    let (format, level) = match &cli.command {
        Command::Serve {
            log_format,
            log_level,
            ..
        }
        | Command::Demo {
            log_format,
            log_level,
            ..
        } => (*log_format, *log_level),
        _ => (telemetry::LogFormat::Text, None),
    };
    telemetry::LogOptions {
        format,
        level,
        color: use_color(cli.color, std::io::stderr().is_terminal()),
    }
}

fn run(cli: Cli, lang: Lang) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init { dir, force, full } => init::run(&init::Options { dir, force, full }, lang),
        Command::Check {
            config,
            deny_warnings,
            format,
        } => check(&config, deny_warnings, format, lang, cli.color),
        Command::Bia { config, format } => bia(&config, format, lang, cli.color),
        Command::Serve {
            config,
            listen,
            database,
            ..
        } => local::finish(
            serve::run(
                serve::ServeOptions {
                    config,
                    listen,
                    database,
                    admin_token: None,
                },
                lang,
            ),
            lang,
        ),
        Command::Status {
            url,
            config,
            format,
        } => status::run(&server_url(url, &config), format, lang),
        Command::Oncall { config, at, json } => {
            let outcome = load(&config);
            match outcome.catalog {
                Some(catalog) if !outcome.diagnostics.has_errors() => {
                    alerts_cli::oncall(&catalog, at.as_deref(), json, lang)
                }
                _ => check(
                    &config,
                    false,
                    DiagnosticFormat::Human,
                    lang,
                    ColorChoice::Auto,
                ),
            }
        }
        Command::Ack {
            alert,
            url,
            config,
            by,
        } => alerts_cli::act(
            &server_url(url, &config),
            &alert,
            "ack",
            by.as_deref(),
            lang,
        ),
        Command::Resolve {
            alert,
            url,
            config,
            by,
        } => alerts_cli::act(
            &server_url(url, &config),
            &alert,
            "resolve",
            by.as_deref(),
            lang,
        ),
        Command::Incident {
            url,
            config,
            command,
        } => incident_cli::run(&server_url(url, &config), command, lang),
        Command::Gateway {
            action,
            url,
            config,
        } => gateway_cli::run(&server_url(url, &config), action.into(), lang),
        Command::Demo {
            scenario,
            dir,
            keep,
            headless,
            duration,
            ..
        } => demo::run(
            demo::DemoOptions {
                dir,
                headless,
                duration,
                scenario,
                keep,
            },
            lang,
        ),
        Command::Posture(args) => posture_cli::posture(
            args,
            lang,
            use_color(cli.color, std::io::stdout().is_terminal()),
        ),
        Command::Evidence(args) => posture_cli::evidence(args, lang),
        Command::Report(args) => posture_cli::report(args, lang),
        Command::Access(AccessCommand::User(args)) => users_cli::user(args, lang),
        Command::Access(AccessCommand::Token(args)) => users_cli::token(args, lang),
        Command::Access(AccessCommand::Audit(args)) => users_cli::audit_log(args, lang),
    }
}

/// The running server a client command talks to: `--url` (or a non-empty
/// `CONTINUO_URL`), else the configuration's `[server] listen` on this machine, else the
/// default listen address.
fn server_url(url: Option<String>, config: &Path) -> String {
    if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
        return url;
    }
    let listen = load(config)
        .catalog
        .map(|c| c.server.listen)
        .unwrap_or_else(|| continuo_core::catalog::Server::default().listen);
    format!(
        "http://{}",
        listen
            .replace("0.0.0.0", "127.0.0.1")
            .replace("[::]", "[::1]")
    )
}

fn load(config: &Path) -> LoadOutcome {
    continuo_core::load(config, &disk::Disk, &|name| std::env::var(name).ok())
}

fn check(
    config: &Path,
    deny_warnings: bool,
    format: DiagnosticFormat,
    lang: Lang,
    color: ColorChoice,
) -> anyhow::Result<ExitCode> {
    let mut outcome = load(config);
    // What only the probes and channels can tell: unreadable CA files, invalid
    // regular expressions, channel settings, ICMP refused by the OS.
    if let Some(catalog) = &outcome.catalog
        && !outcome.diagnostics.has_errors()
    {
        let base = config.parent().map(Path::to_path_buf).unwrap_or_default();
        let probes = continuo_probe::validate(catalog, &continuo_probe::ProbeContext::new(base));
        for diagnostic in probes {
            outcome.diagnostics.push(diagnostic);
        }
        for channel in &catalog.channels {
            for problem in continuo_notify::validate(channel) {
                outcome.diagnostics.push(problem.to_diagnostic());
            }
        }
    }
    let failed = outcome.diagnostics.has_errors()
        || (deny_warnings && outcome.diagnostics.warning_count() > 0);
    if format == DiagnosticFormat::Json {
        let report = serde_json::json!({
            "valid": !failed,
            "errors": outcome.diagnostics.error_count(),
            "warnings": outcome.diagnostics.warning_count(),
            "diagnostics": render::json(&outcome.diagnostics, &outcome.sources, lang),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::from(u8::from(failed)));
    }
    let stderr_color = use_color(color, std::io::stderr().is_terminal());
    let text = render::diagnostics(
        &outcome.diagnostics,
        &outcome.sources,
        lang,
        format,
        stderr_color,
    );
    let mut err = std::io::stderr().lock();
    write!(err, "{text}")?;
    let counts = render::counts(&outcome.diagnostics, lang);
    if failed {
        let verdict = if outcome.diagnostics.has_errors() {
            tr!("{config_path}: invalid configuration ({counts})", "{config_path}: ongeldige configuratie ({counts})"; config_path = config.display())
        } else {
            tr!(
                "{config_path}: warnings are denied ({counts})",
                "{config_path}: waarschuwingen zijn niet toegestaan ({counts})";
                config_path = config.display()
            )
        };
        writeln!(err, "{}", verdict.get(lang))?;
        return Ok(ExitCode::from(1));
    }
    if let Some(catalog) = &outcome.catalog {
        print!("{}", bia_output::summary(catalog, &outcome.sources, lang));
    }
    let ok = tr!(
        "configuration is valid ({counts})",
        "configuratie is geldig ({counts})"
    );
    println!("{}", ok.get(lang));
    Ok(ExitCode::SUCCESS)
}

fn bia(
    config: &Path,
    format: bia_output::BiaFormat,
    lang: Lang,
    color: ColorChoice,
) -> anyhow::Result<ExitCode> {
    let outcome = load(config);
    let catalog = match outcome.catalog {
        Some(catalog) if !outcome.diagnostics.has_errors() => catalog,
        _ => {
            let stderr_color = use_color(color, std::io::stderr().is_terminal());
            eprint!(
                "{}",
                render::diagnostics(
                    &outcome.diagnostics,
                    &outcome.sources,
                    lang,
                    DiagnosticFormat::Human,
                    stderr_color
                )
            );
            let counts = render::counts(&outcome.diagnostics, lang);
            let message = tr!(
                "{config_path}: invalid configuration ({counts}); run `continuo check` for details",
                "{config_path}: ongeldige configuratie ({counts}); zie `continuo check` voor details";
                config_path = config.display()
            );
            eprintln!("{}", message.get(lang));
            return Ok(ExitCode::from(1));
        }
    };
    let analysis = continuo_core::analysis::bia(&catalog);
    let stdout_color = use_color(color, std::io::stdout().is_terminal());
    let text =
        bia_output::render(&analysis, format, lang, stdout_color).context("rendering the BIA")?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_in_args_reads_the_flag_before_clap_does() {
        fn check(args: &[&str], expected: Option<Lang>) {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            assert_eq!(lang_in_args(&args), expected, "{args:?}");
        }
        check(
            &["continuo", "--lang", "nl", "demo", "--help"],
            Some(Lang::Nl),
        );
        check(&["continuo", "demo", "--lang=nl", "-h"], Some(Lang::Nl));
        check(&["continuo", "--lang", "en", "check"], Some(Lang::En));
        check(&["continuo", "--lang", "fr", "check"], None);
        check(&["continuo", "--lang"], None);
        check(&["continuo", "check"], None);
        check(
            &["continuo", "incident", "note", "INC-1", "--", "--lang=nl"],
            None,
        );
    }
}
