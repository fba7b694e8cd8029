//! Evidence and posture over HTTP (`DESIGN.md` 4b): `GET /api/v1/posture` (every claim
//! with its verdict, readiness per subject and tier, error budgets), `GET|POST
//! /api/v1/evidence` (the records, newest first; a manual record), `GET
//! /api/v1/reports/availability` (the monthly SLA report), and the Prometheus families
//! `continuo_claim_verdict` and `continuo_evidence_age_seconds`.
//!
//! Everything is read from the store at request (or scrape) time and handed to core's
//! pure functions through `Store::posture` and `Store::availability_month`; nothing is
//! cached, so a record added a moment ago shows at once.
//!
//! **Invariant:** a manual record is checked against the claims the catalog makes: a
//! claim nobody makes cannot be "proven" by hand. Its outcome is the recorder's
//! judgement (an external audit says met or breached); it is marked as manual wherever it
//! shows, with who recorded it.

use crate::app::{AppState, Shared};
use crate::auth::{Authed, Responder, Viewer};
use crate::error::{ApiError, Refusals, RefusalsAbout};
use crate::{credentials, running};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use continuo_core::Catalog;
use continuo_core::evidence::availability::{ServiceMonth, month_bounds};
use continuo_core::evidence::verdict::{self, Readiness, Verdict};
use continuo_core::evidence::{
    ClaimKind, Evidence, Measure, Outcome, Posture, Source, SourceKind, Subject, Unit, claims,
};
use continuo_core::oncall::parse_instant;
use continuo_core::{Text, tr};
use continuo_store::EvidenceFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// How many records `GET /api/v1/evidence` gives without a `limit`, and at most.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;
/// The longest note a manual record takes.
const MAX_NOTE: usize = 2_000;
/// How far ahead of the server's clock a manual record may say it was observed (clocks
/// of the recorder's machine and the server's differ a little).
const FUTURE_SLACK_MS: i64 = 60_000;

/// The posture and evidence routes.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/posture", get(posture))
        .route("/api/v1/evidence", get(evidence).post(add_evidence))
        .route("/api/v1/reports/availability", get(availability))
}

type Answer = Result<Response, ApiError>;

/// An instant as RFC 3339 in UTC, e.g. `2026-11-25T14:00:00Z`.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A measured or target value.
#[derive(Serialize, ToSchema)]
pub struct MeasureView {
    /// The number.
    value: f64,
    /// `ms`, `percent` or `count`.
    unit: String,
    /// How it reads: `9 min 12 s`, `99.95 %`.
    text: String,
}

impl From<&Measure> for MeasureView {
    fn from(m: &Measure) -> MeasureView {
        MeasureView {
            value: m.value,
            unit: m.unit.name().to_string(),
            text: m.display(),
        }
    }
}

/// One evidence record.
#[derive(Serialize, ToSchema)]
pub struct RecordView {
    /// Its id (derived from claim, subject and source).
    id: String,
    /// The claim: `rto`, `rpo`, `redundancy`, ...
    claim: String,
    /// What it is about: `service:<id>`, `dataset:<id>` or `organization`.
    subject: String,
    /// What produced it: `incident`, `failover`, `page_ack`, `rollup`, `review`, `manual`, ...
    source_kind: String,
    /// The source's id (an incident id, a gateway, a day).
    source_id: String,
    /// Where its source can be seen, if anywhere.
    link: Option<String>,
    /// When it was measured (RFC 3339).
    observed_at: String,
    /// When it was recorded (RFC 3339).
    recorded_at: String,
    /// `met`, `breached` or `inconclusive`.
    outcome: String,
    /// What was measured.
    value: Option<MeasureView>,
    /// What it was held against.
    target: Option<MeasureView>,
    /// A line about it, `{"en": .., "nl": ..}`.
    #[schema(value_type = Option<Object>)]
    note: Option<Text>,
    /// Who recorded it: `continuo`, `catalog` or a person's name.
    recorded_by: String,
    /// Whether a person recorded it by hand.
    manual: bool,
}

