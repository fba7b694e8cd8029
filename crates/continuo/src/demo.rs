//! `continuo demo`: a small simulated organisation and Continuo watching it, in one
//! process, playing a continuity scenario. The default plays the whole cycle: a failover
//! no customer notices, a shared dependency that dies, an incident with its root cause,
//! notifications, a customer update, an acknowledgement, recovery and a postmortem. The
//! other scenarios each show one part of it more closely (see [`Scenario`]).
//!
//! Everything listens on 127.0.0.1. Continuo itself runs through `serve`'s own path on a
//! generated configuration, so the demo shows the real thing, not a mock-up.

use crate::serve::{self, ServeOptions};
use anyhow::Context;
use continuo_core::{Lang, Text, tr};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// `tr!` where each named variable holds milliseconds, shown as seconds in each
/// language's notation (see [`seconds`]).
macro_rules! tr_secs {
    ($en:literal, $nl:literal; $($ms:ident),+) => {{
        let en = {
            $(let $ms = seconds($ms, Lang::En);)+
            format!($en)
        };
        let nl = {
            $(let $ms = seconds($ms, Lang::Nl);)+
            format!($nl)
        };
        Text::new(en, nl)
    }};
}

/// Options of `continuo demo`.
pub struct DemoOptions {
    /// Where the configuration, database and postmortem go (default: a new temporary one).
    pub dir: Option<PathBuf>,
    /// Play the scenario without waiting for Enter.
    pub headless: bool,
    /// The scenario's deadline (default: 90 s headless, none otherwise).
    pub duration: Option<Duration>,
    /// Which story to play.
    pub scenario: Scenario,
    /// Keep the temporary folder (configuration, database, postmortem) after a demo
    /// that succeeded; without it the folder is removed. A folder given with `dir` is
    /// always kept, and so is the temporary one of a demo that failed.
    pub keep: bool,
}

/// The stories `continuo demo` can play.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The whole cycle: a failover, then a shared database outage with an incident,
    /// pages, a status-page update, recovery and a postmortem.
    #[default]
    Full,
    /// The web shop's primary dies and comes back: failover and failback without a
    /// failed customer request and without paging anyone.
    Failover,
    /// The shared database dies: one incident with the root cause grouped, pages, an
    /// acknowledgement, a status-page update, recovery and a postmortem.
    Outage,
    /// The backup job starts and hangs: the missed heartbeat is noticed within its grace
    /// time and the possible data loss is weighed against the RPO.
    Backup,
    /// Planned maintenance: payments goes down inside a maintenance window; the status
    /// page says so and nobody is paged.
    Maintenance,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::Full,
        Scenario::Failover,
        Scenario::Outage,
        Scenario::Backup,
        Scenario::Maintenance,
    ];

    /// Its name on the command line.
    fn name(self) -> &'static str {
        match self {
            Scenario::Full => "full",
            Scenario::Failover => "failover",
            Scenario::Outage => "outage",
            Scenario::Backup => "backup",
            Scenario::Maintenance => "maintenance",
        }
    }

    /// What it shows, in a line.
    fn describe(self) -> Text {
        match self {
            Scenario::Full => tr!(
                "the whole cycle: failover, outage, incident, pages, status page, recovery, postmortem",
                "de hele cyclus: failover, storing, incident, oproepen, statuspagina, herstel, postmortem"
            ),
            Scenario::Failover => tr!(
                "a primary server dies and returns: failover and failback, no customer errors, no pages",
                "een primaire server valt uit en komt terug: failover en failback, geen klantfouten, geen oproepen"
            ),
            Scenario::Outage => tr!(
                "a shared database dies: one incident with its root cause, pages, status page, recovery, postmortem",
                "een gedeelde database valt uit: één incident met de grondoorzaak, oproepen, statuspagina, herstel, postmortem"
            ),
            Scenario::Backup => tr!(
                "a backup job hangs: the missed heartbeat is noticed and the data loss weighed against the RPO",
                "een back-uptaak blijft hangen: de gemiste heartbeat valt op en het dataverlies wordt tegen de RPO gewogen"
            ),
            Scenario::Maintenance => tr!(
                "planned maintenance: a service goes down inside a window; the status page says so, nobody is paged",
                "gepland onderhoud: een dienst gaat uit binnen een venster; de statuspagina meldt het, niemand wordt opgeroepen"
            ),
        }
    }
}

/// The heartbeat check's id in the generated configuration.
const BACKUP_UUID: &str = "5f0c2b1e-7d3a-4e8b-9c6d-2a1b3c4d5e6f";
/// The demo user's name.
const DEMO_USER: &str = "demo";
/// How long the backup job may run before its heartbeat counts as missed.
const BACKUP_GRACE: &str = "5s";

pub fn run(options: DemoOptions, lang: Lang) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(options, lang))
}

/// What the scenario measured, for the summary; a part the scenario did not play stays
/// empty and is left out.
#[derive(Default)]
struct Outcome {
    failover: Option<Failover>,
    failback: Option<Failback>,
    incident: Option<IncidentSeen>,
    missed_backup: Option<MissedBackup>,
    maintenance: Option<MaintenanceSeen>,
    notifications: usize,
    postmortem: Option<PathBuf>,
}

struct Failover {
    /// From the kill to the first customer request answered by the backup.
    ms: u128,
    /// Customer requests that failed in that time.
    failed: u64,
    /// Customer requests so far.
    requests: u64,
    /// Notifications sent in that time.
    pages: usize,
}

struct Failback {
    /// From the primary's return to the first customer request it answered again.
    ms: u128,
    /// Customer requests that failed in that time.
    failed: u64,
    /// Notifications sent since the primary died.
    pages: usize,
}

struct IncidentSeen {
    id: String,
    root_cause: String,
    impacted: Vec<String>,
    open_to_ack_ms: i64,
    open_to_resolved_ms: i64,
}

struct MissedBackup {
    /// From the hanging job's start ping to Continuo's alert.
    noticed_ms: u128,
    /// The service's grace time, as configured.
    grace: &'static str,
    /// The possible data-loss window Continuo computed, and the RPO.
    window_ms: i64,
    rpo_ms: i64,
    within_rpo: bool,
}

struct MaintenanceSeen {
    /// How long payments was down inside the window.
    down_ms: u128,
    /// Notifications sent from the window's start until after it ended.
    pages: usize,
    /// The status page component's status during the work.
    shown: String,
}

/// The simulated organisation: its servers, the customers' gateway port and the inbox.
struct Org {
    db_up: Arc<AtomicBool>,
    database: Server,
    primary: Server,
    payments: Server,
    inbox: Inbox,
    gateway_port: u16,
}

