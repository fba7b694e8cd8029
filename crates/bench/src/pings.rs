//! Scenario 4: heartbeat pings accepted and durably stored per second. A child process
//! (`continuo-bench ping-server`) runs the real web router, engine and SQLite store
//! writer as `continuo serve` wires them, with a catalog of heartbeat checks; this
//! process fires `POST /ping/<uuid>` over keep-alive connections, then asks the child to
//! flush the writer and count the rows of the `pings` table. Only stored rows count, and
//! the clock stops when the flush has completed.
//!
//! Durability rule: a ping is answered 200 only after the transaction holding it
//! committed (the writer's group commit, `Writer::submit_durable`), so the answered rate
//! is itself a durably-stored rate; the flush at the end finds nothing of the pings left
//! to write. SQLite runs in WAL mode with `synchronous = NORMAL`: a commit survives the
//! process being killed, not a power loss.

use crate::client::Connection;
use crate::load::Work;
use crate::sys::{
    ChildGuard, Context, Result, cpu_seconds, runtime, wait_for_file, write_atomically,
};
use bytes::Bytes;
use continuo_engine::{Engine, EngineOptions};
use continuo_store::Store;
use continuo_store::writer::{Writer, WriterConfig};
use continuo_web::AppState;
use hyper::Method;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the ping server reports after the flush.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stored {
    /// Rows in the `pings` table.
    pub rows: u64,
    /// Records the writer wrote (pings, observations, transitions, states).
    pub written: u64,
    /// Records the writer dropped because its buffer was full.
    pub dropped: u64,
    /// Records still waiting after the flush.
    pub pending: u64,
}

/// What a ping run measured.
#[derive(Clone, Debug)]
pub struct PingRun {
    /// Pings sent (each answered 200).
    pub sent: usize,
    /// Heartbeat checks in the catalog.
    pub checks: usize,
    /// From the first ping to the last answer.
    pub accepted_elapsed: Duration,
    /// From the first ping to the end of the flush.
    pub stored_elapsed: Duration,
    /// What the server stored.
    pub stored: Stored,
    /// CPU seconds of the server process, first ping to flushed.
    pub server_cpu_seconds: f64,
}

impl PingRun {
    /// Pings answered per second.
    pub fn accepted_rate(&self) -> f64 {
        self.sent as f64 / self.accepted_elapsed.as_secs_f64().max(1e-9)
    }

    /// Stored rows per second, until the flush completed.
    pub fn stored_rate(&self) -> f64 {
        self.stored.rows as f64 / self.stored_elapsed.as_secs_f64().max(1e-9)
    }
}

/// The uuid of heartbeat number `i`.
pub fn uuid(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i, i)
}

/// A catalog of `checks` heartbeat checks (period 1h, grace 5m), 100 per service.
pub fn catalog_text(checks: usize) -> String {
    // Every ping comes from 127.0.0.1: the public rate limit per address is off.
    let mut text = String::from("[server]\npublic_rate_limit = 0\n[[team]]\nid = \"ops\"\n");
    for i in 0..checks {
        if i % 100 == 0 {
            let _ = write!(
                text,
                "\n[[service]]\nid = \"jobs{}\"\ntier = 3\nowner = \"ops\"\nrto = \"1d\"\n",
                i / 100
            );
        }
        let _ = write!(
            text,
            "[[service.check]]\nid = \"hb{i}\"\nkind = \"heartbeat\"\nuuid = \"{}\"\nperiod = \"1h\"\ngrace = \"5m\"\n",
            uuid(i)
        );
    }
    text
}