impl From<&Evidence> for RecordView {
    fn from(e: &Evidence) -> RecordView {
        RecordView {
            id: e.id.clone(),
            claim: e.claim.name().to_string(),
            subject: e.subject.key(),
            source_kind: e.source.kind.name().to_string(),
            source_id: e.source.id.clone(),
            link: e.link.clone(),
            observed_at: rfc3339(e.observed_ms),
            recorded_at: rfc3339(e.recorded_ms),
            outcome: e.outcome.name().to_string(),
            value: e.value.as_ref().map(MeasureView::from),
            target: e.target.as_ref().map(MeasureView::from),
            note: e.note.clone(),
            recorded_by: e.recorded_by.clone(),
            manual: e.is_manual(),
        }
    }
}

/// A claim with its verdict now and the record that decided it.
#[derive(Serialize, ToSchema)]
pub struct VerdictView {
    /// What the claim is about: `service:<id>` or `organization`.
    subject: String,
    /// The claim.
    claim: String,
    /// The service's tier, for service claims.
    tier: Option<u8>,
    /// `met`, `breached`, `stale` or `unproven`.
    state: String,
    /// The claim's target (the RTO, the SLO...), if it has one.
    target: Option<MeasureView>,
    /// How long a record proves the claim (seconds).
    valid_seconds: i64,
    /// What the deciding record measured.
    value: Option<MeasureView>,
    /// The deciding record's id (for `stale`: the last conclusive one).
    evidence_id: Option<String>,
    /// Its source kind.
    source_kind: Option<String>,
    /// Its source id.
    source_id: Option<String>,
    /// Where its source can be seen.
    link: Option<String>,
    /// When it was measured (RFC 3339).
    observed_at: Option<String>,
    /// How old it is now (seconds).
    age_seconds: Option<i64>,
    /// Whether it was recorded by hand.
    manual: Option<bool>,
    /// Who recorded it: `continuo`, `catalog` or a person's name.
    recorded_by: Option<String>,
    /// The record's own line (a manual record's note), `{"en": .., "nl": ..}`.
    #[schema(value_type = Option<Object>)]
    note: Option<Text>,
    /// One line about it, `{"en": .., "nl": ..}`.
    #[schema(value_type = Object)]
    summary: Text,
}

impl From<&Verdict> for VerdictView {
    fn from(v: &Verdict) -> VerdictView {
        let e = v.evidence.as_ref();
        VerdictView {
            subject: v.claim.subject.key(),
            claim: v.claim.kind.name().to_string(),
            tier: v.claim.tier,
            state: v.state.name().to_string(),
            target: v.claim.target.as_ref().map(MeasureView::from),
            valid_seconds: v.claim.valid_ms / 1_000,
            value: e.and_then(|e| e.value.as_ref()).map(MeasureView::from),
            evidence_id: e.map(|e| e.id.clone()),
            source_kind: e.map(|e| e.source.kind.name().to_string()),
            source_id: e.map(|e| e.source.id.clone()),
            link: e.and_then(|e| e.link.clone()),
            observed_at: e.map(|e| rfc3339(e.observed_ms)),
            age_seconds: v.age_ms.map(|ms| ms / 1_000),
            manual: e.map(Evidence::is_manual),
            recorded_by: e.map(|e| e.recorded_by.clone()),
            note: e.and_then(|e| e.note.clone()),
            summary: v.summary(),
        }
    }
}

/// Which claims of one subject are in which state (names, never a score).
#[derive(Serialize, ToSchema)]
pub struct ReadinessView {
    /// `service:<id>` or `organization`.
    subject: String,
    /// Claims met.
    met: Vec<String>,
    /// Claims breached.
    breached: Vec<String>,
    /// Claims stale.
    stale: Vec<String>,
    /// Claims unproven.
    unproven: Vec<String>,
}

fn names(kinds: &[ClaimKind]) -> Vec<String> {
    kinds.iter().map(|k| k.name().to_string()).collect()
}

impl ReadinessView {
    fn new(subject: &Subject, r: &Readiness) -> ReadinessView {
        ReadinessView {
            subject: subject.key(),
            met: names(&r.met),
            breached: names(&r.breached),
            stale: names(&r.stale),
            unproven: names(&r.unproven),
        }
    }
}

