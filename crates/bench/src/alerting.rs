//! Alerting latency (issue 4): from a check's state transition to the webhook receiver
//! having the POST, with many transitions at once, through the real path: engine, service
//! health, alert decisions, the SQLite outbox, the dispatcher and the webhook channel over
//! HTTP. The peer is Prometheus's Alertmanager doing the same job: alerts posted to its
//! API at once, each routed to a webhook receiver; measured from the POST to the receiver.
//!
//! Both receivers count what arrives: every transition must reach the receiver exactly
//! once as a `firing` notification. A missing, repeated or unexpected notification is
//! reported (and makes the run fail), never silently left out of the percentiles.

use crate::client::Connection;
use crate::sys::{self, ChildGuard, Context};
use bytes::Bytes;
use continuo_core::state::{CheckStatus, Health};
use continuo_engine::alerts::{AlertOptions, Alerting, Channels};
use continuo_engine::testing::Switch;
use continuo_engine::{Clock, Engine, EngineHandle, EngineOptions, ProbeFactory, RunProbe};
use continuo_store::Store;
use continuo_store::writer::{Writer, WriterConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default path of Debian's Alertmanager.
pub const DEFAULT_ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// How long every notification gets to arrive before the run counts what it has.
const DELIVERY_LIMIT: Duration = Duration::from_secs(300);

/// How long the receiver keeps listening after the last expected notification, so a
/// notification sent twice is seen and counted.
const DUPLICATE_GRACE: Duration = Duration::from_secs(2);

/// The store Continuo's alerting writes to in a run.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A SQLite file (WAL) in the run's directory, as `continuo serve` by default.
    Sqlite,
    /// A PostgreSQL server: the run creates a database of its own on it (named
    /// `continuo_bench_<pid>`) and drops it afterwards. The URL names the server and
    /// the database to connect to for that.
    Postgres(String),
}

impl Backend {
    /// How the report names it.
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

/// A PostgreSQL database made for one run, dropped by [`Scratch::drop_database`].
struct Scratch {
    admin: String,
    name: String,
}

impl Scratch {
    /// Creates a fresh database on the server `admin` connects to; its URL.
    async fn create(admin: &str) -> Result<(Scratch, String), String> {
        use sqlx::Connection;
        // Digits only after a fixed prefix: safe to splice into the statements.
        let name = format!("continuo_bench_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .map_err(|e| format!("not available: cannot connect to {admin}: {e}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("dropping an old {name}: {e}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("creating {name}: {e}"))?;
        let _ = conn.close().await;
        // The same server and credentials, the new database.
        let (base, query) = match admin.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin, String::new()),
        };
        let server = match base.rsplit_once('/') {
            Some((server, _)) if server.contains("//") && !server.ends_with('/') => server,
            _ => base.trim_end_matches('/'),
        };
        let url = format!("{server}/{name}{query}");
        Ok((
            Scratch {
                admin: admin.to_string(),
                name,
            },
            url,
        ))
    }

