//! Alerting over HTTP: alerts (list, acknowledge, resolve), who is on call, maintenance
//! windows, the outbox, signed acknowledge links, and inbound alerts from Alertmanager
//! (`/hooks/alertmanager`, webhook v4) and anything that speaks PagerDuty's Events API v2
//! (`/v2/enqueue`).

use crate::app::{AppState, Shared};
use crate::auth::{Admin, Authed, Responder, Viewer, bearer};
use crate::error::{ApiError, Refusals, RefusalsAbout};
use crate::html::{escape, page};
use crate::running::{self, Alerting};
use crate::{audit_log, lang};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use continuo_core::alerting::{AlertError, AlertState, Origin};
use continuo_core::hash::same_secret;
use continuo_core::inbound::{self, AlertmanagerPayload, Event, EventAction};
use continuo_core::maintenance::Window;
use continuo_core::maintenance::WindowRequest;
use continuo_core::{Lang, Text, tr};
use continuo_engine::alerts::{
    AckTokenError, AlertHandle, AlertView, AlertingError, OnCallView, on_call,
};
use continuo_store::OutboxState;
use continuo_store::outbox::{OutboxCounts, OutboxItem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The alerting routes (merged into the main router when alerting runs).
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(one_alert))
        .route("/api/v1/alerts/{id}/ack", post(ack_alert))
        .route("/api/v1/alerts/{id}/resolve", post(resolve_alert))
        .route("/api/v1/oncall", get(oncall))
        .route("/api/v1/maintenance", get(windows).post(create_window))
        .route("/api/v1/maintenance/{id}/end", post(end_window))
        .route("/api/v1/outbox", get(outbox))
        .route("/api/v1/outbox/retry", post(retry_outbox))
        .route("/ack/{token}", get(ack_page).post(ack_link))
        .route("/hooks/alertmanager", post(alertmanager))
        .route("/v2/enqueue", post(enqueue))
        .route("/v2/change/enqueue", post(change_enqueue))
        .route("/api/v1/inbound/unrouted", get(unrouted))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    description = "Alerts (one per root cause). Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The alerts", body = Alerts),
        Refusals,
    ),
)]
async fn list_alerts(_who: Authed<Viewer>, h: Alerting) -> Response {
    axum::Json(Alerts { alerts: h.alerts() }).into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    description = "One alert. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The alert", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn one_alert(
    _who: Authed<Viewer>,
    h: Alerting,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let alert = h
        .alert(&id)
        .ok_or(AlertingError::Alert(AlertError::Unknown(id)))?;
    Ok(axum::Json(alert).into_response())
}

/// The alerts.
#[derive(Serialize, ToSchema)]
struct Alerts {
    /// Every alert known, one per root cause (resolved ones are kept 7 days).
    #[schema(value_type = Vec<Object>)]
    alerts: Vec<AlertView>,
}

/// Who acknowledges or resolves; by default whoever asked. The body may be empty.
#[derive(Deserialize, Default, ToSchema)]
struct ByBody {
    /// A person's name or id.
    by: Option<String>,
}

/// Who the alert is acknowledged or resolved by: the body's `by`, else whoever asked.
fn by_of(body: &Bytes, asker: &str) -> Result<String, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(asker.into());
    }
    let parsed: ByBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(tr!(
            "the body must be JSON like {{\"by\": \"anna\"}}: {e}",
            "de body moet JSON zijn zoals {{\"by\": \"anna\"}}: {e}"
        ))
    })?;
    Ok(parsed.by.unwrap_or_else(|| asker.into()))
}

/// What an operator does to an alert through the API.
#[derive(Clone, Copy)]
enum Act {
    Acknowledge,
    Resolve,
}