async fn demo(options: DemoOptions, lang: Lang) -> anyhow::Result<ExitCode> {
    let dir = match &options.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("continuo-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;

    // The simulated organisation.
    let db_up = Arc::new(AtomicBool::new(true));
    let database = Listener::bind().await?.serve_tcp();
    let primary = Listener::bind().await?.serve_http("primary", db_up.clone());
    let backup = Listener::bind().await?.serve_http("backup", db_up.clone());
    let payments = Listener::bind()
        .await?
        .serve_http("payments", db_up.clone());
    let inbox = Inbox::start().await?;
    let continuo_port = free_port()?;
    let gateway_port = free_port()?;
    let admin_token = format!("demo-admin-{}", random_hex(16)?);
    let password = random_hex(6)?;

    let config = dir.join("continuo.toml");
    std::fs::write(
        &config,
        demo_config(&Ports {
            continuo: continuo_port,
            gateway: gateway_port,
            primary: primary.port,
            backup: backup.port,
            payments: payments.port,
            database: database.port,
            inbox: inbox.port,
        }),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let catalog = serve::load_valid(&config, lang).map_err(|text| {
        anyhow::anyhow!("the generated configuration is invalid (a bug):\n{text}")
    })?;
    let database_url = format!("sqlite://{}", dir.join("continuo.db").display());
    add_demo_user(&database_url, &password).await?;
    let mut org = Org {
        db_up,
        database,
        primary,
        payments,
        inbox,
        gateway_port,
    };

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(
        ServeOptions {
            config: config.clone(),
            listen: None,
            database: Some(database_url.clone()),
            admin_token: Some(admin_token.clone()),
        },
        catalog.clone(),
        lang,
        async move {
            let _ = stopped.await;
        },
    ));
    let api = Api {
        base: format!("http://127.0.0.1:{continuo_port}"),
        token: admin_token,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?,
    };
    let deadline = tokio::time::Instant::now()
        + options.duration.unwrap_or(if options.headless {
            Duration::from_secs(90)
        } else {
            Duration::from_secs(3600)
        });
    let narrator = Narrator {
        lang,
        headless: options.headless,
        deadline: std::cell::Cell::new(deadline),
        steps: std::cell::Cell::new(0),
    };

    let base = &api.base;
    let inbox_port = org.inbox.port;
    narrator.say(tr!(
        "Continuo demo: a small web shop, its database, a payment service and a backup job, watched by Continuo.\n  dashboard:   {base}/  (sign in as {DEMO_USER}, password {password})\n  status page: {base}/status\n  demo inbox:  http://127.0.0.1:{inbox_port}/\n  files:       {shown}",
        "Continuo-demo: een kleine webwinkel, zijn database, een betaaldienst en een back-uptaak, bewaakt door Continuo.\n  dashboard:    {base}/  (log in als {DEMO_USER}, wachtwoord {password})\n  statuspagina: {base}/status\n  demo-inbox:   http://127.0.0.1:{inbox_port}/\n  bestanden:    {shown}";
        shown = dir.display()
    ));
    narrator.say(scenario_menu(options.scenario));

    // Continuo stopping early (its port taken, say) ends the demo at once, with its error.
    let mut server = server;
    let mut ended = None;
    let result = tokio::select! {
        result = play(options.scenario, &narrator, &api, &dir, &mut org) => result,
        early = &mut server => {
            ended = Some(early);
            Err(tr!(
                "demo failed: Continuo stopped before the scenario ended",
                "demo mislukt: Continuo stopte voordat het scenario klaar was"
            ))
        }
    };
    if result.is_ok() && !options.headless {
        narrator.say(tr!(
            "Everything is still running: look around in the dashboard, the status page and the inbox.",
            "Alles draait nog: kijk rond in het dashboard, de statuspagina en de inbox."
        ));
        narrator.pause().await;
    }
    let ended = match ended {
        Some(ended) => ended,
        None => {
            let _ = stop.send(());
            server.await
        }
    };
    match ended {
        Ok(Err(e)) => narrator.say_err(tr!("Continuo stopped: {e:#}", "Continuo stopte: {e:#}")),
        Err(e) => narrator.say_err(tr!("Continuo stopped: {e}", "Continuo stopte: {e}")),
        Ok(Ok(_)) => {}
    }
    drop((org, backup));
    let temporary = options.dir.is_none();
    let code = match result {
        Ok(outcome) => {
            match posture_lines(&catalog, &database_url, &config).await {
                Ok(lines) => lines.into_iter().for_each(|line| narrator.say(line)),
                Err(e) => narrator.say_err(tr!(
                    "cannot show the posture: {e:#}",
                    "kan de stand van zaken niet tonen: {e:#}"
                )),
            }
            for line in summary(&outcome) {
                narrator.say(line);
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            narrator.say_err(failure);
            if temporary {
                let shown = dir.display();
                narrator.say(tr!(
                    "The demo's files stay in {shown}, to see what went wrong.",
                    "De bestanden van de demo blijven in {shown}, om te zien wat er misging."
                ));
            }
            return Ok(ExitCode::from(1));
        }
    };
    // A temporary folder is the demo's own: it goes unless asked to stay.
    if temporary && !options.keep {
        let shown = dir.display();
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => narrator.say(tr!(
                "Removed the demo's files in {shown} (--keep keeps them).",
                "De bestanden van de demo in {shown} zijn verwijderd (--keep bewaart ze)."
            )),
            Err(e) => narrator.say_err(tr!(
                "cannot remove the demo's files in {shown}: {e}",
                "kan de bestanden van de demo in {shown} niet verwijderen: {e}"
            )),
        }
    }
    Ok(code)
}

/// The posture after the story, from the evidence it left: every claim of every
/// service and of the organisation with its verdict and proof, and how to see more.
async fn posture_lines(
    catalog: &continuo_core::Catalog,
    database_url: &str,
    config: &Path,
) -> anyhow::Result<Vec<Text>> {
    let store = continuo_store::Store::open(database_url).await?;
    let now = continuo_engine::Clock::system().now_ms();
    let posture = store.posture(catalog, now).await;
    store.close().await;
    let posture = posture?;
    let mut lines = vec![tr!(
        "Posture: every continuity claim beside its proof",
        "Stand van zaken: elke continuïteitsclaim naast het bewijs ervoor"
    )];
    for v in &posture.verdicts {
        let who = match &v.claim.subject {
            continuo_core::evidence::Subject::Service(id) => catalog
                .service(id)
                .map_or_else(|| id.clone(), |s| s.name.clone()),
            continuo_core::evidence::Subject::Organization => catalog.organization.name.clone(),
            other => other.key(),
        };
        let line = v.summary();
        lines.push(Text::new(
            format!("  {who:<16} {}", line.en),
            format!("  {who:<16} {}", line.nl),
        ));
    }
    let shown = config.display();
    lines.push(tr!(
        "  all of it, with sources: continuo posture -c {shown}",
        "  alles, met bronnen: continuo posture -c {shown}"
    ));
    Ok(lines)
}

/// The chosen scenario, and how to choose another.
fn scenario_menu(chosen: Scenario) -> Text {
    let line = |s: Scenario, lang: Lang| {
        let mark = if s == chosen { "▶" } else { " " };
        format!("\n  {mark} {:<12} {}", s.name(), s.describe().get(lang))
    };
    let (en, nl): (String, String) = Scenario::ALL
        .iter()
        .map(|&s| (line(s, Lang::En), line(s, Lang::Nl)))
        .unzip();
    tr!(
        "Scenario (choose with --scenario NAME):{en}",
        "Scenario (kies met --scenario NAAM):{nl}"
    )
}

/// Plays `scenario` and measures it.
async fn play(
    scenario: Scenario,
    narrator: &Narrator,
    api: &Api,
    dir: &Path,
    org: &mut Org,
) -> Result<Outcome, Text> {
    let mut outcome = Outcome::default();
    let job = BackupJob::start(api);
    all_up(narrator, api).await?;
    match scenario {
        Scenario::Full => {
            let load = Load::start(org.gateway_port);
            customers_shop(narrator, &load, org.gateway_port).await?;
            outcome.failover = Some(failover(narrator, api, org, &load).await?);
            let (id, root) = database_dies(narrator, api, org, &mut outcome).await?;
            acknowledge(narrator, api, &id, Audience::Customers).await?;
            database_returns(narrator, org).await?;
            resolved(narrator, api, &id, root, &mut outcome).await?;
            outcome.postmortem = Some(postmortem(narrator, api, dir, &id).await?);
        }
        Scenario::Failover => {
            let load = Load::start(org.gateway_port);
            customers_shop(narrator, &load, org.gateway_port).await?;
            let before = org.inbox.count();
            outcome.failover = Some(failover(narrator, api, org, &load).await?);
            outcome.failback = Some(failback(narrator, api, org, &load, before).await?);
        }
        Scenario::Outage => {
            let (id, root) = database_dies(narrator, api, org, &mut outcome).await?;
            acknowledge(narrator, api, &id, Audience::Customers).await?;
            database_returns(narrator, org).await?;
            resolved(narrator, api, &id, root, &mut outcome).await?;
            outcome.postmortem = Some(postmortem(narrator, api, dir, &id).await?);
        }
        Scenario::Backup => {
            let (id, root) = backup_hangs(narrator, api, org, &job, &mut outcome).await?;
            acknowledge(narrator, api, &id, Audience::Internal).await?;
            narrator.step(tr!(
                "The backup job is run again and finishes.",
                "De back-uptaak wordt opnieuw gedraaid en maakt het af."
            ));
            job.finish().await;
            resolved(narrator, api, &id, root, &mut outcome).await?;
            outcome.postmortem = Some(postmortem(narrator, api, dir, &id).await?);
        }
        Scenario::Maintenance => {
            outcome.maintenance = Some(maintenance(narrator, api, org).await?);
        }
    }
    outcome.notifications = org.inbox.count();
    drop(job);
    Ok(outcome)
}

/// Waits until Continuo sees every check up.
async fn all_up(narrator: &Narrator, api: &Api) -> Result<(), Text> {
    narrator.say(tr!(
        "\nStarting Continuo and waiting until every check is up...",
        "\nContinuo start; wachten tot elke check in orde is..."
    ));
    narrator
        .wait_for(
            tr!(
                "Continuo to see every check up",
                "Continuo die elke check in orde ziet"
            ),
            || async move {
                let checks = api.get("/api/v1/checks").await.ok()?;
                let list = checks["checks"].as_array().cloned().unwrap_or_default();
                (!list.is_empty() && list.iter().all(|c| c["status"] == "up")).then_some(())
            },
        )
        .await
}

/// Customers: a steady stream of requests through the gateway.
async fn customers_shop(narrator: &Narrator, load: &Load, gateway_port: u16) -> Result<(), Text> {
    narrator.say(tr!(
        "Customers shop: a request every 50 ms through the gateway on 127.0.0.1:{gateway_port}.",
        "Klanten winkelen: elke 50 ms een verzoek via de gateway op 127.0.0.1:{gateway_port}."
    ));
    narrator
        .wait_for(
            tr!("requests to be answered", "verzoeken die beantwoord worden"),
            || async move { (load.served("primary") >= 10).then_some(()) },
        )
        .await?;
    narrator.pause().await;
    Ok(())
}

/// Waits until the gateway says it serves from `tier` and customers have had ten more
/// answers from it; gives the time from `since` to the first of those answers.
async fn serving(
    narrator: &Narrator,
    api: &Api,
    load: &Load,
    tier: &str,
    since: tokio::time::Instant,
    what: Text,
) -> Result<u128, Text> {
    let served_before = load.served(tier);
    let serving = format!("\"serving\":\"{tier}\"");
    let serving = &serving;
    narrator
        .wait_for(what, || async move {
            let gateways = api.get("/api/v1/gateways").await.ok()?;
            (gateways.to_string().contains(serving.as_str())
                && load.served(tier) >= served_before + 10)
                .then_some(())
        })
        .await?;
    Ok(load
        .first_served_after(tier, since)
        .unwrap_or_default()
        .as_millis())
}

/// The web shop's primary dies; the gateway fails over.
async fn failover(
    narrator: &Narrator,
    api: &Api,
    org: &mut Org,
    load: &Load,
) -> Result<Failover, Text> {
    narrator.step(tr!(
        "The web shop's primary server dies.",
        "De primaire server van de webwinkel valt uit."
    ));
    let (failed_before, pages_before) = (load.failed(), org.inbox.count());
    let killed = tokio::time::Instant::now();
    org.primary.stop();
    let ms = serving(
        narrator,
        api,
        load,
        "backup",
        killed,
        tr!(
            "the gateway to fail over to the backup",
            "de gateway die overschakelt naar de back-up"
        ),
    )
    .await?;
    let seen = Failover {
        ms,
        failed: load.failed() - failed_before,
        requests: load.total(),
        pages: org.inbox.count() - pages_before,
    };
    let (failed, ms, pages) = (seen.failed, seen.ms, seen.pages);
    narrator.say(tr!(
        "  the backup answered customers {ms} ms after the kill; failed customer requests: {failed}; pages: {pages}",
        "  de back-up beantwoordde klanten {ms} ms na de uitval; mislukte klantverzoeken: {failed}; oproepen: {pages}"
    ));
    narrator.pause().await;
    Ok(seen)
}

/// The primary returns; the gateway fails back once it has been healthy long enough.
async fn failback(
    narrator: &Narrator,
    api: &Api,
    org: &mut Org,
    load: &Load,
    pages_before: usize,
) -> Result<Failback, Text> {
    narrator.step(tr!(
        "The primary server is repaired and starts again.",
        "De primaire server is gerepareerd en start opnieuw."
    ));
    let failed_before = load.failed();
    org.primary.restart().await.map_err(|e| {
        tr!(
            "the primary could not be restarted: {e}",
            "de primaire server kon niet herstart worden: {e}"
        )
    })?;
    let returned = tokio::time::Instant::now();
    let ms = serving(
        narrator,
        api,
        load,
        "primary",
        returned,
        tr!(
            "the gateway to fail back to the primary",
            "de gateway die terugschakelt naar de primaire server"
        ),
    )
    .await?;
    let seen = Failback {
        ms,
        failed: load.failed() - failed_before,
        pages: org.inbox.count() - pages_before,
    };
    let (after, failed, pages) = (seen.ms as i64, seen.failed, seen.pages);
    narrator.say(tr_secs!(
        "  the gateway failed back {after} after the primary returned (it waits until the primary has stayed healthy for failback_after); failed customer requests: {failed}; pages since the primary died: {pages}",
        "  de gateway schakelde {after} na de terugkeer van de primaire server terug (hij wacht tot die failback_after lang gezond bleef); mislukte klantverzoeken: {failed}; oproepen sinds de uitval: {pages}";
        after
    ));
    Ok(seen)
}

/// The shared database dies; waits for the incident with it as root cause and the web
/// shop grouped under it, and for the pages. Gives the incident's id and root cause.
async fn database_dies(
    narrator: &Narrator,
    api: &Api,
    org: &mut Org,
    outcome: &mut Outcome,
) -> Result<(String, String), Text> {
    narrator.step(tr!(
        "The shared database dies; the web shop and payments depend on it.",
        "De gedeelde database valt uit; de webwinkel en de betaaldienst hangen ervan af."
    ));
    org.db_up.store(false, Ordering::SeqCst);
    org.database.stop();
    // Shown once the web shop, seen down a moment after its database, has joined.
    let opened = incident_opens(narrator, api, "orders-db", Some("webshop")).await?;
    note_pages(narrator, &org.inbox).await?;
    let seen = seen_incident(&opened);
    let ids = (seen.id.clone(), seen.root_cause.clone());
    outcome.incident = Some(seen);
    Ok(ids)
}

/// Waits for an open incident with `root` as its root cause (and `also` among its
/// services), and narrates it.
async fn incident_opens(
    narrator: &Narrator,
    api: &Api,
    root: &str,
    also: Option<&str>,
) -> Result<Value, Text> {
    let incident = narrator
        .wait_for(
            tr!("an incident to open", "een incident dat geopend wordt"),
            || async move {
                let list = api.get("/api/v1/incidents").await.ok()?;
                list["incidents"]
                    .as_array()?
                    .iter()
                    // A chosen folder may hold the resolved incidents of earlier runs.
                    .filter(|incident| incident["status"] != "resolved")
                    .find(|incident| {
                        incident["services"].as_array().is_some_and(|services| {
                            services
                                .iter()
                                .any(|s| s["service"] == root && s["root_cause"] == true)
                                && also.is_none_or(|also| {
                                    services.iter().any(|s| s["service"] == also)
                                })
                        })
                    })
                    .cloned()
            },
        )
        .await?;
    let seen = seen_incident(&incident);
    let (id, root, severity) = (&seen.id, &seen.root_cause, &incident["severity"]);
    if seen.impacted.is_empty() {
        narrator.say(tr!(
            "  incident {id} opened (SEV{severity}): root cause {root}",
            "  incident {id} geopend (SEV{severity}): grondoorzaak {root}"
        ));
    } else {
        let impacted = seen.impacted.join(", ");
        narrator.say(tr!(
            "  incident {id} opened (SEV{severity}): root cause {root}; impacted, grouped under it: {impacted}",
            "  incident {id} geopend (SEV{severity}): grondoorzaak {root}; getroffen, eronder gegroepeerd: {impacted}"
        ));
    }
    Ok(incident)
}

/// An incident's id, root cause and impacted services from its JSON.
fn seen_incident(incident: &Value) -> IncidentSeen {
    let mut seen = IncidentSeen {
        id: incident["id"].as_str().unwrap_or_default().to_string(),
        root_cause: String::new(),
        impacted: Vec::new(),
        open_to_ack_ms: 0,
        open_to_resolved_ms: 0,
    };
    for service in incident["services"].as_array().into_iter().flatten() {
        let id = service["service"].as_str().unwrap_or_default().to_string();
        if service["root_cause"] == true {
            seen.root_cause = id;
        } else {
            seen.impacted.push(id);
        }
    }
    seen
}

/// Waits for the first pages in the inbox.
async fn note_pages(narrator: &Narrator, inbox: &Inbox) -> Result<(), Text> {
    narrator
        .wait_for(
            tr!(
                "notifications to reach the demo inbox",
                "meldingen die in de demo-inbox aankomen"
            ),
            || async move { (inbox.count() > 0).then_some(()) },
        )
        .await?;
    let count = inbox.count();
    narrator.say(tr!(
        "  the escalation paged the on-call person: {count} notifications in the demo inbox",
        "  de escalatie heeft de dienstdoende opgeroepen: {count} meldingen in de demo-inbox"
    ));
    narrator.pause().await;
    Ok(())
}

/// Who an update in [`acknowledge`] is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// On the public status page.
    Customers,
    /// For the organisation only.
    Internal,
}

