//! Evidence records (`DESIGN.md` 4b): append-only, one row per measurement, the whole
//! record as versioned JSON ([`crate::body`]) beside the columns that filters and the posture read. A record's id
//! is derived from its source, so writing the same measurement twice (a retry, a
//! replay after a crash) keeps one row: inserts never update.
//!
//! Stages write records in the same transaction as what they measured
//! ([`Store::commit_alerting_with_evidence`], [`Store::add_service_event_with_evidence`]);
//! [`Store::posture`] and [`Store::availability_month`] read them back with the day
//! rollups and hand them to core's pure functions.

use super::{Backend, Store, StoreError, body, on_pool};
use continuo_core::Catalog;
use continuo_core::evidence::availability::{self, CheckDay, ReportIncident, ServiceMonth};
use continuo_core::evidence::{ClaimKind, Evidence, Posture, SourceKind, Subject};
use continuo_core::incident::Recovery;
use continuo_core::incident::book::Incident;
use serde_json::Value;

const INSERT: &str = "INSERT INTO evidence (id, claim, subject, source_kind, observed_ms, outcome, recorded_ms, body) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";

const DAY_MS: i64 = 86_400_000;

/// Which records to read; every field narrows, `limit` 0 reads all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceFilter {
    /// Only this claim.
    pub claim: Option<ClaimKind>,
    /// Only this subject.
    pub subject: Option<Subject>,
    /// Only records from this kind of source.
    pub source_kind: Option<SourceKind>,
    /// Only records observed at or after this instant (UTC ms).
    pub since_ms: Option<i64>,
    /// Only records observed before this instant (UTC ms).
    pub until_ms: Option<i64>,
    /// At most this many, newest first; 0 for all.
    pub limit: u32,
}

fn decode(id: &str, text: &str) -> Result<Evidence, StoreError> {
    let value = body::open(body::EVIDENCE, id, text)?;
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt {
        table: "evidence",
        reason: format!("{id}: {e}"),
    })
}

fn encode(record: &Evidence) -> Result<String, StoreError> {
    let value = serde_json::to_value(record).map_err(|e| StoreError::Corrupt {
        table: "evidence",
        reason: format!("{}: {e}", record.id),
    })?;
    Ok(body::seal(body::EVIDENCE, &value))
}

/// The columns of a record, in [`INSERT`]'s order (the id is the first).
struct Row {
    claim: String,
    subject: String,
    source_kind: String,
    outcome: String,
    body: String,
}

fn row(r: &Evidence) -> Result<Row, StoreError> {
    Ok(Row {
        claim: r.claim.name().to_string(),
        subject: r.subject.key(),
        source_kind: r.source.kind.name().to_string(),
        outcome: r.outcome.name().to_string(),
        body: encode(r)?,
    })
}

