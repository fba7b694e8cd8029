//! Scenario 6: the failover gateway (issue 7), side by side with Debian's haproxy on the
//! same two local backends (in this process, each answering its name).
//!
//! 1. Throughput and latency of GET requests over keep-alive connections: direct to the
//!    primary backend, through Continuo's gateway, through haproxy (`check` on both
//!    servers, `backup` on the second); p50 and p99 added latency are the differences
//!    to the direct run.
//! 2. Failover: steady GET load, the primary backend is killed (its listener and every
//!    connection dropped at once), the load goes on. Counted at the client: failed
//!    requests, time from the kill to the first answer from the backup and to the last
//!    failed request. For Continuo also the failover as the gateway measured it (first
//!    failure to first backup success). haproxy runs with its default checks
//!    (`inter 2s fall 3 rise 2`) and no `option redispatch`/retry-on tuning.

use crate::client::Connection;
use crate::sys::{ChildGuard, Context, Result, free_port};
use bytes::Bytes;
use continuo_core::catalog::Role;
use continuo_core::catalog::gateway::GatewayMode;
use continuo_gateway::{EndpointSpec, EventKind, Gateway, GatewayMetrics, GatewaySpec};
use http_body_util::Full;
use hyper::Method;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::{JoinHandle, JoinSet};

/// Where Debian installs haproxy.
pub const DEFAULT_HAPROXY: &str = "/usr/sbin/haproxy";

async fn backend(name: &'static str) -> Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a backend")?;
    let addr = listener.local_addr().context("backend address")?;
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |_req| async move {
                    Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(name))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
            while connections.try_join_next().is_some() {}
        }
    });
    Ok((addr, task))
}

struct Throughput {
    per_second: f64,
    p50_us: u64,
    p99_us: u64,
    failed: usize,
}

async fn throughput(addr: SocketAddr, total: usize, concurrency: usize) -> Result<Throughput> {
    let work = Arc::new(crate::load::Work::new(total));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (work, latencies, failed) = (work.clone(), latencies.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::new(addr);
            let mut mine = Vec::new();
            while work.take().is_some() {
                let t = Instant::now();
                match connection.request(Method::GET, "/", Bytes::new()).await {
                    Ok(a) if a.status == 200 => mine.push(t.elapsed().as_micros() as u64),
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if let Ok(mut all) = latencies.lock() {
                all.extend(mine);
            }
        }));
    }
    for w in workers {
        w.await.context("a load worker panicked")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = latencies.lock().map_err(|_| "poisoned")?.clone();
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    Ok(Throughput {
        per_second: all.len() as f64 / elapsed,
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        failed: failed.load(Ordering::Relaxed),
    })
}

struct FailoverRun {
    requests: usize,
    failed: usize,
    first_backup_ms: Option<f64>,
    last_failure_ms: Option<f64>,
}

/// Steady load on `front`; `kill` runs after `before`; the load goes on for `after`.
async fn failover(
    front: SocketAddr,
    concurrency: usize,
    before: Duration,
    after: Duration,
    kill: impl FnOnce(),
) -> Result<FailoverRun> {
    let stop = Arc::new(AtomicBool::new(false));
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let records: Arc<Mutex<Vec<(Instant, bool, bool)>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (stop, records) = (stop.clone(), records.clone());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::new(front);
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let answer = connection.request(Method::GET, "/", Bytes::new()).await;
                let (ok, backup) = match answer {
                    Ok(a) if a.status == 200 => (true, &a.body[..] == b"backup"),
                    _ => (false, false),
                };
                mine.push((Instant::now(), ok, backup));
                if !ok {
                    // A failed client backs off a little instead of spinning.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            if let Ok(mut all) = records.lock() {
                all.extend(mine);
            }
        }));
    }
    tokio::time::sleep(before).await;
    kill();
    *killed_at.lock().map_err(|_| "poisoned")? = Some(Instant::now());
    tokio::time::sleep(after).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.context("a load worker panicked")?;
    }
    let killed = killed_at
        .lock()
        .map_err(|_| "poisoned")?
        .ok_or("no kill time")?;
    let records = records.lock().map_err(|_| "poisoned")?;
    let since = |t: Instant| t.saturating_duration_since(killed).as_secs_f64() * 1000.0;
    Ok(FailoverRun {
        requests: records.len(),
        failed: records.iter().filter(|r| !r.1).count(),
        first_backup_ms: records
            .iter()
            .filter(|r| r.2)
            .map(|r| since(r.0))
            .reduce(f64::min),
        last_failure_ms: records
            .iter()
            .filter(|r| !r.1)
            .map(|r| since(r.0))
            .reduce(f64::max),
    })
}

