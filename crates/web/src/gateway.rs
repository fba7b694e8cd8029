//! The failover gateways over HTTP: `GET /api/v1/gateways[/{id}]` (status, endpoints,
//! recent events), `POST /api/v1/gateways/{id}/endpoints/{endpoint}/drain|undrain` and
//! `POST /api/v1/gateways/{id}/failback` (responder role), and the gateways' metrics
//! appended to `/metrics` (see `crate::metrics`).
//!
//! The web crate does not depend on the gateway crate: the binary hands in a
//! [`GatewayControl`] as [`crate::AppState::gateways`].

// The helpers' error is the response a handler returns as is (as in `alerting.rs`).
#![allow(clippy::result_large_err)]

use super::{AppState, Authed, Responder, Viewer, error};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::sync::Arc;

/// Why a gateway command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlFailure {
    /// No such gateway or endpoint (the text says which).
    NotFound(String),
    /// The command cannot be carried out now (the text says why).
    Refused(String),
}

/// What the routes need from the running gateways (implemented by the binary).
pub trait GatewayControl: Send + Sync {
    /// Every gateway's status, as a JSON array.
    fn status(&self) -> Value;
    /// Drains (`true`) or undrains an endpoint.
    fn set_drained(
        &self,
        gateway: &str,
        endpoint: &str,
        drained: bool,
    ) -> Result<(), ControlFailure>;
    /// Returns traffic to the primary tier now.
    fn fail_back(&self, gateway: &str) -> Result<(), ControlFailure>;
    /// Registers the gateways' metrics in the registry `/metrics` encodes.
    fn register_metrics(&self, registry: &mut continuo_engine::metrics::Registry);
}

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
fn control(state: &AppState) -> Result<&Arc<dyn GatewayControl>, Response> {
    state.gateways.as_ref().ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "no gateways are configured on this node",
        )
    })
}

fn failure(f: ControlFailure) -> Response {
    match f {
        ControlFailure::NotFound(text) => error(StatusCode::NOT_FOUND, &text),
        ControlFailure::Refused(text) => error(StatusCode::CONFLICT, &text),
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
) -> Response {
    let c = match control(&state) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match find(c, &id) {
        Some(gateway) => axum::Json(gateway).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("no gateway `{id}`")),
    }
}

/// Answers with the gateway after a change.
fn after(c: &Arc<dyn GatewayControl>, id: &str, result: Result<(), ControlFailure>) -> Response {
    match result {
        Ok(()) => match find(c, id) {
            Some(gateway) => axum::Json(gateway).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        Err(f) => failure(f),
    }
}

async fn drain(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    Path((id, endpoint)): Path<(String, String)>,
) -> Response {
    match control(&state) {
        Ok(c) => after(c, &id, c.set_drained(&id, &endpoint, true)),
        Err(r) => r,
    }
}

async fn undrain(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    Path((id, endpoint)): Path<(String, String)>,
) -> Response {
    match control(&state) {
        Ok(c) => after(c, &id, c.set_drained(&id, &endpoint, false)),
        Err(r) => r,
    }
}

async fn failback(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    Path(id): Path<String>,
) -> Response {
    match control(&state) {
        Ok(c) => after(c, &id, c.fail_back(&id)),
        Err(r) => r,
    }
}