/// Per tier, its services' claims by kind and state.
#[derive(Serialize, ToSchema)]
pub struct TierView {
    /// The tier (1 is the most critical).
    tier: u8,
    /// Per claim kind, how many claims are in each state.
    #[schema(value_type = Object)]
    counts: BTreeMap<&'static str, BTreeMap<&'static str, u32>>,
    /// Per state, how many claims over every kind.
    #[schema(value_type = Object)]
    totals: BTreeMap<&'static str, u32>,
}

/// A service's error budget over its SLO window.
#[derive(Serialize, ToSchema)]
pub struct BudgetView {
    /// The service.
    service: String,
    /// The objective in percent.
    slo_percent: f64,
    /// The window (days).
    window_days: f64,
    /// Downtime the window allows (minutes).
    allowed_minutes: f64,
    /// Downtime measured in it (minutes).
    spent_minutes: f64,
    /// What is left (negative: overspent).
    remaining_minutes: f64,
}

/// The posture now.
#[derive(Serialize, ToSchema)]
pub struct PostureView {
    /// When it was computed (RFC 3339).
    at: String,
    /// Every claim with its verdict, services in catalog order, then the organisation.
    verdicts: Vec<VerdictView>,
    /// Per subject, which claims are met, breached, stale and unproven.
    readiness: Vec<ReadinessView>,
    /// Per tier, the claims of its services by state.
    tiers: Vec<TierView>,
    /// Per service with an SLO, its error budget.
    budgets: Vec<BudgetView>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl PostureView {
    /// The posture, of one service only when `service` names one.
    pub fn new(p: &Posture, service: Option<&str>) -> PostureView {
        let wanted = |s: &Subject| service.is_none_or(|id| s.service() == Some(id));
        let verdicts: Vec<Verdict> = p
            .verdicts
            .iter()
            .filter(|v| wanted(&v.claim.subject))
            .cloned()
            .collect();
        PostureView {
            at: rfc3339(p.at_ms),
            verdicts: verdicts.iter().map(VerdictView::from).collect(),
            readiness: p
                .subjects
                .iter()
                .filter(|(s, _)| wanted(s))
                .map(|(s, r)| ReadinessView::new(s, r))
                .collect(),
            // Recounted from the verdicts shown, so one service's answer counts only it.
            tiers: verdict::readiness_by_tier(&verdicts)
                .into_iter()
                .map(|t| TierView {
                    tier: t.tier,
                    counts: t.counts,
                    totals: t.totals,
                })
                .collect(),
            budgets: p
                .budgets
                .iter()
                .filter(|(s, _)| service.is_none_or(|id| id == s))
                .map(|(s, b)| BudgetView {
                    service: s.clone(),
                    slo_percent: round3(b.slo * 100.0),
                    window_days: round3(b.window_ms as f64 / 86_400_000.0),
                    allowed_minutes: round3(b.allowed_minutes),
                    spent_minutes: round3(b.spent_minutes),
                    remaining_minutes: round3(b.remaining_minutes),
                })
                .collect(),
        }
    }
}

/// A 404 for a service the catalog does not have.
fn unknown_service(id: &str) -> ApiError {
    ApiError::not_found(tr!(
        "no service with id `{id}` in the catalog",
        "geen dienst met id `{id}` in de catalogus"
    ))
}

#[derive(Deserialize)]
struct PostureQuery {
    service: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/posture",
    tag = "evidence",
    description = "Every continuity claim of the catalog with its verdict now (met, breached, stale, unproven) and the record that decided it, readiness per subject and per tier, and the error budget of every service with an SLO; of one service with `service`. Needs the viewer role.",
    params(("service" = Option<String>, Query, description = "Only this service's claims")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The posture", body = PostureView),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn posture(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Query(q): Query<PostureQuery>,
) -> Answer {
    let store = running::store(&state)?;
    let catalog = state.engine.catalog();
    let service = q
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(id) = service
        && catalog.service(id).is_none()
    {
        return Err(unknown_service(id));
    }
    let p = store
        .posture(&catalog, state.engine.now_ms())
        .await
        .map_err(ApiError::store_unreadable)?;
    Ok(axum::Json(PostureView::new(&p, service)).into_response())
}

/// Evidence records, newest first.
#[derive(Serialize, ToSchema)]
struct EvidenceList {
    /// The records.
    records: Vec<RecordView>,
}

#[derive(Deserialize)]
struct EvidenceQuery {
    claim: Option<String>,
    subject: Option<String>,
    source: Option<String>,
    limit: Option<String>,
}

/// The names a claim may have, for messages.
fn claim_names() -> String {
    ClaimKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn bad_claim(name: &str) -> Text {
    let all = claim_names();
    tr!(
        "`claim` is one of {all}, not `{name}`",
        "`claim` is een van {all}, niet `{name}`"
    )
}

fn bad_subject(text: &str) -> Text {
    tr!(
        "`subject` is a service id, `service:<id>`, `dataset:<id>` or `organization`, not `{text}`",
        "`subject` is een dienst-id, `service:<id>`, `dataset:<id>` of `organization`, niet `{text}`"
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/evidence",
    tag = "evidence",
    description = "Evidence records, newest observed first, optionally of one claim, one subject and one kind of source. Needs the viewer role.",
    params(
        ("claim" = Option<String>, Query, description = "rto, rpo, redundancy, runbook_current, escalation_reachable, availability, plan_reviewed, ..."),
        ("subject" = Option<String>, Query, description = "A service id, service:<id>, dataset:<id> or organization"),
        ("source" = Option<String>, Query, description = "incident, failover, page_ack, rollup, review, manual, ..."),
        ("limit" = Option<u32>, Query, description = "At most this many (1 to 1000, 100 unless given)"),
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The records", body = EvidenceList),
        Refusals,
    ),
)]
async fn evidence(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Query(q): Query<EvidenceQuery>,
) -> Answer {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let claim = match given(&q.claim) {
        None => None,
        Some(name) => Some(
            ClaimKind::from_name(&name).ok_or_else(|| ApiError::bad_request(bad_claim(&name)))?,
        ),
    };
    let subject = match given(&q.subject) {
        None => None,
        Some(text) => {
            Some(Subject::parse(&text).ok_or_else(|| ApiError::bad_request(bad_subject(&text)))?)
        }
    };
    let source_kind = match given(&q.source) {
        None => None,
        Some(name) => Some(SourceKind::from_name(&name).ok_or_else(|| {
            let all = SourceKind::ALL
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ");
            ApiError::bad_request(tr!(
                "`source` is one of {all}, not `{name}`",
                "`source` is een van {all}, niet `{name}`"
            ))
        })?),
    };
    let limit = match given(&q.limit) {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(tr!(
                    "`limit` is a number from 1 to {MAX_LIMIT}, not `{text}`",
                    "`limit` is een getal van 1 tot en met {MAX_LIMIT}, niet `{text}`"
                ))
            })?,
    };
    let filter = EvidenceFilter {
        claim,
        subject,
        source_kind,
        limit,
        ..EvidenceFilter::default()
    };
    let records = running::store(&state)?
        .evidence(&filter)
        .await
        .map_err(ApiError::store_unreadable)?;
    Ok(axum::Json(EvidenceList {
        records: records.iter().map(RecordView::from).collect(),
    })
    .into_response())
}

/// A record made by hand: an external audit, a restore tested elsewhere.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEvidence {
    /// The claim it proves or contradicts (`rto`, `redundancy`, ...); the subject must
    /// make it.
    claim: String,
    /// A service id, `service:<id>` or `organization`.
    subject: String,
    /// `met`, `breached` or `inconclusive`: the recorder's judgement.
    outcome: String,
    /// What was measured, if a number.
    value: Option<f64>,
    /// Its unit: `ms`, `percent` or `count`; by default the claim's target's.
    unit: Option<String>,
    /// When it was measured: RFC 3339 or a local date-time; by default now.
    observed_at: Option<String>,
    /// What it is and where the proof is kept (required).
    note: String,
}