async fn act_on_alert(
    h: &AlertHandle,
    id: &str,
    asker: &str,
    body: &Bytes,
    act: Act,
) -> Result<Response, ApiError> {
    let by = by_of(body, asker)?;
    match act {
        Act::Acknowledge => h.acknowledge(id, &by).await?,
        Act::Resolve => h.resolve(id, &by).await?,
    }
    Ok(axum::Json(h.alert(id)).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    tag = "alerts",
    description = "Acknowledges an alert. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = ByBody,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The alert after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn ack_alert(
    who: Authed<Responder>,
    h: Alerting,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    act_on_alert(&h, &id, &who.actor.who, &body, Act::Acknowledge).await
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/resolve",
    tag = "alerts",
    description = "Resolves an alert by hand. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = ByBody,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The alert after it", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn resolve_alert(
    who: Authed<Responder>,
    h: Alerting,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    act_on_alert(&h, &id, &who.actor.who, &body, Act::Resolve).await
}

/// Who is on call at an instant.
#[derive(Serialize, ToSchema)]
struct OnCall {
    /// The instant, unix milliseconds.
    at_ms: i64,
    /// Every schedule with who is on call in it.
    #[schema(value_type = Vec<Object>)]
    schedules: Vec<OnCallView>,
}

/// The maintenance windows.
#[derive(Serialize, ToSchema)]
struct Windows {
    /// Windows in force now.
    #[schema(value_type = Vec<Object>)]
    active: Vec<Window>,
    /// Windows still to come.
    #[schema(value_type = Vec<Object>)]
    upcoming: Vec<Window>,
}

/// The notification outbox.
#[derive(Serialize, ToSchema)]
struct Outbox {
    /// How many notifications are pending, sent and dead.
    #[schema(value_type = Object)]
    counts: OutboxCounts,
    /// The notifications, newest first.
    #[schema(value_type = Vec<Object>)]
    items: Vec<OutboxItem>,
}

/// A dead-lettered notification sent again.
#[derive(Serialize, ToSchema)]
struct Requeued {
    /// Its key.
    requeued: String,
}

#[derive(Deserialize)]
struct AtQuery {
    at: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/oncall",
    tag = "oncall",
    description = "Who is on call in every schedule. Needs the viewer role.",
    params(("at" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Who is on call", body = OnCall),
        Refusals,
    ),
)]
async fn oncall(
    State(state): State<Shared>,
    _who: Authed<Viewer>,
    Query(q): Query<AtQuery>,
) -> Result<Response, ApiError> {
    let catalog = state.engine.catalog();
    let at = match q.at.as_deref() {
        None => state.engine.now_ms(),
        Some(text) => {
            let tz = jiff::tz::TimeZone::get(&catalog.organization.timezone)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            continuo_core::oncall::parse_instant(text, &tz).ok_or_else(|| {
                ApiError::bad_request(tr!(
                    "`at` must be a date and time such as 2026-12-24T18:00 or 2026-12-24T17:00:00Z, not `{text}`",
                    "`at` moet een datum en tijd zijn zoals 2026-12-24T18:00 of 2026-12-24T17:00:00Z, niet `{text}`"
                ))
            })?
        }
    };
    Ok(axum::Json(OnCall {
        at_ms: at,
        schedules: on_call(&catalog, at),
    })
    .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/maintenance",
    tag = "maintenance",
    description = "Active and upcoming maintenance windows. Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The windows", body = Windows),
        Refusals,
    ),
)]
async fn windows(_who: Authed<Viewer>, h: Alerting) -> Response {
    let (active, upcoming) = h.windows();
    axum::Json(Windows { active, upcoming }).into_response()
}

/// A new maintenance window: `until` or `duration`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWindow {
    /// Letters, digits, `-` and `_`; by default `mw-<start>`.
    id: Option<String>,
    /// What is being done.
    title: String,
    /// The services under maintenance (at least one).
    services: Vec<String>,
    /// Start (RFC 3339 or a local date-time such as 2026-12-24T18:00); by default now.
    from: Option<String>,
    /// End.
    until: Option<String>,
    /// Length, such as `2h`.
    duration: Option<String>,
}

