//! The harness every suite that runs against a real store shares (behind the `testing`
//! feature, for tests only): a fresh database on SQLite (a temporary file) or on the
//! local PostgreSQL ([`POSTGRES_URL`], trust auth, which `.ci/run` starts), and
//! [`backends!`](crate::backends), which turns each `async fn <case>(..)` into the tests
//! `sqlite::<case>` and `postgres::<case>`.
//!
//! Every PostgreSQL case gets a schema of its own, named after the test binary, the
//! process and the case, so parallel tests and parallel runs never meet; it is dropped
//! when the case passes (and before it starts, in case an earlier run failed).

use super::Store;
use sqlx::Connection;
use std::str::FromStr;

/// The local PostgreSQL the suites run against, unless `CONTINUO_TEST_POSTGRES` names
/// another ([`postgres_url`]).
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL the suites run against: `CONTINUO_TEST_POSTGRES`, else [`POSTGRES_URL`].
pub fn postgres_url() -> String {
    std::env::var("CONTINUO_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| POSTGRES_URL.to_string())
}

/// Whether a test that needs a missing tool or server must fail rather than skip: in
/// CI (`CI` set, as `.ci/run` runs), where every test must run.
pub fn tools_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether PostgreSQL answers at [`postgres_url`]. When it does not, a test that needs it
/// skips with one line saying what to do, or fails in CI ([`tools_required`]).
pub async fn postgres_or_skip(test: &str) -> bool {
    let url = postgres_url();
    match sqlx::PgConnection::connect(&url).await {
        Ok(conn) => {
            let _ = conn.close().await;
            true
        }
        Err(e) if tools_required() => {
            panic!("{test}: PostgreSQL at {url} does not answer ({e}); CI runs every test")
        }
        Err(e) => {
            // Straight to the process's stderr: the test harness captures `eprintln!` of
            // a test that passes, and this line is for the person running the tests.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "skipped {test}: no PostgreSQL at {url} ({e}); start one with trust auth (or run bash .ci/run), or set CONTINUO_TEST_POSTGRES\n"
                )
                .as_bytes(),
            );
            false
        }
    }
}

/// A fresh, empty store on one backend, and what a test needs to reopen it or to reach
/// behind its back (to break it, as an outage would).
pub struct TestDb {
    /// The store under test.
    pub store: Store,
    target: Target,
}

enum Target {
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    Postgres {
        schema: String,
    },
}

impl TestDb {
    /// A store on a new SQLite file in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("continuo.db").display());
        let store = Store::open(&url).await.expect("open the SQLite store");
        assert_eq!(store.kind(), "sqlite");
        TestDb {
            store,
            target: Target::Sqlite { url, _dir: dir },
        }
    }

    /// A store on a new schema of the local PostgreSQL; `name` makes the schema unique
    /// (the test binary and the case, see [`backends!`](crate::backends)).
    pub async fn postgres(name: &str) -> TestDb {
        let schema = schema_name(name, std::process::id());
        // Left over by an earlier run that failed (schemas are dropped on success).
        drop_schema(&schema).await;
        let url = postgres_url();
        let store = Store::open_postgres_schema(&url, &schema)
            .await
            .unwrap_or_else(|e| {
                panic!("open PostgreSQL at {url} (`.ci/run` installs and starts it): {e}")
            });
        assert_eq!(store.kind(), "postgres");
        TestDb {
            store,
            target: Target::Postgres { schema },
        }
    }

    /// Opens the same database again, which runs the migrations again.
    pub async fn reopen(&self) -> Store {
        match &self.target {
            Target::Sqlite { url, .. } => Store::open(url).await,
            Target::Postgres { schema } => {
                Store::open_postgres_schema(&postgres_url(), schema).await
            }
        }
        .expect("reopen the store")
    }

    /// Runs SQL on the database over a connection of its own, not the store's.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match &self.target {
            Target::Sqlite { url, .. } => {
                let mut conn = sqlx::SqliteConnection::connect(url)
                    .await
                    .expect("connect to SQLite");
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .expect("run SQL on SQLite");
                conn.close().await.expect("close");
            }
            Target::Postgres { schema } => {
                let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_url())
                    .expect("PostgreSQL URL")
                    .options([("search_path", schema.as_str())]);
                let mut conn = sqlx::PgConnection::connect_with(&options)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .expect("run SQL on PostgreSQL");
                conn.close().await.expect("close");
            }
        }
    }

    /// Closes the store and drops a PostgreSQL schema: the end of a case that passed.
    pub async fn finish(self) {
        self.store.close().await;
        if let Target::Postgres { schema } = &self.target {
            drop_schema(schema).await;
        }
    }
}

/// What a case takes from the harness: the [`TestDb`] itself, or just its store.
impl From<&TestDb> for Store {
    fn from(db: &TestDb) -> Store {
        db.store.clone()
    }
}

/// A PostgreSQL schema name for `name` in process `pid`: lowercase letters, digits and
/// `_`, at most 63 bytes; a long name keeps a hash of the whole, so two long case names
/// that share a beginning still get two schemas.
fn schema_name(name: &str, pid: u32) -> String {
    let clean: String = format!("t_{pid}_{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() <= 63 {
        return clean;
    }
    // FNV-1a: stable across runs and releases, unlike the standard library's hasher.
    let hash = clean.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{hash:016x}", &clean[..46])
}

/// Drops a PostgreSQL schema and everything in it.
pub async fn drop_schema(schema: &str) {
    let url = postgres_url();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!("connect to PostgreSQL at {url} (`.ci/run` installs and starts it): {e}")
    });
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut conn)
    .await
    .expect("drop the test schema");
    conn.close().await.expect("close");
}

/// Makes `sqlite::<case>` and `postgres::<case>` tests of each `async fn <case>(db)`,
/// where `db` is a `&TestDb` or a `Store`. The database is finished (closed, its
/// PostgreSQL schema dropped) after the case returns.
#[macro_export]
macro_rules! backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = $crate::testing::TestDb::sqlite().await;
                    super::$case(::std::convert::From::from(&db)).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let name = concat!(module_path!(), "_", stringify!($case));
                    if !$crate::testing::postgres_or_skip(name).await {
                        return;
                    }
                    let db = $crate::testing::TestDb::postgres(name).await;
                    super::$case(::std::convert::From::from(&db)).await;
                    db.finish().await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::schema_name;

    #[test]
    fn schema_names_are_valid_and_unique() {
        let short = schema_name("store::postgres_settings_round_trip", 42);
        assert_eq!(short, "t_42_store__postgres_settings_round_trip");
        let long_a = schema_name(&format!("auth::postgres::{}_a", "x".repeat(80)), 42);
        let long_b = schema_name(&format!("auth::postgres::{}_b", "x".repeat(80)), 42);
        assert_ne!(long_a, long_b);
        for name in [long_a, long_b] {
            assert_eq!(name.len(), 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            );
        }
    }
}
