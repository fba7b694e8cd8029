//! The incident API: list, show, declare, acknowledge, update (status updates for an
//! audience, severity, classification), resolve, notes, crisis roles, the recovery
//! checklist, regulatory reports, action items, review notes, the postmortem and figures
//! over a period. Reads need the viewer role, changes the responder role; each change
//! names who did it (`by`, by default whoever asked).

use crate::app::{AppState, Shared};
use crate::auth::{Authed, Responder, Viewer};
use crate::error::{ApiError, Refusals, RefusalsAbout};
use crate::lang;
use crate::running::Alerting;
use crate::text_limits::{limited, within_limits};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use continuo_core::incident::book::{Change, Incident, Review, limits, rto_text};
use continuo_core::incident::{Audience, CrisisRole, Regime, Severity, Status, countdown};
use continuo_core::oncall::parse_instant;
use continuo_core::{Text, tr};
use continuo_engine::alerts::{AlertHandle, AlertingError};
use continuo_engine::incidents::Op;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/incidents", get(list).post(declare))
        .route("/api/v1/incidents/stats", get(figures))
        .route("/api/v1/incidents/{id}", get(show))
        .route("/api/v1/incidents/{id}/ack", post(ack))
        .route("/api/v1/incidents/{id}/update", post(update))
        .route("/api/v1/incidents/{id}/resolve", post(resolve))
        .route("/api/v1/incidents/{id}/notes", post(note))
        .route("/api/v1/incidents/{id}/roles", post(assign))
        .route("/api/v1/incidents/{id}/checklist", post(tick))
        .route("/api/v1/incidents/{id}/reports/{key}/submit", post(submit))
        .route("/api/v1/incidents/{id}/report/{regime}", get(report))
        .route("/api/v1/incidents/{id}/actions", post(add_action))
        .route("/api/v1/incidents/{id}/actions/{n}", post(action))
        .route("/api/v1/incidents/{id}/review", post(review))
        .route("/api/v1/incidents/{id}/postmortem", get(postmortem))
        .route("/api/v1/services/{id}/events", get(service_events))
}

/// A handler's answer.
type Answer = Result<Response, ApiError>;

/// A service's own timeline.
#[derive(Serialize, ToSchema)]
struct ServiceEvents {
    /// The service's id.
    service: String,
    /// Its failovers and failbacks, newest first.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Value>,
}

/// Incidents of a period.
#[derive(Serialize, ToSchema)]
struct IncidentList {
    /// Newest first, each with durations, recovery and deadlines.
    #[schema(value_type = Vec<Object>)]
    incidents: Vec<Value>,
}

/// A service's own timeline: its failovers and failbacks and reported changes, newest
/// first.
#[utoipa::path(
    get,
    path = "/api/v1/services/{id}/events",
    tag = "services",
    description = "A service's own timeline: failovers and failbacks, and changes other systems reported (PagerDuty change events), newest first. Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The service's events", body = ServiceEvents),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn service_events(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Path(id): Path<String>,
    Query(q): Query<Period>,
) -> Answer {
    let h = Alerting::of(&state)?;
    if state.engine.catalog().service(&id).is_none() {
        return Err(ApiError::not_found(tr!(
            "no service with id `{id}`",
            "geen dienst met id `{id}`"
        )));
    }
    let events = h
        .service_events(&id, q.limit.unwrap_or(100).min(1_000))
        .await?;
    Ok(axum::Json(ServiceEvents {
        service: id,
        events,
    })
    .into_response())
}

/// The JSON body, or a 400 saying what is wrong with it (an empty body is `{}`).
fn body<T: DeserializeOwned>(bytes: &Bytes, example: &str) -> Result<T, ApiError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| {
        ApiError::bad_request(tr!(
            "the body must be JSON like {example}: {e}",
            "de body moet JSON zijn zoals {example}: {e}"
        ))
    })
}

/// A 422 for a field whose value is not one of the names it takes.
fn unprocessable(message: Text) -> ApiError {
    ApiError::unprocessable(message)
}