impl From<NewWindow> for WindowRequest {
    fn from(w: NewWindow) -> WindowRequest {
        WindowRequest {
            id: w.id,
            title: w.title,
            services: w.services,
            from: w.from,
            until: w.until,
            duration: w.duration,
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/maintenance",
    tag = "maintenance",
    description = "Creates a maintenance window. Needs the responder role.",
    request_body = NewWindow,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, description = "The window", body = Object),
        Refusals,
    ),
)]
async fn create_window(
    _who: Authed<Responder>,
    h: Alerting,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: NewWindow = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(tr!(
            "invalid maintenance window: {e}",
            "ongeldig onderhoudsvenster: {e}"
        ))
    })?;
    let window =
        continuo_core::maintenance::validate_window(&h.catalog(), h.now_ms(), request.into())?;
    h.put_window(window.clone()).await?;
    Ok((StatusCode::CREATED, axum::Json(window)).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/maintenance/{id}/end",
    tag = "maintenance",
    description = "Ends a maintenance window now. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The window, ended", body = Object),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn end_window(
    _who: Authed<Responder>,
    h: Alerting,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let window = h.end_window(&id).await?;
    Ok(axum::Json(window).into_response())
}

#[derive(Deserialize)]
struct OutboxQuery {
    state: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    tag = "outbox",
    description = "The notification outbox with counts per state. Needs the admin role.",
    params(("state" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The outbox", body = Outbox),
        Refusals,
    ),
)]
async fn outbox(
    State(state): State<Shared>,
    _who: Authed<Admin>,
    Query(q): Query<OutboxQuery>,
) -> Result<Response, ApiError> {
    let store = running::store(&state)?;
    let filter = match q.state.as_deref() {
        None => None,
        Some(name) => Some(OutboxState::from_name(name).ok_or_else(|| {
            ApiError::bad_request(tr!(
                "`state` must be pending, sent, dead or cancelled, not `{name}`",
                "`state` moet pending, sent, dead of cancelled zijn, niet `{name}`"
            ))
        })?),
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    let items = store
        .outbox(filter, limit)
        .await
        .map_err(ApiError::store_unreadable)?;
    let counts = store
        .outbox_counts()
        .await
        .map_err(ApiError::store_unreadable)?;
    Ok(axum::Json(Outbox { counts, items }).into_response())
}

#[derive(Deserialize)]
struct KeyQuery {
    key: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/outbox/retry",
    tag = "outbox",
    description = "Requeues a dead-lettered notification. Needs the admin role.",
    params(("key" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Requeued", body = Requeued),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn retry_outbox(
    State(state): State<Shared>,
    _who: Authed<Admin>,
    Query(q): Query<KeyQuery>,
) -> Result<Response, ApiError> {
    let store = running::store(&state)?;
    let requeued = store
        .outbox_retry(&q.key, state.engine.now_ms())
        .await
        .map_err(|e| ApiError::unavailable(Text::same(e.to_string())))?;
    if !requeued {
        let key = &q.key;
        return Err(ApiError::not_found(tr!(
            "no dead-lettered notification with key `{key}`",
            "geen opgegeven bericht met sleutel `{key}`"
        )));
    }
    if let Some(h) = &state.alerts {
        h.wake_dispatcher();
    }
    Ok(axum::Json(Requeued { requeued: q.key }).into_response())
}

fn token_problem(lang: Lang, e: AckTokenError) -> Response {
    let (title, text) = match (e, lang) {
        (AckTokenError::Expired, Lang::Nl) => (
            "Link verlopen",
            "Deze bevestigingslink is verlopen. Bevestig via het dashboard of de CLI.",
        ),
        (AckTokenError::Expired, _) => (
            "Link expired",
            "This acknowledge link has expired. Acknowledge from the dashboard or the CLI.",
        ),
        (AckTokenError::Invalid, Lang::Nl) => {
            ("Ongeldige link", "Deze bevestigingslink is niet geldig.")
        }
        (AckTokenError::Invalid, _) => ("Invalid link", "This acknowledge link is not valid."),
    };
    page(
        lang,
        title,
        &format!("<p>{}</p>", escape(text)),
        StatusCode::FORBIDDEN,
    )
}

/// Shows what the link acknowledges, with a button: a GET never changes anything, so
/// mail scanners that follow links cannot acknowledge by accident.
async fn ack_page(
    State(state): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let catalog = state.engine.catalog();
    let lang = lang::of_request(None, &headers, &catalog);
    let Some(h) = &state.alerts else {
        return not_running(lang);
    };
    let (id, _who) = match h.verify_ack(&token) {
        Ok(v) => v,
        Err(e) => return token_problem(lang, e),
    };
    let Some(view) = h.alert(&id) else {
        return token_problem(lang, AckTokenError::Invalid);
    };
    let name = escape(&view.service_name);
    let summary = escape(&view.alert.summary);
    let token = escape(&token);
    let (title, body) = match (view.alert.state, lang) {
        (AlertState::Held | AlertState::Firing, Lang::Nl) => (
            format!("Storing bevestigen: {}", view.service_name),
            format!(
                "<p><strong>{name}</strong>: {summary}</p><form method=\"post\" action=\"/ack/{token}\"><button type=\"submit\">Ik pak dit op</button></form>"
            ),
        ),
        (AlertState::Held | AlertState::Firing, _) => (
            format!("Acknowledge alert: {}", view.service_name),
            format!(
                "<p><strong>{name}</strong>: {summary}</p><form method=\"post\" action=\"/ack/{token}\"><button type=\"submit\">I'm on it</button></form>"
            ),
        ),
        (state, lang) => {
            let by = view
                .alert
                .acknowledged
                .as_ref()
                .or(view.alert.resolved.as_ref())
                .map(|a| escape(&a.by))
                .unwrap_or_default();
            let done = state == AlertState::Resolved;
            match lang {
                Lang::Nl => (
                    if done { "Al opgelost" } else { "Al bevestigd" }.to_string(),
                    format!("<p><strong>{name}</strong>: {summary}</p><p>Door {by}.</p>"),
                ),
                _ => (
                    if done {
                        "Already resolved"
                    } else {
                        "Already acknowledged"
                    }
                    .to_string(),
                    format!("<p><strong>{name}</strong>: {summary}</p><p>By {by}.</p>"),
                ),
            }
        }
    };
    page(lang, &title, &body, StatusCode::OK)
}

fn not_running(lang: Lang) -> Response {
    let title = match lang {
        Lang::Nl => "Alarmering draait niet",
        _ => "Alerting is not running",
    };
    page(lang, title, "", StatusCode::SERVICE_UNAVAILABLE)
}

async fn ack_link(
    State(state): State<Shared>,
    Path(token): Path<String>,
    client: Option<axum::Extension<crate::auth::ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let catalog = state.engine.catalog();
    let lang = lang::of_request(None, &headers, &catalog);
    let Some(h) = &state.alerts else {
        return not_running(lang);
    };
    let (id, who) = match h.verify_ack(&token) {
        Ok(v) => v,
        Err(e) => return token_problem(lang, e),
    };
    let by = format!("link:{who}");
    let done = h.acknowledge(&id, &by).await;
    let outcome = if done.is_ok() { 200 } else { 409 };
    audit_log::record(
        &state,
        &by,
        "link",
        "alert.acknowledge",
        &id,
        client.map(|c| c.0.0),
        outcome,
    )
    .await;
    match done {
        Ok(()) => {
            let title = match lang {
                Lang::Nl => "Bevestigd",
                _ => "Acknowledged",
            };
            let text = match lang {
                Lang::Nl => {
                    "Escalatie is gestopt. Iedereen die is opgeroepen hoort dat jij dit oppakt."
                }
                _ => "Escalation stopped. Everyone who was paged hears that you are on it.",
            };
            page(lang, title, &format!("<p>{text}</p>"), StatusCode::OK)
        }
        Err(AlertingError::Alert(continuo_core::alerting::AlertError::Resolved(_))) => {
            let title = match lang {
                Lang::Nl => "Al opgelost",
                _ => "Already resolved",
            };
            page(lang, title, "", StatusCode::CONFLICT)
        }
        Err(e) => ApiError::from(e).response(lang),
    }
}

/// The configured hooks token; hooks are off (403) without a non-empty one.
fn hooks_token(state: &AppState) -> Result<String, ApiError> {
    state
        .engine
        .catalog()
        .server
        .hooks_token
        .as_ref()
        .map(|t| t.value.clone())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::forbidden(tr!(
                "inbound hooks are off: set [server] hooks_token in the configuration",
                "inkomende hooks staan uit: zet [server] hooks_token in de configuratie"
            ))
        })
}

/// The hooks token: a bearer token, or `?token=`.
fn hooks_allowed(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), ApiError> {
    let token = hooks_token(state)?;
    let presented = bearer(headers).or(query).unwrap_or_default();
    if same_secret(presented.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(tr!(
            "a valid hooks token is required (Authorization: Bearer, or ?token=)",
            "een geldig hooks-token is nodig (Authorization: Bearer, of ?token=)"
        )))
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Alertmanager webhook v4: one Continuo alert per group and service (see
/// `continuo_core::inbound::alertmanager`).
async fn alertmanager(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    hooks_allowed(&state, &headers, q.token.as_deref())?;
    let h = Alerting::of(&state)?;
    let payload: AlertmanagerPayload = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(tr!(
            "not an Alertmanager webhook payload: {e}",
            "geen Alertmanager-webhookbericht: {e}"
        ))
    })?;
    if payload.version != "4" {
        let version = &payload.version;
        return Err(ApiError::bad_request(tr!(
            "Alertmanager webhook version `{version}` is not supported; version 4 is",
            "Alertmanager-webhookversie `{version}` wordt niet ondersteund; versie 4 wel"
        )));
    }
    let routed = inbound::alertmanager(&h.catalog(), &payload);
    for alert in payload
        .alerts
        .iter()
        .filter(|a| a.status == "firing" && inbound::route(&h.catalog(), &a.labels).is_none())
    {
        let summary = alert
            .annotations
            .get("summary")
            .or_else(|| alert.labels.get("alertname"))
            .cloned()
            .unwrap_or_default();
        h.unrouted("alertmanager", &summary, alert.labels.clone());
    }
    let changed = h.inbound(routed.events).await?;
    Ok(
        axum::Json(json!({ "status": "ok", "changed": changed, "unrouted": routed.unrouted }))
            .into_response(),
    )
}

/// The Events API's own refusal: 400 with its reasons.
fn invalid_event(errors: Vec<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": errors,
        })),
    )
        .into_response()
}