fn spec(primary: SocketAddr, backup: SocketAddr) -> Result<GatewaySpec> {
    let listen = format!("127.0.0.1:{}", free_port()?)
        .parse()
        .context("address")?;
    Ok(GatewaySpec::new(
        "bench",
        listen,
        GatewayMode::Http,
        vec![
            EndpointSpec {
                name: "primary".into(),
                address: primary.to_string(),
                role: Role::Primary,
                tls: false,
            },
            EndpointSpec {
                name: "backup".into(),
                address: backup.to_string(),
                role: Role::Backup,
                tls: false,
            },
        ],
    ))
}

fn haproxy(
    binary: &Path,
    dir: &Path,
    primary: SocketAddr,
    backup: SocketAddr,
    tag: &str,
) -> Result<(ChildGuard, SocketAddr, String)> {
    let port = free_port()?;
    let socket = dir
        .join(format!("haproxy-{tag}.sock"))
        .display()
        .to_string();
    let config = format!(
        "global\n  maxconn 4096\n  stats socket {socket} mode 600 level admin\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n\
         frontend fe\n  bind 127.0.0.1:{port}\n  default_backend be\n\
         backend be\n  server primary {primary} check\n  server backup {backup} check backup\n"
    );
    let path = dir.join(format!("haproxy-{tag}.cfg"));
    std::fs::write(&path, config).context("writing haproxy.cfg")?;
    let child = ChildGuard::spawn(
        "haproxy",
        Command::new(binary)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().context("address")?;
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok((child, addr, socket));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err("haproxy did not start listening".into())
}

fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.0} ms"))
}

/// The gateway in this helper process: listens until stdin closes (the parent is done
/// or gone).
pub fn server(primary: &str, backup: &str, port_file: &Path) -> Result<()> {
    let primary: SocketAddr = primary.parse().context("the primary's address")?;
    let backup: SocketAddr = backup.parse().context("the backup's address")?;
    crate::sys::runtime()?.block_on(async {
        let gateway = Gateway::start(
            spec(primary, backup)?,
            Arc::new(GatewayMetrics::new()),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        crate::sys::write_atomically(port_file, &gateway.local_addr().port().to_string())?;
        // Until the parent closes stdin, read on a thread of its own.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut sink);
        })
        .await
        .context("waiting for the parent")?;
        gateway.shutdown();
        Ok(())
    })
}

/// Starts the gateway helper process and waits for its port.
fn gateway_process(
    dir: &Path,
    primary: SocketAddr,
    backup: SocketAddr,
) -> Result<(ChildGuard, SocketAddr)> {
    let port_file = dir.join("gateway-server.port");
    let _ = std::fs::remove_file(&port_file);
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut process = ChildGuard::spawn(
        "the gateway process",
        Command::new(exe)
            .arg("gateway-server")
            .arg("--primary")
            .arg(primary.to_string())
            .arg("--backup")
            .arg(backup.to_string())
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::null()),
    )?;
    let port: u16 = crate::sys::wait_for_file(&port_file, &mut process, Duration::from_secs(30))?
        .trim()
        .parse()
        .context("the gateway process's port file")?;
    Ok((process, SocketAddr::from(([127, 0, 0, 1], port))))
}

