//! The failover gateways over HTTP: `GET /api/v1/gateways[/{id}]` (status, endpoints,
//! recent events), `POST /api/v1/gateways/{id}/endpoints/{endpoint}/drain|undrain` and
//! `POST /api/v1/gateways/{id}/failback` (responder role), and the gateways' metrics
//! appended to `/metrics` (see `crate::metrics`).
//!
//! The web crate does not depend on the gateway crate: the binary hands in a
//! [`GatewayControl`] as [`crate::AppState::gateways`].

use crate::app::AppState;
pub use crate::app::{ControlFailure, GatewayControl};
use crate::auth::{Authed, Responder, Viewer};
use crate::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use continuo_core::{Text, tr};
use serde_json::Value;
use std::sync::Arc;

pub(crate) fn routes() -> Router<AppState> {
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

fn find(control: &Arc<dyn GatewayControl>, id: &str) -> Option<Value> {
    control
        .status()
        .as_array()?
        .iter()
        .find(|g| g.get("id").and_then(Value::as_str) == Some(id))
        .cloned()
}

async fn list(State(state): State<AppState>, _who: Authed<Viewer>) -> Response {
    match &state.gateways {
        Some(c) => axum::Json(serde_json::json!({ "gateways": c.status() })).into_response(),
        None => axum::Json(serde_json::json!({ "gateways": [] })).into_response(),
    }
}

async fn one(
    State(state): State<AppState>,
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

async fn drain(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    Path((id, endpoint)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = control(&state)?;
    after(c, &id, c.set_drained(&id, &endpoint, true))
}

async fn undrain(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    Path((id, endpoint)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = control(&state)?;
    after(c, &id, c.set_drained(&id, &endpoint, false))
}

async fn failback(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = control(&state)?;
    after(c, &id, c.fail_back(&id))
}