/// The part of an Events API v2 body that Continuo reads.
fn read_event(event: &Value) -> Event {
    let text = |path: &str| {
        event
            .pointer(path)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut labels = BTreeMap::new();
    for field in ["source", "component", "group", "class", "severity"] {
        if let Some(v) = text(&format!("/payload/{field}")) {
            labels.insert(field.to_string(), v);
        }
    }
    if let Some(details) = event
        .pointer("/payload/custom_details")
        .and_then(Value::as_object)
    {
        for (k, v) in details {
            if let Some(v) = v.as_str() {
                labels.entry(k.clone()).or_insert_with(|| v.to_string());
            }
        }
    }
    Event {
        action: text("/event_action").unwrap_or_default(),
        dedup_key: text("/dedup_key").filter(|k| !k.is_empty()),
        summary: text("/payload/summary"),
        source: text("/payload/source"),
        severity: text("/payload/severity"),
        timestamp: text("/payload/timestamp"),
        labels,
    }
}

/// How an Events API sender addressed Continuo: with the hooks token (routed by the
/// event's labels), or with a service's `integration_key` (to that service).
enum Addressed {
    Labels,
    Service(String),
}

/// Who `routing_key` addresses; `None` for a key nobody has. Refused (403) when neither
/// the hooks token nor any integration key is configured: the hooks are off.
fn addressed(state: &AppState, routing_key: &str) -> Result<Option<Addressed>, ApiError> {
    let catalog = state.engine.catalog();
    let token = hooks_token(state).ok();
    if let Some(token) = &token
        && same_secret(routing_key.as_bytes(), token.as_bytes())
    {
        return Ok(Some(Addressed::Labels));
    }
    if let Some(service) = inbound::by_integration_key(&catalog, routing_key) {
        return Ok(Some(Addressed::Service(service.to_string())));
    }
    let any_key = catalog.services.iter().any(|s| {
        s.integration_key
            .as_ref()
            .is_some_and(|k| !k.value.is_empty())
    });
    if token.is_none() && !any_key {
        return Err(hooks_token(state).err().unwrap_or_else(|| {
            ApiError::forbidden(tr!("inbound hooks are off", "inkomende hooks staan uit"))
        }));
    }
    Ok(None)
}

/// The body as a JSON object, or why the Events API refuses it.
fn event_body(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err("the body is not a JSON object".into()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

/// What both Events API endpoints read alike: whom the `routing_key` addresses, the
/// event, and the reasons to refuse it found so far.
struct Enqueued {
    to: Option<Addressed>,
    event: Event,
    errors: Vec<String>,
}

/// Reads an Events API body: `Err` with the one reason when it is no JSON object.
fn enqueued(state: &AppState, body: &[u8]) -> Result<Result<Enqueued, Vec<String>>, ApiError> {
    let json = match event_body(body) {
        Ok(v) => v,
        Err(reason) => return Ok(Err(vec![reason])),
    };
    let routing_key = json
        .pointer("/routing_key")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let to = addressed(state, routing_key)?;
    let errors = if to.is_none() {
        vec!["'routing_key' is invalid".to_string()]
    } else {
        Vec::new()
    };
    Ok(Ok(Enqueued {
        to,
        event: read_event(&json),
        errors,
    }))
}

/// PagerDuty Events API v2: trigger, acknowledge, resolve by `dedup_key`. The
/// `routing_key` is the hooks token (routed by labels, then the default route) or a
/// service's integration key. Answers in the Events API's own shape, with every reason
/// to refuse an event in one list. A valid trigger that no route takes is accepted
/// and kept as unrouted (seen in the log, the API and `/metrics`), never dropped.
async fn enqueue(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let Enqueued {
        to,
        event,
        mut errors,
    } = match enqueued(&state, &body)? {
        Ok(read) => read,
        Err(reasons) => return Ok(invalid_event(reasons)),
    };
    errors.extend(inbound::check_event(&event));
    if !errors.is_empty() {
        return Ok(invalid_event(errors));
    }
    let h = Alerting::of(&state)?;
    let key = event.dedup_key.clone().unwrap_or_else(|| {
        let h = continuo_core::hash::fnv1a(
            body.iter()
                .copied()
                .chain(state.engine.now_ms().to_le_bytes()),
        );
        format!("{h:016x}")
    });
    let accepted = (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "status": "success",
            "message": "Event processed",
            "dedup_key": key,
        })),
    )
        .into_response();
    let origin = Origin::Inbound {
        source: "events".into(),
        key: key.clone(),
    };
    let firing = match EventAction::from_name(&event.action) {
        Some(EventAction::Acknowledge) => {
            let open = h
                .alerts()
                .into_iter()
                .find(|a| a.alert.origin == origin && a.alert.state != AlertState::Resolved);
            if let Some(a) = open {
                h.acknowledge(&a.alert.id, "events").await?;
            }
            return Ok(accepted);
        }
        Some(EventAction::Trigger) => true,
        _ => false,
    };
    let routed = match to {
        Some(Addressed::Service(service)) => Some(service),
        _ => inbound::route(&h.catalog(), &event.labels),
    };
    let service = match routed {
        Some(s) => s,
        // A resolve needs no route: find the alert by its key.
        None if !firing => match h.alerts().into_iter().find(|a| a.alert.origin == origin) {
            Some(a) => a.alert.service,
            None => return Ok(accepted),
        },
        None => {
            h.unrouted(
                "events",
                event.summary.as_deref().unwrap_or_default(),
                event.labels,
            );
            return Ok(accepted);
        }
    };
    let inbound = continuo_core::alerting::Inbound {
        source: "events".into(),
        key,
        service,
        summary: event.summary.unwrap_or_default(),
        firing,
        started_ms: inbound::instant(event.timestamp.as_deref()),
    };
    h.inbound(vec![inbound]).await?;
    Ok(accepted)
}