    async fn drop_database(self) {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

/// Checks `c0` .. `c{open-1}` fail with the first switch, the others with the second:
/// the alerts already open, then the new ones.
struct Staged {
    open: usize,
    /// Checks from `open + new` on never fail.
    new: usize,
    first: Arc<AtomicBool>,
    second: Arc<AtomicBool>,
    never: Arc<AtomicBool>,
}

impl ProbeFactory for Staged {
    fn build(
        &self,
        check: &continuo_core::catalog::Check,
    ) -> Result<Option<Arc<dyn RunProbe>>, String> {
        let id = check.id.value.as_str();
        let index: usize = id
            .trim_start_matches('c')
            .parse()
            .map_err(|_| format!("unexpected check id {id}"))?;
        let switch = if index < self.open {
            &self.first
        } else if index < self.open + self.new {
            &self.second
        } else {
            &self.never
        };
        Ok(Some(Arc::new(Switch(switch.clone()))))
    }
}

/// Percentiles of one set of samples, in milliseconds (nearest rank).
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    /// Median.
    pub p50_ms: i64,
    /// 99th percentile.
    pub p99_ms: i64,
    /// Slowest.
    pub max_ms: i64,
}

impl Latency {
    /// `None` without samples.
    fn of(mut samples: Vec<i64>) -> Option<Latency> {
        samples.sort_unstable();
        let pick = |q: f64| {
            let rank = (samples.len() as f64 * q).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        let max = *samples.last()?;
        Some(Latency {
            p50_ms: pick(0.50),
            p99_ms: pick(0.99),
            max_ms: max,
        })
    }
}

/// What one system did with `expected` alerts at once.
#[derive(Clone, Debug)]
pub struct AlertRun {
    /// Alerts raised: checks that went down (Continuo) or alerts posted (Alertmanager).
    pub expected: usize,
    /// Of those, how many reached the receiver as a `firing` notification.
    pub delivered: usize,
    /// `firing` notifications beyond the first for the same alert.
    pub duplicates: usize,
    /// Requests that were not a `firing` notification of an expected alert.
    pub unexpected: usize,
    /// From the start (the transition, or the POST) to the receiver having the POST.
    pub latency: Option<Latency>,
    /// From the first start to the last arrival.
    pub all_delivered_ms: Option<i64>,
    /// Continuo: from the transition to the alert decision (the notice's `at_ms`).
    pub decided: Option<Latency>,
    /// Continuo: from the decision to the receiver having the POST.
    pub sent: Option<Latency>,
    /// Continuo: from the first transition to the last.
    pub transitions_spread_ms: Option<i64>,
    /// Alertmanager: how long the POST of all alerts took to be answered.
    pub post_ms: Option<i64>,
    /// Continuo: what its alerting decisions cost while the measured alerts came in.
    pub cost: Option<DecisionCost>,
    /// Continuo: services in the catalog.
    pub services: usize,
}

/// The alerting decisions made from the first measured failure until the last page
/// arrived, from the engine's own histograms (`continuo_alerting_decision_seconds`,
/// `continuo_alerting_commit_seconds`).
#[derive(Clone, Copy, Debug)]
pub struct DecisionCost {
    /// Decisions made (every health change, tick and command).
    pub decisions: u64,
    /// Their time in memory (the decision and every stage after it), microseconds.
    pub decide_us: u64,
    /// Commits made (decisions that changed something).
    pub commits: u64,
    /// Their time, microseconds.
    pub commit_us: u64,
}

impl DecisionCost {
    fn now(times: &continuo_engine::metrics::DecisionTimes) -> DecisionCost {
        DecisionCost {
            decisions: times.decide.count(),
            decide_us: times.decide.sum_us(),
            commits: times.commit.count(),
            commit_us: times.commit.sum_us(),
        }
    }

    fn since(self, before: DecisionCost) -> DecisionCost {
        DecisionCost {
            decisions: self.decisions - before.decisions,
            decide_us: self.decide_us - before.decide_us,
            commits: self.commits - before.commits,
            commit_us: self.commit_us - before.commit_us,
        }
    }

