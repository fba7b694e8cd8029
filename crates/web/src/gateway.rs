//! The failover gateways over HTTP: `GET /api/v1/gateways[/{id}]` (status, endpoints,
//! recent events), `POST /api/v1/gateways/{id}/endpoints/{endpoint}/drain|undrain` and
//! `POST /api/v1/gateways/{id}/failback` (admin token), and the gateways' metrics
//! appended to `/metrics`.
//!
//! The web crate does not depend on the gateway crate: the binary hands in a
//! [`GatewayControl`], and [`with_gateways`] extends the router [`crate::router`] built.

// The helpers' error is the response a handler returns as is (as in `alerting.rs`).
#![allow(clippy::result_large_err)]

use super::{error, same};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
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
    /// Metrics in the Prometheus text format, appended to `/metrics`.
    fn metrics_text(&self) -> String;
}

#[derive(Clone)]
struct GatewayState {
    control: Arc<dyn GatewayControl>,
    admin_token: Option<String>,
}

/// Adds the gateway routes to `router` and the gateways' metrics to its `/metrics`.
pub fn with_gateways(
    router: Router,
    control: Arc<dyn GatewayControl>,
    admin_token: Option<String>,
) -> Router {
    let state = GatewayState {
        control,
        admin_token,
    };
    let routes = Router::new()
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
        .with_state(state.clone());
    router
        .merge(routes)
        .layer(axum::middleware::from_fn_with_state(state, append_metrics))
}

/// `/metrics` is built by the main router; the gateways' series are appended to it.
async fn append_metrics(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Response {
    let is_metrics = request.uri().path() == "/metrics";
    let response = next.run(request).await;
    if !is_metrics || response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics could not be read",
        );
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    text.push_str(&state.control.metrics_text());
    let mut response = Response::from_parts(parts, Body::from(text));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

fn admin(state: &GatewayState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = &state.admin_token else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "this call needs an admin token: start the server with CONTINUO_ADMIN_TOKEN set",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(presented.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required",
        ))
    }
}

fn failure(f: ControlFailure) -> Response {
    match f {
        ControlFailure::NotFound(text) => error(StatusCode::NOT_FOUND, &text),
        ControlFailure::Refused(text) => error(StatusCode::CONFLICT, &text),
    }
}

fn find(state: &GatewayState, id: &str) -> Option<Value> {
    state
        .control
        .status()
        .as_array()?
        .iter()
        .find(|g| g.get("id").and_then(Value::as_str) == Some(id))
        .cloned()
}

async fn list(State(state): State<GatewayState>) -> Response {
    axum::Json(serde_json::json!({ "gateways": state.control.status() })).into_response()
}

async fn one(State(state): State<GatewayState>, Path(id): Path<String>) -> Response {
    match find(&state, &id) {
        Some(gateway) => axum::Json(gateway).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("no gateway `{id}`")),
    }
}

async fn set_drained(
    state: GatewayState,
    headers: HeaderMap,
    id: String,
    endpoint: String,
    drained: bool,
) -> Response {
    if let Err(response) = admin(&state, &headers) {
        return response;
    }
    match state.control.set_drained(&id, &endpoint, drained) {
        Ok(()) => match find(&state, &id) {
            Some(gateway) => axum::Json(gateway).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        Err(f) => failure(f),
    }
}

async fn drain(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    Path((id, endpoint)): Path<(String, String)>,
) -> Response {
    set_drained(state, headers, id, endpoint, true).await
}

async fn undrain(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    Path((id, endpoint)): Path<(String, String)>,
) -> Response {
    set_drained(state, headers, id, endpoint, false).await
}

async fn failback(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = admin(&state, &headers) {
        return response;
    }
    match state.control.fail_back(&id) {
        Ok(()) => match find(&state, &id) {
            Some(gateway) => axum::Json(gateway).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        Err(f) => failure(f),
    }
}