/// An incident with what is computed from it at `now`: durations, each service's RTO
/// countdown or verdict and data-loss window, and the reporting countdowns.
pub fn view(incident: &Incident, now_ms: i64) -> Value {
    let mut v = serde_json::to_value(incident).unwrap_or(Value::Null);
    v["durations"] = json!(incident.milestones.durations());
    v["recovery"] = incident
        .services
        .iter()
        .map(|s| {
            json!({
                "service": s.service,
                "recovery": s.recovery(now_ms),
                "rto": rto_text(s, now_ms),
                "data_loss": s.data_loss(),
            })
        })
        .collect();
    v["deadlines"] = incident
        .reports
        .iter()
        .map(|r| {
            json!({
                "key": r.deadline.key,
                "regime": r.deadline.regime,
                "title": r.deadline.title,
                "due_ms": r.deadline.due_ms,
                "countdown": countdown(r.deadline.due_ms - now_ms),
                "submitted": r.submitted,
            })
        })
        .collect();
    v
}

#[derive(Deserialize)]
struct Period {
    from: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
    status: Option<String>,
}

/// `from`/`until` as RFC 3339 or local date-times; by default the last 90 days.
fn period(state: &AppState, q: &Period) -> Result<(i64, i64), ApiError> {
    let catalog = state.engine.catalog();
    let tz =
        jiff::tz::TimeZone::get(&catalog.organization.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let now = state.engine.now_ms();
    let parse = |name: &str, text: &Option<String>, default: i64| {
        match text {
        None => Ok(default),
        Some(t) => parse_instant(t, &tz).ok_or_else(|| {
            ApiError::bad_request(tr!(
                "`{name}` = `{t}` is not a time: use RFC 3339 (2026-11-25T14:00:00Z) or a local date-time (2026-11-25 15:00)",
                "`{name}` = `{t}` is geen tijd: gebruik RFC 3339 (2026-11-25T14:00:00Z) of een lokale datum en tijd (2026-11-25 15:00)"
            ))
        }),
    }
    };
    let from = parse("from", &q.from, now - 90 * 86_400_000)?;
    let until = parse("until", &q.until, now + 1)?;
    if from >= until {
        return Err(ApiError::bad_request(tr!(
            "`from` must be before `until`",
            "`from` moet voor `until` liggen"
        )));
    }
    Ok((from, until))
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    description = "Incidents detected in a period, newest first. Needs the viewer role.",
    params(("status" = Option<String>, Query), ("from" = Option<String>, Query), ("until" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incidents", body = IncidentList),
        Refusals,
    ),
)]
async fn list(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Query(q): Query<Period>,
) -> Answer {
    let h = Alerting::of(&state)?;
    let (from, until) = period(&state, &q)?;
    let status = match q.status.as_deref() {
        None | Some("all") => None,
        Some("open") => Some(None),
        Some(name) => Some(Some(Status::from_name(name).ok_or_else(|| {
            ApiError::bad_request(tr!(
                "`status` is open, all, investigating, identified, monitoring or resolved, not `{name}`",
                "`status` is open, all, investigating, identified, monitoring of resolved, niet `{name}`"
            ))
        })?)),
    };
    let now = state.engine.now_ms();
    let list = h
        .incidents(from, until, q.limit.unwrap_or(100).min(1_000))
        .await?;
    let list: Vec<Value> = list
        .iter()
        .filter(|i| match status {
            None => true,
            Some(None) => i.is_open(),
            Some(Some(s)) => i.status == s,
        })
        .map(|i| view(i, now))
        .collect();
    Ok(axum::Json(IncidentList { incidents: list }).into_response())
}

/// The incident `id`, or a 404.
async fn incident(h: &AlertHandle, id: &str) -> Result<Incident, ApiError> {
    h.incident(id)
        .await?
        .ok_or_else(|| AlertingError::UnknownIncident(id.to_string()).into())
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    description = "One incident with durations, RTO countdowns and deadlines. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident, with durations, recovery and deadlines", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn show(State(state): State<Shared>, _who: Authed<Viewer>, Path(id): Path<String>) -> Answer {
    let i = incident(&Alerting::of(&state)?.0, &id).await?;
    Ok(axum::Json(view(&i, state.engine.now_ms())).into_response())
}

/// Runs an operator's change on incident `id` (a new one when `None`) and answers with
/// the incident after it: 201 for a new one, 200 otherwise.
async fn run(
    state: &AppState,
    who: &Authed<Responder>,
    id: Option<&str>,
    op: Op,
    by: Option<String>,
) -> Answer {
    let h = Alerting::of(state)?;
    within_limits(&op).map_err(ApiError::unprocessable)?;
    if let Some(by) = &by {
        limited("by", by, limits::NAME).map_err(ApiError::unprocessable)?;
    }
    let by = by
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| who.actor.who.clone());
    let i = h.incident_op(id, op, &by).await?;
    let code = if id.is_none() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, axum::Json(view(&i, state.engine.now_ms()))).into_response())
}

