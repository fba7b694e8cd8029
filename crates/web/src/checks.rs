//! What the engine knows over HTTP: services with their health, checks with their
//! status, a check's recent observations and a heartbeat's recent pings (from the
//! store), and reloading the configuration (admin).

use crate::app::Shared;
use crate::auth::{Admin, Authed, Viewer};
use crate::error::{ApiError, Refusals, RefusalsAbout};
use crate::running;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use continuo_core::observation::Observation;
use continuo_core::tr;
use continuo_engine::{CheckView, ServiceView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The routes.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/services", get(services))
        .route("/api/v1/checks", get(checks))
        .route("/api/v1/checks/{id}", get(check))
        .route("/api/v1/checks/{id}/observations", get(observations))
        .route("/api/v1/checks/{id}/pings", get(pings))
        .route("/api/v1/reload", post(reload))
}

/// The services.
#[derive(Serialize, ToSchema)]
pub(crate) struct Services {
    /// Every service with its health (root cause or impacted).
    #[schema(value_type = Vec<Object>)]
    services: Vec<ServiceView>,
}

/// The checks.
#[derive(Serialize, ToSchema)]
pub(crate) struct Checks {
    /// Every check with its status and last observation.
    #[schema(value_type = Vec<Object>)]
    checks: Vec<CheckView>,
}

/// A check's recent observations.
#[derive(Serialize, ToSchema)]
pub(crate) struct Observations {
    /// The check's id.
    check: String,
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    observations: Vec<Observation>,
}

/// A heartbeat's recent pings.
#[derive(Serialize, ToSchema)]
pub(crate) struct Pings {
    /// The check's id.
    check: String,
    /// Most bytes of a body kept; a longer body is stored cut to this.
    body_limit: usize,
    /// Newest first.
    pings: Vec<PingView>,
}

/// One ping as it was stored.
#[derive(Serialize, ToSchema)]
pub(crate) struct PingView {
    /// When it arrived (UTC unix milliseconds).
    at_ms: i64,
    /// What it said: `start` (`/start`), `success` (`/ping/<uuid>` or exit status 0),
    /// `fail` (`/fail` or a non-zero exit status) or `log` (`/log`).
    #[schema(example = "success")]
    kind: &'static str,
    /// The exit status, for a `/ping/<uuid>/<status>` ping.
    exit_code: Option<i32>,
    /// The run id (`?rid=`) pairing a start with its finish.
    rid: Option<String>,
    /// For a finish paired with its `/start`: when that run started (UTC unix ms).
    started_ms: Option<i64>,
    /// For a finish paired with its `/start`: how long the run took, start to finish
    /// (the job's run time, not a network latency).
    run_time_ms: Option<i64>,
    /// The request body as stored (cut at `body_limit` bytes).
    body: String,
    /// Whether the body fills the limit, so what was sent may have been longer (no
    /// mark is stored: a body exactly that long reads as cut too).
    body_truncated: bool,
    /// The client address it came from.
    source: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/services",
    tag = "services",
    description = "Services with their health (root cause or impacted). Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The services", body = Services), Refusals),
)]
async fn services(State(state): State<Shared>, _who: Authed<Viewer>) -> Response {
    axum::Json(Services {
        services: state.engine.services(),
    })
    .into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/checks",
    tag = "checks",
    description = "Checks with their status and last observation. Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The checks", body = Checks), Refusals),
)]
async fn checks(State(state): State<Shared>, _who: Authed<Viewer>) -> Response {
    axum::Json(Checks {
        checks: state.engine.checks(),
    })
    .into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/checks/{id}",
    tag = "checks",
    description = "One check. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The check, with its status and last observation", body = Object), Refusals, RefusalsAbout),
)]
async fn check(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.engine.check(&id) {
        Some(view) => Ok(axum::Json(view).into_response()),
        None => Err(no_check(&id)),
    }
}

fn no_check(id: &str) -> ApiError {
    ApiError::not_found(tr!("no check `{id}`", "geen controle `{id}`"))
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<String>,
}

impl Limit {
    /// `?limit=`: 1 to 10,000, 100 when absent.
    fn limit(&self) -> Result<u32, ApiError> {
        match self.limit.as_deref() {
            None => Ok(100),
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=10_000).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(tr!(
                    "`limit` must be a number from 1 to 10000, not `{text}`",
                    "`limit` moet een getal van 1 tot 10000 zijn, niet `{text}`"
                ))),
            },
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/checks/{id}/observations",
    tag = "checks",
    description = "A check's recent observations, newest first. Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The observations", body = Observations), Refusals, RefusalsAbout),
)]
async fn observations(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Path(id): Path<String>,
    Query(query): Query<Limit>,
) -> Result<Response, ApiError> {
    if state.engine.check(&id).is_none() {
        return Err(no_check(&id));
    }
    let limit = query.limit()?;
    let observations = running::store(&state)?
        .observations(&id, limit)
        .await
        .map_err(ApiError::store_unreadable)?;
    Ok(axum::Json(Observations {
        check: id,
        observations,
    })
    .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/checks/{id}/pings",
    tag = "checks",
    description = "A heartbeat check's recent pings, newest first: when, what (start, success, fail, log, exit status), the body as stored, and for a finished run its run time from the matching `/start`. Needs the viewer role.",
    params(("id" = String, Path, description = "The id of a heartbeat check"), ("limit" = Option<u32>, Query, description = "At most this many (1 to 10000, default 100)")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The pings", body = Pings), Refusals, RefusalsAbout),
)]
async fn pings(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Path(id): Path<String>,
    Query(query): Query<Limit>,
) -> Result<Response, ApiError> {
    let Some(check) = state.engine.check(&id) else {
        return Err(no_check(&id));
    };
    if check.kind != "heartbeat" {
        let kind = check.kind;
        return Err(ApiError::not_found(tr!(
            "check `{id}` is a {kind} check, not a heartbeat: it receives no pings",
            "controle `{id}` is een {kind}-controle, geen heartbeat: die ontvangt geen pings"
        )));
    }
    let limit = query.limit()?;
    let stored = running::store(&state)?
        .pings(&id, limit)
        .await
        .map_err(ApiError::store_unreadable)?;
    let pings = stored
        .into_iter()
        .map(|ping| PingView {
            at_ms: ping.at_ms,
            kind: ping.kind.name(),
            exit_code: ping.exit_code,
            started_ms: ping.duration_ms.map(|d| ping.at_ms - d),
            run_time_ms: ping.duration_ms,
            body_truncated: state.engine.ping_body_truncated(&ping.body),
            body: ping.body,
            rid: ping.rid,
            source: ping.source,
        })
        .collect();
    Ok(axum::Json(Pings {
        check: id,
        body_limit: state.engine.ping_body_limit(),
        pings,
    })
    .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/reload",
    tag = "config",
    description = "Reloads the configuration. Needs the admin role.",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "What changed", body = Object), Refusals),
)]
async fn reload(State(state): State<Shared>, _who: Authed<Admin>) -> Result<Response, ApiError> {
    let reloader = state.reloader.as_ref().ok_or_else(|| {
        ApiError::unavailable(tr!(
            "this server cannot reload",
            "deze server kan niet herladen"
        ))
    })?;
    match reloader().await {
        Ok(summary) => Ok(axum::Json(summary).into_response()),
        // The configuration's diagnostics are written in English.
        Err(problems) => Err(ApiError::unprocessable(continuo_core::Text::same(problems))),
    }
}
