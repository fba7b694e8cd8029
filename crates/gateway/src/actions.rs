//! Failover actions: when traffic moves to the backup tier (or back), the gateway runs
//! the configured actions in order, each with its own timeout, and reports each result
//! as an event. A command gets the event in `CONTINUO_*` environment variables and runs
//! in its own process group, killed as a whole on timeout; a webhook gets the event as
//! JSON; HAProxy gets `set server <backend>/<server> state <state>` on its runtime API
//! (admin unix socket or TCP). In dry-run mode each action is reported, not run.

use crate::events::EventKind;
use crate::pool::{ActionRequest, Pool};
use continuo_core::catalog::gateway::{ActionKind, ActionTrigger, FailoverAction};
use continuo_net::http::ClientSpec;
use continuo_net::process::{Process, RunError};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Runs the actions of each request in order, one request after the other.
/// The receiver is shared so a run that panicked is followed by one that goes on with
/// the requests still queued.
pub(crate) async fn run(
    pool: Arc<Pool>,
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<ActionRequest>>>,
) {
    let mut requests = requests.lock().await;
    while let Some(request) = requests.recv().await {
        for action in pool.spec.actions.iter().filter(|a| a.on == request.trigger) {
            let started = tokio::time::Instant::now();
            let (ok, message) = if pool.spec.dry_run {
                (true, "dry run: not run".to_string())
            } else {
                match tokio::time::timeout(action.timeout.get(), perform(&pool, action, &request))
                    .await
                {
                    Ok(Ok(message)) => (true, message),
                    Ok(Err(message)) => (false, message),
                    Err(_) => (
                        false,
                        format!("timed out after {} ms", action.timeout.get().as_millis()),
                    ),
                }
            };
            if !ok {
                pool.action_failed();
            }
            pool.emit_now(EventKind::Action {
                action: describe(action),
                trigger: trigger_word(request.trigger).to_string(),
                ok,
                dry_run: pool.spec.dry_run,
                message,
                duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            });
        }
    }
}

fn trigger_word(trigger: ActionTrigger) -> &'static str {
    match trigger {
        ActionTrigger::Failover => "failover",
        ActionTrigger::Failback => "failback",
    }
}

/// One line that says what an action does.
pub(crate) fn describe(action: &FailoverAction) -> String {
    match &action.kind {
        ActionKind::Command { command } => format!("command {}", command.join(" ")),
        ActionKind::Webhook { url, .. } => format!("webhook {url}"),
        ActionKind::Haproxy {
            socket,
            backend,
            server,
            state,
        } => format!("haproxy {socket} {backend}/{server} {}", state.word()),
    }
}

async fn perform(
    pool: &Pool,
    action: &FailoverAction,
    request: &ActionRequest,
) -> Result<String, String> {
    match &action.kind {
        ActionKind::Command { command } => run_command(pool, command, request).await,
        ActionKind::Webhook { url, headers } => {
            webhook(pool, url, headers, action.timeout.get(), request).await
        }
        ActionKind::Haproxy {
            socket,
            backend,
            server,
            state,
        } => {
            let line = format!("set server {backend}/{server} state {}\n", state.word());
            haproxy(socket, &line).await
        }
    }
}

/// The most of each of a command's stdout and stderr that is kept: the event carries at
/// most 500 bytes of it anyway.
const COMMAND_OUTPUT_LIMIT: usize = 64 * 1024;

async fn run_command(
    pool: &Pool,
    command: &[String],
    request: &ActionRequest,
) -> Result<String, String> {
    let (program, args) = command.split_first().ok_or("empty command")?;
    // Dropped by the action's timeout: the runner kills the command's whole process group.
    let finished = Process::new(program.as_str())
        .args(args.iter().cloned())
        .env("CONTINUO_GATEWAY", &pool.spec.id)
        .env("CONTINUO_SERVICE", &pool.spec.service)
        .env("CONTINUO_EVENT", trigger_word(request.trigger))
        .env("CONTINUO_FROM", &request.from)
        .env("CONTINUO_TO", &request.to)
        .env("CONTINUO_REASON", &request.reason)
        .env("CONTINUO_AT_MS", request.at_ms.to_string())
        .output_limit(COMMAND_OUTPUT_LIMIT)
        .run()
        .await
        .map_err(|error| match error {
            RunError::Start { source, .. } => format!("cannot start `{program}`: {source}"),
            RunError::Wait { source, .. } => format!("`{program}`: {source}"),
            other => format!("`{program}`: {other}"),
        })?;
    let mut text = String::from_utf8_lossy(&finished.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&finished.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push_str(" | ");
        }
        text.push_str(stderr.trim());
    }
    text.truncate(text.floor_char_boundary(500));
    if finished.status.success() {
        Ok(text)
    } else {
        Err(format!("{}: {text}", finished.status))
    }
}

async fn webhook(
    pool: &Pool,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    timeout: Duration,
    request: &ActionRequest,
) -> Result<String, String> {
    // The channels' client: the system's root certificates, so https works.
    let client = continuo_net::http::client(ClientSpec::new(timeout)).map_err(|e| e.to_string())?;
    let mut builder = client.post(url).json(&json!({
        "gateway": pool.spec.id,
        "service": pool.spec.service,
        "event": trigger_word(request.trigger),
        "from": request.from,
        "to": request.to,
        "reason": request.reason,
        "at_ms": request.at_ms,
    }));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|e| format!("{e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(format!("HTTP {}", status.as_u16()))
    } else {
        Err(format!("HTTP {}", status.as_u16()))
    }
}

/// Sends one command to HAProxy's runtime API. HAProxy answers an empty line when it
/// accepted the command, and an explanation otherwise.
pub async fn haproxy(socket: &str, line: &str) -> Result<String, String> {
    let answer = if socket.starts_with('/') {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("cannot connect to {socket}: {e}"))?;
        exchange(stream, line).await
    } else {
        let stream = tokio::net::TcpStream::connect(socket)
            .await
            .map_err(|e| format!("cannot connect to {socket}: {e}"))?;
        exchange(stream, line).await
    }?;
    let answer = answer.trim();
    if answer.is_empty() {
        Ok(format!("haproxy accepted `{}`", line.trim()))
    } else {
        Err(format!("haproxy refused `{}`: {answer}", line.trim()))
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    line: &str,
) -> Result<String, String> {
    stream
        .write_all(line.as_bytes())
        .await
        .map_err(|e| format!("haproxy: {e}"))?;
    let mut answer = Vec::new();
    // HAProxy closes the connection after answering one command (non-interactive mode).
    stream
        .take(64 * 1024)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("haproxy: {e}"))?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}