/// The on-call person acknowledges and posts an update.
async fn acknowledge(
    narrator: &Narrator,
    api: &Api,
    id: &str,
    audience: Audience,
) -> Result<(), Text> {
    let message = match audience {
        Audience::Customers => {
            narrator.step(tr!(
                "The on-call person acknowledges and tells customers on the status page.",
                "De dienstdoende bevestigt en informeert klanten op de statuspagina."
            ));
            tr!(
                "The order database stopped; we are restarting it",
                "De orderdatabase is gestopt; we starten hem opnieuw"
            )
        }
        Audience::Internal => {
            narrator.step(tr!(
                "The on-call person acknowledges and tells the organisation.",
                "De dienstdoende bevestigt en informeert de organisatie."
            ));
            tr!(
                "The order backup hung; we are running it again",
                "De orderback-up bleef hangen; we draaien hem opnieuw"
            )
        }
    }
    .get(narrator.lang)
    .to_string();
    api.post(
        &format!("/api/v1/incidents/{id}/ack"),
        json!({ "by": DEMO_USER }),
    )
    .await?;
    let audience_key = match audience {
        Audience::Customers => "customers",
        Audience::Internal => "internal",
    };
    api.post(
        &format!("/api/v1/incidents/{id}/update"),
        json!({ "status": "identified", "audience": audience_key, "message": message, "by": DEMO_USER }),
    )
    .await?;
    if audience == Audience::Customers {
        let message = &message;
        narrator
            .wait_for(
                tr!(
                    "the update on the status page",
                    "de update op de statuspagina"
                ),
                || async move {
                    let page = api.text("/status").await.ok()?;
                    page.contains(message.as_str()).then_some(())
                },
            )
            .await?;
        narrator.say(tr!(
            "  acknowledged by {DEMO_USER}; the status page says: {message}",
            "  bevestigd door {DEMO_USER}; de statuspagina zegt: {message}"
        ));
    } else {
        narrator.say(tr!(
            "  acknowledged by {DEMO_USER}; internal update: {message}",
            "  bevestigd door {DEMO_USER}; interne update: {message}"
        ));
    }
    narrator.pause().await;
    Ok(())
}

