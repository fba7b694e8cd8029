//! `continuo-bench`: the detection benchmark (issue 3) and the alerting benchmark (issue
//! 4). It runs five scenarios on this machine and prints a Markdown report, side by side
//! with Prometheus's blackbox_exporter and Alertmanager where they do the same work:
//!
//! 1. HTTP probes per second, a fresh connection per probe, against a local target in a
//!    child process, through `continuo-probe` directly; CPU seconds per 1,000 probes.
//! 2. The same workload through Debian's `prometheus-blackbox-exporter`, and the ratio.
//! 3. The scheduler with 10,000 and 100,000 TCP checks (60 s interval), each size in a
//!    child process: resident memory and scheduler lag.
//! 4. Heartbeat pings accepted and durably stored per second through the real web router
//!    and SQLite store.
//! 5. Alert latency: many services fail at once; from each check's transition to the
//!    webhook receiver having the POST, through the real engine, alert decisions, SQLite
//!    outbox, dispatcher and webhook channel, in this process; and from the POST of as
//!    many alerts to Debian's `prometheus-alertmanager` to its webhook POSTs.
//!
//! 6. Loading and validating generated catalogs of 10,000 and 100,000 services (a
//!    dependency chain and a wide graph), as `check`, `serve` and a reload do
//!    (`--only validate`).
//!
//! Targets are printed next to the numbers ("below target" when missed); a scenario
//! that cannot run makes the exit status non-zero. Timing thresholds live here, never in
//! tests. The helper processes are hidden subcommands of this same binary.

#![allow(
    clippy::disallowed_methods,
    reason = "the bench starts its helpers, the `continuo` binary and the tools it is compared with as child processes"
)]

mod alerting;
mod blackbox;
mod client;
mod gateway;
mod load;
mod pings;
mod probes;
mod report;
mod scale;
mod status;
mod sys;
mod target;
mod validate;

use clap::{Parser, Subcommand, ValueEnum};
use report::Report;
use std::path::PathBuf;
use std::process::ExitCode;

/// The detection and alerting benchmarks: prints a Markdown table.
#[derive(Parser)]
#[command(name = "continuo-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    helper: Option<Helper>,
    #[command(flatten)]
    options: Options,
}