    /// The mean cost of a decision, its commit included, in milliseconds.
    pub fn per_decision_ms(&self) -> f64 {
        (self.decide_us + self.commit_us) as f64 / 1_000.0 / self.decisions.max(1) as f64
    }
}

impl AlertRun {
    /// Every alert arrived once, and nothing else did.
    pub fn exactly_once(&self) -> bool {
        self.delivered == self.expected && self.duplicates == 0 && self.unexpected == 0
    }
}

/// One request that reached a receiver, as one entry per alert it carries.
#[derive(Clone, Debug)]
struct Arrival {
    /// The alert: the service id (Continuo) or the `instance` label (Alertmanager).
    alert: String,
    /// `firing`, `resolved`, ...
    event: String,
    /// When the sender decided to send it, if the payload says (Continuo's `at_ms`).
    decided_ms: Option<i64>,
    /// When the receiver had the whole request.
    at_ms: i64,
}

/// Reads the alerts out of a request body; an empty list marks the request unexpected.
type Identify = fn(&serde_json::Value) -> Vec<(String, String, Option<i64>)>;

/// Continuo's webhook payload, version 1: one notice per request.
fn continuo_alerts(json: &serde_json::Value) -> Vec<(String, String, Option<i64>)> {
    let service = json["service"]["id"].as_str();
    let event = json["event"].as_str();
    match (service, event) {
        (Some(service), Some(event)) => {
            vec![(service.into(), event.into(), json["at_ms"].as_i64())]
        }
        _ => Vec::new(),
    }
}

/// Alertmanager's webhook payload, version 4: the alerts of one group.
fn alertmanager_alerts(json: &serde_json::Value) -> Vec<(String, String, Option<i64>)> {
    json["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .filter_map(|a| {
                    let instance = a["labels"]["instance"].as_str()?;
                    let status = a["status"].as_str()?;
                    Some((instance.to_string(), status.to_string(), None))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a receiver has been sent.
#[derive(Default)]
struct Log {
    arrivals: Vec<Arrival>,
    /// Alerts that arrived as `firing` at least once (kept as they arrive, so waiting
    /// for them costs nothing while the run is measured).
    firing: HashSet<String>,
    /// Requests with no alert in them.
    unreadable: usize,
}

/// A webhook receiver on 127.0.0.1 that records every alert it is sent, with the time
/// it had the whole request. Stops when dropped.
struct Receiver {
    port: u16,
    log: Arc<Mutex<Log>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    async fn start(clock: Clock, identify: Identify) -> Result<Receiver, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("receiver: binding 127.0.0.1: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("receiver: {e}"))?
            .port();
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = log.clone();
        let server = tokio::spawn(async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors, most likely: let some close.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let log = shared.clone();
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let log = log.clone();
                    async move {
                        let body = request.into_body().collect().await.map(|b| b.to_bytes());
                        let at_ms = clock.now_ms();
                        let alerts = body
                            .ok()
                            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                            .map(|json| identify(&json))
                            .unwrap_or_default();
                        let mut log = lock(&log);
                        if alerts.is_empty() {
                            log.unreadable += 1;
                        }
                        for (alert, event, decided_ms) in alerts {
                            if event == "firing" {
                                log.firing.insert(alert.clone());
                            }
                            log.arrivals.push(Arrival {
                                alert,
                                event,
                                decided_ms,
                                at_ms,
                            });
                        }
                        drop(log);
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Receiver { port, log, server })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Waits until `n` distinct alerts arrived as `firing`, or `limit` passed (what is
    /// missing shows in the tally), then a little longer to see any sent twice.
    async fn wait_for(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while lock(&self.log).firing.len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(DUPLICATE_GRACE).await;
    }

    /// Counts what arrived against the alerts that were raised, each with the time its
    /// clock started: (first `firing` arrival per alert, duplicates, unexpected).
    fn tally(&self, started: &HashMap<String, i64>) -> (HashMap<String, Arrival>, usize, usize) {
        let mut first: HashMap<String, Arrival> = HashMap::new();
        let mut duplicates = 0;
        let log = lock(&self.log);
        let mut unexpected = log.unreadable;
        for arrival in &log.arrivals {
            if arrival.event != "firing" || !started.contains_key(&arrival.alert) {
                unexpected += 1;
                continue;
            }
            match first.get_mut(&arrival.alert) {
                Some(earlier) => {
                    duplicates += 1;
                    if arrival.at_ms < earlier.at_ms {
                        *earlier = arrival.clone();
                    }
                }
                None => {
                    first.insert(arrival.alert.clone(), arrival.clone());
                }
            }
        }
        (first, duplicates, unexpected)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `n` independent services (no dependencies, so no grouping wait), one check each
/// (1 s interval, down on the first failure), all owned by one team whose escalation
/// pages one webhook channel at once.
fn catalog_text(n: usize, hook: &str) -> String {
    let mut config = format!(
        "[organization]\nname = \"Bench\"\ntimezone = \"UTC\"\n\n\
         [[team]]\nid = \"ops\"\nescalation = \"page\"\n\n\
         [[escalation]]\nid = \"page\"\nlevels = [{{ after = \"0m\", notify = [\"channel:hook\"] }}]\n\n\
         [[channel]]\nid = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"\n"
    );
    for i in 0..n {
        config.push_str(&format!(
            "\n[[service]]\nid = \"s{i}\"\nname = \"Service {i}\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n\n\
             [[service.check]]\nid = \"c{i}\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:9\"\n\
             interval = \"1s\"\nfail_threshold = 1\nrecover_threshold = 1\n"
        ));
    }
    config
}

/// Continuo: `n` services fail at once (within one probe interval); each pages one
/// webhook. With `open` above 0, as many other services failed before and their pages
/// went out (their alerts are open) when the `n` fail. Wired as `continuo serve` wires
/// it: engine with a store writer, alerting on the same database, the real webhook
/// channel, 64 sends in flight. The catalog has `services` services (at least
/// `open + n`); the others stay up, so runs with different numbers open can share one
/// catalog size and differ only in what is open.
pub async fn continuo(
    n: usize,
    open: usize,
    services: usize,
    backend: &Backend,
    data: &Path,
) -> Result<AlertRun, String> {
    let (url, scratch) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", data.join("alerting.db").display()),
            None,
        ),
        Backend::Postgres(admin) => {
            let (scratch, url) = Scratch::create(admin).await?;
            (url, Some(scratch))
        }
    };
    let result = continuo_on(n, open, services.max(open + n), &url, data).await;
    if let Some(scratch) = scratch {
        scratch.drop_database().await;
    }
    result
}

async fn continuo_on(
    n: usize,
    open: usize,
    services: usize,
    url: &str,
    data: &Path,
) -> Result<AlertRun, String> {
    // One clock for the transitions, the decisions and the arrivals.
    let clock = Clock::system();
    let receiver = Receiver::start(clock, continuo_alerts).await?;
    let catalog = Arc::new(
        continuo_core::load_text(&catalog_text(services, &receiver.url()))
            .map_err(|e| format!("the generated catalog is invalid: {e:?}"))?,
    );
    let store = Store::open(url)
        .await
        .map_err(|e| format!("opening {url}: {e}"))?;
    let (channels, problems) =
        Channels::build(&catalog, Arc::new(continuo_notify::Templates::builtin()));
    if !problems.is_empty() {
        return Err(format!(
            "building the webhook channel: {}",
            problems.join("; ")
        ));
    }
    let before = Arc::new(AtomicBool::new(false));
    let down = Arc::new(AtomicBool::new(false));
    let mut options = EngineOptions::new("bench", data);
    options.clock = clock;
    options.probes = Arc::new(Staged {
        open,
        new: n,
        first: before.clone(),
        second: down.clone(),
        never: Arc::new(AtomicBool::new(false)),
    });
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    let engine = Engine::start(catalog.clone(), options, Some(writer));
    let alerting = Alerting::start(
        catalog,
        AlertOptions {
            clock,
            store: Arc::new(store.clone()),
            deliver: Arc::new(channels),
            public_url: "http://127.0.0.1:8080".into(),
            secret: b"bench".to_vec(),
            max_in_flight: 64,
            incidents: Default::default(),
        },
        engine.handle().health_watch(),
    )
    .await;
    let result = match alerting {
        Ok(alerting) => {
            let times = alerting.handle().decision_times();
            let result = fail_all(
                n,
                open,
                services,
                &engine.handle(),
                &times,
                Switches {
                    before: &before,
                    down: &down,
                },
                &receiver,
            )
            .await;
            alerting.shutdown().await;
            result
        }
        Err(e) => Err(format!("starting alerting: {e}")),
    };
    engine.shutdown().await;
    store.close().await;
    result
}

/// The two switches of a run: the services to open first fail, then the measured ones.
struct Switches<'a> {
    before: &'a AtomicBool,
    down: &'a AtomicBool,
}

/// Brings every service up, fails the first `open` and waits for their pages, then
/// fails the next `n` and counts what the receiver gets for them.
async fn fail_all(
    n: usize,
    open: usize,
    services: usize,
    engine: &EngineHandle,
    times: &continuo_engine::metrics::DecisionTimes,
    switches: Switches<'_>,
    receiver: &Receiver,
) -> Result<AlertRun, String> {
    let Switches { before, down } = switches;
    // Every service operational first, so each failure is a transition from up.
    let all = services;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let services = engine.services();
        let up = services
            .iter()
            .filter(|s| s.health.health == Health::Operational)
            .count();
        if up == all {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {up} of {all} services came up within 120 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if open > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        before.store(true, Ordering::SeqCst);
        receiver.wait_for(open, DELIVERY_LIMIT).await;
        let opened = lock(&receiver.log).firing.len();
        if opened < open {
            return Err(format!(
                "only {opened} of the {open} alerts to open first were paged"
            ));
        }
        // What arrives from now on is the measured part; a page of an open alert sent
        // again would count as unexpected.
        *lock(&receiver.log) = Log::default();
    }
    // Health reaches alerting through a watch, at once; this is ample for it to see
    // every service up before anything fails.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Every check's next run (within one 1 s interval) fails.
    let costs_before = DecisionCost::now(times);
    down.store(true, Ordering::SeqCst);
    receiver.wait_for(n, DELIVERY_LIMIT).await;
    let cost = DecisionCost::now(times).since(costs_before);
    // Read once the notifications are in, so the bench does not poll the engine while it
    // is measured. Every service was up, so a check that is down now went down after the
    // switch, at `since_ms`.
    let transitions: HashMap<String, i64> = engine
        .checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Down)
        .filter(|c| {
            c.id.trim_start_matches('c')
                .parse::<usize>()
                .is_ok_and(|i| i >= open && i < open + n)
        })
        .filter_map(|c| Some((c.service.clone(), c.since_ms?)))
        .collect();
    let (first, duplicates, unexpected) = receiver.tally(&transitions);
    let mut latency = Vec::with_capacity(n);
    let mut decided = Vec::with_capacity(n);
    let mut sent = Vec::with_capacity(n);
    for (service, arrival) in &first {
        let since = transitions[service];
        latency.push(arrival.at_ms - since);
        if let Some(d) = arrival.decided_ms {
            decided.push(d - since);
            sent.push(arrival.at_ms - d);
        }
    }
    let first_transition = transitions.values().min().copied();
    let last_transition = transitions.values().max().copied();
    let last_arrival = first.values().map(|a| a.at_ms).max();
    Ok(AlertRun {
        expected: n,
        delivered: first.len(),
        duplicates,
        unexpected,
        latency: Latency::of(latency),
        all_delivered_ms: first_transition.zip(last_arrival).map(|(f, l)| l - f),
        decided: Latency::of(decided),
        sent: Latency::of(sent),
        transitions_spread_ms: first_transition.zip(last_transition).map(|(f, l)| l - f),
        post_ms: None,
        cost: Some(cost),
        services,
    })
}

/// Alertmanager: `n` alerts posted at once in one request, each its own group
/// (`group_by: [instance]`, `group_wait: 0s`), each group sent to a webhook receiver.
pub async fn alertmanager(
    n: usize,
    open: usize,
    binary: &Path,
    data: &Path,
) -> Result<AlertRun, String> {
    let clock = Clock::system();
    let receiver = Receiver::start(clock, alertmanager_alerts).await?;
    let port = sys::free_port()?;
    let config = data.join("alertmanager.yml");
    // repeat_interval is far beyond the run, so each group is sent once.
    sys::write_atomically(
        &config,
        &format!(
            "route:\n  receiver: hook\n  group_by: ['instance']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: hook\n    webhook_configs:\n      - url: {}\n        send_resolved: false\n",
            receiver.url()
        ),
    )?;
    let log_path = data.join("alertmanager.log");
    let log =
        std::fs::File::create(&log_path).context(format!("creating {}", log_path.display()))?;
    let _child = ChildGuard::spawn(
        "prometheus-alertmanager",
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                data.join("alertmanager-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // No cluster: a single instance sends without waiting for peers.
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log),
    )?;
    post_alerts(n, open, port, &clock, &receiver)
        .await
        .map_err(|e| {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            format!(
                "Alertmanager: {e} (its log ends: {})",
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            )
        })
}

/// Posts `open` alerts and waits for their notifications, then posts `n` new ones at
/// once and measures those.
async fn post_alerts(
    n: usize,
    open: usize,
    port: u16,
    clock: &Clock,
    receiver: &Receiver,
) -> Result<AlertRun, String> {
    let mut api = Connection::new(SocketAddr::from(([127, 0, 0, 1], port)));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = api
            .request(Method::GET, "/-/ready", Bytes::new())
            .await
            .is_ok_and(|a| a.status == 200);
        if ready {
            break;
        }
        if Instant::now() > deadline {
            return Err("not ready within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let starts = jiff::Timestamp::now();
    let ends = starts + jiff::SignedDuration::from_secs(3_600);
    let batch = |range: std::ops::Range<usize>| -> Result<Bytes, String> {
        let alerts: Vec<serde_json::Value> = range
            .map(|i| {
                serde_json::json!({
                    "labels": { "alertname": "ServiceDown", "instance": format!("s{i}") },
                    "annotations": { "summary": format!("s{i} is down") },
                    "startsAt": starts.to_string(),
                    "endsAt": ends.to_string(),
                })
            })
            .collect();
        serde_json::to_vec(&alerts)
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    };
    if open > 0 {
        let answer = api
            .post_json("/api/v2/alerts", batch(n..n + open)?)
            .await
            .map_err(|e| format!("posting the alerts to open first: {e}"))?;
        if answer.status != 200 {
            return Err(format!(
                "the alerts to open first were refused: {}",
                answer.status
            ));
        }
        receiver.wait_for(open, DELIVERY_LIMIT).await;
        *lock(&receiver.log) = Log::default();
    }
    let body = batch(0..n)?;
    let sent_ms = clock.now_ms();
    let answer = api
        .post_json("/api/v2/alerts", body)
        .await
        .map_err(|e| format!("posting the alerts: {e}"))?;
    let post_ms = clock.now_ms() - sent_ms;
    if answer.status != 200 {
        return Err(format!(
            "the alerts were refused: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    receiver.wait_for(n, DELIVERY_LIMIT).await;
    let started: HashMap<String, i64> = (0..n).map(|i| (format!("s{i}"), sent_ms)).collect();
    let (first, duplicates, unexpected) = receiver.tally(&started);
    let latency: Vec<i64> = first.values().map(|a| a.at_ms - sent_ms).collect();
    let last_arrival = first.values().map(|a| a.at_ms).max();
    Ok(AlertRun {
        expected: n,
        delivered: first.len(),
        duplicates,
        unexpected,
        latency: Latency::of(latency),
        all_delivered_ms: last_arrival.map(|l| l - sent_ms),
        decided: None,
        sent: None,
        transitions_spread_ms: None,
        post_ms: Some(post_ms),
        cost: None,
        services: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::Latency;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latency::of((1..=1_000).rev().collect()).expect("samples");
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (500, 990, 1_000));
        let l = Latency::of(vec![7]).expect("one sample");
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (7, 7, 7));
        assert!(Latency::of(Vec::new()).is_none());
    }
}
