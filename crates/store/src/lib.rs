//! Continuo's persistence behind one interface, on SQLite (the embedded default) or
//! PostgreSQL: observations, state transitions, per-minute/hour/day rollups, current
//! check states, and heartbeat pings.
//!
//! Writes go through one [`writer::Writer`] task that batches them; reads go straight to
//! the pool. The same SQL text serves both databases: placeholders are written `$1..$n`
//! (each in increasing order of first use, which SQLite binds by position as well).
//! JSON bodies kept for other crates (the alert book, incidents) carry a schema version
//! ([`body`]); every failure is a [`StoreError`].

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod access;
pub mod body;
pub mod evidence;
mod histogram;
pub mod incidents;
pub mod lock;
pub mod outbox;
mod schema;
pub mod subscribers;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
pub mod uptime;
pub mod writer;

pub use evidence::EvidenceFilter;
pub use histogram::{BUCKETS, Histogram};
pub use incidents::IncidentRow;
pub use outbox::{BookChanges, OutboxCounts, OutboxItem, OutboxState, Outcome};
pub use uptime::DayCount;

use continuo_core::observation::{Measurement, Observation, Timings};
use continuo_core::state::{CheckState, CheckStatus, Transition, Verdict};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one we support.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// Which table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A stored body has a schema version newer than this Continuo knows (see
    /// [`body`]): the database was written by a newer release. Refused rather than
    /// misread or reset.
    #[error(
        "row `{id}` in {table} has schema version {found}, newer than the {newest} this \
         Continuo reads: run the release that wrote it, or a newer one"
    )]
    NewerVersion {
        /// Which table.
        table: &'static str,
        /// Which row (settings key or incident id).
        id: String,
        /// The version stored.
        found: u64,
        /// The newest version this release reads.
        newest: u64,
    },
}

/// The database behind the store.
#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code against whichever pool the store has.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// Time resolution of a rollup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resolution {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl Resolution {
    /// Every resolution.
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    /// Length of one bucket in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Resolution::Minute => 60_000,
            Resolution::Hour => 3_600_000,
            Resolution::Day => 86_400_000,
        }
    }

    /// Start of the bucket holding `at_ms`.
    pub fn bucket(self, at_ms: i64) -> i64 {
        at_ms - at_ms.rem_euclid(self.millis())
    }

    fn name(self) -> &'static str {
        match self {
            Resolution::Minute => "minute",
            Resolution::Hour => "hour",
            Resolution::Day => "day",
        }
    }
}

/// Aggregated observations of one check at one location in one time bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollup {
    /// The check.
    pub check_id: String,
    /// The location.
    pub location: String,
    /// Bucket length.
    pub resolution: Resolution,
    /// Bucket start (unix ms).
    pub bucket_ms: i64,
    /// Observations in the bucket.
    pub count: u64,
    /// Of which failures.
    pub failures: u64,
    /// Of which degraded.
    pub degraded: u64,
    /// Latency distribution (total probe time).
    pub latency: Histogram,
}

impl Rollup {
    /// Share of observations that were not failures, 0.0-1.0; `None` without data.
    pub fn availability(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.count - self.failures) as f64 / self.count as f64)
    }
}

/// What a heartbeat ping said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingKind {
    /// The job succeeded (`/ping/<uuid>`, or exit status 0).
    Success,
    /// The job started (`/start`).
    Start,
    /// The job failed (`/fail`, or a non-zero exit status).
    Fail,
    /// Just a message, no change of state (`/log`).
    Log,
}

impl PingKind {
    /// The lowercase name used in the database and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            PingKind::Success => "success",
            PingKind::Start => "start",
            PingKind::Fail => "fail",
            PingKind::Log => "log",
        }
    }

    fn from_name(name: &str) -> Option<PingKind> {
        Some(match name {
            "success" => PingKind::Success,
            "start" => PingKind::Start,
            "fail" => PingKind::Fail,
            "log" => PingKind::Log,
            _ => return None,
        })
    }
}