/// A declared incident.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Declare {
    /// What is wrong, in a line.
    title: String,
    /// Services hit.
    #[serde(default)]
    services: Vec<String>,
    /// SEV1 to SEV4; derived from the services when absent.
    severity: Option<String>,
    /// Who declares it; by default whoever asked.
    by: Option<String>,
}

fn severity(text: Option<&str>) -> Result<Option<Severity>, ApiError> {
    text.map(|t| {
        Severity::parse(t).ok_or_else(|| {
            unprocessable(tr!(
                "`severity` is SEV1 to SEV4, not `{t}`",
                "`severity` is SEV1 tot en met SEV4, niet `{t}`"
            ))
        })
    })
    .transpose()
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    description = "Declares an incident. Needs the responder role.",
    request_body = Declare,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, description = "The incident, with durations, recovery and deadlines", body = Object),
        Refusals,
    ),
)]
async fn declare(State(state): State<Shared>, who: Authed<Responder>, bytes: Bytes) -> Answer {
    let d: Declare = body(
        &bytes,
        r#"{"title": "Checkout fails", "services": ["checkout"], "severity": "SEV2"}"#,
    )?;
    let op = Op::Declare {
        title: d.title,
        services: d.services,
        severity: severity(d.severity.as_deref())?,
    };
    run(&state, &who, None, op, d.by).await
}

/// Who did it; by default whoever asked.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct By {
    /// A person's name or id.
    by: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/ack",
    tag = "incidents",
    description = "Acknowledges an incident. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = By,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn ack(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let b: By = body(&bytes, r#"{"by": "anna"}"#)?;
    run(&state, &who, Some(&id), Op::Acknowledge, b.by).await
}