/// What to run and how much of it.
#[derive(clap::Args, Clone)]
pub struct Options {
    /// Shorter runs for a quick look (2,000 probes, 10,000 pings, 15 s scale runs, 200
    /// alerts). The recorded numbers come from the full run.
    #[arg(long)]
    quick: bool,
    /// Run only these scenarios (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// HTTP probes per prober [default: 20000; quick: 2000].
    #[arg(long)]
    probes: Option<usize>,
    /// Probes or pings in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Heartbeat pings to send [default: 100000; quick: 10000].
    #[arg(long)]
    pings: Option<usize>,
    /// Heartbeat checks the pings are spread over.
    #[arg(long, default_value_t = 1_000)]
    ping_checks: usize,
    /// Numbers of TCP checks for the scheduler runs.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
    scale_checks: Vec<usize>,
    /// Seconds each scheduler run lasts [default: 75, so every check (60 s interval) has
    /// run at least once; quick: 15].
    #[arg(long)]
    scale_seconds: Option<u64>,
    /// Run the scheduler without a store writer (to tell the engine's memory from the
    /// writer's); the recorded runs use a SQLite writer, as `continuo serve` does.
    #[arg(long)]
    scale_without_store: bool,
    /// The blackbox_exporter binary.
    #[arg(long, default_value = blackbox::DEFAULT_PATH)]
    blackbox: PathBuf,
    /// Services that fail at once in the alerting scenario (and alerts posted to
    /// Alertmanager), one run per number [default: 100,1000,10000; quick: 200].
    #[arg(long, value_delimiter = ',')]
    alerts: Vec<usize>,
    /// Then, alerts already open (paged) when `--alerting-new` more fail at once, one
    /// run per number; 0 skips them [default: 100,1000,10000; quick: none].
    #[arg(long, value_delimiter = ',')]
    alerting_open: Vec<usize>,
    /// The alerts that fail while `--alerting-open` are open.
    #[arg(long, default_value_t = 1_000)]
    alerting_new: usize,
    /// The stores Continuo's alerting runs on, each run on each.
    #[arg(long, value_delimiter = ',', default_values_t = [StoreKind::Sqlite, StoreKind::Postgres])]
    alerting_stores: Vec<StoreKind>,
    /// The PostgreSQL server for the `postgres` store: the bench creates a database of
    /// its own there and drops it afterwards. Unreachable, its rows say "not available".
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    /// The Alertmanager binary.
    #[arg(long, default_value = alerting::DEFAULT_ALERTMANAGER)]
    alertmanager: PathBuf,
    /// The haproxy binary (gateway scenario).
    #[arg(long, default_value = gateway::DEFAULT_HAPROXY)]
    haproxy: PathBuf,
    /// GET requests per path in the gateway throughput runs [default: 50000; quick: 5000].
    #[arg(long)]
    gateway_requests: Option<usize>,
    /// The nginx binary (status scenario).
    #[arg(long, default_value = status::DEFAULT_NGINX)]
    nginx: PathBuf,
    /// The wrk binary (status scenario).
    #[arg(long, default_value = status::DEFAULT_WRK)]
    wrk: PathBuf,
    /// Seconds of each wrk run in the status scenario [default: 10; quick: 3].
    #[arg(long)]
    status_seconds: Option<u64>,
    /// Numbers of services in the generated catalogs of the validate scenario.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
    validate_services: Vec<usize>,
    /// Loads of each catalog in the validate scenario [default: 5; quick: 1].
    #[arg(long)]
    validate_runs: Option<usize>,
}

/// A store for the alerting scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database of its own on the `--postgres` server.
    Postgres,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        })
    }
}

/// A scenario of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// HTTP probes through continuo-probe.
    Http,
    /// The same HTTP probes through blackbox_exporter.
    Blackbox,
    /// The scheduler with many TCP checks.
    Scale,
    /// Durable heartbeat pings.
    Pings,
    /// Alert latency, side by side with Alertmanager.
    Alerting,
    /// The failover gateway, side by side with haproxy.
    Gateway,
    /// The public status page and summary.json, side by side with nginx (wrk).
    Status,
    /// Loading and validating large generated catalogs (a dependency chain, a wide
    /// graph), as `check`, `serve` and a reload do.
    Validate,
}

/// Helper processes the benchmark starts (hidden).
#[derive(Subcommand)]
enum Helper {
    /// The local HTTP and TCP target.
    #[command(hide = true)]
    Target {
        /// Where to write the ports (JSON).
        #[arg(long)]
        port_file: PathBuf,
        /// TCP listeners besides the HTTP one.
        #[arg(long, default_value_t = 16)]
        tcp_listeners: usize,
    },
    /// One scheduler run; prints a JSON report.
    #[command(hide = true)]
    ScaleChild {
        /// TCP checks to configure.
        #[arg(long)]
        checks: usize,
        /// Seconds to run.
        #[arg(long)]
        seconds: u64,
        /// host:port targets, used in turn.
        #[arg(long, value_delimiter = ',')]
        targets: Vec<String>,
        /// No store writer.
        #[arg(long)]
        without_store: bool,
    },
    /// Continuo's failover gateway in a process of its own, as `continuo gateway` runs
    /// it (haproxy has its own process too).
    #[command(hide = true)]
    GatewayServer {
        /// The primary endpoint, host:port.
        #[arg(long)]
        primary: String,
        /// The backup endpoint, host:port.
        #[arg(long)]
        backup: String,
        /// Where to write the port.
        #[arg(long)]
        port_file: PathBuf,
    },
    /// The web router, engine and SQLite store, for pings.
    #[command(hide = true)]
    PingServer {
        /// Heartbeat checks to configure.
        #[arg(long)]
        checks: usize,
        /// Where to write the port.
        #[arg(long)]
        port_file: PathBuf,
    },
}