const NEW_EVIDENCE_EXAMPLE: &str = r#"{"claim": "rto", "subject": "shop", "outcome": "met", "value": 1500000, "unit": "ms", "observed_at": "2026-11-20T10:00:00Z", "note": "Restore drill by the hosting provider, report 2026-118"}"#;

/// The record `n` describes, checked against the catalog's claims, made by `who` at
/// `now_ms`; or what is wrong with it.
fn manual_record(
    catalog: &Catalog,
    n: &NewEvidence,
    who: &str,
    now_ms: i64,
    source_id: String,
) -> Result<Evidence, ApiError> {
    let claim_name = n.claim.trim();
    let kind = ClaimKind::from_name(claim_name)
        .ok_or_else(|| ApiError::unprocessable(bad_claim(claim_name)))?;
    let subject_text = n.subject.trim();
    let subject = Subject::parse(subject_text)
        .ok_or_else(|| ApiError::unprocessable(bad_subject(subject_text)))?;
    if let Some(id) = subject.service()
        && catalog.service(id).is_none()
    {
        return Err(ApiError::unprocessable(tr!(
            "`subject`: no service with id `{id}` in the catalog",
            "`subject`: geen dienst met id `{id}` in de catalogus"
        )));
    }
    let made = claims::claims(catalog);
    let Some(claim) = made.iter().find(|c| c.kind == kind && c.subject == subject) else {
        let key = subject.key();
        let theirs: Vec<&str> = made
            .iter()
            .filter(|c| c.subject == subject)
            .map(|c| c.kind.name())
            .collect();
        let theirs = if theirs.is_empty() {
            "none".to_string()
        } else {
            theirs.join(", ")
        };
        return Err(ApiError::unprocessable(tr!(
            "`{key}` makes no `{claim_name}` claim in the catalog (its claims: {theirs})",
            "`{key}` maakt in de catalogus geen claim `{claim_name}` (de claims: {theirs})"
        )));
    };
    let outcome_name = n.outcome.trim();
    let outcome = Outcome::from_name(outcome_name).ok_or_else(|| {
        ApiError::unprocessable(tr!(
            "`outcome` is met, breached or inconclusive, not `{outcome_name}`",
            "`outcome` is met, breached of inconclusive, niet `{outcome_name}`"
        ))
    })?;
    let unit = match n.unit.as_deref().map(str::trim) {
        None => None,
        Some(name) => Some(Unit::from_name(name).ok_or_else(|| {
            ApiError::unprocessable(tr!(
                "`unit` is ms, percent or count, not `{name}`",
                "`unit` is ms, percent of count, niet `{name}`"
            ))
        })?),
    };
    let value = match (n.value, unit) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::unprocessable(tr!(
                "`unit` needs a `value`",
                "`unit` heeft een `value` nodig"
            )));
        }
        (Some(value), unit) => {
            let unit = unit
                .or(claim.target.map(|t| t.unit))
                .ok_or_else(|| {
                    ApiError::unprocessable(tr!(
                        "`{claim_name}` has no target to take the unit from: give `unit` (ms, percent or count)",
                        "`{claim_name}` heeft geen doel om de eenheid van over te nemen: geef `unit` (ms, percent of count)"
                    ))
                })?;
            let fits =
                value.is_finite() && value >= 0.0 && (unit != Unit::Percent || value <= 100.0);
            if !fits {
                return Err(ApiError::unprocessable(tr!(
                    "`value` must be a number of at least 0 (at most 100 for percent), not {value}",
                    "`value` moet een getal van minstens 0 zijn (hoogstens 100 voor percent), niet {value}"
                )));
            }
            Some(Measure { value, unit })
        }
    };
    let tz =
        jiff::tz::TimeZone::get(&catalog.organization.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let observed_ms = match n.observed_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => now_ms,
        Some(text) => parse_instant(text, &tz).ok_or_else(|| {
            ApiError::unprocessable(tr!(
                "`observed_at` = `{text}` is not a time: use RFC 3339 (2026-11-25T14:00:00Z) or a local date-time (2026-11-25 15:00)",
                "`observed_at` = `{text}` is geen tijd: gebruik RFC 3339 (2026-11-25T14:00:00Z) of een lokale datum en tijd (2026-11-25 15:00)"
            ))
        })?,
    };
    if observed_ms > now_ms + FUTURE_SLACK_MS {
        return Err(ApiError::unprocessable(tr!(
            "`observed_at` is in the future: evidence records what was measured",
            "`observed_at` ligt in de toekomst: bewijs legt vast wat gemeten is"
        )));
    }
    let note = n.note.trim();
    if note.is_empty() {
        return Err(ApiError::unprocessable(tr!(
            "`note` is required: say what the proof is and where it is kept",
            "`note` is verplicht: zeg wat het bewijs is en waar het bewaard wordt"
        )));
    }
    if note.chars().count() > MAX_NOTE {
        return Err(ApiError::unprocessable(tr!(
            "`note` is longer than {MAX_NOTE} characters",
            "`note` is langer dan {MAX_NOTE} tekens"
        )));
    }
    let source = Source {
        kind: SourceKind::Manual,
        id: source_id,
    };
    Ok(Evidence {
        id: Evidence::id_for(kind, &subject, &source),
        claim: kind,
        subject,
        source,
        observed_ms,
        value,
        target: claim.target,
        outcome,
        link: None,
        note: Some(Text::same(note)),
        recorded_by: who.to_string(),
        recorded_ms: now_ms,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/evidence",
    tag = "evidence",
    description = "Records evidence by hand (an external audit, a test done elsewhere), marked as manual with who recorded it. The subject must make the claim in the catalog; the note is required. Needs the responder role.",
    request_body = NewEvidence,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, description = "The record", body = RecordView),
        Refusals,
    ),
)]
async fn add_evidence(State(state): State<Shared>, who: Authed<Responder>, bytes: Bytes) -> Answer {
    let n: NewEvidence = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(tr!(
            "the body must be JSON like {NEW_EVIDENCE_EXAMPLE}: {e}",
            "de body moet JSON zijn zoals {NEW_EVIDENCE_EXAMPLE}: {e}"
        ))
    })?;
    let store = running::store(&state)?;
    let now = state.engine.now_ms();
    // Two records made in the same millisecond by the same person stay two records.
    let suffix = credentials::random_hex(4).unwrap_or_default();
    let source_id = format!(
        "{}@{now}{}{suffix}",
        who.actor.who,
        if suffix.is_empty() { "" } else { "-" }
    );
    let record = manual_record(&state.engine.catalog(), &n, &who.actor.who, now, source_id)?;
    store.add_evidence(std::slice::from_ref(&record)).await.map_err(|e| {
        tracing::warn!(error = %e, "a manual evidence record was not saved");
        ApiError::unavailable(tr!(
            "the record was not saved: the database cannot be written now; try again shortly",
            "het gegeven is niet opgeslagen: de database is nu niet beschrijfbaar; probeer het zo opnieuw"
        ))
    })?;
    tracing::info!(id = %record.id, by = %who.actor.name, "manual evidence recorded");
    Ok((StatusCode::CREATED, axum::Json(RecordView::from(&record))).into_response())
}