/// Inserts `records` inside the caller's transaction (ids kept already are left as
/// they are): the one place evidence rows are written.
pub(crate) async fn insert<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    records: &[Evidence],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    i64: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    for r in records {
        let c = row(r)?;
        sqlx::query(INSERT)
            .bind(r.id.clone())
            .bind(c.claim)
            .bind(c.subject)
            .bind(c.source_kind)
            .bind(r.observed_ms)
            .bind(c.outcome)
            .bind(r.recorded_ms)
            .bind(c.body)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Appends `records`; a record whose id is kept already is left as it is (records
    /// are never updated). Returns how many were new (counted around the insert, so a
    /// concurrent writer of the same ids may make it low).
    pub async fn add_evidence(&self, records: &[Evidence]) -> Result<u64, StoreError> {
        if records.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let before = self.evidence_count(&ids).await?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            insert(&mut tx, records).await?;
            tx.commit().await?;
        });
        Ok(self.evidence_count(&ids).await? - before)
    }

    /// How many of `ids` are kept.
    async fn evidence_count(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let mut kept = 0u64;
        // In chunks: a statement takes a bounded number of placeholders.
        for chunk in unique.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT COUNT(*) FROM evidence WHERE id IN ({})",
                list.join(", ")
            );
            let n: i64 = on_pool!(self, pool => {
                let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    query = query.bind(id.clone());
                }
                query.fetch_one(pool).await?
            });
            kept += n.max(0) as u64;
        }
        Ok(kept)
    }

    /// Records matching `filter`, newest observed first.
    pub async fn evidence(&self, filter: &EvidenceFilter) -> Result<Vec<Evidence>, StoreError> {
        // Placeholders numbered in order of first use, whichever filters are set.
        let mut conditions = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut numbers: Vec<i64> = Vec::new();
        let mut next = 1;
        let mut text_condition = |column: &str, value: String, conditions: &mut Vec<String>| {
            conditions.push(format!("{column} = ${next}"));
            next += 1;
            texts.push(value);
        };
        if let Some(claim) = filter.claim {
            text_condition("claim", claim.name().to_string(), &mut conditions);
        }
        if let Some(subject) = &filter.subject {
            text_condition("subject", subject.key(), &mut conditions);
        }
        if let Some(kind) = filter.source_kind {
            text_condition("source_kind", kind.name().to_string(), &mut conditions);
        }
        for (column, op, value) in [
            ("observed_ms", ">=", filter.since_ms),
            ("observed_ms", "<", filter.until_ms),
        ] {
            if let Some(value) = value {
                conditions.push(format!("{column} {op} ${next}"));
                next += 1;
                numbers.push(value);
            }
        }
        let mut sql = String::from("SELECT id, body FROM evidence");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY observed_ms DESC, recorded_ms DESC, id DESC");
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
        }
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for t in &texts {
                query = query.bind(t.clone());
            }
            for n in &numbers {
                query = query.bind(*n);
            }
            query.fetch_all(pool).await?
        });
        rows.iter().map(|(id, body)| decode(id, body)).collect()
    }

    /// The newest conclusive record of every claim and subject observed at or before
    /// `now_ms`: all a verdict reads.
    pub async fn evidence_latest(&self, now_ms: i64) -> Result<Vec<Evidence>, StoreError> {
        let sql = "SELECT e.id, e.body FROM evidence e WHERE e.outcome <> 'inconclusive' AND e.observed_ms <= $1 \
                   AND e.observed_ms = (SELECT MAX(f.observed_ms) FROM evidence f WHERE f.claim = e.claim \
                   AND f.subject = e.subject AND f.outcome <> 'inconclusive' AND f.observed_ms <= $2) \
                   ORDER BY e.claim, e.subject, e.id";
        let rows: Vec<(String, String)> = on_pool!(self, pool => sqlx::query_as(sql).bind(now_ms).bind(now_ms).fetch_all(pool).await?);
        rows.iter().map(|(id, body)| decode(id, body)).collect()
    }

    /// The posture at `now_ms`: core's [`continuo_core::evidence::posture`] over the
    /// newest records and the day rollups of the services with an SLO over their
    /// windows.
    pub async fn posture(&self, catalog: &Catalog, now_ms: i64) -> Result<Posture, StoreError> {
        let stored = self.evidence_latest(now_ms).await?;
        let mut days = Vec::new();
        for service in catalog.services.iter().filter(|s| s.slo.is_some()) {
            let (from, until) = continuo_core::evidence::slo_window(service, now_ms);
            let checks: Vec<String> = service.checks.iter().map(|c| c.id.value.clone()).collect();
            days.extend(self.check_days(&checks, from, until).await?);
        }
        Ok(continuo_core::evidence::posture(
            catalog, &stored, &days, now_ms,
        ))
    }

    /// The availability report of `[from_ms, until_ms)` (a month) for every service,
    /// or for `service` only: availability from the day rollups (a day without any is
    /// "no data", never up), the incidents that took the service down in the period
    /// with their RTO verdicts, and the period's error budget.
    pub async fn availability_month(
        &self,
        catalog: &Catalog,
        from_ms: i64,
        until_ms: i64,
        service: Option<&str>,
    ) -> Result<Vec<ServiceMonth>, StoreError> {
        // An incident that started before the month may still have taken a service down
        // in it: look back one period.
        let incidents = self
            .incidents_between(
                from_ms - (until_ms - from_ms).max(DAY_MS),
                until_ms,
                u32::MAX,
            )
            .await?;
        let incidents: Vec<Incident> = incidents
            .into_iter()
            .map(|v| decode_incident(&v))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for s in &catalog.services {
            if service.is_some_and(|id| id != s.id.value) {
                continue;
            }
            let checks: Vec<String> = s.checks.iter().map(|c| c.id.value.clone()).collect();
            let days = self.check_days(&checks, from_ms, until_ms).await?;
            let mut hits: Vec<ReportIncident> = incidents
                .iter()
                .filter_map(|i| {
                    let a = i.services.iter().find(|a| a.service == s.id.value)?;
                    let overlaps = a.down_ms < until_ms && a.up_ms.is_none_or(|up| up >= from_ms);
                    overlaps.then(|| {
                        let rto = match a.recovery(a.up_ms.unwrap_or(until_ms)) {
                            Recovery::Met { .. } if a.up_ms.is_some() => "met",
                            Recovery::Breached { .. } => "breached",
                            _ => "open",
                        };
                        ReportIncident {
                            id: i.id.clone(),
                            title: i.title.clone(),
                            down_ms: a.down_ms,
                            up_ms: a.up_ms,
                            duration_ms: a.up_ms.map(|up| up - a.down_ms),
                            rto,
                        }
                    })
                })
                .collect();
            hits.sort_by(|a, b| a.down_ms.cmp(&b.down_ms).then(a.id.cmp(&b.id)));
            out.push(availability::service_month(
                s, &days, from_ms, until_ms, hits,
            ));
        }
        Ok(out)
    }

    async fn check_days(
        &self,
        checks: &[String],
        from_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<CheckDay>, StoreError> {
        Ok(self
            .day_counts(checks, from_ms, until_ms)
            .await?
            .into_iter()
            .map(|d| CheckDay {
                check: d.check_id,
                day_ms: d.day_ms,
                count: d.count,
                failures: d.failures,
            })
            .collect())
    }

    /// [`Store::add_service_event`] with the evidence the event is (a failover proves
    /// redundancy), in the same transaction.
    pub async fn add_service_event_with_evidence(
        &self,
        service: &str,
        at_ms: i64,
        kind: &str,
        body: &Value,
        evidence: &[Evidence],
    ) -> Result<(), StoreError> {
        let sql = super::incidents::ADD_SERVICE_EVENT;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(sql).bind(service).bind(at_ms).bind(kind).bind(body.to_string()).execute(&mut *tx).await?;
            insert(&mut tx, evidence).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}

fn decode_incident(value: &Value) -> Result<Incident, StoreError> {
    serde_json::from_value(value.clone()).map_err(|e| StoreError::Corrupt {
        table: "incidents",
        reason: format!(
            "{}: {e}",
            value.get("id").and_then(Value::as_str).unwrap_or("?")
        ),
    })
}
