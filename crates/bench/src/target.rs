//! The local target, run in a child process of its own (`continuo-bench target`) so its
//! CPU time is not counted as the prober's: an HTTP server answering `200 ok` to
//! everything, and a few TCP listeners that accept and close, for the scheduler's TCP
//! checks (several ports, so 100k connections a minute do not all share one
//! four-tuple space).

use crate::sys::{ChildGuard, Context, Result, runtime, wait_for_file, write_atomically};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::net::TcpListener;

/// Where the target listens, as written to its port file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetPorts {
    /// The HTTP server's port on 127.0.0.1.
    pub http: u16,
    /// Ports of the TCP listeners on 127.0.0.1.
    pub tcp: Vec<u16>,
}

impl TargetPorts {
    /// The URL that probes ask for.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.http)
    }
}

/// A running target process.
pub struct Target {
    /// Its ports.
    pub ports: TargetPorts,
    /// The process, killed when this is dropped.
    pub process: ChildGuard,
}

impl Target {
    /// Fails when the target process has died (a scenario's failures would otherwise be
    /// blamed on the prober).
    pub fn ensure_running(&mut self) -> Result<()> {
        self.process.ensure_running()
    }
}

/// Starts the target as a child process of this executable and waits for its ports.
pub fn spawn(dir: &Path, tcp_listeners: usize) -> Result<Target> {
    let port_file = dir.join("target.ports");
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut process = ChildGuard::spawn(
        "the target process",
        Command::new(exe)
            .arg("target")
            .arg("--port-file")
            .arg(&port_file)
            .arg("--tcp-listeners")
            .arg(tcp_listeners.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null()),
    )?;
    let text = wait_for_file(&port_file, &mut process, Duration::from_secs(10))?;
    let ports = serde_json::from_str(&text).context("reading the target's port file")?;
    Ok(Target { ports, process })
}

async fn answer(
    _request: Request<Incoming>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// The `target` subcommand: serves until stdin closes.
pub fn run(port_file: &Path, tcp_listeners: usize) -> Result<()> {
    crate::sys::exit_when_stdin_closes();
    runtime()?.block_on(async {
        let http = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the HTTP target")?;
        let mut ports = TargetPorts {
            http: http.local_addr().context("HTTP target address")?.port(),
            tcp: Vec::new(),
        };
        for _ in 0..tcp_listeners {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding a TCP target")?;
            ports
                .tcp
                .push(listener.local_addr().context("TCP target address")?.port());
            tokio::spawn(async move {
                loop {
                    // Accepted and closed at once: a TCP check only needs the connect.
                    if let Err(e) = listener.accept().await {
                        eprintln!("target: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            });
        }
        let text = serde_json::to_string(&ports).context("encoding the ports")?;
        write_atomically(port_file, &text)?;
        loop {
            let stream = match http.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("target: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    })
}