/// PagerDuty's change events (`/v2/change/enqueue`): a deploy or a configuration change
/// another system reports. It pages nobody; it goes on the service's own timeline and
/// on its open incidents, where responders look for what changed.
async fn change_enqueue(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let Enqueued {
        to,
        event,
        mut errors,
    } = match enqueued(&state, &body)? {
        Ok(read) => read,
        Err(reasons) => return Ok(invalid_event(reasons)),
    };
    let summary = event.summary.clone().unwrap_or_default();
    if summary.trim().is_empty() {
        errors.push("'payload.summary' is missing or blank".into());
    } else if summary.chars().count() > 1_024 {
        errors.push("'payload.summary' is longer than 1024 characters".into());
    }
    if let Some(error) = inbound::timestamp_error(event.timestamp.as_deref()) {
        errors.push(error);
    }
    if !errors.is_empty() {
        return Ok(invalid_event(errors));
    }
    let h = Alerting::of(&state)?;
    let accepted = (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "status": "success",
            "message": "Change event processed",
        })),
    )
        .into_response();
    let routed = match to {
        Some(Addressed::Service(service)) => Some(service),
        _ => inbound::route(&h.catalog(), &event.labels),
    };
    let Some(service) = routed else {
        h.unrouted("change", &summary, event.labels);
        return Ok(accepted);
    };
    let now = state.engine.now_ms();
    let at = inbound::instant(event.timestamp.as_deref()).map_or(now, |t| t.min(now));
    let text = match event.source.as_deref().filter(|s| !s.is_empty()) {
        Some(source) => tr!(
            "Change reported by {source}: {summary}",
            "Wijziging gemeld door {source}: {summary}"
        ),
        None => tr!("Change reported: {summary}", "Wijziging gemeld: {summary}"),
    };
    h.change_event(&service, at, text).await;
    Ok(accepted)
}

