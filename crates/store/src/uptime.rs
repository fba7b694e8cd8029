//! Daily uptime for the status page: the day rollups of a set of checks over a period,
//! summed over locations, so a page of components is one query however many checks
//! they have.
//!
//! A day without a row had no observations: it is absent from the answer, and callers
//! must show it as "no data", never as 100 %.

use super::{Backend, Store, StoreError, on_pool};
use sqlx::Row;

/// One check's observations on one UTC day, all locations together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCount {
    /// The check.
    pub check_id: String,
    /// Start of the UTC day, unix ms.
    pub day_ms: i64,
    /// Observations that day.
    pub count: u64,
    /// Of which failures.
    pub failures: u64,
}

impl Store {
    /// Day rollups of `checks` with a bucket in `[from_ms, until_ms)`, summed over
    /// locations, ordered by check and day. Days without observations are left out.
    pub async fn day_counts(
        &self,
        checks: &[String],
        from_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<DayCount>, StoreError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        // Placeholders in order of first use: $1, $2 for the period, then one per check.
        let list: Vec<String> = (0..checks.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT check_id, bucket_ms, CAST(SUM(count) AS BIGINT) AS count, CAST(SUM(failures) AS BIGINT) AS failures FROM rollups \
             WHERE resolution = 'day' AND bucket_ms >= $1 AND bucket_ms < $2 AND check_id IN ({}) \
             GROUP BY check_id, bucket_ms ORDER BY check_id, bucket_ms",
            list.join(", ")
        );
        on_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(from_ms)
                .bind(until_ms);
            for check in checks {
                query = query.bind(check);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| -> Result<DayCount, StoreError> {
                Ok(DayCount {
                    check_id: row.try_get("check_id")?,
                    day_ms: row.try_get("bucket_ms")?,
                    count: row.try_get::<i64, _>("count")?.max(0) as u64,
                    failures: row.try_get::<i64, _>("failures")?.max(0) as u64,
                })
            }).collect()
        })
    }
}
