//! The durable notification outbox, the alert book and maintenance windows created at
//! run time.
//!
//! Every notification is a row keyed by its idempotency key, written (together with the
//! alert book that decided it, in one transaction) before anything is sent. A row is
//! `pending` until a send succeeds (`sent`) or it runs out of attempts or fails
//! permanently (`dead`), or until what it was for is gone (`cancelled`: its status page
//! subscriber was deleted, unsubscribed or expired unconfirmed; the row stays, so the key
//! is never written and sent again and the outbox still shows what was not sent and
//! why). Inserting a key that exists changes nothing, so deciding the same notification
//! twice (after a crash) never sends it twice, and a resend after a crash carries the
//! same key.

use super::{Backend, Store, StoreError, body, on_pool};
use continuo_core::maintenance::Window;
use serde_json::Value;

/// The settings key under which the alert book is kept (without its alerts, which are
/// rows of `alerts`).
pub const ALERT_BOOK_KEY: &str = "alert_book";

/// Bound values per statement, under SQLite's limit (32,766) and PostgreSQL's (65,535).
pub(crate) const MAX_BINDS: usize = 30_000;

/// What of the alert book a commit saves: the book's own fields (`rest`, everything
/// but its alerts) when they changed, the alerts added or changed, and the ids of the
/// alerts it dropped. A decision's write follows what it changed, not what is open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BookChanges {
    /// The book without its `alerts`, saved whole when present.
    pub rest: Option<Value>,
    /// Alerts added or changed: id and the alert.
    pub alerts: Vec<(String, Value)>,
    /// Ids of the alerts no longer in the book.
    pub dropped: Vec<String>,
}

impl BookChanges {
    /// Every alert of `book` (a whole alert book) and the rest of it: what a first save,
    /// or a test, writes. Its `alerts` may be a map by id or a list of alerts with an
    /// `id`; alerts saved earlier and absent from `book` are not dropped.
    pub fn whole(book: &Value) -> BookChanges {
        let mut rest = book.clone();
        let alerts = match rest.as_object_mut().and_then(|m| m.remove("alerts")) {
            Some(Value::Object(map)) => map.into_iter().collect(),
            Some(Value::Array(list)) => list
                .into_iter()
                .filter_map(|a| {
                    let id = a.get("id")?.as_str()?.to_string();
                    Some((id, a))
                })
                .collect(),
            _ => Vec::new(),
        };
        BookChanges {
            rest: Some(rest),
            alerts,
            dropped: Vec::new(),
        }
    }

    /// Nothing to save of the book.
    pub fn is_empty(&self) -> bool {
        self.rest.is_none() && self.alerts.is_empty() && self.dropped.is_empty()
    }
}

/// What one attempt at an item came to, for [`Store::outbox_record`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered at `at_ms`; `detail` is the receiver's answer.
    Sent {
        /// The item.
        key: String,
        /// When.
        at_ms: i64,
        /// What the receiver answered.
        detail: String,
    },
    /// Failed: retried at `next_ms`, or dead when `None`. Only a pending item changes.
    Failed {
        /// The item.
        key: String,
        /// The next attempt.
        next_ms: Option<i64>,
        /// Why it failed.
        error: String,
    },
}

const SENT: &str = "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_ms = $1, last_error = $2 WHERE key = $3";
const FAILED: &str = "UPDATE outbox SET state = $1, attempts = attempts + 1, next_ms = CASE WHEN $2 > 0 THEN $2 ELSE next_ms END, last_error = $3 WHERE key = $4 AND state = 'pending'";

/// The state and next attempt a failure leaves an item in.
fn failed_state(next_ms: Option<i64>) -> (&'static str, i64) {
    match next_ms {
        Some(next) => ("pending", next),
        None => ("dead", 0),
    }
}

/// Where a notification is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent (or retried).
    Pending,
    /// Delivered.
    Sent,
    /// Given up: permanent failure or too many attempts.
    Dead,
    /// Not to be sent any more: its receiver is gone (a deleted, unsubscribed or expired
    /// status page subscriber).
    Cancelled,
}