#[utoipa::path(
    get,
    path = "/api/v1/inbound/unrouted",
    tag = "alerts",
    description = "Inbound alerts and change events that no route took since start (the newest 200), newest first: nobody was paged about them. Add a default [[route]] (one without `match`) so this stays empty. Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "How many since start, and the newest", body = Object),
        Refusals,
    ),
)]
async fn unrouted(_who: Authed<Viewer>, h: Alerting) -> Response {
    let (total, kept) = h.unrouted_list();
    axum::Json(json!({ "total": total, "unrouted": kept })).into_response()
}

/// Registers alerting's figures in `/metrics`' registry: alerts by state, deliveries
/// since start and the outbox by state. They are read before encoding, since the outbox
/// counts need the store's answer and a collector cannot await.
pub(crate) async fn register_metrics(
    alerts: &AlertHandle,
    store: Option<&continuo_store::Store>,
    registry: &mut continuo_engine::metrics::Registry,
) {
    let mut by_state: BTreeMap<&'static str, u64> = [
        ("held", 0),
        ("firing", 0),
        ("acknowledged", 0),
        ("resolved", 0),
    ]
    .into();
    for view in alerts.alerts() {
        let name = match view.alert.state {
            AlertState::Held => "held",
            AlertState::Firing => "firing",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        };
        *by_state.entry(name).or_default() += 1;
    }
    let (sent, failed, dead) = alerts.delivery_counts();
    let (unrouted, _) = alerts.unrouted_list();
    let outbox = match store {
        Some(store) => store.outbox_counts().await.ok(),
        None => None,
    };
    registry.register_collector(Box::new(AlertingFigures {
        by_state,
        deliveries: [sent, failed, dead, unrouted],
        outbox,
        degraded: alerts.degraded(),
        open_incidents: alerts.open_incidents_by_severity(),
        decision_times: alerts.decision_times(),
    }));
}