/// One heartbeat ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    /// The heartbeat check.
    pub check_id: String,
    /// When it arrived (unix ms).
    pub at_ms: i64,
    /// What it said.
    pub kind: PingKind,
    /// Exit status, for `/<exit-status>` pings.
    pub exit_code: Option<i32>,
    /// Run id pairing a start with its finish.
    pub rid: Option<String>,
    /// Duration of the run, when a start was paired with this finish.
    pub duration_ms: Option<i64>,
    /// The request body, truncated.
    pub body: String,
    /// The client address.
    pub source: String,
}

/// A stored state transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTransition {
    /// The check.
    pub check_id: String,
    /// The location.
    pub location: String,
    /// The transition.
    pub transition: Transition,
}

/// Makes the SQLite file at `path` private before SQLite opens it: its folder, when it
/// has to be created, is created `0700`; the file is created `0600` (SQLite gives the
/// `-wal` and `-shm` files the database file's mode), and an existing file, `-wal` or
/// `-shm` readable by others is made `0600`. The database holds sessions, token hashes
/// and the generated link secret: no other local user may read it. Modes are given at
/// creation, so the umask can only narrow them.
#[cfg(unix)]
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let mut names = vec![path.as_os_str().to_owned()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        names.push(name);
    }
    for name in names {
        let Ok(meta) = std::fs::metadata(&name) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if meta.is_file() && mode & 0o077 != 0 {
            tracing::warn!(
                file = %std::path::Path::new(&name).display(),
                mode = format!("{:o}", mode & 0o777),
                "the database file was readable by other users; making it private (0600)"
            );
            std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_file(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// The SQLite pool's check on every connection given back: `false` (close it) when sqlx
/// still counts an open transaction. After "disk full" SQLite rolls the transaction back
/// by itself, sqlx's own `ROLLBACK` then fails unseen and its depth stays at 1: reused,
/// the connection would turn every later `BEGIN`/`COMMIT` into `SAVEPOINT`/`RELEASE`
/// inside a transaction that never ends, holding the write lock ("database is locked"
/// for everyone else) while nothing reaches the file (issue 16, failure 2). Closing it
/// rolls back whatever it holds; the pool opens a fresh one when needed.
async fn close_if_in_transaction(
    connection: &mut sqlx::SqliteConnection,
) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    // Most connections come back outside any transaction: no round trip for them.
    if !connection.is_in_transaction() {
        return Ok(true);
    }
    // A dropped transaction queues its rollback: the round trip runs it, and only a
    // connection still inside a transaction after that is stuck.
    connection.ping().await?;
    if connection.is_in_transaction() {
        tracing::warn!(
            "closed a database connection left inside a transaction (after a failed write)"
        );
        return Ok(false);
    }
    Ok(true)
}

impl Store {
    /// Opens the database named by `url` (`sqlite://path`, `sqlite::memory:` or
    /// `postgres://...`), creating a SQLite file if needed, and brings its schema up to
    /// date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, Duration::from_secs(30)).await
    }

    /// Like [`Store::open`], waiting at most `acquire_timeout` for a free connection.
    /// Tests on paused tokio time pass a long one: paused time jumps ahead while a
    /// query runs on SQLite's worker thread.
    pub async fn open_with(url: &str, acquire_timeout: Duration) -> Result<Store, StoreError> {
        let store = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5));
            if !url.contains(":memory:") && !url.contains("mode=memory") {
                private_file(options.get_filename()).map_err(sqlx::Error::Io)?;
            }
            // In-memory databases exist per connection: keep exactly one.
            let max = if url.contains(":memory:") { 1 } else { 8 };
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(acquire_timeout)
                .after_release(|c, _| Box::pin(close_if_in_transaction(c)))
                .connect_with(options)
                .await?;
            Store {
                backend: Backend::Sqlite(pool),
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::open_postgres(PgConnectOptions::from_str(url)?).await?
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens a PostgreSQL database using `schema` (created if missing) instead of the
    /// default one: lets several Continuo installations, or test runs, share a database.
    pub async fn open_postgres_schema(url: &str, schema: &str) -> Result<Store, StoreError> {
        let valid = !schema.is_empty()
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::UnsupportedUrl(format!(
                "{url} (schema `{schema}` must be lowercase letters, digits and _)"
            )));
        }
        let base = PgConnectOptions::from_str(url)?;
        let setup = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&setup)
        .await?;
        setup.close().await;
        let store = Store::open_postgres(base.options([("search_path", schema)])).await?;
        store.migrate().await?;
        Ok(store)
    }

    async fn open_postgres(options: PgConnectOptions) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Store {
            backend: Backend::Postgres(pool),
        })
    }

    /// Which database this is: `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// A cheap query that tells whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        schema::migrate(self).await
    }

    /// The most recent observations of a check (all locations), newest first.
    pub async fn observations(
        &self,
        check_id: &str,
        limit: u32,
    ) -> Result<Vec<Observation>, StoreError> {
        let sql = "SELECT check_id, location, at_ms, verdict, code, message, dns_us, connect_us, tls_us, first_byte_us, total_us \
                   FROM observations WHERE check_id = $1 ORDER BY at_ms DESC LIMIT $2";
        let rows = on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(check_id).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(|row| -> Result<Observation, StoreError> {
                let verdict: String = row.try_get("verdict")?;
                let opt = |name: &str| -> Result<Option<u64>, sqlx::Error> {
                    Ok(row.try_get::<Option<i64>, _>(name)?.map(|v| v.max(0) as u64))
                };
                Ok(Observation {
                    check_id: row.try_get("check_id")?,
                    location: row.try_get("location")?,
                    at_ms: row.try_get("at_ms")?,
                    measurement: Measurement {
                        verdict: Verdict::from_name(&verdict).ok_or_else(|| StoreError::Corrupt { table: "observations", reason: format!("unknown verdict `{verdict}`") })?,
                        message: row.try_get("message")?,
                        code: row.try_get::<Option<i64>, _>("code")?.map(|c| c as i32),
                        timings: Timings {
                            dns_us: opt("dns_us")?,
                            connect_us: opt("connect_us")?,
                            tls_us: opt("tls_us")?,
                            first_byte_us: opt("first_byte_us")?,
                            total_us: row.try_get::<i64, _>("total_us")?.max(0) as u64,
                        },
                    },
                })
            }).collect::<Result<Vec<_>, _>>()
        })?;
        Ok(rows)
    }

    /// The most recent transitions of a check, newest first.
    pub async fn transitions(
        &self,
        check_id: &str,
        limit: u32,
    ) -> Result<Vec<StoredTransition>, StoreError> {
        let sql = "SELECT check_id, location, at_ms, from_status, to_status, flapping FROM transitions \
                   WHERE check_id = $1 ORDER BY at_ms DESC LIMIT $2";
        on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(check_id).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(|row| -> Result<StoredTransition, StoreError> {
                let status = |name: &str| -> Result<CheckStatus, StoreError> {
                    let text: String = row.try_get(name)?;
                    CheckStatus::from_name(&text).ok_or_else(|| StoreError::Corrupt { table: "transitions", reason: format!("unknown status `{text}`") })
                };
                Ok(StoredTransition {
                    check_id: row.try_get("check_id")?,
                    location: row.try_get("location")?,
                    transition: Transition {
                        from: status("from_status")?,
                        to: status("to_status")?,
                        at_ms: row.try_get("at_ms")?,
                        flapping: row.try_get::<i64, _>("flapping")? != 0,
                    },
                })
            }).collect()
        })
    }

    /// Rollups of a check at a resolution between two instants (inclusive start,
    /// exclusive end), all locations, oldest first.
    pub async fn rollups(
        &self,
        check_id: &str,
        resolution: Resolution,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Rollup>, StoreError> {
        let columns: Vec<String> = (0..BUCKETS).map(|i| format!("h{i}")).collect();
        let sql = format!(
            "SELECT check_id, location, bucket_ms, count, failures, degraded, sum_us, max_us, {} FROM rollups \
             WHERE check_id = $1 AND resolution = $2 AND bucket_ms >= $3 AND bucket_ms < $4 ORDER BY bucket_ms, location",
            columns.join(", ")
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(check_id)
                .bind(resolution.name())
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| -> Result<Rollup, StoreError> {
                let mut latency = Histogram::default();
                for (i, column) in columns.iter().enumerate() {
                    latency.counts[i] = row.try_get::<i64, _>(column.as_str())?.max(0) as u64;
                }
                latency.sum_us = row.try_get::<i64, _>("sum_us")?.max(0) as u64;
                latency.max_us = row.try_get::<i64, _>("max_us")?.max(0) as u64;
                Ok(Rollup {
                    check_id: row.try_get("check_id")?,
                    location: row.try_get("location")?,
                    resolution,
                    bucket_ms: row.try_get("bucket_ms")?,
                    count: row.try_get::<i64, _>("count")?.max(0) as u64,
                    failures: row.try_get::<i64, _>("failures")?.max(0) as u64,
                    degraded: row.try_get::<i64, _>("degraded")?.max(0) as u64,
                    latency,
                })
            }).collect()
        })
    }

    /// The last saved state of every check at a location, to resume after a restart.
    pub async fn check_states(
        &self,
        location: &str,
    ) -> Result<Vec<(String, CheckState)>, StoreError> {
        let sql = "SELECT check_id, state FROM check_states WHERE location = $1 ORDER BY check_id";
        on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(location).fetch_all(pool).await?;
            rows.iter().map(|row| -> Result<(String, CheckState), StoreError> {
                let id: String = row.try_get("check_id")?;
                let text: String = row.try_get("state")?;
                let state = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt { table: "check_states", reason: format!("{id}: {e}") })?;
                Ok((id, state))
            }).collect()
        })
    }

    /// The most recent pings of a heartbeat, newest first.
    pub async fn pings(&self, check_id: &str, limit: u32) -> Result<Vec<Ping>, StoreError> {
        let sql = "SELECT check_id, at_ms, kind, exit_code, rid, duration_ms, body, source FROM pings \
                   WHERE check_id = $1 ORDER BY at_ms DESC, seq DESC LIMIT $2";
        on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(check_id).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(|row| -> Result<Ping, StoreError> {
                let kind: String = row.try_get("kind")?;
                Ok(Ping {
                    check_id: row.try_get("check_id")?,
                    at_ms: row.try_get("at_ms")?,
                    kind: PingKind::from_name(&kind).ok_or_else(|| StoreError::Corrupt { table: "pings", reason: format!("unknown kind `{kind}`") })?,
                    exit_code: row.try_get::<Option<i64>, _>("exit_code")?.map(|c| c as i32),
                    rid: row.try_get("rid")?,
                    duration_ms: row.try_get("duration_ms")?,
                    body: row.try_get("body")?,
                    source: row.try_get("source")?,
                })
            }).collect()
        })
    }

    /// Deletes raw observations and pings older than `keep_raw`, minute rollups older
    /// than 2 days and hour rollups older than 90 days; returns how many rows went.
    pub async fn prune(&self, now_ms: i64, keep_raw: Duration) -> Result<u64, StoreError> {
        let raw_cutoff = now_ms - i64::try_from(keep_raw.as_millis()).unwrap_or(i64::MAX);
        let mut deleted = 0;
        on_pool!(self, pool => {
            deleted += sqlx::query("DELETE FROM observations WHERE at_ms < $1").bind(raw_cutoff).execute(pool).await?.rows_affected();
            deleted += sqlx::query("DELETE FROM pings WHERE at_ms < $1").bind(raw_cutoff).execute(pool).await?.rows_affected();
            for (resolution, keep_ms) in [("minute", 2 * 86_400_000i64), ("hour", 90 * 86_400_000)] {
                deleted += sqlx::query("DELETE FROM rollups WHERE resolution = $1 AND bucket_ms < $2")
                    .bind(resolution)
                    .bind(now_ms - keep_ms)
                    .execute(pool)
                    .await?
                    .rows_affected();
            }
        });
        Ok(deleted)
    }

    /// A free-form key-value setting (server secrets, leader bookkeeping).
    pub async fn setting(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = on_pool!(self, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(pool).await?);
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                table: "settings",
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// Sets a key-value setting.
    pub async fn set_setting(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        let sql = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        on_pool!(self, pool => sqlx::query(sql).bind(key).bind(value.to_string()).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}