async fn database_returns(narrator: &Narrator, org: &mut Org) -> Result<(), Text> {
    narrator.step(tr!(
        "The database is restarted.",
        "De database wordt herstart."
    ));
    org.database.restart().await.map_err(|e| {
        tr!(
            "the database could not be restarted: {e}",
            "de database kon niet herstart worden: {e}"
        )
    })?;
    org.db_up.store(true, Ordering::SeqCst);
    Ok(())
}

/// Waits for the incident to resolve and records its measured durations.
async fn resolved(
    narrator: &Narrator,
    api: &Api,
    id: &str,
    root_cause: String,
    outcome: &mut Outcome,
) -> Result<(), Text> {
    let path = &format!("/api/v1/incidents/{id}");
    let resolved = narrator
        .wait_for(
            tr!("the incident to resolve", "het incident dat opgelost wordt"),
            || async move {
                let incident = api.get(path).await.ok()?;
                (incident["status"] == "resolved").then_some(incident)
            },
        )
        .await?;
    let milestone = |key: &str| resolved["milestones"][key].as_i64().unwrap_or_default();
    let mut seen = seen_incident(&resolved);
    seen.root_cause = root_cause;
    seen.open_to_ack_ms = milestone("acknowledged_ms") - milestone("detected_ms");
    seen.open_to_resolved_ms = milestone("resolved_ms") - milestone("detected_ms");
    let resolved_in = seen.open_to_resolved_ms;
    narrator.say(tr_secs!(
        "  incident {id} resolved {resolved_in} after detection",
        "  incident {id} opgelost {resolved_in} na detectie";
        resolved_in
    ));
    outcome.incident = Some(seen);
    Ok(())
}