impl OutboxState {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Dead => "dead",
            OutboxState::Cancelled => "cancelled",
        }
    }

    /// The state with this stored name.
    pub fn from_name(name: &str) -> Option<OutboxState> {
        [
            OutboxState::Pending,
            OutboxState::Sent,
            OutboxState::Dead,
            OutboxState::Cancelled,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// One notification to one channel (for one recipient).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OutboxItem {
    /// Idempotency key: unique, and the same on every attempt.
    pub key: String,
    /// The channel that sends it.
    pub channel: String,
    /// The alert it is about.
    pub alert: String,
    /// `firing`, `acknowledged`, `resolved`, `reminder`, `posture`.
    pub event: String,
    /// `person:<id>` or `channel:<id>`.
    pub recipient: String,
    /// The notice to render, as JSON.
    pub notice: Value,
    /// Current state.
    pub state: OutboxState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it is due (next attempt).
    pub next_ms: i64,
    /// When it was written.
    pub created_ms: i64,
    /// When it was delivered.
    pub sent_ms: Option<i64>,
    /// The last failure, or the receiver's answer when sent.
    pub last_error: Option<String>,
}

impl OutboxItem {
    /// A new pending item, due at `now_ms`.
    pub fn new(
        key: String,
        channel: String,
        alert: String,
        event: String,
        recipient: String,
        notice: Value,
        now_ms: i64,
    ) -> OutboxItem {
        OutboxItem {
            key,
            channel,
            alert,
            event,
            recipient,
            notice,
            state: OutboxState::Pending,
            attempts: 0,
            next_ms: now_ms,
            created_ms: now_ms,
            sent_ms: None,
            last_error: None,
        }
    }
}

/// Counts of outbox rows by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    /// Waiting.
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Given up.
    pub dead: u64,
    /// Not sent: the receiver is gone.
    pub cancelled: u64,
}

const COLUMNS: &str = "key, channel, alert, event, recipient, notice, state, attempts, next_ms, created_ms, sent_ms, last_error";

type ItemRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

fn item_from_row(row: ItemRow) -> Result<OutboxItem, StoreError> {
    let (
        key,
        channel,
        alert,
        event,
        recipient,
        notice,
        state,
        attempts,
        next_ms,
        created_ms,
        sent_ms,
        last_error,
    ) = row;
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "outbox",
        reason,
    };
    Ok(OutboxItem {
        notice: serde_json::from_str(&notice).map_err(|e| corrupt(format!("{key}: {e}")))?,
        state: OutboxState::from_name(&state)
            .ok_or_else(|| corrupt(format!("{key}: unknown state `{state}`")))?,
        key,
        channel,
        alert,
        event,
        recipient,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_ms,
        created_ms,
        sent_ms,
        last_error,
    })
}

