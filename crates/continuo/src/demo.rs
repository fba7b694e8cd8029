//! `continuo demo`: a small simulated organisation and Continuo watching it, in one
//! process, playing the whole continuity cycle: a failover no customer notices, a shared
//! dependency that dies, an incident with its root cause, notifications, a customer
//! update, an acknowledgement, recovery and a postmortem.
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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Options of `continuo demo`.
pub struct DemoOptions {
    /// Where the configuration, database and postmortem go (default: a new temporary one).
    pub dir: Option<PathBuf>,
    /// Play the scenario without waiting for Enter.
    pub headless: bool,
    /// The scenario's deadline (default: 90 s headless, none otherwise).
    pub duration: Option<Duration>,
}

/// The heartbeat check's id in the generated configuration.
const BACKUP_UUID: &str = "5f0c2b1e-7d3a-4e8b-9c6d-2a1b3c4d5e6f";
/// The demo user's name.
const DEMO_USER: &str = "demo";

pub fn run(options: DemoOptions, lang: Lang) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(options, lang))
}

/// What the scenario measured, for the summary.
#[derive(Default)]
struct Outcome {
    requests: u64,
    failed_during_failover: u64,
    failover_ms: u128,
    incident: String,
    root_cause: String,
    impacted: Vec<String>,
    open_to_ack_ms: i64,
    open_to_resolved_ms: i64,
    notifications: usize,
    postmortem: PathBuf,
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
    let database = Listener::bind().await?;
    let db_port = database.port;
    let mut database = database.serve_tcp();
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
            database: db_port,
            inbox: inbox.port,
        }),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let catalog = serve::load_valid(&config, lang).map_err(|text| {
        anyhow::anyhow!("the generated configuration is invalid (a bug):\n{text}")
    })?;
    let database_url = format!("sqlite://{}", dir.join("continuo.db").display());
    add_demo_user(&database_url, &password).await?;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(
        ServeOptions {
            config: config.clone(),
            listen: None,
            database: Some(database_url),
            admin_token: Some(admin_token.clone()),
        },
        catalog,
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
    };

    let base = &api.base;
    let inbox_port = inbox.port;
    narrator.say(tr!(
        "Continuo demo: a small web shop, its database, a payment service and a backup job, watched by Continuo.\n  dashboard:   {base}/  (sign in as {DEMO_USER}, password {password})\n  status page: {base}/status\n  demo inbox:  http://127.0.0.1:{inbox_port}/\n  files:       {shown}",
        "Continuo-demo: een kleine webwinkel, zijn database, een betaaldienst en een back-uptaak, bewaakt door Continuo.\n  dashboard:    {base}/  (log in als {DEMO_USER}, wachtwoord {password})\n  statuspagina: {base}/status\n  demo-inbox:   http://127.0.0.1:{inbox_port}/\n  bestanden:    {shown}";
        shown = dir.display()
    ));

    // Continuo stopping early (its port taken, say) ends the demo at once, with its error.
    let mut server = server;
    let mut ended = None;
    let result = tokio::select! {
        result = scenario(
            &narrator,
            &api,
            gateway_port,
            &dir,
            &inbox,
            &mut database,
            &db_up,
            primary,
        ) => result,
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
    drop((backup, payments));
    match result {
        Ok(outcome) => {
            narrator.say(summary(&outcome));
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            narrator.say_err(failure);
            Ok(ExitCode::from(1))
        }
    }
}