impl Options {
    fn runs(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }
    fn probes(&self) -> usize {
        self.probes
            .unwrap_or(if self.quick { 2_000 } else { 20_000 })
    }
    fn pings(&self) -> usize {
        self.pings
            .unwrap_or(if self.quick { 10_000 } else { 100_000 })
    }
    fn alerts(&self) -> Vec<usize> {
        match (self.alerts.is_empty(), self.quick) {
            (false, _) => self.alerts.clone(),
            (true, true) => vec![200],
            (true, false) => vec![100, 1_000, 10_000],
        }
    }
    fn alerting_open(&self) -> Vec<usize> {
        let open = match (self.alerting_open.is_empty(), self.quick) {
            (false, _) => self.alerting_open.clone(),
            (true, true) => Vec::new(),
            (true, false) => vec![100, 1_000, 10_000],
        };
        open.into_iter().filter(|n| *n > 0).collect()
    }
    fn scale_seconds(&self) -> u64 {
        self.scale_seconds
            .unwrap_or(if self.quick { 15 } else { 75 })
    }
}

/// mimalloc: a request allocates and frees dozens of small blocks across threads, where
/// glibc's allocator spent about a tenth of the server's CPU in the status and gateway
/// benchmarks (`BENCHMARKS.md`). The bench uses the same allocator as the binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.helper {
        Some(Helper::Target {
            port_file,
            tcp_listeners,
        }) => target::run(&port_file, tcp_listeners),
        Some(Helper::ScaleChild {
            checks,
            seconds,
            targets,
            without_store,
        }) => scale::child(checks, seconds, &targets, !without_store),
        Some(Helper::PingServer { checks, port_file }) => pings::server(checks, &port_file),
        Some(Helper::GatewayServer {
            primary,
            backup,
            port_file,
        }) => gateway::server(&primary, &backup, &port_file),
        None => return bench(&cli.options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("continuo-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Progress goes to stderr, so stdout is the report alone.
fn progress(line: &str) {
    eprintln!("continuo-bench: {line}");
}

fn bench(options: &Options) -> ExitCode {
    let mut report = Report::new(options, sys::Machine::read());
    if let Err(e) = run_scenarios(options, &mut report) {
        report.failed(e);
    }
    print!("{}", report.markdown());
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for failure in &report.failures {
            eprintln!("continuo-bench: FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}

/// Runs what was asked; a failing scenario is recorded and the others still run. `Err`
/// only when nothing can run at all (no runtime, no target).
fn run_scenarios(options: &Options, report: &mut Report) -> sys::Result<()> {
    use sys::Context;
    if options.runs(Scenario::Validate) {
        let runs = options
            .validate_runs
            .unwrap_or(if options.quick { 1 } else { 5 });
        let mut done = Vec::new();
        for &services in &options.validate_services {
            for shape in [validate::Shape::Chain, validate::Shape::Wide] {
                progress(&format!(
                    "validate: {services} services, {shape:?}, {runs} runs"
                ));
                match validate::run(shape, services, runs) {
                    Ok(run) => done.push(run),
                    Err(e) => report.failed(format!("validate: {e}")),
                }
            }
        }
        report.sections.push(validate::section(&done));
    }
    if options.runs(Scenario::Status) {
        let seconds = options
            .status_seconds
            .unwrap_or(if options.quick { 3 } else { 10 });
        progress("status: /status and summary.json with wrk, side by side with nginx");
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let rt = sys::runtime()?;
        match rt.block_on(status::run(
            &options.nginx,
            &options.wrk,
            dir.path(),
            seconds,
            options.concurrency,
        )) {
            Ok(section) => report.sections.push(section),
            Err(e) => report.failed(format!("status: {e}")),
        }
    }
    if options.runs(Scenario::Gateway) {
        let requests =
            options
                .gateway_requests
                .unwrap_or(if options.quick { 5_000 } else { 50_000 });
        progress("gateway: throughput and failover, side by side with haproxy");
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let rt = sys::runtime()?;
        match rt.block_on(gateway::run(
            &options.haproxy,
            dir.path(),
            requests,
            options.concurrency.min(32),
        )) {
            Ok(section) => report.sections.push(section),
            Err(e) => report.failed(format!("gateway: {e}")),
        }
    }
    let ticks = sys::clock_ticks();
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let rt = sys::runtime()?;
    let needs_target = [Scenario::Http, Scenario::Blackbox, Scenario::Scale]
        .iter()
        .any(|s| options.runs(*s));
    let mut target = if needs_target {
        progress("starting the target process");
        Some(target::spawn(dir.path(), 16)?)
    } else {
        None
    };
    let url = target.as_ref().map(|t| t.ports.url()).unwrap_or_default();

    let continuo_http = if options.runs(Scenario::Http) {
        progress(&format!(
            "{} HTTP probes through continuo-probe",
            options.probes()
        ));
        match rt.block_on(probes::run(
            &url,
            options.probes(),
            options.concurrency,
            ticks,
        )) {
            Ok(run) => Some(run),
            Err(e) => {
                report.failed(e);
                None
            }
        }
    } else {
        None
    };
    let blackbox_http = if options.runs(Scenario::Blackbox) {
        if options.blackbox.exists() {
            progress(&format!(
                "{} HTTP probes through blackbox_exporter",
                options.probes()
            ));
            match rt.block_on(blackbox::run(
                &options.blackbox,
                dir.path(),
                &url,
                options.probes(),
                options.concurrency,
                ticks,
            )) {
                Ok(run) => Some(Ok(run)),
                Err(e) => {
                    report.failed(e);
                    None
                }
            }
        } else {
            Some(Err(format!(
                "not available: {} is missing (apt-get install prometheus-blackbox-exporter)",
                options.blackbox.display()
            )))
        }
    } else {
        None
    };
    if let Some(t) = target.as_mut() {
        t.ensure_running()?;
    }
    if options.runs(Scenario::Http) || options.runs(Scenario::Blackbox) {
        report.http_rows(continuo_http.as_ref(), blackbox_http.as_ref());
    }

    if options.runs(Scenario::Scale) {
        let targets: Vec<String> = target
            .as_ref()
            .map(|t| {
                t.ports
                    .tcp
                    .iter()
                    .map(|p| format!("127.0.0.1:{p}"))
                    .collect()
            })
            .unwrap_or_default();
        for &checks in &options.scale_checks {
            progress(&format!(
                "scheduler with {checks} TCP checks for {} s",
                options.scale_seconds()
            ));
            match scale::run(
                checks,
                options.scale_seconds(),
                &targets,
                !options.scale_without_store,
            ) {
                Ok(run) => report.scale_rows(&run, options.quick),
                Err(e) => report.failed(e),
            }
        }
    }

    if let Some(t) = target.as_mut() {
        t.ensure_running()?;
    }
    if options.runs(Scenario::Pings) {
        progress(&format!(
            "{} heartbeat pings over {} checks",
            options.pings(),
            options.ping_checks
        ));
        match rt.block_on(pings::run(
            dir.path(),
            options.pings(),
            options.ping_checks,
            options.concurrency,
            ticks,
        )) {
            Ok(run) => {
                let complete = run.stored.rows == run.sent as u64;
                report.ping_rows(&run);
                if !complete {
                    report.failed(format!(
                        "only {} of {} pings were stored (the writer dropped {} records, {} still pending)",
                        run.stored.rows, run.sent, run.stored.dropped, run.stored.pending
                    ));
                }
            }
            Err(e) => report.failed(e),
        }
    }
    drop(target);

    if options.runs(Scenario::Alerting) {
        alerting_scenario(options, &rt, dir.path(), report)?;
    }
    Ok(())
}

/// Continuo's alert latency on each store, then Alertmanager's, each in a directory of
/// its own: for each number of simultaneous failures, then with alerts already open.
fn alerting_scenario(
    options: &Options,
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    report: &mut Report,
) -> sys::Result<()> {
    let mut runs: Vec<(usize, usize)> = options.alerts().into_iter().map(|n| (n, 0)).collect();
    for open in options.alerting_open() {
        runs.push((options.alerting_new, open));
    }
    for (n, open) in runs {
        alerting_run(options, rt, dir, report, n, open)?;
    }
    report.decision_costs();
    Ok(())
}

/// One size of the alerting scenario: Continuo on each store, Alertmanager once.
fn alerting_run(
    options: &Options,
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    report: &mut Report,
    n: usize,
    open: usize,
) -> sys::Result<()> {
    use sys::Context;
    let opened = if open > 0 {
        format!(" while {open} are open")
    } else {
        String::new()
    };
    let mut continuo = Vec::new();
    for kind in &options.alerting_stores {
        let backend = match kind {
            StoreKind::Sqlite => alerting::Backend::Sqlite,
            StoreKind::Postgres => alerting::Backend::Postgres(options.postgres.clone()),
        };
        let run_dir = dir.join(format!("alerting-continuo-{kind}-{n}-{open}"));
        std::fs::create_dir_all(&run_dir).context(format!("creating {}", run_dir.display()))?;
        progress(&format!(
            "{n} services failing at once{opened} through Continuo's alerting on {}",
            backend.label()
        ));
        // Runs with alerts open share one catalog size, so they differ only in what is
        // open.
        let services = if open > 0 {
            options.alerting_new + options.alerting_open().into_iter().max().unwrap_or(0)
        } else {
            n
        };
        let run = match rt.block_on(alerting::continuo(n, open, services, &backend, &run_dir)) {
            Ok(run) => Ok(run),
            // A server that is not there is a missing peer, not a failed scenario.
            Err(e) if e.starts_with("not available") => Err(e),
            Err(e) => {
                report.failed(format!("alerting on {}: {e}", backend.label()));
                Err("failed (see below)".to_string())
            }
        };
        continuo.push((backend.label(), run));
    }
    let peer_dir = dir.join(format!("alerting-alertmanager-{n}-{open}"));
    std::fs::create_dir_all(&peer_dir).context(format!("creating {}", peer_dir.display()))?;
    let peer = if options.alertmanager.exists() {
        progress(&format!("{n} alerts through Alertmanager{opened}"));
        match rt.block_on(alerting::alertmanager(
            n,
            open,
            &options.alertmanager,
            &peer_dir,
        )) {
            Ok(run) => Some(Ok(run)),
            Err(e) => {
                report.failed(e);
                None
            }
        }
    } else {
        Some(Err(format!(
            "not available: {} is missing (apt-get install prometheus-alertmanager)",
            options.alertmanager.display()
        )))
    };
    let mut checked: Vec<(String, &alerting::AlertRun)> = continuo
        .iter()
        .filter_map(|(label, run)| {
            run.as_ref()
                .ok()
                .map(|r| (format!("Continuo on {label}"), r))
        })
        .collect();
    if let Some(Ok(run)) = peer.as_ref() {
        checked.push(("Alertmanager".into(), run));
    }
    for (who, run) in checked {
        if !run.exactly_once() {
            report.failed(format!(
                "{who}: {} of {} alerts arrived as one firing notification each ({} sent twice, {} unexpected requests)",
                run.delivered, run.expected, run.duplicates, run.unexpected
            ));
        }
    }
    for (label, run) in &continuo {
        report.alerting_rows(
            n,
            open,
            label,
            run.as_ref().map_err(String::as_str),
            peer.as_ref(),
        );
    }
    Ok(())
}
