//! Users, API tokens, sessions and the audit log.
//!
//! The store keeps only what cannot be turned back into a credential: argon2 PHC strings
//! for passwords, the SHA-256 of a token's secret part, the SHA-256 of a session cookie.
//! Hashing and comparing are the web crate's job (`continuo_web::credentials`); this
//! module only reads and writes rows.

use super::{Backend, Store, StoreError, on_pool};
use continuo_core::access::Role;
use serde::Serialize;

/// A person who can sign in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// The name they sign in with (lowercase).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Argon2 PHC string of the password; never shown.
    #[serde(skip)]
    pub password_hash: String,
    /// When the user was added (unix ms).
    pub created_ms: i64,
    /// When the password or role last changed (unix ms).
    pub updated_ms: i64,
}

/// An API token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Public identifier, the part of the token before the secret.
    pub id: String,
    /// A name for people (`deploy-bot`), unique.
    pub name: String,
    /// What the token may do.
    pub role: Role,
    /// SHA-256 of the secret part, hex; never shown.
    #[serde(skip)]
    pub secret_hash: String,
    /// Who made it.
    pub created_by: String,
    /// When it was made (unix ms).
    pub created_ms: i64,
    /// When it was last presented (unix ms).
    pub last_used_ms: Option<i64>,
    /// When it was revoked (unix ms); a revoked token is refused.
    pub revoked_ms: Option<i64>,
}

/// A signed-in browser session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie value, hex.
    pub id_hash: String,
    /// Whose session it is.
    pub user_name: String,
    /// When it started (unix ms).
    pub created_ms: i64,
    /// When it was last used (unix ms), for the idle timeout.
    pub last_seen_ms: i64,
    /// When it ends at the latest (unix ms).
    pub expires_ms: i64,
    /// The client address that signed in.
    pub address: String,
}

/// One state-changing action, as the audit log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Unique id (random), for deduplication by readers.
    pub id: String,
    /// When (unix ms).
    pub at_ms: i64,
    /// Who: `user:<name>`, `token:<name>`, `admin-token`, `cli:<os user>`, or the name
    /// tried at a failed sign-in.
    pub actor: String,
    /// The role they acted with (`none` when not known).
    pub role: String,
    /// What: `alert.acknowledge`, `maintenance.create`, `session.sign_in`, ...
    pub action: String,
    /// On what: an alert id, a window id, a user name, a path.
    pub target: String,
    /// From which client address (`local` for the CLI).
    pub address: String,
    /// How it ended: the HTTP status for requests, 0 for the CLI's own changes.
    pub outcome: i64,
}

type UserRow = (String, String, String, i64, i64);
type TokenRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);
type SessionRow = (String, String, i64, i64, i64, String);
type AuditRow = (String, i64, String, String, String, String, String, i64);

fn role(table: &'static str, name: &str) -> Result<Role, StoreError> {
    Role::from_name(name).ok_or_else(|| StoreError::Corrupt {
        table,
        reason: format!("unknown role `{name}`"),
    })
}

fn user_from_row(row: UserRow) -> Result<User, StoreError> {
    let (name, role_name, password_hash, created_ms, updated_ms) = row;
    Ok(User {
        role: role("users", &role_name)?,
        name,
        password_hash,
        created_ms,
        updated_ms,
    })
}

fn token_from_row(row: TokenRow) -> Result<ApiToken, StoreError> {
    let (id, name, role_name, secret_hash, created_by, created_ms, last_used_ms, revoked_ms) = row;
    Ok(ApiToken {
        role: role("api_tokens", &role_name)?,
        id,
        name,
        secret_hash,
        created_by,
        created_ms,
        last_used_ms,
        revoked_ms,
    })
}

fn session_from_row(row: SessionRow) -> Session {
    let (id_hash, user_name, created_ms, last_seen_ms, expires_ms, address) = row;
    Session {
        id_hash,
        user_name,
        created_ms,
        last_seen_ms,
        expires_ms,
        address,
    }
}

fn audit_from_row(row: AuditRow) -> AuditEntry {
    let (id, at_ms, actor, role, action, target, address, outcome) = row;
    AuditEntry {
        id,
        at_ms,
        actor,
        role,
        action,
        target,
        address,
        outcome,
    }
}

const USER_COLUMNS: &str = "name, role, password_hash, created_ms, updated_ms";
const TOKEN_COLUMNS: &str =
    "id, name, role, secret_hash, created_by, created_ms, last_used_ms, revoked_ms";
const SESSION_COLUMNS: &str = "id_hash, user_name, created_ms, last_seen_ms, expires_ms, address";
const AUDIT_COLUMNS: &str = "id, at_ms, actor, role, action, target, address, outcome";