/// A status update and/or a change of status, severity, title or classification.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Update {
    /// investigating, identified, monitoring or resolved.
    status: Option<String>,
    /// customers, internal or management.
    audience: Option<String>,
    /// The operator's own words.
    message: Option<String>,
    /// SEV1 to SEV4.
    severity: Option<String>,
    /// A new title.
    title: Option<String>,
    /// Classified significant (NIS2) / major (DORA).
    significant: Option<bool>,
    /// Who posts it; by default whoever asked.
    by: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/update",
    tag = "incidents",
    description = "Posts a status update and/or changes status, severity, title, classification. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Update,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn update(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let u: Update = body(
        &bytes,
        r#"{"status": "identified", "audience": "customers", "message": "We found the cause."}"#,
    )?;
    let status = u
        .status
        .as_deref()
        .map(|s| {
            Status::from_name(s).ok_or_else(|| {
                unprocessable(tr!(
                    "`status` is investigating, identified, monitoring or resolved, not `{s}`",
                    "`status` is investigating, identified, monitoring of resolved, niet `{s}`"
                ))
            })
        })
        .transpose()?;
    let audience = u
        .audience
        .as_deref()
        .map(|a| {
            Audience::from_name(a).ok_or_else(|| {
                unprocessable(tr!(
                    "`audience` is customers, internal or management, not `{a}`",
                    "`audience` is customers, internal of management, niet `{a}`"
                ))
            })
        })
        .transpose()?;
    let change = Change {
        status: None,
        severity: severity(u.severity.as_deref())?,
        title: u.title,
        significant: u.significant,
    };
    let posts_update = u.message.is_some() || audience.is_some();
    if !posts_update && status.is_none() && change == Change::default() {
        return Err(unprocessable(tr!(
            "nothing to update: give a status, a message (with an audience), a severity, a title or significant",
            "niets bij te werken: geef een status, een bericht (met een publiek), een ernst, een titel of significant"
        )));
    }
    if change != Change::default() || (!posts_update && status.is_some()) {
        let change = Change {
            status: if posts_update { None } else { status },
            ..change
        };
        let r = run(&state, &who, Some(&id), Op::Change(change), u.by.clone()).await?;
        if !posts_update {
            return Ok(r);
        }
    }
    let op = Op::Update {
        status,
        audience: audience.unwrap_or(Audience::Customers),
        message: u.message,
    };
    run(&state, &who, Some(&id), op, u.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/resolve",
    tag = "incidents",
    description = "Resolves an incident. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Resolve,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn resolve(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let r: Resolve = body(&bytes, r#"{"by": "anna", "message": "Fixed."}"#)?;
    let op = match r.message {
        // A closing word for customers, posted with the resolution.
        Some(message) => Op::Update {
            status: Some(Status::Resolved),
            audience: Audience::Customers,
            message: Some(message),
        },
        None => Op::Change(Change {
            status: Some(Status::Resolved),
            ..Change::default()
        }),
    };
    run(&state, &who, Some(&id), op, r.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/notes",
    tag = "incidents",
    description = "Adds a note to the timeline. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Note,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn note(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let n: Note = body(&bytes, r#"{"text": "Vendor called back", "by": "anna"}"#)?;
    run(&state, &who, Some(&id), Op::Note(n.text), n.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/roles",
    tag = "incidents",
    description = "Gives a crisis role to a person. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Assign,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn assign(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let a: Assign = body(
        &bytes,
        r#"{"role": "incident_commander", "person": "anna"}"#,
    )?;
    let role = CrisisRole::from_name(&a.role).ok_or_else(|| {
        let role = &a.role;
        unprocessable(tr!(
            "`role` is incident_commander, communications_lead, operations_lead or scribe, not `{role}`",
            "`role` is incident_commander, communications_lead, operations_lead of scribe, niet `{role}`"
        ))
    })?;
    run(&state, &who, Some(&id), Op::Assign(role, a.person), a.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/checklist",
    tag = "incidents",
    description = "Ticks a recovery step off or on. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Tick,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn tick(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let t: Tick = body(
        &bytes,
        r#"{"service": "orders-db", "step": 2, "done": true}"#,
    )?;
    let op = Op::Tick(t.service, t.step, t.done);
    run(&state, &who, Some(&id), op, t.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/reports/{key}/submit",
    tag = "incidents",
    description = "Marks a regulatory report submitted. Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("key" = String, Path, description = "The report key")),
    request_body = By,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn submit(
    State(state): State<Shared>,
    Path((id, key)): Path<(String, String)>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let b: By = body(&bytes, r#"{"by": "anna"}"#)?;
    run(&state, &who, Some(&id), Op::Submit(key), b.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions",
    tag = "incidents",
    description = "Adds an action item. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = AddAction,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn add_action(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let a: AddAction = body(
        &bytes,
        r#"{"title": "Alarm on disk use", "owner": "platform", "due": "2026-12-01"}"#,
    )?;
    let op = Op::AddAction(a.title, a.owner, a.due);
    run(&state, &who, Some(&id), op, a.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions/{n}",
    tag = "incidents",
    description = "Completes or reopens an action item. Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("n" = String, Path, description = "The action item number")),
    request_body = ActionDone,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn action(
    State(state): State<Shared>,
    Path((id, n)): Path<(String, String)>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let n = n.parse::<u32>().map_err(|_| {
        ApiError::bad_request(tr!(
            "`{n}` is not an action item number",
            "`{n}` is geen nummer van een actiepunt"
        ))
    })?;
    let d: ActionDone = body(&bytes, r#"{"done": true}"#)?;
    run(&state, &who, Some(&id), Op::Action(n, d.done), d.by).await
}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/review",
    tag = "incidents",
    description = "Writes review notes for the postmortem. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = ReviewNotes,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The incident after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn review(
    State(state): State<Shared>,
    Path(id): Path<String>,
    who: Authed<Responder>,
    bytes: Bytes,
) -> Answer {
    let r: ReviewNotes = body(
        &bytes,
        r#"{"trigger": "A full disk", "went_well": ["Fast failover"]}"#,
    )?;
    run(&state, &who, Some(&id), Op::Review(r.review), r.by).await
}

/// A resolution, with an optional closing message for customers.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Resolve {
    /// The closing message.
    message: Option<String>,
    /// Who resolves it; by default whoever asked.
    by: Option<String>,
}

/// A note for the timeline.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Note {
    /// The note.
    text: String,
    /// Who writes it; by default whoever asked.
    by: Option<String>,
}

/// A crisis role for a person.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Assign {
    /// incident_commander, communications_lead, operations_lead or scribe.
    role: String,
    /// The person's id.
    person: String,
    /// Who assigns it; by default whoever asked.
    by: Option<String>,
}

/// A recovery step ticked off or on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Tick {
    /// The service whose task it is.
    service: String,
    /// The step, from 1.
    step: usize,
    /// Done or not (default true).
    #[serde(default = "yes")]
    done: bool,
    /// Who ticks it; by default whoever asked.
    by: Option<String>,
}

fn yes() -> bool {
    true
}

/// A new action item.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddAction {
    /// What is to be done.
    title: String,
    /// Who owns it.
    owner: Option<String>,
    /// When it is due.
    due: Option<String>,
    /// Who adds it; by default whoever asked.
    by: Option<String>,
}

/// An action item completed or reopened.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ActionDone {
    /// Done or not.
    done: bool,
    /// Who changes it; by default whoever asked.
    by: Option<String>,
}

