//! Status page subscribers: email addresses and webhook URLs, pending until confirmed,
//! and their unsubscriptions. The confirmation token is kept only as its SHA-256.
//!
//! A subscription and the message that asks to confirm it are written in one
//! transaction ([`Store::put_subscriber`]), like every other notification: nothing is sent
//! that is not in the outbox first.

use super::{Backend, OutboxItem, Store, StoreError, on_pool};
use continuo_core::Lang;
use continuo_core::subscribers::{Subscriber, SubscriberKind, SubscriberState};

const COLUMNS: &str =
    "id, kind, address, components, language, state, created_ms, confirmed_ms, token_hash";

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

fn corrupt(reason: String) -> StoreError {
    StoreError::Corrupt {
        table: "subscribers",
        reason,
    }
}

fn from_row(row: Row) -> Result<Subscriber, StoreError> {
    let (id, kind, address, components, language, state, created_ms, confirmed_ms, _) = row;
    Ok(Subscriber {
        kind: SubscriberKind::from_name(&kind)
            .ok_or_else(|| corrupt(format!("{id}: unknown kind `{kind}`")))?,
        state: SubscriberState::from_name(&state)
            .ok_or_else(|| corrupt(format!("{id}: unknown state `{state}`")))?,
        language: Lang::from_code(&language)
            .ok_or_else(|| corrupt(format!("{id}: unknown language `{language}`")))?,
        components: serde_json::from_str(&components)
            .map_err(|e| corrupt(format!("{id}: components: {e}")))?,
        id,
        address,
        created_ms,
        confirmed_ms,
    })
}

impl Store {
    /// Adds or replaces a subscriber (with the SHA-256 of its confirmation token, if it
    /// has one) and adds the outbox items about it, in one transaction. Items whose key
    /// exists are left as they are.
    pub async fn put_subscriber(
        &self,
        subscriber: &Subscriber,
        token_hash: Option<&str>,
        items: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let upsert = format!(
            "INSERT INTO subscribers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, address = excluded.address, \
             components = excluded.components, language = excluded.language, state = excluded.state, \
             created_ms = excluded.created_ms, confirmed_ms = excluded.confirmed_ms, token_hash = excluded.token_hash"
        );
        let components =
            serde_json::to_string(&subscriber.components).map_err(|e| corrupt(e.to_string()))?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(upsert.clone()))
                .bind(&subscriber.id)
                .bind(subscriber.kind.name())
                .bind(&subscriber.address)
                .bind(&components)
                .bind(subscriber.language.code())
                .bind(subscriber.state.name())
                .bind(subscriber.created_ms)
                .bind(subscriber.confirmed_ms)
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
            super::outbox::add_items(&mut tx, items).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// One subscriber.
    pub async fn subscriber(&self, id: &str) -> Result<Option<Subscriber>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM subscribers WHERE id = $1");
        let row: Option<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        row.map(from_row).transpose()
    }

    /// The subscriber of this kind and address that has not unsubscribed, if any.
    pub async fn subscriber_by_address(
        &self,
        kind: SubscriberKind,
        address: &str,
    ) -> Result<Option<Subscriber>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM subscribers WHERE kind = $1 AND address = $2 AND state <> 'unsubscribed' \
             ORDER BY created_ms DESC LIMIT 1"
        );
        let row: Option<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(kind.name()).bind(address).fetch_optional(pool).await?);
        row.map(from_row).transpose()
    }

    /// The subscriber whose confirmation token has this SHA-256.
    pub async fn subscriber_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Subscriber>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM subscribers WHERE token_hash = $1");
        let row: Option<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(pool).await?);
        row.map(from_row).transpose()
    }

    /// Subscribers in a state (or all), oldest first.
    pub async fn subscribers(
        &self,
        state: Option<SubscriberState>,
    ) -> Result<Vec<Subscriber>, StoreError> {
        let filter = if state.is_some() {
            "WHERE state = $1"
        } else {
            "WHERE $1 = $1"
        };
        let sql = format!("SELECT {COLUMNS} FROM subscribers {filter} ORDER BY created_ms, id");
        let name = state.map_or("", SubscriberState::name);
        let rows: Vec<Row> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_all(pool).await?);
        rows.into_iter().map(from_row).collect()
    }

    /// Confirms a pending subscriber at `at_ms` (its token stops working); false when it
    /// is not pending.
    pub async fn confirm_subscriber(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let sql = "UPDATE subscribers SET state = 'confirmed', confirmed_ms = $1, token_hash = NULL \
                   WHERE id = $2 AND state = 'pending'";
        let n = on_pool!(self, pool => sqlx::query(sql).bind(at_ms).bind(id).execute(pool).await?.rows_affected());
        Ok(n > 0)
    }

    /// Unsubscribes, and cancels what is still pending for the subscriber, in one
    /// transaction; false when it was not subscribed.
    pub async fn unsubscribe(&self, id: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE subscribers SET state = 'unsubscribed', token_hash = NULL \
                   WHERE id = $1 AND state <> 'unsubscribed'";
        let cancel = super::outbox::cancel_subscriber_items_sql("id = $2");
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(cancel.clone())).bind("cancelled: unsubscribed").bind(id).execute(&mut *tx).await?;
            let n = sqlx::query(sql).bind(id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Deletes a subscriber and cancels its pending items (its confirmation request,
    /// announcements not sent yet), in one transaction; false when there was none. The
    /// items stay, cancelled: their keys are never sent again and the outbox shows why.
    pub async fn delete_subscriber(&self, id: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM subscribers WHERE id = $1";
        let cancel = super::outbox::cancel_subscriber_items_sql("id = $2");
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(cancel.clone())).bind("cancelled: the subscriber was deleted").bind(id).execute(&mut *tx).await?;
            let n = sqlx::query(sql).bind(id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Removes the subscribers still pending (never confirmed) that were asked for
    /// before `before_ms`, and cancels their pending items, in one transaction; how many
    /// were removed.
    pub async fn expire_pending_subscribers(&self, before_ms: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM subscribers WHERE state = 'pending' AND created_ms < $1";
        let cancel =
            super::outbox::cancel_subscriber_items_sql("state = 'pending' AND created_ms < $2");
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(cancel.clone())).bind("cancelled: never confirmed, the subscription expired").bind(before_ms).execute(&mut *tx).await?;
            let n = sqlx::query(sql).bind(before_ms).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// How many subscribers are pending (not confirmed yet), and when the oldest of them
    /// was asked for.
    pub async fn pending_subscribers(&self) -> Result<(u64, Option<i64>), StoreError> {
        let sql = "SELECT COUNT(*), MIN(created_ms) FROM subscribers WHERE state = 'pending'";
        let (n, oldest): (i64, Option<i64>) =
            on_pool!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?);
        Ok((u64::try_from(n).unwrap_or(0), oldest))
    }
}