impl Store {
    /// Adds a user; `false` (and nothing changes) when the name is taken.
    pub async fn add_user(&self, user: &User) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING"
        );
        let added = on_pool!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&user.name)
            .bind(user.role.name())
            .bind(&user.password_hash)
            .bind(user.created_ms)
            .bind(user.updated_ms)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(added == 1)
    }

    /// The user with this (stored, lowercase) name.
    pub async fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row: Option<UserRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(pool).await?);
        row.map(user_from_row).transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        let rows: Vec<UserRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        rows.into_iter().map(user_from_row).collect()
    }

    /// Removes a user and ends their sessions; `false` when there is no such user.
    pub async fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let removed = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM sessions WHERE user_name = $1").bind(name).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM users WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(removed == 1)
    }

    /// Replaces a user's password hash and ends their sessions (a new password signs
    /// out everywhere); `false` when there is no such user.
    pub async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("UPDATE users SET password_hash = $1, updated_ms = $2 WHERE name = $3")
                .bind(password_hash).bind(now_ms).bind(name).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM sessions WHERE user_name = $1").bind(name).execute(&mut *tx).await?;
            tx.commit().await?;
            n
        });
        Ok(changed == 1)
    }

    /// Changes a user's role; `false` when there is no such user. Sessions stay: the
    /// role is read from the user on every request.
    pub async fn set_role(&self, name: &str, role: Role, now_ms: i64) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => sqlx::query("UPDATE users SET role = $1, updated_ms = $2 WHERE name = $3")
            .bind(role.name()).bind(now_ms).bind(name).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Adds an API token; `false` when its name or id is taken.
    pub async fn add_token(&self, token: &ApiToken) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
        );
        let added = on_pool!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&token.id)
            .bind(&token.name)
            .bind(token.role.name())
            .bind(&token.secret_hash)
            .bind(&token.created_by)
            .bind(token.created_ms)
            .bind(token.last_used_ms)
            .bind(token.revoked_ms)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(added == 1)
    }

    /// The token with this id, revoked or not (the caller compares the secret).
    pub async fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        let row: Option<TokenRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        row.map(token_from_row).transpose()
    }

    /// Every token (revoked ones too), oldest first.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_ms, name");
        let rows: Vec<TokenRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        rows.into_iter().map(token_from_row).collect()
    }

    /// Revokes the token with this name or id; `false` when there is no such token or
    /// it was revoked already.
    pub async fn revoke_token(&self, name_or_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let sql = "UPDATE api_tokens SET revoked_ms = $1 WHERE (name = $2 OR id = $2) AND revoked_ms IS NULL";
        let n = on_pool!(self, pool => sqlx::query(sql).bind(now_ms).bind(name_or_id).execute(pool).await?.rows_affected());
        Ok(n > 0)
    }

    /// Records that a token was used.
    pub async fn touch_token(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("UPDATE api_tokens SET last_used_ms = $1 WHERE id = $2")
            .bind(now_ms).bind(id).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Starts a session.
    pub async fn add_session(&self, session: &Session) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        on_pool!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&session.id_hash)
            .bind(&session.user_name)
            .bind(session.created_ms)
            .bind(session.last_seen_ms)
            .bind(session.expires_ms)
            .bind(&session.address)
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// The session with this hashed id (expired or not: the caller decides).
    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1");
        let row: Option<SessionRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id_hash).fetch_optional(pool).await?);
        Ok(row.map(session_from_row))
    }

    /// Records that a session was used.
    pub async fn touch_session(&self, id_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE id_hash = $2")
            .bind(now_ms).bind(id_hash).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Ends a session; `false` when there was none.
    pub async fn remove_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash).execute(pool).await?.rows_affected());
        Ok(n > 0)
    }

    /// Deletes sessions past their end or idle longer than `idle_ms`; returns how many.
    pub async fn prune_sessions(&self, now_ms: i64, idle_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1 OR last_seen_ms <= $2")
            .bind(now_ms).bind(now_ms.saturating_sub(idle_ms)).execute(pool).await?.rows_affected());
        Ok(n)
    }

    /// Appends to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        on_pool!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&entry.id)
            .bind(entry.at_ms)
            .bind(&entry.actor)
            .bind(&entry.role)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&entry.address)
            .bind(entry.outcome)
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Audit entries before `before_ms` (all when `None`), newest first.
    pub async fn audit_log(
        &self,
        before_ms: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE at_ms < $1 ORDER BY at_ms DESC, id DESC LIMIT $2"
        );
        let rows: Vec<AuditRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(before_ms.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(audit_from_row).collect())
    }
}