/// Review notes for the postmortem: the review's fields (summary, root causes, trigger,
/// resolution, what went well, lessons learned...) and who writes them.
#[derive(Deserialize, ToSchema)]
struct ReviewNotes {
    /// The notes.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    review: Review,
    /// Who writes them; by default whoever asked.
    by: Option<String>,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn lang_of(state: &AppState, q: &LangQuery, headers: &HeaderMap) -> continuo_core::Lang {
    lang::of_request(q.lang.as_deref(), headers, &state.engine.catalog())
}

/// A Markdown document to download: operators' words (titles, notes, review notes) go
/// into it verbatim, so raw HTML in them must never render in a browser. It comes as an
/// attachment, and sandboxed should a browser show it anyway.
fn markdown(text: String, name: &str) -> Response {
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.md\""),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_string(),
            ),
        ],
        text,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/postmortem",
    tag = "incidents",
    description = "The postmortem (Markdown). Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("lang" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The postmortem", body = String, content_type = "text/markdown"),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn postmortem(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Answer {
    let i = incident(&Alerting::of(&state)?.0, &id).await?;
    let lang = lang_of(&state, &q, &headers);
    Ok(markdown(
        continuo_report::postmortem(&i, &state.engine.catalog(), state.engine.now_ms(), lang),
        &format!("{id}-postmortem"),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/report/{regime}",
    tag = "incidents",
    description = "The NIS2 or DORA report draft (Markdown). Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("regime" = String, Path, description = "nis2 or dora"), ("lang" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The report draft", body = String, content_type = "text/markdown"),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn report(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Path((id, regime)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Answer {
    let h = Alerting::of(&state)?;
    let regime = match regime.to_ascii_lowercase().as_str() {
        "nis2" => Regime::Nis2,
        "dora" => Regime::Dora,
        other => {
            return Err(ApiError::not_found(tr!(
                "`{other}` is not a reporting regime; use nis2 or dora",
                "`{other}` is geen meldregime; gebruik nis2 of dora"
            )));
        }
    };
    let i = incident(&h, &id).await?;
    let lang = lang_of(&state, &q, &headers);
    let name = format!("{id}-{}", regime.name().to_ascii_lowercase());
    Ok(markdown(
        continuo_report::report_draft(
            &i,
            &state.engine.catalog(),
            regime,
            state.engine.now_ms(),
            lang,
        ),
        &name,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/stats",
    tag = "incidents",
    description = "Figures over the incidents of a period. Needs the viewer role.",
    params(("from" = Option<String>, Query), ("until" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The figures", body = Object),
        Refusals,
    ),
)]
async fn figures(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Query(q): Query<Period>,
) -> Answer {
    let h = Alerting::of(&state)?;
    let (from, until) = period(&state, &q)?;
    let stats = h.incident_stats(from, until).await?;
    Ok(axum::Json(stats).into_response())
}