/// The availability report of a month.
#[derive(Serialize, ToSchema)]
struct AvailabilityReport {
    /// The month, `YYYY-MM`.
    month: String,
    /// Its first instant (RFC 3339, UTC).
    from: String,
    /// The first instant after it.
    until: String,
    /// Per service: availability per day (`null` without data, never counted as up),
    /// downtime, SLO, error budget and the incidents that took it down.
    #[schema(value_type = Vec<Object>)]
    services: Vec<ServiceMonth>,
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
    service: Option<String>,
}

/// The month `YYYY-MM` of an instant, in UTC.
fn month_of(ms: i64) -> String {
    rfc3339(ms).get(..7).unwrap_or("1970-01").to_string()
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/availability",
    tag = "evidence",
    description = "The availability (SLA) report of a month: per service its measured availability from the day rollups (days without data are reported as such), downtime, SLO, error budget and incidents with their RTO verdicts. Needs the viewer role.",
    params(
        ("month" = Option<String>, Query, description = "YYYY-MM (UTC); this month unless given"),
        ("service" = Option<String>, Query, description = "Only this service"),
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The report", body = AvailabilityReport),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn availability(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Query(q): Query<MonthQuery>,
) -> Answer {
    let month = q
        .month
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(|| month_of(state.engine.now_ms()), str::to_string);
    let (from, until) = month_bounds(&month).ok_or_else(|| {
        ApiError::bad_request(tr!(
            "`month` is a month written YYYY-MM (2026-11), not `{month}`",
            "`month` is een maand geschreven als JJJJ-MM (2026-11), niet `{month}`"
        ))
    })?;
    let catalog = state.engine.catalog();
    let service = q
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(id) = service
        && catalog.service(id).is_none()
    {
        return Err(unknown_service(id));
    }
    let services = running::store(&state)?
        .availability_month(&catalog, from, until, service)
        .await
        .map_err(ApiError::store_unreadable)?;
    Ok(axum::Json(AvailabilityReport {
        month: month_of(from),
        from: rfc3339(from),
        until: rfc3339(until),
        services,
    })
    .into_response())
}

/// Registers the posture's figures for one scrape, labelled `subject` (`service:shop`,
/// `organization`), `service` (the id, for a service's claims) and `claim`:
/// `continuo_claim_verdict` (1 met,
/// 0 unproven, -1 stale, -2 breached) for every claim and `continuo_evidence_age_seconds`
/// for every claim with a deciding record. Read from the store now; when it cannot
/// answer the families are left out (and the log says why) rather than reported wrong.
pub(crate) async fn register_metrics(
    state: &AppState,
    registry: &mut continuo_engine::metrics::Registry,
) {
    let Some(store) = &state.store else { return };
    let catalog = state.engine.catalog();
    match store.posture(&catalog, state.engine.now_ms()).await {
        Ok(p) => registry.register_collector(Box::new(PostureFigures {
            claims: p
                .verdicts
                .iter()
                .map(|v| ClaimFigure {
                    subject: v.claim.subject.key(),
                    service: v.claim.subject.service().unwrap_or_default().to_string(),
                    claim: v.claim.kind.name(),
                    state: v.state.metric(),
                    age_seconds: v.age_ms.map(|ms| ms as f64 / 1_000.0),
                })
                .collect(),
        })),
        Err(e) => tracing::warn!(error = %e, "the posture metrics cannot be read"),
    }
}

#[derive(Debug)]
struct ClaimFigure {
    subject: String,
    /// The service id for a service's claim; empty (the label is left out) for the
    /// organisation's.
    service: String,
    claim: &'static str,
    state: i64,
    age_seconds: Option<f64>,
}

impl ClaimFigure {
    /// `subject`, `service` (a service's claims only) and `claim`.
    fn labels(&self) -> Vec<(&str, &str)> {
        let mut labels = vec![("subject", self.subject.as_str())];
        if !self.service.is_empty() {
            labels.push(("service", self.service.as_str()));
        }
        labels.push(("claim", self.claim));
        labels
    }
}

/// The posture at one scrape.
#[derive(Debug)]
struct PostureFigures {
    claims: Vec<ClaimFigure>,
}

impl prometheus_client::collector::Collector for PostureFigures {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::MetricType;
        {
            let mut family = encoder.encode_descriptor(
                "continuo_claim_verdict",
                "Where each continuity claim stands: 1 met, 0 unproven, -1 stale, -2 breached.",
                None,
                MetricType::Gauge,
            )?;
            for c in &self.claims {
                family.encode_family(&c.labels())?.encode_gauge(&c.state)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "continuo_evidence_age_seconds",
            "How old the record deciding each claim is (claims with evidence only).",
            None,
            MetricType::Gauge,
        )?;
        for c in &self.claims {
            if let Some(age) = c.age_seconds {
                family.encode_family(&c.labels())?.encode_gauge(&age)?;
            }
        }
        Ok(())
    }
}