/// Alerting's figures at one scrape.
#[derive(Debug)]
struct AlertingFigures {
    by_state: BTreeMap<&'static str, u64>,
    /// Sent, failed attempts, dead-lettered; inbound alerts no route took.
    deliveries: [u64; 4],
    outbox: Option<continuo_store::OutboxCounts>,
    /// Whether alerting pages from memory (the store does not take its decisions).
    degraded: bool,
    /// Open incidents, SEV1 to SEV4.
    open_incidents: [u64; 4],
    /// How long decisions and their commits take.
    decision_times: std::sync::Arc<continuo_engine::metrics::DecisionTimes>,
}

impl prometheus_client::collector::Collector for AlertingFigures {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::NoLabelSet;
        use prometheus_client::metrics::MetricType;
        {
            let mut family = encoder.encode_descriptor(
                "continuo_alerts",
                "Alerts known, by state (resolved ones are kept 7 days).",
                None,
                MetricType::Gauge,
            )?;
            for (state, n) in &self.by_state {
                family
                    .encode_family(&[("state", *state)])?
                    .encode_gauge(n)?;
            }
        }
        // Counter names without `_total`: the encoder adds it.
        let counters = [
            (
                "continuo_notifications_sent",
                "Notifications delivered since start.",
            ),
            (
                "continuo_notification_failures",
                "Failed delivery attempts since start.",
            ),
            (
                "continuo_notifications_dead",
                "Notifications dead-lettered since start.",
            ),
            (
                "continuo_inbound_unrouted",
                "Inbound alerts and change events no route took since start (nobody was paged).",
            ),
        ];
        for ((name, help), value) in counters.into_iter().zip(self.deliveries) {
            encoder
                .encode_descriptor(name, help, None, MetricType::Counter)?
                .encode_counter::<NoLabelSet, _, u64>(&value, None)?;
        }
        if let Some(counts) = &self.outbox {
            let mut family = encoder.encode_descriptor(
                "continuo_outbox_items",
                "Notifications in the outbox, by state.",
                None,
                MetricType::Gauge,
            )?;
            for (state, n) in [
                ("pending", counts.pending),
                ("sent", counts.sent),
                ("dead", counts.dead),
                ("cancelled", counts.cancelled),
            ] {
                family
                    .encode_family(&[("state", state)])?
                    .encode_gauge(&n)?;
            }
        }
        {
            use prometheus_client::encoding::EncodeMetric;
            self.decision_times
                .decide
                .encode(encoder.encode_descriptor(
                    "continuo_alerting_decision_seconds",
                    "Time of each alerting decision with the stages after it, in memory.",
                    None,
                    MetricType::Histogram,
                )?)?;
            self.decision_times
                .commit
                .encode(encoder.encode_descriptor(
                "continuo_alerting_commit_seconds",
                "Time of each commit of a decision's changes, items and incidents to the store.",
                None,
                MetricType::Histogram,
            )?)?;
        }
        encoder
            .encode_descriptor(
                "continuo_alerting_degraded",
                "1 while alerting pages from memory because the store does not take its decisions.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&i64::from(self.degraded))?;
        // Every severity always has its series (0 when none is open), so an alert rule
        // on `continuo_incidents_open{severity="SEV1"} > 0` never meets an absent one.
        let mut family = encoder.encode_descriptor(
            "continuo_incidents_open",
            "Incidents not yet resolved, by severity.",
            None,
            MetricType::Gauge,
        )?;
        for (severity, n) in (1u8..).zip(&self.open_incidents) {
            let severity = continuo_core::incident::Severity(severity).name();
            family
                .encode_family(&[("severity", severity.as_str())])?
                .encode_gauge(n)?;
        }
        Ok(())
    }
}