/// Writes the incident's postmortem into the demo folder.
async fn postmortem(narrator: &Narrator, api: &Api, dir: &Path, id: &str) -> Result<PathBuf, Text> {
    narrator.step(tr!(
        "The postmortem is written from the measured facts.",
        "De postmortem wordt geschreven uit de gemeten feiten."
    ));
    let code = narrator.lang.code();
    let text = api
        .text(&format!("/api/v1/incidents/{id}/postmortem?lang={code}"))
        .await?;
    let path = dir.join(format!("postmortem-{id}.md"));
    let shown = path.display();
    std::fs::write(&path, text).map_err(|e| {
        tr!(
            "cannot write {shown}: {e}",
            "kan {shown} niet schrijven: {e}"
        )
    })?;
    narrator.say(tr!("  written to {shown}", "  geschreven naar {shown}"));
    Ok(path)
}

/// The backup job starts and hangs; waits for Continuo to notice and open an incident,
/// and reads the possible data loss it computed.
async fn backup_hangs(
    narrator: &Narrator,
    api: &Api,
    org: &Org,
    job: &BackupJob,
    outcome: &mut Outcome,
) -> Result<(String, String), Text> {
    narrator.step(tr!(
        "The order backup starts (it pings /start) and hangs; it never pings that it finished.",
        "De orderback-up start (hij pingt /start) en blijft hangen; hij pingt nooit dat hij klaar is."
    ));
    let started = tokio::time::Instant::now();
    job.hang().await;
    narrator
        .wait_for(
            tr!(
                "Continuo to notice the missed heartbeat",
                "Continuo die de gemiste heartbeat opmerkt"
            ),
            || async move {
                let alerts = api.get("/api/v1/alerts").await.ok()?;
                alerts["alerts"]
                    .as_array()?
                    .iter()
                    .any(|a| a["service"] == "backups" && a["state"] != "resolved")
                    .then_some(())
            },
        )
        .await?;
    let noticed_ms = started.elapsed().as_millis();
    let shown = noticed_ms as i64;
    narrator.say(tr_secs!(
        "  noticed {shown} after the start: the grace time is {BACKUP_GRACE}",
        "  opgemerkt {shown} na de start: de respijttijd is {BACKUP_GRACE}";
        shown
    ));
    let incident = incident_opens(narrator, api, "backups", None).await?;
    let loss = incident["recovery"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["service"] == "backups")
        .map(|r| r["data_loss"].clone())
        .unwrap_or(Value::Null);
    let (Some(window_ms), Some(rpo_ms), Some(within_rpo)) = (
        loss["window_ms"].as_i64(),
        loss["rpo_ms"].as_i64(),
        loss["within_rpo"].as_bool(),
    ) else {
        return Err(tr!(
            "demo failed: incident has no data-loss window for backups: {loss}",
            "demo mislukt: het incident heeft geen dataverliesvenster voor backups: {loss}"
        ));
    };
    let (window, rpo) = (window_ms, rpo_ms);
    narrator.say(if within_rpo {
        tr_secs!(
            "  possible data loss: {window} since the last good backup, within the RPO of {rpo}",
            "  mogelijk dataverlies: {window} sinds de laatste goede back-up, binnen de RPO van {rpo}";
            window, rpo
        )
    } else {
        tr_secs!(
            "  possible data loss: {window} since the last good backup, beyond the RPO of {rpo}",
            "  mogelijk dataverlies: {window} sinds de laatste goede back-up, voorbij de RPO van {rpo}";
            window, rpo
        )
    });
    note_pages(narrator, &org.inbox).await?;
    outcome.missed_backup = Some(MissedBackup {
        noticed_ms,
        grace: BACKUP_GRACE,
        window_ms,
        rpo_ms,
        within_rpo,
    });
    let seen = seen_incident(&incident);
    let ids = (seen.id.clone(), seen.root_cause.clone());
    outcome.incident = Some(seen);
    Ok(ids)
}

