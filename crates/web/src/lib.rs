//! Continuo's HTTP interface on one listener: `/healthz`, `/readyz`, `/metrics`, the JSON
//! API under `/api/v1`, the healthchecks.io-compatible heartbeat ping API under
//! `/ping`, and the public status page with its Statuspage-compatible API (`status`).
//!
//! **Invariant:** the ping API reveals nothing: an unknown uuid gets the same short 404
//! as any other unknown path, and answers never carry check names or states.
//! **Invariant:** every state-changing route takes an [`Authed`] extractor with the role
//! it needs (sessions with CSRF checks, API tokens, or the admin token; see `auth`), and
//! every private read under `/api/v1` at least a viewer's.
//!
//! Modules in layers, with no import cycle (`crates/continuo/tests/architecture.rs`
//! checks): at the bottom `app` (the state), `lang` (one Accept-Language negotiation),
//! `error` ([`error::ApiError`], every JSON refusal), `html` (small pages), `running`
//! (the "alerting runs here, else 503" extractor), `audit_log` (writing the audit log)
//! and `credentials`; above them `auth`; then the features (`checks`, `alerting`,
//! `incidents`, `subscribers`, `gateway`, `audit`, `posture`, `dashboard`, `status`), which never
//! import each other; `openapi` lists the features' handlers; this root assembles them.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod alerting;
mod app;
mod audit;
mod audit_log;
mod auth;
mod checks;
pub mod credentials;
pub mod dashboard;
pub mod error;
pub mod gateway;
mod html;
pub mod incidents;
pub mod lang;
mod listener;
mod openapi;
pub mod posture;
mod running;
mod status;
mod subscribers;
mod text_limits;

pub use app::{AppState, Reloader};
pub use auth::{Actor, Admin, Authed, Limits, MinRole, Responder, SESSION_COOKIE, Viewer, quota};
pub use listener::StreamCaps;

use app::{BODY_LIMIT, Shared};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use continuo_core::tr;
use continuo_engine::{PingRequest, PingSignal};
use error::ApiError;
use serde::Deserialize;
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use continuo_net::listen::{Admission, ListenLimits};

/// The router with every route, with the default sign-in rate limits.
pub fn router(state: AppState) -> Router {
    router_with(state, Limits::default())
}

/// The router with every route and the given sign-in rate limits.
pub fn router_with(state: AppState, limits: Limits) -> Router {
    let state: app::Shared = Arc::new(state);
    let guards = auth::Guards::new(&state, limits);
    let guard_state = auth::GuardState {
        app: state.clone(),
        guards: guards.clone(),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/ping/{uuid}",
            get(ping_success).post(ping_success).head(ping_success),
        )
        .route(
            "/ping/{uuid}/{action}",
            get(ping_action).post(ping_action).head(ping_action),
        )
        .merge(checks::routes())
        .merge(alerting::routes())
        .merge(incidents::routes())
        .merge(gateway::routes())
        .merge(auth::routes())
        .merge(audit::routes())
        .merge(posture::routes())
        .merge(dashboard::routes())
        .merge(openapi::routes())
        .merge(subscribers::routes())
        .merge(status::routes(limits.event_streams))
        .fallback(not_found)
        // One stack, applied to each route once: every layer `Router::layer` adds is
        // another boxed service cloned for every request.
        .layer(
            tower::ServiceBuilder::new()
                .layer(DefaultBodyLimit::max(BODY_LIMIT))
                .layer(axum::middleware::from_fn_with_state(guard_state, front)),
        )
        .with_state(state)
}

/// Around every route, outermost first: the security headers on the answer, the
/// [`auth::Guards`] for the sign-in routes, the answer's error in the request's language
/// ([`error::localize`]), and the client address, public rate limit, CSRF token and audit
/// entry ([`auth::guard`]).
async fn front(
    State(gs): State<auth::GuardState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    request.extensions_mut().insert(gs.guards.clone());
    let chosen = error::requested_lang(&request);
    let app = gs.app.clone();
    let response = auth::guard(gs, request, next).await;
    let mut response = error::localize(response, chosen, &app);
    security_headers(&mut response);
    response
}