#[allow(clippy::too_many_arguments)] // the scenario's cast, each named
async fn scenario(
    narrator: &Narrator,
    api: &Api,
    gateway_port: u16,
    dir: &Path,
    inbox: &Inbox,
    database: &mut Server,
    db_up: &Arc<AtomicBool>,
    primary: Server,
) -> Result<Outcome, Text> {
    let mut outcome = Outcome::default();
    // The backup job pings its heartbeat from the start.
    let heartbeat = {
        let url = format!("{}/ping/{BACKUP_UUID}", api.base);
        let client = api.client.clone();
        tokio::spawn(async move {
            // Continuo may still be starting: a refused ping is simply tried again.
            loop {
                let _ = client.get(&url).send().await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };

    narrator.step(tr!(
        "Starting Continuo and waiting until every check is up...",
        "Continuo start; wachten tot elke check in orde is..."
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
        .await?;

    // Customers: a steady stream of requests through the gateway.
    let load = &Load::start(gateway_port);
    narrator.step(tr!(
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

    narrator.step(tr!(
        "Step 1: the web shop's primary server dies.",
        "Stap 1: de primaire server van de webwinkel valt uit."
    ));
    let failed_before = load.failed();
    let killed = tokio::time::Instant::now();
    primary.kill();
    narrator
        .wait_for(
            tr!(
                "the gateway to fail over to the backup",
                "de gateway die overschakelt naar de back-up"
            ),
            || async move {
                let gateways = api.get("/api/v1/gateways").await.ok()?;
                (gateways.to_string().contains("\"serving\":\"backup\"")
                    && load.served("backup") >= 10)
                    .then_some(())
            },
        )
        .await?;
    outcome.failover_ms = killed.elapsed().as_millis();
    outcome.failed_during_failover = load.failed() - failed_before;
    outcome.requests = load.total();
    let (failed, ms) = (outcome.failed_during_failover, outcome.failover_ms);
    narrator.say(tr!(
        "  the gateway failed over in {ms} ms; failed customer requests: {failed}",
        "  de gateway schakelde over in {ms} ms; mislukte klantverzoeken: {failed}"
    ));
    narrator.pause().await;

    narrator.step(tr!(
        "Step 2: the shared database dies; the web shop and payments depend on it.",
        "Stap 2: de gedeelde database valt uit; de webwinkel en de betaaldienst hangen ervan af."
    ));
    db_up.store(false, Ordering::SeqCst);
    database.stop();
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
                        // Shown once the web shop, seen down a moment after its
                        // database, has joined as impacted.
                        incident["services"].as_array().is_some_and(|services| {
                            services
                                .iter()
                                .any(|s| s["service"] == "orders-db" && s["root_cause"] == true)
                                && services.iter().any(|s| s["service"] == "webshop")
                        })
                    })
                    .cloned()
            },
        )
        .await?;
    outcome.incident = incident["id"].as_str().unwrap_or_default().to_string();
    for service in incident["services"].as_array().into_iter().flatten() {
        let id = service["service"].as_str().unwrap_or_default().to_string();
        if service["root_cause"] == true {
            outcome.root_cause = id;
        } else {
            outcome.impacted.push(id);
        }
    }
    let (id, root, impacted) = (
        &outcome.incident,
        &outcome.root_cause,
        outcome.impacted.join(", "),
    );
    let severity = &incident["severity"];
    narrator.say(tr!(
        "  incident {id} opened (SEV{severity}): root cause {root}; impacted, grouped under it: {impacted}",
        "  incident {id} geopend (SEV{severity}): grondoorzaak {root}; getroffen, eronder gegroepeerd: {impacted}"
    ));
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

    narrator.step(tr!(
        "Step 3: the on-call person acknowledges and tells customers on the status page.",
        "Stap 3: de dienstdoende bevestigt en informeert klanten op de statuspagina."
    ));
    let id = outcome.incident.clone();
    api.post(
        &format!("/api/v1/incidents/{id}/ack"),
        json!({ "by": DEMO_USER }),
    )
    .await?;
    let message = tr!(
        "The order database stopped; we are restarting it",
        "De orderdatabase is gestopt; we starten hem opnieuw"
    )
    .get(narrator.lang)
    .to_string();
    let message = &message;
    api.post(
        &format!("/api/v1/incidents/{id}/update"),
        json!({ "status": "identified", "audience": "customers", "message": message, "by": DEMO_USER }),
    )
    .await?;
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
    narrator.pause().await;

    narrator.step(tr!(
        "Step 4: the database is restarted.",
        "Stap 4: de database wordt herstart."
    ));
    database.restart().await.map_err(|e| {
        tr!(
            "the database could not be restarted: {e}",
            "de database kon niet herstart worden: {e}"
        )
    })?;
    db_up.store(true, Ordering::SeqCst);
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
    outcome.open_to_ack_ms = milestone("acknowledged_ms") - milestone("detected_ms");
    outcome.open_to_resolved_ms = milestone("resolved_ms") - milestone("detected_ms");
    let resolved_in = seconds(outcome.open_to_resolved_ms);
    narrator.say(tr!(
        "  incident {id} resolved {resolved_in} after detection",
        "  incident {id} opgelost {resolved_in} na detectie"
    ));

    narrator.step(tr!(
        "Step 5: the postmortem is written from the measured facts.",
        "Stap 5: de postmortem wordt geschreven uit de gemeten feiten."
    ));
    let code = narrator.lang.code();
    let postmortem = api
        .text(&format!("/api/v1/incidents/{id}/postmortem?lang={code}"))
        .await?;
    outcome.postmortem = dir.join(format!("postmortem-{id}.md"));
    std::fs::write(&outcome.postmortem, postmortem).map_err(|e| {
        let shown = outcome.postmortem.display();
        tr!(
            "cannot write {shown}: {e}",
            "kan {shown} niet schrijven: {e}"
        )
    })?;
    outcome.notifications = inbox.count();
    let shown = outcome.postmortem.display();
    narrator.say(tr!("  written to {shown}", "  geschreven naar {shown}"));
    heartbeat.abort();
    Ok(outcome)
}

fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn summary(outcome: &Outcome) -> Text {
    let Outcome {
        requests,
        failed_during_failover,
        failover_ms,
        incident,
        root_cause,
        notifications,
        ..
    } = outcome;
    let (acked, resolved) = (
        seconds(outcome.open_to_ack_ms),
        seconds(outcome.open_to_resolved_ms),
    );
    let postmortem = outcome.postmortem.display();
    tr!(
        "\nSummary\n  failover: webshop primary to backup in {failover_ms} ms, failed requests: {failed_during_failover} (of {requests} so far)\n  incident: {incident} opened (root cause {root_cause}), acknowledged after {acked}, resolved after {resolved}\n  notifications delivered: {notifications}\n  postmortem: {postmortem}\ndemo completed",
        "\nSamenvatting\n  failover: webwinkel primair naar back-up in {failover_ms} ms, mislukte verzoeken: {failed_during_failover} (van {requests} tot dan)\n  incident: {incident} geopend (grondoorzaak {root_cause}), bevestigd na {acked}, opgelost na {resolved}\n  meldingen afgeleverd: {notifications}\n  postmortem: {postmortem}\ndemo voltooid"
    )
}

/// Prints the story and keeps the deadline.
struct Narrator {
    lang: Lang,
    headless: bool,
    /// When waiting gives up; moved on by the time spent at a pause.
    deadline: std::cell::Cell<tokio::time::Instant>,
}

impl Narrator {
    fn say(&self, text: Text) {
        let _ = writeln!(std::io::stdout(), "{}", text.get(self.lang));
    }

    fn say_err(&self, text: Text) {
        let _ = writeln!(std::io::stderr(), "{}", text.get(self.lang));
    }

    fn step(&self, text: Text) {
        self.say(tr!("\n▶ {line}", "\n▶ {line}"; line = text.get(self.lang)));
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
name = "Nightly backup"
tier = 3
owner = "ops"
rto = "1d"

[[service.check]]
id = "backup-heartbeat"
kind = "heartbeat"
uuid = "{BACKUP_UUID}"
period = "1m"
grace = "1m"
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
        let task = tokio::spawn(accept_loop(self.listener, move |mut stream| {
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
        }));
        Server {
            port: self.port,
            task,
        }
    }

    /// The database: accepts connections and holds them open.
    fn serve_tcp(self) -> Server {
        let task = tokio::spawn(accept_loop(self.listener, |mut stream| async move {
            let mut buffer = [0u8; 256];
            while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
        }));
        Server {
            port: self.port,
            task,
        }
    }
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
    task: JoinHandle<()>,
}

impl Server {
    fn kill(self) {
        self.task.abort();
    }

    fn stop(&mut self) {
        self.task.abort();
    }

    /// Listens again on the same port (the database's restart).
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
        *self = Listener { listener, port }.serve_tcp();
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
    _server: Server,
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
            _server: Server { port, task },
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

/// Customers: a GET through the gateway every 50 ms, counting answers by body.
struct Load {
    counts: Arc<Mutex<std::collections::BTreeMap<String, u64>>>,
    failed: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Load {
    fn start(gateway_port: u16) -> Load {
        let counts = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
        let failed = Arc::new(AtomicU64::new(0));
        let (c, f) = (counts.clone(), failed.clone());
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
                match answer {
                    Some(body) => {
                        *c.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .entry(body)
                            .or_default() += 1;
                    }
                    None => {
                        f.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Load {
            counts,
            failed,
            task,
        }
    }

    fn served(&self, by: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(by)
            .copied()
            .unwrap_or(0)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    fn total(&self) -> u64 {
        let served: u64 = self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum();
        served + self.failed()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.task.abort();
    }
}
