//! What the engine knows over HTTP: services with their health, checks with their
//! status, a check's recent observations (from the store), and reloading the
//! configuration (admin).

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
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(tr!(
                    "`limit` must be a number from 1 to 10000, not `{text}`",
                    "`limit` moet een getal van 1 tot 10000 zijn, niet `{text}`"
                )));
            }
        },
    };
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
