//! Schema migrations, the same SQL for SQLite and PostgreSQL (types both accept:
//! BIGINT, TEXT, INTEGER flags). Each migration runs once, in order, recorded in
//! `schema_version`.

use super::{BUCKETS, Backend, Store, StoreError, on_pool};

fn migrations() -> Vec<String> {
    let histogram_columns: String = (0..BUCKETS)
        .map(|i| format!(", h{i} BIGINT NOT NULL DEFAULT 0"))
        .collect();
    vec![
        // 1: the detection schema.
        [
            "CREATE TABLE observations (check_id TEXT NOT NULL, location TEXT NOT NULL, at_ms BIGINT NOT NULL, \
             verdict TEXT NOT NULL, code BIGINT, message TEXT NOT NULL, dns_us BIGINT, connect_us BIGINT, \
             tls_us BIGINT, first_byte_us BIGINT, total_us BIGINT NOT NULL)"
                .to_string(),
            "CREATE INDEX observations_by_check ON observations (check_id, at_ms)".to_string(),
            "CREATE INDEX observations_by_time ON observations (at_ms)".to_string(),
            "CREATE TABLE transitions (check_id TEXT NOT NULL, location TEXT NOT NULL, at_ms BIGINT NOT NULL, \
             from_status TEXT NOT NULL, to_status TEXT NOT NULL, flapping BIGINT NOT NULL)"
                .to_string(),
            "CREATE INDEX transitions_by_check ON transitions (check_id, at_ms)".to_string(),
            format!(
                "CREATE TABLE rollups (check_id TEXT NOT NULL, location TEXT NOT NULL, resolution TEXT NOT NULL, \
                 bucket_ms BIGINT NOT NULL, count BIGINT NOT NULL, failures BIGINT NOT NULL, degraded BIGINT NOT NULL, \
                 sum_us BIGINT NOT NULL, max_us BIGINT NOT NULL{histogram_columns}, \
                 PRIMARY KEY (check_id, location, resolution, bucket_ms))"
            ),
            "CREATE TABLE check_states (check_id TEXT NOT NULL, location TEXT NOT NULL, state TEXT NOT NULL, \
             updated_ms BIGINT NOT NULL, PRIMARY KEY (check_id, location))"
                .to_string(),
            "CREATE TABLE pings (check_id TEXT NOT NULL, at_ms BIGINT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, \
             exit_code BIGINT, rid TEXT, duration_ms BIGINT, body TEXT NOT NULL, source TEXT NOT NULL)"
                .to_string(),
            "CREATE INDEX pings_by_check ON pings (check_id, at_ms)".to_string(),
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)".to_string(),
        ]
        .join(";\n"),
        // 2: alerting: the notification outbox and maintenance windows made at run time.
        [
            "CREATE TABLE outbox (key TEXT PRIMARY KEY, channel TEXT NOT NULL, alert TEXT NOT NULL, event TEXT NOT NULL, \
             recipient TEXT NOT NULL, notice TEXT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL, \
             next_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, sent_ms BIGINT, last_error TEXT)",
            "CREATE INDEX outbox_due ON outbox (state, next_ms)",
            "CREATE INDEX outbox_by_alert ON outbox (alert)",
            "CREATE TABLE maintenance_windows (id TEXT PRIMARY KEY, body TEXT NOT NULL, until_ms BIGINT NOT NULL)",
        ]
        .join(";\n"),
        // 3: incidents, each a JSON body with the columns lists and figures filter on.
        [
            "CREATE TABLE incidents (id TEXT PRIMARY KEY, number BIGINT NOT NULL, status TEXT NOT NULL, \
             severity BIGINT NOT NULL, detected_ms BIGINT, resolved_ms BIGINT, body TEXT NOT NULL)",
            "CREATE INDEX incidents_by_detection ON incidents (detected_ms)",
        ]
        .join(";\n"),
        // 4: a service's own timeline (failovers and failbacks, with or without an incident).
        [
            "CREATE TABLE service_events (service TEXT NOT NULL, at_ms BIGINT NOT NULL, kind TEXT NOT NULL, \
             body TEXT NOT NULL)",
            "CREATE INDEX service_events_by_service ON service_events (service, at_ms)",
        ]
        .join(";\n"),
        // 5: sign-in and roles: users (argon2 PHC strings), API tokens (SHA-256 of the
        // secret part), sessions (SHA-256 of the cookie) and the audit log.
        [
            "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, \
             created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL)",
            "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, \
             secret_hash TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL, \
             last_used_ms BIGINT, revoked_ms BIGINT)",
            "CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, created_ms BIGINT NOT NULL, \
             last_seen_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, address TEXT NOT NULL)",
            "CREATE INDEX sessions_by_user ON sessions (user_name)",
            "CREATE TABLE audit_log (id TEXT PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, \
             role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, address TEXT NOT NULL, \
             outcome BIGINT NOT NULL)",
            "CREATE INDEX audit_by_time ON audit_log (at_ms)",
        ]
        .join(";\n"),
        // 6: status page subscribers (email with double opt-in, webhooks); the
        // confirmation token only as its SHA-256.
        [
            "CREATE TABLE subscribers (id TEXT PRIMARY KEY, kind TEXT NOT NULL, address TEXT NOT NULL, \
             components TEXT NOT NULL, language TEXT NOT NULL, state TEXT NOT NULL, token_hash TEXT, \
             created_ms BIGINT NOT NULL, confirmed_ms BIGINT)",
            "CREATE INDEX subscribers_by_address ON subscribers (kind, address)",
            "CREATE INDEX subscribers_by_token ON subscribers (token_hash)",
        ]
        .join(";\n"),
        // 7: evidence records (DESIGN.md 4b), append-only; the whole record as JSON.
        [
            "CREATE TABLE evidence (id TEXT PRIMARY KEY, claim TEXT NOT NULL, subject TEXT NOT NULL, \
             source_kind TEXT NOT NULL, observed_ms BIGINT NOT NULL, outcome TEXT NOT NULL, \
             recorded_ms BIGINT NOT NULL, body TEXT NOT NULL)",
            "CREATE INDEX evidence_by_claim ON evidence (claim, subject, observed_ms)",
            "CREATE INDEX evidence_by_subject ON evidence (subject, observed_ms)",
        ]
        .join(";\n"),
        // 8: the outbox's order within one alert, channel and recipient (an item waits
        // for earlier pending ones): one lookup per due item, however many items one
        // alert has (an announcement to 3,000 status page subscribers).
        "CREATE INDEX outbox_by_queue ON outbox (alert, channel, recipient, state, created_ms)"
            .to_string(),
        // 9: the alert book's alerts, one row each, so a decision writes the alerts it
        // changed rather than the whole book (issue 18).
        "CREATE TABLE alerts (id TEXT PRIMARY KEY, body TEXT NOT NULL)".to_string(),
    ]
}

pub(crate) async fn migrate(store: &Store) -> Result<(), StoreError> {
    on_pool!(store, pool => {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").execute(pool).await?;
        let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(pool).await?;
        let current = current.unwrap_or(0);
        for (index, migration) in migrations().into_iter().enumerate() {
            let version = index as i64 + 1;
            if version <= current {
                continue;
            }
            let mut tx = pool.begin().await?;
            for statement in migration.split(";\n") {
                sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)").bind(version).execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok::<(), StoreError>(())
    })
}
