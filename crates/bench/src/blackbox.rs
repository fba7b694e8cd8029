//! Scenario 2: the same HTTP probe workload through Debian's
//! `prometheus-blackbox-exporter`, started here on a free port of 127.0.0.1 with a
//! generated configuration (module `http_2xx`, prober `http`, timeout 5s) and driven
//! over keep-alive connections with `GET /probe?module=http_2xx&target=...`, each answer
//! checked for `probe_success 1`. Its CPU comes from `/proc/<pid>/stat`, so the driving
//! client is not counted against it (as the benchmark's own probe driver is counted
//! against Continuo, which makes the comparison slightly in blackbox_exporter's favour).

use crate::client::Connection;
use crate::load::Work;
use crate::probes::ProbeRun;
use crate::sys::{self, ChildGuard, Context, Result, cpu_seconds};
use bytes::Bytes;
use hyper::Method;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where Debian installs the exporter.
pub const DEFAULT_PATH: &str = "/usr/bin/prometheus-blackbox-exporter";

const CONFIG: &str = "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n";

async fn probe_many(
    exporter: SocketAddr,
    path: &Arc<String>,
    count: usize,
    concurrency: usize,
) -> Result<crate::load::Outcome> {
    let work = Arc::new(Work::new(count));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let work = work.clone();
        let path = path.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::new(exporter);
            while work.take().is_some() {
                match connection.request(Method::GET, &path, Bytes::new()).await {
                    Ok(answer) if answer.status == 200 => {
                        let body = String::from_utf8_lossy(&answer.body);
                        if !body.lines().any(|l| l.trim() == "probe_success 1") {
                            work.fail("the exporter answered without `probe_success 1`".into());
                        }
                    }
                    Ok(answer) => work.fail(format!("the exporter answered {}", answer.status)),
                    Err(e) => work.fail(e),
                }
            }
        }));
    }
    for worker in workers {
        worker.await.context("a blackbox worker panicked")?;
    }
    Ok(work.outcome(started.elapsed()))
}

/// Starts the exporter and runs `count` probes of `url` through it.
pub async fn run(
    binary: &Path,
    dir: &Path,
    url: &str,
    count: usize,
    concurrency: usize,
    ticks: f64,
) -> Result<ProbeRun> {
    let config = dir.join("blackbox.yml");
    std::fs::write(&config, CONFIG).context("writing blackbox.yml")?;
    let port = sys::free_port()?;
    let log = std::fs::File::create(dir.join("blackbox.log")).context("creating blackbox.log")?;
    let mut process = ChildGuard::spawn(
        "prometheus-blackbox-exporter",
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log),
    )?;
    let exporter = SocketAddr::from(([127, 0, 0, 1], port));
    let path = Arc::new(format!("/probe?module=http_2xx&target={url}"));
    // Ready when it answers a probe.
    let started = Instant::now();
    loop {
        process.ensure_running().map_err(|e| {
            let log = std::fs::read_to_string(dir.join("blackbox.log")).unwrap_or_default();
            format!("{e}: {}", log.trim())
        })?;
        let mut connection = Connection::new(exporter);
        if let Ok(answer) = connection.request(Method::GET, &path, Bytes::new()).await
            && answer.status == 200
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(15) {
            return Err("prometheus-blackbox-exporter did not answer within 15s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    probe_many(exporter, &path, (count / 20).clamp(50, 1_000), concurrency)
        .await?
        .require_all_succeeded("blackbox_exporter warm-up probes")?;
    let pid = Some(process.pid());
    let cpu_before = cpu_seconds(pid, ticks)?;
    let outcome = probe_many(exporter, &path, count, concurrency).await?;
    let cpu_after = cpu_seconds(pid, ticks)?;
    outcome.require_all_succeeded("blackbox_exporter probes")?;
    drop(process);
    Ok(ProbeRun {
        outcome,
        cpu_seconds: cpu_after - cpu_before,
    })
}