/// Registers the supervised tasks' figures (the engine's and alerting's).
pub(crate) fn register_task_metrics(
    tasks: Vec<continuo_engine::supervise::TaskReport>,
    registry: &mut continuo_engine::metrics::Registry,
) {
    registry.register_collector(Box::new(TaskFigures(tasks)));
}

/// The supervised tasks at one scrape.
#[derive(Debug)]
struct TaskFigures(Vec<continuo_engine::supervise::TaskReport>);

impl prometheus_client::collector::Collector for TaskFigures {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::NoLabelSet;
        use prometheus_client::metrics::MetricType;
        {
            let mut family = encoder.encode_descriptor(
                "continuo_task_restarts",
                "Restarts of a supervised task after a panic, since start.",
                None,
                MetricType::Counter,
            )?;
            for task in &self.0 {
                family
                    .encode_family(&[("task", task.name.as_str())])?
                    .encode_counter::<NoLabelSet, _, u64>(&task.restarts, None)?;
            }
        }
        {
            let mut family = encoder.encode_descriptor(
                "continuo_task_healthy",
                "1 while a supervised task runs, 0 for a minute after it panicked.",
                None,
                MetricType::Gauge,
            )?;
            for task in &self.0 {
                family
                    .encode_family(&[("task", task.name.as_str())])?
                    .encode_gauge(&i64::from(task.healthy))?;
            }
        }
        Ok(())
    }
}