/// Starts the ping server, fires `pings` pings spread over `checks` heartbeats, flushes
/// and counts.
pub async fn run(
    dir: &Path,
    pings: usize,
    checks: usize,
    concurrency: usize,
    ticks: f64,
) -> Result<PingRun> {
    let port_file = dir.join("ping-server.port");
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut process = ChildGuard::spawn(
        "the ping server",
        Command::new(exe)
            .arg("ping-server")
            .arg("--checks")
            .arg(checks.to_string())
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )?;
    let port: u16 = wait_for_file(&port_file, &mut process, Duration::from_secs(30))?
        .trim()
        .parse()
        .context("the ping server's port file")?;
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let checks = checks.max(1);
    let paths: Arc<Vec<String>> =
        Arc::new((0..checks).map(|i| format!("/ping/{}", uuid(i))).collect());

    let work = Arc::new(Work::new(pings));
    let pid = Some(process.pid());
    let cpu_before = cpu_seconds(pid, ticks)?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let work = work.clone();
        let paths = paths.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::new(server);
            while let Some(i) = work.take() {
                let path = &paths[i % paths.len()];
                match connection.request(Method::POST, path, Bytes::new()).await {
                    Ok(answer) if answer.status == 200 => {}
                    Ok(answer) => work.fail(format!("{path} answered {}", answer.status)),
                    Err(e) => work.fail(e),
                }
            }
        }));
    }
    for worker in workers {
        worker.await.context("a ping worker panicked")?;
    }
    let accepted_elapsed = started.elapsed();
    work.outcome(accepted_elapsed)
        .require_all_succeeded("heartbeat pings")?;

    // Ask for the flush; the clock stops when it is done.
    let stdin = process
        .child
        .stdin
        .as_mut()
        .ok_or("the ping server has no stdin")?;
    stdin
        .write_all(b"flush\n")
        .and_then(|()| stdin.flush())
        .context("asking the ping server to flush")?;
    let stdout = process
        .child
        .stdout
        .take()
        .ok_or("the ping server has no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = || -> Result<String> {
        lines
            .next()
            .ok_or("the ping server stopped before answering")?
            .context("reading the ping server's answer")
    };
    let flushed = next_line()?;
    let stored_elapsed = started.elapsed();
    let cpu_after = cpu_seconds(pid, ticks)?;
    if flushed.trim() != "flushed" {
        return Err(format!(
            "the ping server said `{flushed}` instead of `flushed`"
        ));
    }
    let report = next_line()?;
    let stored: Stored =
        serde_json::from_str(&report).context(format!("the ping server's report `{report}`"))?;
    Ok(PingRun {
        sent: pings,
        checks,
        accepted_elapsed,
        stored_elapsed,
        stored,
        server_cpu_seconds: cpu_after - cpu_before,
    })
}

/// Writes a line to the parent at once.
fn say(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("answering the parent")
}

/// The `ping-server` subcommand: serves the ping API until stdin closes; on a `flush`
/// line it flushes the store writer, prints `flushed`, then a [`Stored`] JSON line.
pub fn server(checks: usize, port_file: &Path) -> Result<()> {
    let text = catalog_text(checks);
    let catalog = continuo_core::load_text(&text).map_err(|e| {
        let first: Vec<String> = e.into_iter().take(3).collect();
        format!("the generated catalog is invalid: {}", first.join("; "))
    })?;
    // Commands from the parent, read on a thread of their own (the runtime has no stdin
    // support); the channel closes when stdin does.
    let (commands, mut command_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if commands.send(line).is_err() {
                break;
            }
        }
    });
    runtime()?.block_on(async {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let url = format!("sqlite://{}", dir.path().join("continuo.db").display());
        let store = Store::open(&url)
            .await
            .context("opening the SQLite store")?;
        let writer = Writer::spawn(store.clone(), WriterConfig::default());
        let mut options = EngineOptions::new(catalog.server.location.clone(), ".");
        options.max_concurrency = catalog.server.max_concurrent_probes as usize;
        let engine = Engine::start(Arc::new(catalog), options, Some(writer));
        let handle = engine.handle();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the ping server")?;
        let port = listener.local_addr().context("ping server address")?.port();
        let state = AppState {
            engine: handle.clone(),
            store: Some(store.clone()),
            reloader: None,
            admin_token: None,
            alerts: None,
            gateways: None,
        };
        let web = tokio::spawn(continuo_web::serve(
            listener,
            state,
            std::future::pending::<()>(),
        ));
        write_atomically(port_file, &port.to_string())?;
        while let Some(command) = command_rx.recv().await {
            if command.trim() != "flush" {
                continue;
            }
            let writer = handle.writer().ok_or("the engine has no writer")?;
            writer.flush().await;
            say("flushed")?;
            let pool = sqlx::SqlitePool::connect(&url)
                .await
                .context("opening the database to count")?;
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pings")
                .fetch_one(&pool)
                .await
                .context("counting pings")?;
            pool.close().await;
            let status = writer.status();
            let stored = Stored {
                rows: u64::try_from(rows).unwrap_or(0),
                written: status.written(),
                dropped: status.dropped(),
                pending: status.pending(),
            };
            say(&serde_json::to_string(&stored).context("encoding the report")?)?;
        }
        web.abort();
        engine.shutdown().await;
        store.close().await;
        Ok(())
    })
}