/// Payments goes down inside a maintenance window: shown on the status page, nobody
/// paged.
async fn maintenance(
    narrator: &Narrator,
    api: &Api,
    org: &mut Org,
) -> Result<MaintenanceSeen, Text> {
    narrator.step(tr!(
        "Operations plans maintenance on payments and opens a maintenance window.",
        "Operations plant onderhoud aan de betaaldienst en opent een onderhoudsvenster."
    ));
    let pages_before = org.inbox.count();
    let title = tr!(
        "Payments software update",
        "Software-update van de betaaldienst"
    )
    .get(narrator.lang)
    .to_string();
    let window = api
        .post(
            "/api/v1/maintenance",
            json!({ "title": title, "services": ["payments"], "duration": "10m" }),
        )
        .await?;
    let window_id = window["id"].as_str().unwrap_or_default().to_string();
    let shown = narrator
        .wait_for(
            tr!(
                "the status page to show the maintenance",
                "de statuspagina die het onderhoud toont"
            ),
            || async move {
                let components = api.get("/api/v2/components.json").await.ok()?;
                components["components"]
                    .as_array()?
                    .iter()
                    .find(|c| c["name"] == "Payments" && c["status"] == "under_maintenance")
                    .map(|c| c["status"].as_str().unwrap_or_default().to_string())
            },
        )
        .await?;
    narrator.say(tr!(
        "  window {window_id} open; the status page shows payments as {shown}",
        "  venster {window_id} open; de statuspagina toont de betaaldienst als {shown}"
    ));
    narrator.pause().await;

    narrator.step(tr!(
        "The payments server is stopped for the update.",
        "De betaalserver wordt gestopt voor de update."
    ));
    let stopped = tokio::time::Instant::now();
    org.payments.stop();
    narrator
        .wait_for(
            tr!(
                "Continuo to hold the alert for payments",
                "Continuo die de melding voor de betaaldienst vasthoudt"
            ),
            || async move {
                let alerts = api.get("/api/v1/alerts").await.ok()?;
                alerts["alerts"]
                    .as_array()?
                    .iter()
                    .any(|a| a["service"] == "payments" && a["state"] == "held")
                    .then_some(())
            },
        )
        .await?;
    narrator.say(tr!(
        "  Continuo sees payments down and holds the alert: no page during maintenance",
        "  Continuo ziet de betaaldienst uit en houdt de melding vast: geen oproep tijdens onderhoud"
    ));
    narrator.pause().await;

    narrator.step(tr!(
        "The update is done: payments starts again and the window is closed.",
        "De update is klaar: de betaaldienst start weer en het venster wordt gesloten."
    ));
    org.payments.restart().await.map_err(|e| {
        tr!(
            "payments could not be restarted: {e}",
            "de betaaldienst kon niet herstart worden: {e}"
        )
    })?;
    narrator
        .wait_for(
            tr!(
                "Continuo to see payments up",
                "Continuo die de betaaldienst in orde ziet"
            ),
            || async move {
                let check = api.get("/api/v1/checks/payments-http").await.ok()?;
                (check["status"] == "up").then_some(())
            },
        )
        .await?;
    let down_ms = stopped.elapsed().as_millis();
    api.post(&format!("/api/v1/maintenance/{window_id}/end"), json!({}))
        .await?;
    narrator
        .wait_for(
            tr!(
                "the alert for payments to close",
                "de melding voor de betaaldienst die sluit"
            ),
            || async move {
                let alerts = api.get("/api/v1/alerts").await.ok()?;
                (!alerts["alerts"]
                    .as_array()?
                    .iter()
                    .any(|a| a["service"] == "payments" && a["state"] != "resolved"))
                .then_some(())
            },
        )
        .await?;
    let pages = org.inbox.count() - pages_before;
    let down = down_ms as i64;
    narrator.say(tr_secs!(
        "  payments was down for {down} inside the window; pages sent: {pages}",
        "  de betaaldienst was {down} uit binnen het venster; verstuurde oproepen: {pages}";
        down
    ));
    Ok(MaintenanceSeen {
        down_ms,
        pages,
        shown,
    })
}

/// Milliseconds as seconds with one decimal, in the language's notation (5.3 s, 5,3 s).
fn seconds(ms: i64, lang: Lang) -> String {
    let shown = format!("{:.1} s", ms as f64 / 1000.0);
    match lang {
        Lang::En => shown,
        Lang::Nl => shown.replace('.', ","),
    }
}

/// The summary's lines: what the scenario played, as measured.
fn summary(outcome: &Outcome) -> Vec<Text> {
    let mut lines = vec![tr!("\nSummary", "\nSamenvatting")];
    if let Some(Failover {
        ms,
        failed,
        requests,
        pages,
    }) = &outcome.failover
    {
        lines.push(tr!(
            "  failover: webshop primary to backup, first answer from the backup {ms} ms after the kill, failed requests: {failed} (of {requests} so far), pages: {pages}",
            "  failover: webwinkel primair naar back-up, eerste antwoord van de back-up {ms} ms na de uitval, mislukte verzoeken: {failed} (van {requests} tot dan), oproepen: {pages}"
        ));
    }
    if let Some(Failback { ms, failed, pages }) = &outcome.failback {
        let after = *ms as i64;
        lines.push(tr_secs!(
            "  failback: to the primary {after} after it returned, failed requests: {failed}, pages: {pages}",
            "  failback: naar de primaire server {after} na de terugkeer, mislukte verzoeken: {failed}, oproepen: {pages}";
            after
        ));
    }
    if let Some(m) = &outcome.missed_backup {
        let (noticed, grace, window, rpo) = (m.noticed_ms as i64, m.grace, m.window_ms, m.rpo_ms);
        lines.push(if m.within_rpo {
            tr_secs!(
                "  missed backup: noticed {noticed} after the job started (grace {grace}); possible data loss {window}, within the RPO of {rpo}",
                "  gemiste back-up: opgemerkt {noticed} na de start (respijt {grace}); mogelijk dataverlies {window}, binnen de RPO van {rpo}";
                noticed, window, rpo
            )
        } else {
            tr_secs!(
                "  missed backup: noticed {noticed} after the job started (grace {grace}); possible data loss {window}, beyond the RPO of {rpo}",
                "  gemiste back-up: opgemerkt {noticed} na de start (respijt {grace}); mogelijk dataverlies {window}, voorbij de RPO van {rpo}";
                noticed, window, rpo
            )
        });
    }
    if let Some(i) = &outcome.incident {
        let (id, root, acked, resolved) = (
            &i.id,
            &i.root_cause,
            i.open_to_ack_ms,
            i.open_to_resolved_ms,
        );
        lines.push(tr_secs!(
            "  incident: {id} opened (root cause {root}), acknowledged after {acked}, resolved after {resolved}",
            "  incident: {id} geopend (grondoorzaak {root}), bevestigd na {acked}, opgelost na {resolved}";
            acked, resolved
        ));
    }
    if let Some(m) = &outcome.maintenance {
        let (down, pages, shown) = (m.down_ms as i64, m.pages, &m.shown);
        lines.push(tr_secs!(
            "  maintenance: payments down for {down} inside the window, status page showed {shown}, pages: {pages}",
            "  onderhoud: betaaldienst {down} uit binnen het venster, statuspagina toonde {shown}, oproepen: {pages}";
            down
        ));
    }
    let notifications = outcome.notifications;
    lines.push(tr!(
        "  notifications delivered: {notifications}",
        "  meldingen afgeleverd: {notifications}"
    ));
    if let Some(path) = &outcome.postmortem {
        let shown = path.display();
        lines.push(tr!("  postmortem: {shown}", "  postmortem: {shown}"));
    }
    lines.push(tr!("demo completed", "demo voltooid"));
    lines
}

/// The backup job: pings its heartbeat every 2 s until it hangs.
struct BackupJob {
    /// Held while pinging, so a hang never races a ping in flight.
    healthy: Arc<tokio::sync::Mutex<bool>>,
    url: String,
    client: reqwest::Client,
    task: JoinHandle<()>,
}

