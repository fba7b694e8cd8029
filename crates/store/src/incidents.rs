//! Incidents: one row per incident, its whole state as versioned JSON (see
//! [`crate::body`]) plus the columns that lists and figures filter on. Written with the
//! alert book and the outbox in one transaction ([`Store::commit_alerting`]); read back
//! as JSON values, in the current version's shape, that the engine decodes.

use super::{Backend, Store, StoreError, body, on_pool};
use serde_json::Value;

/// Saves incidents (a new row, or the newest state of one): this, `VALUES` with the
/// rows, then [`UPSERT_TAIL`].
pub(crate) const UPSERT_HEAD: &str =
    "INSERT INTO incidents (id, number, status, severity, detected_ms, resolved_ms, body) ";

/// The end of an [`UPSERT_HEAD`] statement.
pub(crate) const UPSERT_TAIL: &str = " ON CONFLICT (id) DO UPDATE SET number = excluded.number, \
     status = excluded.status, severity = excluded.severity, detected_ms = excluded.detected_ms, \
     resolved_ms = excluded.resolved_ms, body = excluded.body";

pub(crate) const ADD_SERVICE_EVENT: &str =
    "INSERT INTO service_events (service, at_ms, kind, body) VALUES ($1, $2, $3, $4)";

/// One incident as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentRow {
    /// `INC-<number>`.
    pub id: String,
    /// Sequence number.
    pub number: i64,
    /// Lifecycle status name.
    pub status: String,
    /// 1..4.
    pub severity: i64,
    /// Detection, UTC ms.
    pub detected_ms: Option<i64>,
    /// Resolution, UTC ms.
    pub resolved_ms: Option<i64>,
    /// The whole incident.
    pub body: Value,
}

fn decode(id: &str, text: &str) -> Result<Value, StoreError> {
    body::open(body::INCIDENT, id, text)
}

/// Service events are free-form facts, not a core type's shape: kept unversioned.
fn decode_event(service: &str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: "service_events",
        reason: format!("{service}: {e}"),
    })
}

impl Store {
    /// Adds an event to a service's timeline (`body` is its JSON).
    pub async fn add_service_event(
        &self,
        service: &str,
        at_ms: i64,
        kind: &str,
        body: &Value,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(ADD_SERVICE_EVENT).bind(service).bind(at_ms).bind(kind).bind(body.to_string()).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// A service's timeline, newest first, at most `limit`.
    pub async fn service_events(
        &self,
        service: &str,
        limit: u32,
    ) -> Result<Vec<Value>, StoreError> {
        let sql = "SELECT body FROM service_events WHERE service = $1 ORDER BY at_ms DESC LIMIT $2";
        let rows: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(sql).bind(service).bind(i64::from(limit)).fetch_all(pool).await?);
        rows.iter().map(|b| decode_event(service, b)).collect()
    }

    /// Incidents still open, or resolved at or after `since_ms`, by number.
    pub async fn incidents_recent(&self, since_ms: i64) -> Result<Vec<Value>, StoreError> {
        let sql = "SELECT id, body FROM incidents WHERE status <> 'resolved' OR resolved_ms >= $1 ORDER BY number";
        let rows: Vec<(String, String)> =
            on_pool!(self, pool => sqlx::query_as(sql).bind(since_ms).fetch_all(pool).await?);
        rows.iter().map(|(id, body)| decode(id, body)).collect()
    }

    /// Incidents detected in `[from_ms, until_ms)`, newest first, at most `limit`.
    pub async fn incidents_between(
        &self,
        from_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<Value>, StoreError> {
        let sql = "SELECT id, body FROM incidents WHERE detected_ms >= $1 AND detected_ms < $2 ORDER BY number DESC LIMIT $3";
        let rows: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as(sql).bind(from_ms).bind(until_ms).bind(i64::from(limit)).fetch_all(pool).await?);
        rows.iter().map(|(id, body)| decode(id, body)).collect()
    }

    /// One incident.
    pub async fn incident(&self, id: &str) -> Result<Option<Value>, StoreError> {
        let sql = "SELECT body FROM incidents WHERE id = $1";
        let body: Option<String> =
            on_pool!(self, pool => sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await?);
        body.map(|b| decode(id, &b)).transpose()
    }

    /// The highest incident number used so far (0 when none).
    pub async fn last_incident_number(&self) -> Result<i64, StoreError> {
        let sql = "SELECT MAX(number) FROM incidents";
        let n: Option<i64> = on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await?);
        Ok(n.unwrap_or(0))
    }
}
