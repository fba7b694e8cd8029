//! Scenario 7: the public status page (issue 6) under load, side by side with Debian's
//! nginx serving the same bytes as static files. Continuo's real router (engine,
//! alerting, SQLite store with 90 days of day rollups for 24 components in 4 groups, an
//! open incident with a customer update) runs in this process; nginx runs as a child
//! with its own configuration, pid and log files in a temporary directory, on a free port
//! of 127.0.0.1 (never the system service). `wrk` drives both, one after the other, with
//! the same threads, connections and duration, and its requests/s and latency
//! percentiles are reported.

use crate::sys::{ChildGuard, Context, Result, free_port, version_line};
use continuo_engine::alerts::{AlertOptions, Alerting, Deliver};
use continuo_engine::incidents::Op;
use continuo_engine::persist::MemoryPersist;
use continuo_engine::{Clock, Engine, EngineOptions};
use continuo_notify::{Delivered, Notice, SendError};
use continuo_store::Store;
use continuo_web::AppState;
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// Where Debian installs nginx.
pub const DEFAULT_NGINX: &str = "/usr/sbin/nginx";
/// Where Debian installs wrk.
pub const DEFAULT_WRK: &str = "/usr/bin/wrk";
const DAY: i64 = 86_400_000;
const COMPONENTS: usize = 24;

struct Nowhere;

impl Deliver for Nowhere {
    fn deliver<'a>(
        &'a self,
        _channel: &'a str,
        _notice: &'a Notice,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Delivered, SendError>> + Send + 'a>> {
        Box::pin(async {
            Ok(Delivered {
                detail: "dropped".into(),
            })
        })
    }
}

fn config() -> String {
    let mut text = String::from(
        "[organization]\nname = \"Bench Retail\"\n[server]\npublic_rate_limit = 0\n[status_page]\ntitle = \"Bench status\"\n[[team]]\nid = \"ops\"\n",
    );
    for i in 0..COMPONENTS {
        let _ = write!(
            text,
            "[[service]]\nid = \"svc-{i}\"\ntier = 2\nowner = \"ops\"\nrto = \"1h\"\n\
             status_page = {{ component = \"Component {i}\", group = \"Group {}\" }}\n\
             [[service.check]]\nid = \"beat-{i}\"\nkind = \"heartbeat\"\nuuid = \"00000000-0000-4000-8000-{i:012}\"\nperiod = \"1h\"\n",
            i % 4
        );
    }
    text
}

async fn seed(url: &str, now_ms: i64) -> Result<()> {
    use sqlx::Connection;
    let today = now_ms - now_ms.rem_euclid(DAY);
    let mut conn = sqlx::SqliteConnection::connect(url)
        .await
        .context("connecting to SQLite")?;
    for i in 0..COMPONENTS {
        // 80 of the 90 days have data; some failures.
        for d in 0..80 {
            sqlx::query(
                "INSERT INTO rollups (check_id, location, resolution, bucket_ms, count, failures, degraded, sum_us, max_us) \
                 VALUES ($1, 'bench', 'day', $2, 1440, $3, 0, 0, 0)",
            )
            .bind(format!("beat-{i}"))
            .bind(today - d * DAY)
            .bind((d + i as i64) % 7)
            .execute(&mut conn)
            .await
            .context("inserting rollups")?;
        }
    }
    Ok(())
}

struct Wrk {
    requests_per_second: f64,
    p50: String,
    p99: String,
    errors: String,
}

fn wrk(binary: &Path, url: &str, seconds: u64, connections: usize) -> Result<Wrk> {
    let output = Command::new(binary)
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .context(format!("running {}", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        return Err(format!("wrk failed: {text}"));
    }
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix).map(|v| v.trim().to_string()))
    };
    let requests_per_second = field("Requests/sec:")
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("wrk printed no Requests/sec: {text}"))?;
    let mut errors = Vec::new();
    if let Some(socket) = field("Socket errors:") {
        errors.push(format!("socket errors: {socket}"));
    }
    if let Some(non2xx) = field("Non-2xx or 3xx responses:") {
        errors.push(format!("non-2xx: {non2xx}"));
    }
    Ok(Wrk {
        requests_per_second,
        p50: field("50%").unwrap_or_else(|| "—".into()),
        p99: field("99%").unwrap_or_else(|| "—".into()),
        errors: if errors.is_empty() {
            "none".into()
        } else {
            errors.join("; ")
        },
    })
}

fn nginx(binary: &Path, dir: &Path, root: &Path) -> Result<(Nginx, u16)> {
    let port = free_port()?;
    let conf = dir.join("nginx.conf");
    let d = dir.display();
    let text = format!(
        "daemon off;\nmaster_process on;\nworker_processes auto;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           keepalive_requests 1000000;\n\
           server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
             location = /status {{ default_type \"text/html; charset=utf-8\"; try_files /status.html =404; }}\n\
             location = /api/v2/summary.json {{ default_type application/json; try_files /summary.json =404; }}\n\
             add_header Cache-Control \"public, max-age=5\";\n  }}\n}}\n",
        root = root.display()
    );
    std::fs::write(&conf, text).context("writing nginx.conf")?;
    let log = std::fs::File::create(dir.join("nginx-stderr.log")).context("creating the log")?;
    let child = ChildGuard::spawn(
        "nginx",
        Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log),
    )?;
    let mut nginx = Nginx {
        child: Some(child),
        binary: binary.to_path_buf(),
        dir: dir.to_path_buf(),
    };
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((nginx, port));
        }
        let Some(child) = nginx.child.as_mut() else {
            break;
        };
        child.ensure_running().map_err(|e| {
            let log = std::fs::read_to_string(dir.join("nginx-stderr.log")).unwrap_or_default();
            format!("{e}: {}", log.trim())
        })?;
        std::thread::sleep(Duration::from_millis(10));
    }
    Err("nginx did not start listening".into())
}