/// The policy of an HTML page that sets none of its own (acknowledge, confirm and
/// unsubscribe answers, problem pages): nothing may load, be framed or post elsewhere.
const DEFAULT_HTML_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// On every answer: `X-Content-Type-Options: nosniff`; on every HTML answer without a
/// Content-Security-Policy of its own, [`DEFAULT_HTML_POLICY`]. Pages with their own
/// policy (dashboard, status page, sign-in) keep it.
fn security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    let html = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !headers.contains_key(axum::http::header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            axum::http::header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(DEFAULT_HTML_POLICY),
        );
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Shared>) -> Response {
    let writer = state.engine.writer();
    let store = writer.map(|w| {
        let s = w.status();
        json!({
            "healthy": s.healthy(),
            "pending": s.pending(),
            "written": s.written(),
            "dropped": s.dropped(),
            "last_error": s.last_error(),
            "failing_since_ms": s.failing_since_ms(),
            "write_errors": s.write_errors(),
            "restarts": s.restarts(),
        })
    });
    let mut tasks = state.engine.tasks();
    if let Some(alerts) = &state.alerts {
        tasks.extend(alerts.tasks());
    }
    let degraded = state.alerts.as_ref().is_some_and(|a| a.degraded());
    // Why this node is not ready, one line each: the store writer's (a refused write,
    // a full disk, a panic and restart), a supervised task's, degraded paging.
    let mut reasons: Vec<String> = writer
        .and_then(|w| w.status().reason())
        .into_iter()
        .collect();
    for task in tasks.iter().filter(|t| !t.healthy) {
        reasons.push(match &task.last_panic {
            Some(panic) => format!("task {} restarted after a panic: {panic}", task.name),
            None => format!("task {} is restarting", task.name),
        });
    }
    if degraded {
        reasons.push("alerting pages from memory: the store is unavailable".to_string());
    }
    let ready = reasons.is_empty();
    let body = json!({
        "ready": ready,
        "reasons": reasons,
        "location": state.engine.location(),
        "checks": state.engine.checks().len(),
        "store": store,
        "tasks": tasks,
        "alerting": state.alerts.as_ref().map(|_| json!({ "degraded": degraded })),
    });
    // Probing goes on without the store; readiness says the store is behind, so an
    // orchestrator can see it, but the node keeps detecting.
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// `/metrics`: the engine's, the gateways', alerting's and the posture's metrics in one
/// prometheus-client registry, encoded once (alerting's and the posture's figures are
/// read first: they need the store's answer, which a collector cannot await).
async fn metrics(State(state): State<Shared>) -> Response {
    let mut registry = continuo_engine::metrics::Registry::default();
    state.engine.register_metrics(&mut registry);
    if let Some(gateways) = &state.gateways {
        gateways.register_metrics(&mut registry);
    }
    if let Some(alerts) = &state.alerts {
        alerting::register_metrics(alerts, state.store.as_ref(), &mut registry).await;
    }
    posture::register_metrics(&state, &mut registry).await;
    let mut tasks = state.engine.tasks();
    if let Some(alerts) = &state.alerts {
        tasks.extend(alerts.tasks());
    }
    alerting::register_task_metrics(tasks, &mut registry);
    (
        [(header::CONTENT_TYPE, continuo_engine::metrics::CONTENT_TYPE)],
        continuo_engine::metrics::text(&registry),
    )
        .into_response()
}

#[derive(Deserialize)]
struct PingQuery {
    rid: Option<String>,
}

async fn ping_success(
    State(state): State<Shared>,
    Path(uuid): Path<String>,
    Query(query): Query<PingQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    ping(state, uuid, PingSignal::Success, query, peer, body).await
}

async fn ping_action(
    State(state): State<Shared>,
    Path((uuid, action)): Path<(String, String)>,
    Query(query): Query<PingQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let signal = match action.as_str() {
        "start" => PingSignal::Start,
        "fail" => PingSignal::Fail,
        "log" => PingSignal::Log,
        code => match code.parse::<u8>() {
            Ok(code) => PingSignal::Exit(i32::from(code)),
            Err(_) => return not_found().await,
        },
    };
    ping(state, uuid, signal, query, peer, body).await
}

async fn ping(
    state: Shared,
    uuid: String,
    signal: PingSignal,
    query: PingQuery,
    peer: SocketAddr,
    body: Bytes,
) -> Response {
    let rid = query.rid.filter(|r| !r.is_empty() && r.len() <= 64);
    let request = PingRequest {
        uuid,
        signal,
        rid,
        body: String::from_utf8_lossy(&body).into_owned(),
        source: peer.ip().to_string(),
    };
    let limit = state.engine.ping_body_limit().to_string();
    match state.engine.ping(request).await {
        // Counted by the heartbeat, but not (yet) in the store: 200 would promise what
        // a crash could take back. The reason goes to the log, not to the client.
        Some(accepted) if accepted.stored.is_err() => {
            if let Err(e) = &accepted.stored {
                tracing::warn!(check = %accepted.check_id, error = %e, "a ping was not stored");
            }
            let mut answer = ApiError::unavailable(tr!(
                "ping received but not stored: the database refuses writes; send it again later",
                "ping ontvangen maar niet opgeslagen: de database weigert te schrijven; stuur hem later opnieuw"
            ))
            .into_response();
            answer.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
            answer
        }
        Some(_) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header("Ping-Body-Limit", limit)
            .body(Body::from("OK"))
            .unwrap_or_else(|_| StatusCode::OK.into_response()),
        None => not_found().await,
    }
}

/// Serves the router on `listener` until `shutdown` completes, with listener bounds
/// for the process's current open-files limit (see [`serve_router`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), shutdown).await
}

/// Serves a router built by [`router`] and extended (e.g. by [`gateway::with_gateways`]),
/// with listener bounds for the process's current open-files limit (the limit is read,
/// not raised; `continuo serve` raises it and passes its own bounds to
/// [`serve_router_with`]).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let files = continuo_net::listen::current_file_limit().unwrap_or(1_024);
    let limits = ListenLimits::for_file_limit(files, continuo_net::listen::RESERVED_FILES);
    let admission = Admission::new(limits);
    serve_router_with(listener, router, admission, shutdown).await
}

/// Serves a router within `admission`'s bounds: total and per-address connection caps,
/// header and idle timeouts (see `listener`).
pub async fn serve_router_with(
    listener: tokio::net::TcpListener,
    router: Router,
    admission: Arc<Admission>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(listener, router, admission, shutdown, || {
        // Open dashboards' event streams would otherwise hold the shutdown up (the
        // status page's end through the listener's `Closing` signal).
        dashboard::close_streams();
    })
    .await
}
