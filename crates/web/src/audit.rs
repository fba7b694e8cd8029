//! The audit log over HTTP: `GET /api/v1/audit` (admin) lists every state-changing
//! action, newest first. Writing it is `audit_log`'s (used by the guard, sign-in and
//! acknowledge links).

use crate::app::Shared;
use crate::auth::{Admin, Authed};
use crate::error::{ApiError, Refusals};
use crate::running;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use continuo_store::access::AuditEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The audit routes.
pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/api/v1/audit", get(list))
}

/// The audit log.
#[derive(Serialize, ToSchema)]
struct AuditLog {
    /// Every state-changing action, newest first.
    #[schema(value_type = Vec<Object>)]
    entries: Vec<AuditEntry>,
}

#[derive(Deserialize)]
struct AuditQuery {
    before_ms: Option<i64>,
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    description = "The audit log, newest first. Needs the admin role.",
    params(("before_ms" = Option<i64>, Query), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The audit log", body = AuditLog),
        Refusals,
    ),
)]
async fn list(
    State(state): State<Shared>,
    _who: Authed<Admin>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    let entries = running::store(&state)?
        .audit_log(q.before_ms, limit)
        .await
        .map_err(ApiError::store_unreadable)?;
    Ok(axum::Json(AuditLog { entries }).into_response())
}
