//! The audit log over HTTP: `GET /api/v1/audit` (admin) lists every state-changing
//! action, newest first. Entries are written by `auth::guard` for every state-changing
//! request an `Authed` extractor identified (whatever its outcome, refusals included),
//! by sign-in (successful or not) and by acknowledge links; the CLI writes its own
//! changes to users and tokens straight to the store.

use crate::auth::{Admin, Authed};
use crate::{AppState, error};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use continuo_store::access::AuditEntry;
use serde::Deserialize;
use serde_json::json;
use std::net::IpAddr;

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
) -> Response {
    let Some(store) = &state.store else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this node has no store");
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    match store.audit_log(q.before_ms, limit).await {
        Ok(entries) => axum::Json(json!({ "entries": entries })).into_response(),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the store cannot be read: {e}"),
        ),
    }
}

/// Appends to the audit log; a failure is reported on stderr, never to the client (the
/// action itself has happened).
pub(crate) async fn record(
    state: &AppState,
    actor: &str,
    role: &str,
    action: &str,
    target: &str,
    address: Option<IpAddr>,
    outcome: u16,
) {
    let Some(store) = &state.store else { return };
    let at_ms = state.engine.now_ms();
    let entry = AuditEntry {
        // Random, so two entries in one millisecond never collide; the fallback (the
        // system gave no random bytes) is unique enough for a log.
        id: crate::credentials::random_hex(16).unwrap_or_else(|_| {
            format!(
                "{at_ms:x}-{:016x}",
                continuo_core::hash::fnv1a(format!("{actor}{action}{target}").into_bytes())
            )
        }),
        at_ms,
        actor: actor.to_string(),
        role: role.to_string(),
        action: action.to_string(),
        target: target.chars().take(500).collect(),
        address: address.map_or_else(|| "unknown".into(), |a| a.to_string()),
        outcome: i64::from(outcome),
    };
    if let Err(e) = store.audit(&entry).await {
        eprintln!("audit: cannot record {action} by {actor} on {target}: {e}");
    }
}
