//! Writing the audit log. Entries are written by `auth::guard` for every state-changing
//! request an `Authed` extractor identified (whatever its outcome, refusals included),
//! by sign-in (successful or not) and by acknowledge links; the CLI writes its own
//! changes to users and tokens straight to the store. Reading it is `audit`'s route.

use crate::app::AppState;
use continuo_store::access::AuditEntry;
use std::net::IpAddr;

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
        tracing::warn!(%action, %actor, %target, error = %e, "cannot record an audit entry");
    }
}
