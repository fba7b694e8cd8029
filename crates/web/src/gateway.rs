//! The failover gateways over HTTP: `GET /api/v1/gateways[/{id}]` (status, endpoints,
//! recent events), `POST /api/v1/gateways/{id}/endpoints/{endpoint}/drain|undrain` and
//! `POST /api/v1/gateways/{id}/failback` (responder role), and the gateways' metrics
//! appended to `/metrics` (served by the crate root).
//!
//! The web crate does not depend on the gateway crate: the binary hands in a
//! [`GatewayControl`] as [`crate::AppState::gateways`].

use crate::app::{AppState, Shared};
pub use crate::app::{ControlFailure, GatewayControl};
use crate::auth::{Authed, Responder, Viewer};
use crate::error::{ApiError, Refusals, RefusalsAbout};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use continuo_core::{Text, tr};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/gateways", get(list))
        .route("/api/v1/gateways/{id}", get(one))
        .route(
            "/api/v1/gateways/{id}/endpoints/{endpoint}/drain",
            post(drain),
        )
        .route(
            "/api/v1/gateways/{id}/endpoints/{endpoint}/undrain",
            post(undrain),
        )
        .route("/api/v1/gateways/{id}/failback", post(failback))
}

/// The gateways, or the answer that none run here.
fn control(state: &AppState) -> Result<&Arc<dyn GatewayControl>, ApiError> {
    state.gateways.as_ref().ok_or_else(|| {
        ApiError::not_found(tr!(
            "no gateways are configured on this node",
            "op deze node zijn geen gateways ingesteld"
        ))
    })
}

impl From<ControlFailure> for ApiError {
    // The gateway's reasons are written in English.
    fn from(f: ControlFailure) -> ApiError {
        match f {
            ControlFailure::NotFound(text) => ApiError::not_found(Text::same(text)),
            ControlFailure::Refused(text) => ApiError::conflict(Text::same(text)),
        }
    }
}

/// The gateways.
#[derive(Serialize, ToSchema)]
struct Gateways {
    /// Every gateway on this node with its endpoints and recent events (none when no
    /// gateway runs here).
    #[schema(value_type = Vec<Object>)]
    gateways: Value,
}

fn find(control: &Arc<dyn GatewayControl>, id: &str) -> Option<Value> {
    control
        .status()
        .as_array()?
        .iter()
        .find(|g| g.get("id").and_then(Value::as_str) == Some(id))
        .cloned()
}

#[utoipa::path(
    get,
    path = "/api/v1/gateways",
    tag = "gateways",
    description = "The failover gateways and their endpoints. Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The gateways", body = Gateways),
        Refusals,
    ),
)]
async fn list(State(state): State<Shared>, _who: Authed<Viewer>) -> Response {
    match &state.gateways {
        Some(c) => axum::Json(Gateways {
            gateways: c.status(),
        })
        .into_response(),
        None => axum::Json(Gateways {
            gateways: Value::Array(Vec::new()),
        })
        .into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/gateways/{id}",
    tag = "gateways",
    description = "One gateway. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The gateway with its endpoints and recent events", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn one(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let gateway = find(control(&state)?, &id)
        .ok_or_else(|| ApiError::not_found(tr!("no gateway `{id}`", "geen gateway `{id}`")))?;
    Ok(axum::Json(gateway).into_response())
}

/// Answers with the gateway after a change.
fn after(
    c: &Arc<dyn GatewayControl>,
    id: &str,
    result: Result<(), ControlFailure>,
) -> Result<Response, ApiError> {
    result?;
    Ok(match find(c, id) {
        Some(gateway) => axum::Json(gateway).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/gateways/{id}/endpoints/{endpoint}/drain",
    tag = "gateways",
    description = "Drains an endpoint (a planned switchover when it is the last primary). Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("endpoint" = String, Path, description = "The endpoint (host:port)")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The gateway after it", body = Object),
        (status = 204, description = "Done; the gateway is gone"),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn drain(
    State(state): State<Shared>,
    _who: Authed<Responder>,
    Path((id, endpoint)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = control(&state)?;
    after(c, &id, c.set_drained(&id, &endpoint, true))
}

#[utoipa::path(
    post,
    path = "/api/v1/gateways/{id}/endpoints/{endpoint}/undrain",
    tag = "gateways",
    description = "Puts a drained endpoint back. Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("endpoint" = String, Path, description = "The endpoint (host:port)")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The gateway after it", body = Object),
        (status = 204, description = "Done; the gateway is gone"),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn undrain(
    State(state): State<Shared>,
    _who: Authed<Responder>,
    Path((id, endpoint)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = control(&state)?;
    after(c, &id, c.set_drained(&id, &endpoint, false))
}

#[utoipa::path(
    post,
    path = "/api/v1/gateways/{id}/failback",
    tag = "gateways",
    description = "Fails back to the primary tier. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The gateway after it", body = Object),
        (status = 204, description = "Done; the gateway is gone"),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn failback(
    State(state): State<Shared>,
    _who: Authed<Responder>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = control(&state)?;
    after(c, &id, c.fail_back(&id))
}