/// Runs the scenario and returns its Markdown section.
pub async fn run(
    nginx_binary: &Path,
    wrk_binary: &Path,
    dir: &Path,
    seconds: u64,
    connections: usize,
) -> Result<String> {
    continuo_notify::install_crypto_provider();
    let catalog = Arc::new(continuo_core::load_text(&config()).map_err(|e| format!("{e:?}"))?);
    let url = format!("sqlite://{}", dir.join("continuo.db").display());
    let store = Store::open(&url).await.map_err(|e| e.to_string())?;
    let now = jiff::Timestamp::now().as_millisecond();
    seed(&url, now).await?;
    let engine = Engine::start(catalog.clone(), EngineOptions::new("bench", "."), None);
    let alerting = Alerting::start(
        catalog,
        AlertOptions {
            clock: Clock::system(),
            store: Arc::new(MemoryPersist::default()),
            deliver: Arc::new(Nowhere),
            public_url: "http://127.0.0.1:1".into(),
            secret: b"bench".to_vec(),
            max_in_flight: 4,
            incidents: Default::default(),
        },
        engine.handle().health_watch(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let alerts = alerting.handle();
    let incident = alerts
        .incident_op(
            None,
            Op::Declare {
                title: "Component 3 slow".into(),
                services: vec!["svc-3".into()],
                severity: None,
            },
            "bench",
        )
        .await
        .map_err(|e| e.to_string())?;
    alerts
        .incident_op(
            Some(&incident.id),
            Op::Update {
                status: None,
                audience: continuo_core::incident::Audience::Customers,
                message: Some("Component 3 answers slowly; we are looking into it.".into()),
            },
            "bench",
        )
        .await
        .map_err(|e| e.to_string())?;
    let state = AppState {
        engine: engine.handle(),
        store: Some(store),
        reloader: None,
        admin_token: None,
        alerts: Some(alerts),
        gateways: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding")?;
    let port = listener.local_addr().context("address")?.port();
    let server = tokio::spawn(continuo_web::serve(
        listener,
        state,
        std::future::pending::<()>(),
    ));
    let base = format!("http://127.0.0.1:{port}");

    // The same bytes for nginx.
    let root = dir.join("root");
    std::fs::create_dir_all(&root).context("creating the nginx root")?;
    let mut sizes = Vec::new();
    for (path, file) in [
        ("/status", "status.html"),
        ("/api/v2/summary.json", "summary.json"),
    ] {
        let body = fetch(port, path).await?;
        sizes.push((path, body.len()));
        std::fs::write(root.join(file), body).context("writing a static file")?;
    }
    let (nginx_child, nginx_port) = nginx(nginx_binary, dir, &root)?;
    let peer = format!("http://127.0.0.1:{nginx_port}");

    let mut out = String::new();
    // nginx has no `--version`; `-v` prints to stderr.
    let nginx_version = Command::new(nginx_binary)
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&[o.stdout, o.stderr].concat())
                .lines()
                .next()
                .map(|l| l.trim().trim_start_matches("nginx version: ").to_string())
        })
        .unwrap_or_else(|| "nginx".into());
    let wrk_version = version_line(wrk_binary).unwrap_or_else(|| "wrk".into());
    let _ = writeln!(
        out,
        "\n### Public status page (issue 6), side by side with {nginx_version}\n"
    );
    let _ = writeln!(
        out,
        "{wrk_version}: `wrk -t2 -c{connections} -d{seconds}s --latency`, each target in turn, keep-alive. Continuo's real router in this process (the public view is rebuilt at most once a second, the day rollups read at most once a minute; each answer rendered and hashed once per view and language); nginx serves the same bytes as static files ({}) with `worker_processes auto`. {COMPONENTS} components in 4 groups, 90-day bars, one open incident.\n",
        sizes
            .iter()
            .map(|(p, n)| format!("{p}: {n} bytes"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(out, "| path | server | requests/s | p50 | p99 | errors |");
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for path in ["/status", "/api/v2/summary.json"] {
        for (name, origin) in [("Continuo", &base), ("nginx (static)", &peer)] {
            let url = format!("{origin}{path}");
            let wrk_binary = wrk_binary.to_path_buf();
            let result =
                tokio::task::spawn_blocking(move || wrk(&wrk_binary, &url, seconds, connections))
                    .await
                    .context("wrk task")??;
            let _ = writeln!(
                out,
                "| `{path}` | {name} | {} | {} | {} | {} |",
                crate::report::thousands(result.requests_per_second),
                result.p50,
                result.p99,
                result.errors
            );
        }
    }
    drop(nginx_child);
    server.abort();
    drop(alerting);
    drop(engine);
    Ok(out)
}

/// A running nginx; dropping it stops nginx with `-s stop` (its workers end with the
/// master; a plain kill of the master would leave them running), then reaps it.
struct Nginx {
    child: Option<ChildGuard>,
    binary: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .arg("-p")
            .arg(&self.dir)
            .args(["-s", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            for _ in 0..200 {
                if child.ensure_running().is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// One GET over a fresh connection; the body.
async fn fetch(port: u16, path: &str) -> Result<Vec<u8>> {
    let mut connection = crate::client::Connection::new(SocketAddr::from(([127, 0, 0, 1], port)));
    let answer = connection
        .request(hyper::Method::GET, path, bytes::Bytes::new())
        .await?;
    if answer.status != 200 {
        return Err(format!("{path} answered {}", answer.status));
    }
    Ok(answer.body.to_vec())
}