/// Runs both parts and returns the Markdown section.
pub async fn run(binary: &Path, dir: &Path, requests: usize, concurrency: usize) -> Result<String> {
    let version = crate::sys::version_line(binary).unwrap_or_else(|| "haproxy not found".into());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### Failover gateway (issue 7), side by side with {version}\n"
    );
    let _ = writeln!(
        out,
        "Throughput: {requests} GET requests per run, {concurrency} keep-alive connections, tiny bodies; backends and load generator in this process; haproxy and Continuo's gateway each a process of its own (as `continuo gateway` runs it), and Continuo's gateway once more inside this process, sharing its runtime with the load generator and backends.\n"
    );
    let _ = writeln!(
        out,
        "| path | requests/s | p50 | p99 | added p50 | added p99 | failed |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");

    // Part 1: throughput and added latency.
    let (primary, primary_task) = backend("primary").await?;
    let (backup, backup_task) = backend("backup").await?;
    let metrics = Arc::new(GatewayMetrics::new());
    let gateway = Gateway::start(spec(primary, backup)?, metrics.clone(), None)
        .await
        .map_err(|e| e.to_string())?;
    let (proxy, proxy_addr, _) = haproxy(binary, dir, primary, backup, "throughput")?;
    let (own, own_addr) = gateway_process(dir, primary, backup)?;
    // Warm-up of every path, then the measured runs.
    for addr in [primary, own_addr, gateway.local_addr(), proxy_addr] {
        throughput(addr, 2_000.min(requests), concurrency).await?;
    }
    let direct = throughput(primary, requests, concurrency).await?;
    let continuo = throughput(own_addr, requests, concurrency).await?;
    let peer = throughput(proxy_addr, requests, concurrency).await?;
    let inside = throughput(gateway.local_addr(), requests, concurrency).await?;
    for (name, run) in [
        ("direct", &direct),
        ("Continuo gateway (own process)", &continuo),
        ("haproxy (own process)", &peer),
        ("Continuo gateway (in this process)", &inside),
    ] {
        let added = |a: u64, b: u64| format!("{:.0} µs", a as f64 - b as f64);
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {} µs | {} µs | {} | {} | {} |",
            run.per_second,
            run.p50_us,
            run.p99_us,
            if name == "direct" {
                "—".into()
            } else {
                added(run.p50_us, direct.p50_us)
            },
            if name == "direct" {
                "—".into()
            } else {
                added(run.p99_us, direct.p99_us)
            },
            run.failed
        );
    }
    let _ = writeln!(
        out,
        "\nContinuo (own process) against haproxy: {:.0} % of its requests/s; added p99 {} µs against {} µs.",
        100.0 * continuo.per_second / peer.per_second.max(1.0),
        continuo.p99_us as i64 - direct.p99_us as i64,
        peer.p99_us as i64 - direct.p99_us as i64,
    );
    drop(own);
    drop(proxy);
    gateway.shutdown();
    primary_task.abort();
    backup_task.abort();

    // Part 2: the failover run, each tool with fresh backends.
    let (before, after) = (Duration::from_secs(3), Duration::from_secs(10));
    let load = 8.min(concurrency).max(1);
    let _ = writeln!(
        out,
        "\nFailover: {load} connections of steady GET load, primary killed after {} s, load for {} s more.\n",
        before.as_secs(),
        after.as_secs()
    );
    let _ = writeln!(
        out,
        "| tool | requests | failed | first backup answer after kill | last failure after kill | failover as measured by the tool |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");

    let (primary, primary_task) = backend("primary").await?;
    let (backup, backup_task) = backend("backup").await?;
    let gateway = Gateway::start(
        spec(primary, backup)?,
        Arc::new(GatewayMetrics::new()),
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    let run = failover(gateway.local_addr(), load, before, after, move || {
        primary_task.abort()
    })
    .await?;
    let measured = gateway
        .handle()
        .status()
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::FailoverFinished { duration_ms, failed_requests, retried_requests, .. } => Some(format!(
                "{duration_ms} ms from first failure to first backup success; {failed_requests} failed, {retried_requests} retried"
            )),
            _ => None,
        })
        .unwrap_or_else(|| "no failover event".into());
    let _ = writeln!(
        out,
        "| Continuo gateway | {} | {} | {} | {} | {measured} |",
        run.requests,
        run.failed,
        ms(run.first_backup_ms),
        ms(run.last_failure_ms)
    );
    gateway.shutdown();
    backup_task.abort();

    let (primary, primary_task) = backend("primary").await?;
    let (backup, backup_task) = backend("backup").await?;
    let (proxy, proxy_addr, socket) = haproxy(binary, dir, primary, backup, "failover")?;
    // Let haproxy's first checks pass before the load starts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let run = failover(proxy_addr, load, before, after, move || {
        primary_task.abort()
    })
    .await?;
    let _ = writeln!(
        out,
        "| haproxy | {} | {} | {} | {} | (not measured by haproxy) |",
        run.requests,
        run.failed,
        ms(run.first_backup_ms),
        ms(run.last_failure_ms)
    );
    // The HAProxy failover action against this real haproxy's admin socket.
    let action =
        continuo_gateway::haproxy_command(&socket, "set server be/primary state maint\n").await;
    let _ = writeln!(
        out,
        "\nHAProxy runtime API action (`set server be/primary state maint` over the admin socket): {}",
        match action {
            Ok(m) => m,
            Err(e) => format!("FAILED: {e}"),
        }
    );
    drop(proxy);
    backup_task.abort();
    Ok(out)
}
