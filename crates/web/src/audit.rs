//! The audit log over HTTP: `GET /api/v1/audit` (admin) lists every state-changing
//! action, newest first. Writing it is `audit_log`'s (used by the guard, sign-in and
//! acknowledge links).

use crate::app::AppState;
use crate::auth::{Admin, Authed};
use crate::error::ApiError;
use crate::running;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

/// The audit routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

#[derive(Deserialize)]
struct AuditQuery {
    before_ms: Option<i64>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    _who: Authed<Admin>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    let entries = running::store(&state)?
        .audit_log(q.before_ms, limit)
        .await
        .map_err(ApiError::store_unreadable)?;
    Ok(axum::Json(json!({ "entries": entries })).into_response())
}