impl BackupJob {
    fn start(api: &Api) -> BackupJob {
        let url = format!("{}/ping/{BACKUP_UUID}", api.base);
        let client = api.client.clone();
        let healthy = Arc::new(tokio::sync::Mutex::new(true));
        let task = {
            let (url, client, healthy) = (url.clone(), client.clone(), healthy.clone());
            tokio::spawn(async move {
                // Continuo may still be starting: a refused ping is simply tried again.
                loop {
                    {
                        let healthy = healthy.lock().await;
                        if *healthy {
                            let _ = client.get(&url).send().await;
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            })
        };
        BackupJob {
            healthy,
            url,
            client,
            task,
        }
    }

    /// Starts a run that never finishes.
    async fn hang(&self) {
        let mut healthy = self.healthy.lock().await;
        *healthy = false;
        let _ = self.client.get(format!("{}/start", self.url)).send().await;
    }

    /// A run that finishes; regular pings go on.
    async fn finish(&self) {
        let mut healthy = self.healthy.lock().await;
        let _ = self.client.get(&self.url).send().await;
        *healthy = true;
    }
}

impl Drop for BackupJob {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Prints the story and keeps the deadline.
struct Narrator {
    lang: Lang,
    headless: bool,
    /// When waiting gives up; moved on by the time spent at a pause.
    deadline: std::cell::Cell<tokio::time::Instant>,
    /// Steps told so far.
    steps: std::cell::Cell<u32>,
}

impl Narrator {
    fn say(&self, text: Text) {
        let _ = writeln!(std::io::stdout(), "{}", text.get(self.lang));
    }

    fn say_err(&self, text: Text) {
        let _ = writeln!(std::io::stderr(), "{}", text.get(self.lang));
    }

    /// Tells the next numbered step.
    fn step(&self, text: Text) {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        self.say(tr!(
            "\n▶ Step {n}: {line}",
            "\n▶ Stap {n}: {line}";
            line = text.get(self.lang)
        ));
    }

    /// Waits for Enter, unless headless.
    async fn pause(&self) {
        if self.headless {
            return;
        }
        self.say(tr!(
            "  (press Enter to go on)",
            "  (druk op Enter om verder te gaan)"
        ));
        let paused = tokio::time::Instant::now();
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)
        })
        .await;
        // Reading the narration is not the scenario running late.
        self.deadline.set(self.deadline.get() + paused.elapsed());
    }

    /// Polls `seen` every 250 ms until it gives a value; fails when the deadline passes.
    async fn wait_for<T, F, Fut>(&self, what: Text, mut seen: F) -> Result<T, Text>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        loop {
            if let Some(value) = seen().await {
                return Ok(value);
            }
            if tokio::time::Instant::now() >= self.deadline.get() {
                let what = what.get(self.lang);
                return Err(tr!(
                    "demo failed: the time ran out waiting for {what}",
                    "demo mislukt: de tijd was om bij het wachten op {what}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Continuo's HTTP API with the demo's admin token.
struct Api {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Api {
    async fn text(&self, path: &str) -> Result<String, Text> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| request_failed(path, &e.to_string()))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(request_failed(path, &format!("{status}: {body}")));
        }
        Ok(body)
    }

    async fn get(&self, path: &str) -> Result<Value, Text> {
        let body = self.text(path).await?;
        serde_json::from_str(&body).map_err(|e| request_failed(path, &e.to_string()))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, Text> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| request_failed(path, &e.to_string()))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(request_failed(path, &format!("{status}: {text}")));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn request_failed(path: &str, problem: &str) -> Text {
    tr!(
        "demo failed: {path} did not answer as expected: {problem}",
        "demo mislukt: {path} antwoordde niet zoals verwacht: {problem}"
    )
}

/// The generated configuration's ports.
struct Ports {
    continuo: u16,
    gateway: u16,
    primary: u16,
    backup: u16,
    payments: u16,
    database: u16,
    inbox: u16,
}

/// The demo organisation's configuration: short intervals and thresholds so the whole
/// scenario fits in well under 90 s on a slow machine.
fn demo_config(ports: &Ports) -> String {
    let Ports {
        continuo,
        gateway,
        primary,
        backup,
        payments,
        database,
        inbox,
    } = ports;
    format!(
        r#"# Generated by `continuo demo`: a small web shop on 127.0.0.1.
[organization]
name = "Demo Shop"
timezone = "UTC"
languages = ["en", "nl"]
# The demo shows its posture at the end instead of sending notices to the inbox.
posture_channels = []

[server]
listen = "127.0.0.1:{continuo}"
database = "sqlite://continuo.db"
location = "demo"
public_rate_limit = 0

[status_page]
title = "Demo Shop status"
description = "Live status of the demo shop"

[[person]]
id = "demo"
name = "Demo On-call"

[[team]]
id = "ops"
name = "Operations"
members = ["demo"]
escalation = "page-inbox"

[[escalation]]
id = "page-inbox"
levels = [{{ after = "0m", notify = ["channel:inbox"] }}]

[[channel]]
id = "inbox"
kind = "webhook"
url = "http://127.0.0.1:{inbox}/hook"

[[response_plan]]
id = "major"
severity = ["SEV1"]
roles = {{ incident_commander = "team:ops" }}
notify = ["channel:inbox"]
update_every = "30m"

[[service]]
id = "orders-db"
name = "Order database"
tier = 1
owner = "ops"
rto = "30m"

[[service.check]]
id = "orders-db-tcp"
kind = "tcp"
target = "127.0.0.1:{database}"
interval = "1s"
timeout = "500ms"
fail_threshold = 1
recover_threshold = 1

[[service]]
id = "webshop"
name = "Web shop"
tier = 1
owner = "ops"
rto = "15m"
depends_on = ["orders-db", "payments"]
status_page = {{ component = "Web shop", group = "Shopping" }}

[[service.endpoint]]
name = "primary"
url = "http://127.0.0.1:{primary}"
role = "primary"

[[service.endpoint]]
name = "backup"
url = "http://127.0.0.1:{backup}"
role = "backup"

[[service.check]]
id = "webshop-http"
kind = "http"
url = "http://127.0.0.1:{gateway}/"
interval = "1s"
timeout = "500ms"
# Two failures: the database's single failure is seen first, so the web shop is grouped
# under it as impacted instead of paging on its own.
fail_threshold = 2
recover_threshold = 1

[[gateway]]
id = "webshop-gw"
listen = "127.0.0.1:{gateway}"
service = "webshop"
eject_after = 1
check_interval = "200ms"
check_fast_interval = "100ms"
failback_after = "3s"

[[service]]
id = "payments"
name = "Payments"
tier = 1
owner = "ops"
rto = "15m"
depends_on = ["orders-db"]
status_page = {{ component = "Payments", group = "Shopping" }}

[[service.check]]
id = "payments-http"
kind = "http"
url = "http://127.0.0.1:{payments}/"
interval = "1s"
timeout = "500ms"
fail_threshold = 1
recover_threshold = 1

[[service]]
id = "backups"
name = "Order backup"
tier = 3
owner = "ops"
rto = "4h"
# Data written since the last good backup is what a restore would lose.
rpo = "30s"

[[service.check]]
id = "backup-heartbeat"
kind = "heartbeat"
uuid = "{BACKUP_UUID}"
# Every few seconds, so the demo fits in a minute (hourly or nightly in real life).
period = "5s"
grace = "{BACKUP_GRACE}"
"#
    )
}

/// Adds the demo's admin user to the database `serve` is about to open.
async fn add_demo_user(database_url: &str, password: &str) -> anyhow::Result<()> {
    let store = continuo_store::Store::open(database_url)
        .await
        .with_context(|| format!("opening the database {database_url}"))?;
    let password = password.to_string();
    let hash =
        tokio::task::spawn_blocking(move || continuo_web::credentials::hash_password(&password))
            .await??;
    let now = jiff::Timestamp::now().as_millisecond();
    // A chosen directory may hold the user from an earlier run: set the new password.
    if store.user(DEMO_USER).await?.is_some() {
        store.set_password(DEMO_USER, &hash, now).await?;
    } else {
        store
            .add_user(&continuo_store::access::User {
                name: DEMO_USER.into(),
                role: continuo_core::access::Role::Admin,
                password_hash: hash,
                created_ms: now,
                updated_ms: now,
            })
            .await?;
    }
    store.close().await;
    Ok(())
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut buffer)
        .context("reading /dev/urandom")?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

/// A port free right now (Continuo and the gateway bind it themselves a moment later).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A bound listener on 127.0.0.1, before it serves.
struct Listener {
    listener: TcpListener,
    port: u16,
}

impl Listener {
    async fn bind() -> anyhow::Result<Listener> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        Ok(Listener { listener, port })
    }

    /// A web service answering `200 <name>`, or 503 while the database is down.
    fn serve_http(self, name: &'static str, db_up: Arc<AtomicBool>) -> Server {
        self.serve(Kind::Http { name, db_up })
    }

    /// The database: accepts connections and holds them open.
    fn serve_tcp(self) -> Server {
        self.serve(Kind::Tcp)
    }

    fn serve(self, kind: Kind) -> Server {
        let task = match &kind {
            Kind::Http { name, db_up } => {
                let (name, db_up) = (*name, db_up.clone());
                tokio::spawn(accept_loop(self.listener, move |mut stream| {
                    let db_up = db_up.clone();
                    async move {
                        if read_request(&mut stream).await.is_none() {
                            return;
                        }
                        let (status, body) = if db_up.load(Ordering::SeqCst) {
                            ("200 OK", name)
                        } else {
                            ("503 Service Unavailable", "database unavailable")
                        };
                        let _ = respond(&mut stream, status, "text/plain", body).await;
                    }
                }))
            }
            Kind::Tcp => tokio::spawn(accept_loop(self.listener, |mut stream| async move {
                let mut buffer = [0u8; 256];
                while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
            })),
        };
        Server {
            port: self.port,
            kind,
            task,
        }
    }
}

/// What a simulated server is, to start it again the same way.
#[derive(Clone)]
enum Kind {
    Http {
        name: &'static str,
        db_up: Arc<AtomicBool>,
    },
    Tcp,
}

/// Accepts connections until aborted; aborting also ends every open connection.
async fn accept_loop<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(handle(stream));
                }
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

/// A simulated service that can be killed.
struct Server {
    port: u16,
    kind: Kind,
    task: JoinHandle<()>,
}

impl Server {
    /// Stops listening and ends every open connection.
    fn stop(&mut self) {
        self.task.abort();
    }

    /// Listens again on the same port, serving as before.
    async fn restart(&mut self) -> std::io::Result<()> {
        let listener = loop {
            // The aborted task releases the port asynchronously.
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let port = self.port;
        *self = Listener { listener, port }.serve(self.kind.clone());
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request's head and body (by Content-Length); `None` on a closed stream.
async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while data.len() < end + 4 + length {
                let n = stream.read(&mut buffer).await.ok()?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buffer[..n]);
            }
            let body = String::from_utf8_lossy(&data[end + 4..]).into_owned();
            return Some((head, body));
        }
        if data.len() > 1 << 20 {
            return None;
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The demo inbox: keeps every notification Continuo posts to it and lists them at `/`.
struct Inbox {
    port: u16,
    notifications: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Inbox {
    async fn start() -> anyhow::Result<Inbox> {
        let listener = Listener::bind().await?;
        let port = listener.port;
        let notifications = Arc::new(Mutex::new(Vec::<String>::new()));
        let kept = notifications.clone();
        let task = tokio::spawn(accept_loop(listener.listener, move |mut stream| {
            let kept = kept.clone();
            async move {
                let Some((head, body)) = read_request(&mut stream).await else {
                    return;
                };
                if head.starts_with("POST") {
                    kept.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(body);
                    let _ = respond(&mut stream, "200 OK", "application/json", "{}").await;
                    return;
                }
                let list = kept.lock().unwrap_or_else(PoisonError::into_inner).clone();
                let _ = respond(
                    &mut stream,
                    "200 OK",
                    "text/html; charset=utf-8",
                    &inbox_page(&list),
                )
                .await;
            }
        }));
        Ok(Inbox {
            port,
            notifications,
            task,
        })
    }

    fn count(&self) -> usize {
        self.notifications
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The inbox's page: newest first, each notification's JSON pretty-printed.
fn inbox_page(notifications: &[String]) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let items: String = notifications
        .iter()
        .rev()
        .map(|raw| {
            let pretty = serde_json::from_str::<Value>(raw)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| raw.clone());
            format!("<li><pre>{}</pre></li>", escape(&pretty))
        })
        .collect();
    let count = notifications.len();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\"><title>Continuo demo inbox</title></head><body><h1>Continuo demo inbox ({count})</h1><ol>{items}</ol></body></html>"
    )
}

/// When a customer request ended, and the body that answered it (`None`: it failed).
type Answer = (tokio::time::Instant, Option<String>);

/// Customers: a GET through the gateway every 50 ms, each answer kept with its time
/// (about 1,200 a minute).
struct Load {
    answers: Arc<Mutex<Vec<Answer>>>,
    task: JoinHandle<()>,
}

impl Load {
    fn start(gateway_port: u16) -> Load {
        let answers = Arc::new(Mutex::new(Vec::new()));
        let kept = answers.clone();
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default();
            let url = format!("http://127.0.0.1:{gateway_port}/");
            loop {
                let answer = match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => r.text().await.ok(),
                    _ => None,
                };
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((tokio::time::Instant::now(), answer));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Load { answers, task }
    }

    fn count(&self, matches: impl Fn(&Option<String>) -> bool) -> u64 {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.iter().filter(|(_, a)| matches(a)).count() as u64
    }

    /// Requests answered by `by`.
    fn served(&self, by: &str) -> u64 {
        self.count(|a| a.as_deref() == Some(by))
    }

    /// Requests that failed.
    fn failed(&self) -> u64 {
        self.count(Option::is_none)
    }

    fn total(&self) -> u64 {
        self.count(|_| true)
    }

    /// The first request answered by `by` after `since`, as a distance from `since`.
    fn first_served_after(&self, by: &str, since: tokio::time::Instant) -> Option<Duration> {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers
            .iter()
            .find(|(at, a)| *at >= since && a.as_deref() == Some(by))
            .map(|(at, _)| *at - since)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.task.abort();
    }
}
