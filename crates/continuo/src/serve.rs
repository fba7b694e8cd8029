//! `continuo serve`: the engine, the store writer and the HTTP listener in one process.
//! SIGHUP (and `POST /api/v1/reload`) reload the configuration from disk, keeping the
//! state of unchanged checks; SIGTERM and Ctrl-C shut down gracefully and flush buffered
//! writes.
//!
//! What happens while serving (listening, reloads, gateway events, store trouble,
//! shutdown) is told as tracing events, which `telemetry` writes to stderr; only the
//! refusal of an invalid configuration before anything starts is a plain message.

use crate::{disk, render};
use anyhow::Context;
use continuo_core::{Catalog, Lang, tr};
use continuo_engine::alerts::{AlertHandle, AlertOptions, Alerting, Channels};
use continuo_engine::{Clock, Engine, EngineHandle, EngineOptions, ReloadSummary};
use continuo_store::Store;
use continuo_store::writer::{Writer, WriterConfig};
use continuo_web::{AppState, Reloader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Options of `serve` that override the configuration.
pub struct ServeOptions {
    /// The root configuration file.
    pub config: PathBuf,
    /// Listen address instead of `[server] listen`.
    pub listen: Option<String>,
    /// Database URL instead of `[server] database`.
    pub database: Option<String>,
    /// The admin token; `None` reads `CONTINUO_ADMIN_TOKEN` (the demo passes its own).
    pub admin_token: Option<String>,
}

/// Loads and validates the configuration; errors are printed and returned as `Err(text)`.
pub(crate) fn load_valid(config: &Path, lang: Lang) -> Result<Catalog, String> {
    let outcome = continuo_core::load(config, &disk::Disk, &|name| std::env::var(name).ok());
    if outcome.diagnostics.has_errors() {
        let text = render::diagnostics(
            &outcome.diagnostics,
            &outcome.sources,
            lang,
            render::DiagnosticFormat::Short,
            false,
        );
        return Err(text);
    }
    outcome
        .catalog
        .ok_or_else(|| "the configuration could not be read".to_string())
}

/// A SQLite path in the URL is relative to the configuration's directory.
pub(crate) fn database_url(url: &str, base: &Path) -> String {
    if let Some(path) = url.strip_prefix("sqlite://")
        && !path.starts_with('/')
        && !path.starts_with(":memory:")
    {
        return format!("sqlite://{}", base.join(path).display());
    }
    url.to_string()
}

pub fn run(options: ServeOptions, lang: Lang) -> anyhow::Result<ExitCode> {
    let catalog = match load_valid(&options.config, lang) {
        Ok(c) => c,
        Err(text) => {
            eprint!("{text}");
            let shown = options.config.display();
            say_err(
                tr!(
                    "{shown}: invalid configuration; not starting",
                    "{shown}: ongeldige configuratie; niet gestart"
                )
                .get(lang),
            );
            return Ok(ExitCode::from(1));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(options, catalog, lang, shutdown_signal()))
}

/// Serves `catalog` until `shutdown` completes, then shuts down gracefully. `serve` runs
/// it until a signal; the demo runs it in-process until its scenario ends.
pub(crate) async fn serve(
    options: ServeOptions,
    catalog: Catalog,
    lang: Lang,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    let base = options
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let listen = options
        .listen
        .clone()
        .unwrap_or_else(|| catalog.server.listen.clone());
    let url = database_url(
        options
            .database
            .as_deref()
            .unwrap_or(&catalog.server.database),
        &base,
    );
    // Claimed before the store opens (and migrates): a second server on the same SQLite
    // file would page everything twice. Held until this function returns, released by
    // the OS if the process dies.
    let _claim = match continuo_store::lock::claim(&url) {
        Ok(claim) => claim,
        Err(continuo_store::lock::LockError::Held { database, lock }) => {
            let database = database.display();
            let lock = lock.display();
            return crate::local::refused(tr!(
                "another Continuo already serves the database {database} (it holds {lock}); not starting. Stop that one first, or give this one its own [server] database.",
                "een andere Continuo bedient de database {database} al (die houdt {lock} vast); niet gestart. Stop die eerst, of geef deze een eigen [server] database."
            ));
        }
        Err(e) => return Err(e).context("claiming the database"),
    };
    let store = Store::open(&url)
        .await
        .with_context(|| format!("opening the database {url}"))?;
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    let mut engine_options = EngineOptions::new(catalog.server.location.clone(), base.clone());
    engine_options.max_concurrency = catalog.server.max_concurrent_probes as usize;
    // Resume where the last run left off; a database that cannot say starts fresh.
    match store.check_states(&catalog.server.location).await {
        Ok(states) => engine_options.resume = states.into_iter().collect(),
        Err(e) => tracing::warn!(
            error = %e,
            "cannot read saved check states, starting fresh"
        ),
    }
    let retention = catalog.server.retention.get();
    let catalog = Arc::new(catalog);
    let engine = Engine::start(catalog.clone(), engine_options, Some(writer));
    let handle = engine.handle();

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let address = listener.local_addr()?;
    // Trusted reverse proxies carry every client behind them: no per-address cap there.
    let admission = continuo_net::listen::Admission::with_exempt(
        listen_limits(&catalog),
        catalog.server.trusted_proxies.clone(),
    );

    // Alerting: the decision task and the outbox dispatcher.
    let templates = Arc::new(match &catalog.server.templates {
        Some(dir) => continuo_notify::Templates::with_overrides(&base.join(dir))
            .map_err(|e| anyhow::anyhow!("message templates: {e}"))?,
        None => continuo_notify::Templates::builtin(),
    });
    let incident_options = incident_options(&handle, templates.clone());
    let (channels, problems) = Channels::build(&catalog, templates);
    for problem in problems {
        tracing::warn!(problem = %problem, "a notification channel cannot be used");
    }
    let channels = Arc::new(channels);
    let public_url = catalog
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let mut alerting = Alerting::start(
        catalog.clone(),
        AlertOptions {
            clock: Clock::system(),
            store: Arc::new(store.clone()),
            deliver: channels.clone(),
            public_url,
            secret: link_secret(&store, &catalog).await?,
            max_in_flight: 64,
            incidents: incident_options,
        },
        handle.health_watch(),
    )
    .await
    .context("starting alerting")?;
    // A store that refuses writes for long (a full disk) or a task of the engine that
    // panicked pages, not only /readyz.
    alerting.watch(&handle);
    let alerts = alerting.handle();

    let gateways =
        crate::gateway_serve::start(&catalog, lang, Some(alerts.clone()), admission.clone())
            .await?;
    let reloader: Reloader = {
        let handle = handle.clone();
        let alerts = alerts.clone();
        let config = options.config.clone();
        let gateways = gateways.clone();
        Arc::new(move || {
            let handle = handle.clone();
            let alerts = alerts.clone();
            let channels = channels.clone();
            let config = config.clone();
            let gateways = gateways.clone();
            Box::pin(
                async move { reload(&handle, &alerts, &channels, &gateways, &config, lang).await },
            )
        })
    };
    let state = AppState {
        engine: handle.clone(),
        store: Some(store.clone()),
        reloader: Some(reloader.clone()),
        admin_token: options.admin_token.clone().or_else(|| {
            std::env::var("CONTINUO_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
        }),
        alerts: Some(alerts.clone()),
        gateways: Some(gateways.clone() as Arc<dyn continuo_web::gateway::GatewayControl>),
    };
    let checks = handle.checks().len();
    let name = &catalog.organization.name;
    let serving = tr!(
        "Continuo serving {name} on http://{address} ({checks} checks, location {location}, store {kind})",
        "Continuo bedient {name} op http://{address} ({checks} checks, locatie {location}, opslag {kind})";
        location = handle.location(),
        kind = store.kind()
    );
    tracing::info!(
        organization = %name,
        %address,
        checks,
        location = %handle.location(),
        store = %store.kind(),
        "{}",
        serving.get(lang)
    );
    gateways.log_running(lang);

    // Retention: prune raw observations every hour.
    let pruner = {
        let store = store.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = store.prune(handle.now_ms(), retention).await {
                    tracing::warn!(error = %e, "pruning old observations failed");
                }
            }
        })
    };
    // SIGHUP reloads.
    let hup = {
        let reloader = reloader.clone();
        tokio::spawn(async move {
            let Ok(mut signal) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while signal.recv().await.is_some() {
                match reloader().await {
                    Ok(summary) => log_reloaded(&summary, lang),
                    Err(problems) => tracing::error!(
                        problems = %problems.trim_end(),
                        "{}",
                        tr!(
                            "reload refused: the configuration is invalid; the previous one stays in force",
                            "herladen geweigerd: de configuratie is ongeldig; de vorige blijft van kracht"
                        )
                        .get(lang)
                    ),
                }
            }
        })
    };
    continuo_web::serve_router_with(listener, continuo_web::router(state), admission, shutdown)
        .await
        .context("serving HTTP")?;
    tracing::info!(
        "{}",
        tr!(
            "shutting down: flushing buffered writes",
            "afsluiten: gebufferde schrijfacties wegschrijven"
        )
        .get(lang)
    );
    hup.abort();
    pruner.abort();
    alerting.shutdown().await;
    engine.shutdown().await;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The bounds of every listener of this process (the main one and the gateways', which
/// share them): the soft open-files limit is raised to the hard one first, and inbound
/// connections get what is left after the probes' share (`max_concurrent_probes`, each
/// may hold a descriptor or two) and a reserve for the store, notifications and files.
/// So a flood of connections can never leave a probe without a descriptor.
fn listen_limits(catalog: &Catalog) -> continuo_net::listen::ListenLimits {
    use continuo_net::listen::{ListenLimits, RESERVED_FILES, file_limit};
    let probes = u64::from(catalog.server.max_concurrent_probes).saturating_mul(2);
    let files = file_limit().unwrap_or(1 << 20);
    let limits = ListenLimits::for_file_limit(files, probes.saturating_add(RESERVED_FILES));
    tracing::info!(
        open_files = files,
        max_connections = limits.max_connections,
        per_address = limits.per_address,
        "listener bounds"
    );
    limits
}

/// The key that signs acknowledge links: the configured secret, else one generated once
/// and kept in the database (so links survive restarts).
async fn link_secret(store: &Store, catalog: &Catalog) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &catalog.server.secret {
        // Alert ids are public (the API lists them): a short key would let anyone forge
        // an acknowledge link.
        if secret.len() < 16 {
            anyhow::bail!(
                "[server] secret must be at least 16 characters (it signs acknowledge links); leave it out to have one generated"
            );
        }
        return Ok(secret.as_bytes().to_vec());
    }
    const KEY: &str = "link_secret";
    if let Some(serde_json::Value::String(hex)) = store.setting(KEY).await? {
        return Ok(hex.into_bytes());
    }
    let mut bytes = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)
        .context("reading /dev/urandom for the link secret")?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    store
        .set_setting(KEY, &serde_json::Value::String(hex.clone()))
        .await?;
    Ok(hex.into_bytes())
}