/// Adds outbox items inside the caller's transaction; an item whose key exists is left
/// as it is. The one place outbox rows are inserted, so every writer of notifications
/// (alerting, subscriptions) keeps the same once-per-key rule.
pub(crate) async fn add_items<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    items: &[OutboxItem],
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database + sqlx::database::HasStatementCache,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    i64: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    Option<i64>: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    Option<String>: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    // Many rows per statement: a mass outage commits thousands of items, and a round
    // trip each made the commit's cost follow the database's latency (PostgreSQL).
    for chunk in items.chunks(MAX_BINDS / 12) {
        let mut q = sqlx::QueryBuilder::<DB>::new(format!("INSERT INTO outbox ({COLUMNS}) "));
        q.push_values(chunk, |mut row, item| {
            row.push_bind(item.key.clone())
                .push_bind(item.channel.clone())
                .push_bind(item.alert.clone())
                .push_bind(item.event.clone())
                .push_bind(item.recipient.clone())
                .push_bind(item.notice.to_string())
                .push_bind(item.state.name().to_string())
                .push_bind(i64::from(item.attempts))
                .push_bind(item.next_ms)
                .push_bind(item.created_ms)
                .push_bind(item.sent_ms)
                .push_bind(item.last_error.clone());
        });
        q.push(" ON CONFLICT (key) DO NOTHING");
        q.build().persistent(false).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The statement that cancels the pending items of the status page subscribers that
/// `which` selects (an SQL condition on `subscribers` whose one parameter is `$2`), noting
/// the reason (`$1`) as the item's last error. Run in the transaction that removes or
/// changes those subscribers.
pub(crate) fn cancel_subscriber_items_sql(which: &str) -> String {
    format!(
        "UPDATE outbox SET state = 'cancelled', last_error = $1 WHERE state = 'pending' \
         AND recipient IN (SELECT 'subscriber:' || id FROM subscribers WHERE {which})"
    )
}

impl Store {
    /// In one transaction: saves the alert book and adds the notifications it decided.
    /// Items whose key exists already are left as they are.
    pub async fn commit_alerting(
        &self,
        book: &BookChanges,
        items: &[OutboxItem],
        incidents: &[super::IncidentRow],
    ) -> Result<(), StoreError> {
        self.commit_alerting_inner(book, items, incidents, &[])
            .await
    }

    /// [`Store::commit_alerting`] with the evidence records the stages found, in the
    /// same transaction.
    pub async fn commit_alerting_with_evidence(
        &self,
        book: &BookChanges,
        items: &[OutboxItem],
        incidents: &[super::IncidentRow],
        evidence: &[continuo_core::evidence::Evidence],
    ) -> Result<(), StoreError> {
        self.commit_alerting_inner(book, items, incidents, evidence)
            .await
    }

    async fn commit_alerting_inner(
        &self,
        book: &BookChanges,
        items: &[OutboxItem],
        incidents: &[super::IncidentRow],
        evidence: &[continuo_core::evidence::Evidence],
    ) -> Result<(), StoreError> {
        let save = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(rest) = &book.rest {
                sqlx::query(save).bind(ALERT_BOOK_KEY).bind(body::seal(body::ALERT_BOOK, rest)).execute(&mut *tx).await?;
            }
            // Many rows per statement (each key once, as ON CONFLICT DO UPDATE needs).
            for chunk in book.alerts.chunks(MAX_BINDS / 2) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO alerts (id, body) ");
                q.push_values(chunk, |mut row, (id, alert)| {
                    row.push_bind(id.clone()).push_bind(body::seal(body::ALERT, alert));
                });
                q.push(" ON CONFLICT (id) DO UPDATE SET body = excluded.body");
                q.build().persistent(false).execute(&mut *tx).await?;
            }
            for id in &book.dropped {
                sqlx::query("DELETE FROM alerts WHERE id = $1").bind(id).execute(&mut *tx).await?;
            }
            add_items(&mut tx, items).await?;
            for chunk in incidents.chunks(MAX_BINDS / 7) {
                let mut q = sqlx::QueryBuilder::new(super::incidents::UPSERT_HEAD);
                q.push_values(chunk, |mut b, row| {
                    b.push_bind(row.id.clone())
                        .push_bind(row.number)
                        .push_bind(row.status.clone())
                        .push_bind(row.severity)
                        .push_bind(row.detected_ms)
                        .push_bind(row.resolved_ms)
                        .push_bind(body::seal(body::INCIDENT, &row.body));
                });
                q.push(super::incidents::UPSERT_TAIL);
                q.build().persistent(false).execute(&mut *tx).await?;
            }
            super::evidence::insert(&mut tx, evidence).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds outbox items on their own (existing keys untouched): notices that follow no
    /// decision of the books, such as a continuity claim gone stale.
    pub async fn outbox_add(&self, items: &[OutboxItem]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            add_items(&mut tx, items).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The saved alert book, if any, whole: its own fields and its `alerts` by id. A
    /// book saved by a newer Continuo is [`StoreError::NewerVersion`]. A book of
    /// version 0 or 1 (alerts inline) has its alerts moved to their rows first, in one
    /// transaction, so later commits that write only changed alerts lose none.
    pub async fn alert_book(&self) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = on_pool!(self, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(ALERT_BOOK_KEY).fetch_optional(pool).await?);
        let mut rest = text
            .map(|t| body::open(body::ALERT_BOOK, ALERT_BOOK_KEY, &t))
            .transpose()?;
        if let Some(inline) = rest
            .as_mut()
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove("alerts"))
        {
            let mut upgrade = BookChanges::whole(&serde_json::json!({ "alerts": inline }));
            upgrade.rest = rest.clone();
            let save = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
            on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                for (id, alert) in &upgrade.alerts {
                    sqlx::query("INSERT INTO alerts (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
                        .bind(id).bind(body::seal(body::ALERT, alert)).execute(&mut *tx).await?;
                }
                if let Some(rest) = &upgrade.rest {
                    sqlx::query(save).bind(ALERT_BOOK_KEY).bind(body::seal(body::ALERT_BOOK, rest)).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            });
        }
        let rows: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as("SELECT id, body FROM alerts ORDER BY id").fetch_all(pool).await?);
        if rest.is_none() && rows.is_empty() {
            return Ok(None);
        }
        let mut alerts = serde_json::Map::new();
        for (id, text) in rows {
            let alert = body::open(body::ALERT, &id, &text)?;
            alerts.insert(id, alert);
        }
        let mut book = match rest {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        book.insert("alerts".to_string(), Value::Object(alerts));
        Ok(Some(Value::Object(book)))
    }

    /// Pending items due at `now_ms`: operators' items (every recipient but a status page
    /// subscriber) first, then subscribers' items, each oldest due first, so however
    /// many subscriber items are due a page is always among the first read. An item waits
    /// while an earlier item for the same alert, channel and recipient is still pending: a
    /// resolution is never sent before the page it closes (which may be waiting for a
    /// retry).
    pub async fn outbox_due(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxItem>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox o WHERE o.state = 'pending' AND o.next_ms <= $1 \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state = 'pending' AND p.alert = o.alert \
             AND p.channel = o.channel AND p.recipient = o.recipient \
             AND (p.created_ms < o.created_ms OR (p.created_ms = o.created_ms AND p.key < o.key))) \
             ORDER BY CASE WHEN o.recipient LIKE 'subscriber:%' THEN 1 ELSE 0 END, \
             o.next_ms, o.created_ms, o.key LIMIT $2"
        );
        on_pool!(self, pool => {
            let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now_ms).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.into_iter().map(item_from_row).collect()
        })
    }

    /// When the next pending item is due.
    pub async fn outbox_next_due(&self) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT MIN(next_ms) FROM outbox WHERE state = 'pending'";
        let next: Option<i64> =
            on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await?);
        Ok(next)
    }

    /// Items in a state (or all), newest first.
    pub async fn outbox(
        &self,
        state: Option<OutboxState>,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let filter = if state.is_some() {
            "WHERE state = $1"
        } else {
            "WHERE $1 = $1"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox {filter} ORDER BY created_ms DESC, key DESC LIMIT $2"
        );
        let name = state.map_or("", OutboxState::name);
        on_pool!(self, pool => {
            let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.into_iter().map(item_from_row).collect()
        })
    }

    /// How many items are in each state.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let sql = "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state";
        let rows: Vec<(String, i64)> =
            on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        let mut counts = OutboxCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match OutboxState::from_name(&state) {
                Some(OutboxState::Pending) => counts.pending = n,
                Some(OutboxState::Sent) => counts.sent = n,
                Some(OutboxState::Dead) => counts.dead = n,
                Some(OutboxState::Cancelled) => counts.cancelled = n,
                None => {}
            }
        }
        Ok(counts)
    }

    /// Records a delivery.
    pub async fn outbox_sent(
        &self,
        key: &str,
        now_ms: i64,
        detail: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(SENT).bind(now_ms).bind(detail).bind(key).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Records the outcomes of many attempts in one transaction: in a mass outage the
    /// dispatcher's records share a commit (one flush to disk) instead of one each.
    pub async fn outbox_record(&self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for outcome in outcomes {
                match outcome {
                    Outcome::Sent { key, at_ms, detail } => {
                        sqlx::query(SENT).bind(*at_ms).bind(detail).bind(key).execute(&mut *tx).await?;
                    }
                    Outcome::Failed { key, next_ms, error } => {
                        let (state, next) = failed_state(*next_ms);
                        sqlx::query(FAILED).bind(state).bind(next).bind(error).bind(key).execute(&mut *tx).await?;
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records a failed attempt: retried at `next_ms`, or dead when `next_ms` is `None`.
    /// Only a pending item changes: one cancelled while its send was in flight stays
    /// cancelled.
    pub async fn outbox_failed(
        &self,
        key: &str,
        next_ms: Option<i64>,
        error: &str,
    ) -> Result<(), StoreError> {
        let (state, next) = failed_state(next_ms);
        on_pool!(self, pool => sqlx::query(FAILED).bind(state).bind(next).bind(error).bind(key).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Puts a dead item back in the queue, due now.
    pub async fn outbox_retry(&self, key: &str, now_ms: i64) -> Result<bool, StoreError> {
        let sql =
            "UPDATE outbox SET state = 'pending', next_ms = $1 WHERE key = $2 AND state = 'dead'";
        let n = on_pool!(self, pool => sqlx::query(sql).bind(now_ms).bind(key).execute(pool).await?.rows_affected());
        Ok(n > 0)
    }

    /// Adds (or replaces) a maintenance window created at run time.
    pub async fn put_window(&self, window: &Window) -> Result<(), StoreError> {
        let sql = "INSERT INTO maintenance_windows (id, body, until_ms) VALUES ($1, $2, $3) \
                   ON CONFLICT (id) DO UPDATE SET body = excluded.body, until_ms = excluded.until_ms";
        let body = serde_json::to_string(window).map_err(|e| StoreError::Corrupt {
            table: "maintenance_windows",
            reason: e.to_string(),
        })?;
        on_pool!(self, pool => sqlx::query(sql).bind(&window.id).bind(body).bind(window.until_ms).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Maintenance windows created at run time that end after `after_ms`.
    pub async fn windows(&self, after_ms: i64) -> Result<Vec<Window>, StoreError> {
        let sql = "SELECT body FROM maintenance_windows WHERE until_ms > $1 ORDER BY id";
        let bodies: Vec<String> =
            on_pool!(self, pool => sqlx::query_scalar(sql).bind(after_ms).fetch_all(pool).await?);
        bodies
            .iter()
            .map(|b| {
                serde_json::from_str(b).map_err(|e| StoreError::Corrupt {
                    table: "maintenance_windows",
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}