async fn reload(
    handle: &EngineHandle,
    alerts: &AlertHandle,
    channels: &Channels,
    gateways: &crate::gateway_serve::Control,
    config: &Path,
    lang: Lang,
) -> Result<ReloadSummary, String> {
    let config = config.to_path_buf();
    let catalog = tokio::task::spawn_blocking(move || load_valid(&config, lang))
        .await
        .map_err(|e| e.to_string())??;
    let catalog = Arc::new(catalog);
    for problem in channels.rebuild(&catalog) {
        tracing::warn!(problem = %problem, "a notification channel cannot be used");
    }
    alerts.reload(catalog.clone()).await;
    gateways.reload(&catalog, lang).await;
    handle
        .reload(catalog)
        .await
        .ok_or_else(|| "the engine has stopped".to_string())
}

/// Tells what a reload changed, in counts (the ids are in the API's answer).
fn log_reloaded(summary: &ReloadSummary, lang: Lang) {
    let (added, changed, removed, kept) = (
        summary.added.len(),
        summary.changed.len(),
        summary.removed.len(),
        summary.unchanged,
    );
    let text = tr!(
        "configuration reloaded: {added} checks added, {changed} changed, {removed} removed, {kept} unchanged",
        "configuratie herladen: {added} checks toegevoegd, {changed} gewijzigd, {removed} verwijderd, {kept} ongewijzigd"
    );
    tracing::info!(
        added,
        changed,
        removed,
        unchanged = kept,
        "{}",
        text.get(lang)
    );
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Prints a line to stderr, ignoring a closed stream.
fn say_err(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The largest runbook read into an incident's checklist.
const MAX_RUNBOOK_BYTES: u64 = 1024 * 1024;

/// What incidents read from outside the engine: runbooks from disk (read when a service
/// joins an incident, so an edited runbook counts without a reload) and the last good
/// heartbeat of a service's heartbeat checks (its backup job's, say).
fn incident_options(
    engine: &EngineHandle,
    templates: Arc<continuo_notify::Templates>,
) -> continuo_engine::incidents::IncidentOptions {
    let for_runbook = engine.clone();
    let for_last_good = engine.clone();
    continuo_engine::incidents::IncidentOptions {
        runbook: Arc::new(move |service: &str| {
            let catalog = for_runbook.catalog();
            let path = catalog.service(service)?.runbook_file.clone()?;
            // Bounded like every file Continuo reads: a runbook is a page of steps.
            match continuo_net::file::read_bounded(Path::new(&path), MAX_RUNBOOK_BYTES) {
                Ok(bytes) => String::from_utf8(bytes).ok(),
                Err(e) => {
                    tracing::warn!(runbook = %path, error = %e, "a runbook cannot be read");
                    None
                }
            }
        }),
        last_good: Arc::new(move |service: &str, before: i64| {
            let catalog = for_last_good.catalog();
            catalog
                .service(service)?
                .checks
                .iter()
                .filter_map(|c| for_last_good.check(&c.id.value))
                .filter_map(|c| c.last_ping_ms)
                .filter(|&t| t <= before)
                .max()
        }),
        templates,
    }
}
