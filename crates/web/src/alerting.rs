//! Alerting over HTTP: alerts (list, acknowledge, resolve), who is on call, maintenance
//! windows, the outbox, signed acknowledge links, and inbound alerts from Alertmanager
//! (`/hooks/alertmanager`, webhook v4) and anything that speaks PagerDuty's Events API v2
//! (`/v2/enqueue`).

// The helpers' error is the response a handler returns as is; boxing it would only add
// an allocation on the error path.
#![allow(clippy::result_large_err)]

use super::{AppState, error, same};
use crate::auth::{Admin, Authed, Responder, Viewer};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use continuo_core::Lang;
use continuo_core::alerting::{AlertState, Inbound, Origin};
use continuo_core::maintenance::Window;
use continuo_core::model::Catalog;
use continuo_engine::alerts::{AckTokenError, AlertHandle, AlertingError, on_call};
use continuo_store::OutboxState;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The alerting routes (merged into the main router when alerting runs).
pub(crate) fn routes() -> Router<AppState> {
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
}

fn alerts(state: &AppState) -> Result<&AlertHandle, Response> {
    state.alerts.as_ref().ok_or_else(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "alerting is not running on this node",
        )
    })
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
}

pub(crate) fn failure(e: AlertingError) -> Response {
    let status = match &e {
        AlertingError::Alert(continuo_core::alerting::AlertError::Unknown(_)) => {
            StatusCode::NOT_FOUND
        }
        AlertingError::Alert(_) => StatusCode::CONFLICT,
        AlertingError::UnknownIncident(_) => StatusCode::NOT_FOUND,
        AlertingError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AlertingError::Store(_) | AlertingError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, &e.to_string())
}

async fn list_alerts(State(state): State<AppState>, _who: Authed<Viewer>) -> Response {
    match alerts(&state) {
        Ok(h) => axum::Json(json!({ "alerts": h.alerts() })).into_response(),
        Err(r) => r,
    }
}

async fn one_alert(
    State(state): State<AppState>,
    _who: Authed<Viewer>,
    Path(id): Path<String>,
) -> Response {
    let h = match alerts(&state) {
        Ok(h) => h,
        Err(r) => return r,
    };
    match h.alert(&id) {
        Some(a) => axum::Json(a).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("no alert with id `{id}`")),
    }
}

#[derive(Deserialize, Default)]
struct ByBody {
    by: Option<String>,
}

/// Who the alert is acknowledged or resolved by: the body's `by`, else whoever asked.
fn by_of(body: &Bytes, asker: &str) -> Result<String, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(asker.into());
    }
    let parsed: ByBody = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("the body must be JSON like {{\"by\": \"anna\"}}: {e}"),
        )
    })?;
    Ok(parsed.by.unwrap_or_else(|| asker.into()))
}

/// What an operator does to an alert through the API.
#[derive(Clone, Copy)]
enum Act {
    Acknowledge,
    Resolve,
}

async fn act_on_alert(state: &AppState, id: &str, asker: &str, body: &Bytes, act: Act) -> Response {
    let h = match alerts(state) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let by = match by_of(body, asker) {
        Ok(by) => by,
        Err(r) => return r,
    };
    let done = match act {
        Act::Acknowledge => h.acknowledge(id, &by).await,
        Act::Resolve => h.resolve(id, &by).await,
    };
    match done {
        Ok(()) => axum::Json(h.alert(id)).into_response(),
        Err(e) => failure(e),
    }
}

async fn ack_alert(
    State(state): State<AppState>,
    who: Authed<Responder>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    act_on_alert(&state, &id, &who.actor.who, &body, Act::Acknowledge).await
}

async fn resolve_alert(
    State(state): State<AppState>,
    who: Authed<Responder>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    act_on_alert(&state, &id, &who.actor.who, &body, Act::Resolve).await
}

#[derive(Deserialize)]
struct AtQuery {
    at: Option<String>,
}

async fn oncall(
    State(state): State<AppState>,
    _who: Authed<Viewer>,
    Query(q): Query<AtQuery>,
) -> Response {
    let catalog = state.engine.catalog();
    let at = match q.at.as_deref() {
        None => state.engine.now_ms(),
        Some(text) => {
            let tz = jiff::tz::TimeZone::get(&catalog.organization.timezone)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            match continuo_core::oncall::parse_instant(text, &tz) {
                Some(ms) => ms,
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "`at` must be a date and time such as 2026-12-24T18:00 or 2026-12-24T17:00:00Z, not `{text}`"
                        ),
                    );
                }
            }
        }
    };
    axum::Json(json!({ "at_ms": at, "schedules": on_call(&catalog, at) })).into_response()
}

async fn windows(State(state): State<AppState>, _who: Authed<Viewer>) -> Response {
    let h = match alerts(&state) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let (active, upcoming) = h.windows();
    axum::Json(json!({ "active": active, "upcoming": upcoming })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWindow {
    pub(crate) id: Option<String>,
    pub(crate) title: String,
    pub(crate) services: Vec<String>,
    pub(crate) from: Option<String>,
    pub(crate) until: Option<String>,
    pub(crate) duration: Option<String>,
}

/// A maintenance window from a request (API or dashboard form), or what is wrong with it.
pub(crate) fn new_window(catalog: &Catalog, now: i64, w: NewWindow) -> Result<Window, String> {
    let tz =
        jiff::tz::TimeZone::get(&catalog.organization.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    if w.services.is_empty() {
        return Err("`services` must name at least one service".into());
    }
    for s in &w.services {
        if catalog.service(s).is_none() {
            return Err(format!("`services`: no service with id `{s}`"));
        }
    }
    let instant = |field: &str, text: &str| {
        continuo_core::oncall::parse_instant(text, &tz).ok_or_else(|| {
            format!("`{field}` must be a date and time such as 2026-12-24T18:00, not `{text}`")
        })
    };
    let from = match &w.from {
        Some(t) => instant("from", t)?,
        None => now,
    };
    let until = match (&w.until, &w.duration) {
        (Some(t), None) => instant("until", t)?,
        (None, Some(d)) => {
            let d = continuo_core::HumanDuration::parse(d)
                .map_err(|e| format!("`duration`: {}", e.text().en))?;
            i64::try_from(d.get().as_millis())
                .ok()
                .and_then(|ms| from.checked_add(ms))
                .ok_or_else(|| "`duration` is too long".to_string())?
        }
        _ => return Err("give either `until` or `duration` (such as \"2h\")".into()),
    };
    if until <= from {
        return Err("the window must end after it starts".into());
    }
    let id = w.id.unwrap_or_else(|| format!("mw-{from}"));
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "`id` may hold letters, digits, - and _ only, not `{id}`"
        ));
    }
    Ok(Window {
        id,
        title: w.title,
        services: w.services,
        from_ms: from,
        until_ms: until,
        origin: "api".into(),
    })
}

async fn create_window(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    body: Bytes,
) -> Response {
    let h = match alerts(&state) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let request: NewWindow = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid maintenance window: {e}"),
            );
        }
    };
    let window = match new_window(&h.catalog(), h.now_ms(), request) {
        Ok(w) => w,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, &e),
    };
    match h.put_window(window.clone()).await {
        Ok(()) => (StatusCode::CREATED, axum::Json(window)).into_response(),
        Err(e) => failure(e),
    }
}

async fn end_window(
    State(state): State<AppState>,
    _who: Authed<Responder>,
    Path(id): Path<String>,
) -> Response {
    let h = match alerts(&state) {
        Ok(h) => h,
        Err(r) => return r,
    };
    match h.end_window(&id).await {
        Ok(w) => axum::Json(w).into_response(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct OutboxQuery {
    state: Option<String>,
    limit: Option<u32>,
}

async fn outbox(
    State(state): State<AppState>,
    _who: Authed<Admin>,
    Query(q): Query<OutboxQuery>,
) -> Response {
    let Some(store) = &state.store else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this node has no store");
    };
    let filter = match q.state.as_deref() {
        None => None,
        Some(name) => match OutboxState::from_name(name) {
            Some(s) => Some(s),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("`state` must be pending, sent or dead, not `{name}`"),
                );
            }
        },
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    match (
        store.outbox(filter, limit).await,
        store.outbox_counts().await,
    ) {
        (Ok(items), Ok(counts)) => {
            axum::Json(json!({ "counts": counts, "items": items })).into_response()
        }
        (Err(e), _) | (_, Err(e)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the store cannot be read: {e}"),
        ),
    }
}

#[derive(Deserialize)]
struct KeyQuery {
    key: String,
}

async fn retry_outbox(
    State(state): State<AppState>,
    _who: Authed<Admin>,
    Query(q): Query<KeyQuery>,
) -> Response {
    let Some(store) = &state.store else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this node has no store");
    };
    match store.outbox_retry(&q.key, state.engine.now_ms()).await {
        Ok(true) => {
            if let Some(h) = &state.alerts {
                h.wake_dispatcher();
            }
            axum::Json(json!({ "requeued": q.key })).into_response()
        }
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            &format!("no dead-lettered notification with key `{}`", q.key),
        ),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// The language of a page for a browser: the first of Accept-Language we speak.
pub(crate) fn page_lang(headers: &HeaderMap, catalog: &Catalog) -> Lang {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in accept.split(',') {
        let code = part.split(';').next().unwrap_or("").trim();
        let primary = code.split('-').next().unwrap_or("");
        if let Some(l) = Lang::ALL.into_iter().find(|l| l.code() == primary) {
            return l;
        }
    }
    catalog
        .organization
        .languages
        .first()
        .copied()
        .unwrap_or(Lang::En)
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn page(lang: Lang, title: &str, body: &str, status: StatusCode) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#111}}\
         button{{font-size:1.1rem;padding:.6rem 1.2rem;background:#0b5;color:#fff;border:0;border-radius:.3rem}}</style>\
         </head><body><h1>{}</h1>{body}</body></html>",
        lang.code(),
        escape(title),
        escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
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
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let catalog = state.engine.catalog();
    let lang = page_lang(&headers, &catalog);
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
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: Option<axum::Extension<crate::auth::ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let catalog = state.engine.catalog();
    let lang = page_lang(&headers, &catalog);
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
    crate::audit::record(
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
        Err(e) => failure(e),
    }
}

/// The configured hooks token; hooks are off (403) without a non-empty one.
fn hooks_token(state: &AppState) -> Result<String, Response> {
    state
        .engine
        .catalog()
        .server
        .hooks_token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            error(
                StatusCode::FORBIDDEN,
                "inbound hooks are off: set [server] hooks_token in the configuration",
            )
        })
}

/// The hooks token: a bearer token, or `?token=`.
fn hooks_allowed(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), Response> {
    let token = hooks_token(state)?;
    let presented = match bearer(headers) {
        "" => query.unwrap_or(""),
        b => b,
    };
    if same(presented.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "a valid hooks token is required (Authorization: Bearer, or ?token=)",
        ))
    }
}

/// The service inbound labels route to: a `service` label naming a service, else the
/// first route whose matchers all match.
pub(crate) fn route(catalog: &Catalog, labels: &BTreeMap<String, String>) -> Option<String> {
    if let Some(s) = labels.get("service")
        && catalog.service(s).is_some()
    {
        return Some(s.clone());
    }
    catalog
        .routes
        .iter()
        .find(|r| {
            r.matchers
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|l| l == v))
        })
        .map(|r| r.service.value.clone())
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmPayload {
    version: String,
    group_key: String,
    status: String,
    alerts: Vec<AmAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    fingerprint: Option<String>,
}

fn ts(text: Option<&str>) -> Option<i64> {
    let t: jiff::Timestamp = text?.parse().ok()?;
    // Alertmanager sends 0001-01-01T00:00:00Z for "unset".
    (t.as_millisecond() > 0).then_some(t.as_millisecond())
}

/// Alertmanager webhook v4: one Continuo alert per group and service; the group's
/// alerts are deduplicated by fingerprint; it resolves when none of them fires.
async fn alertmanager(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> Response {
    if let Err(r) = hooks_allowed(&state, &headers, q.token.as_deref()) {
        return r;
    }
    let h = match alerts(&state) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let payload: AmPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("not an Alertmanager webhook payload: {e}"),
            );
        }
    };
    if payload.version != "4" {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Alertmanager webhook version `{}` is not supported; version 4 is",
                payload.version
            ),
        );
    }
    let catalog = h.catalog();
    // Per routed service: fingerprints firing, their summaries, earliest start.
    struct Group {
        firing: BTreeMap<String, String>,
        started: Option<i64>,
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut unrouted = Vec::new();
    for alert in &payload.alerts {
        let Some(service) = route(&catalog, &alert.labels) else {
            unrouted.push(
                alert
                    .labels
                    .get("alertname")
                    .cloned()
                    .unwrap_or_else(|| "(no alertname)".into()),
            );
            continue;
        };
        let group = groups.entry(service).or_insert(Group {
            firing: BTreeMap::new(),
            started: None,
        });
        let fingerprint = alert.fingerprint.clone().unwrap_or_else(|| {
            alert
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        });
        if alert.status == "firing" && payload.status != "resolved" {
            let name = alert.labels.get("alertname").cloned().unwrap_or_default();
            let text = alert
                .annotations
                .get("summary")
                .or_else(|| alert.annotations.get("description"))
                .cloned()
                .unwrap_or_else(|| name.clone());
            group.firing.insert(fingerprint, text);
            if let Some(s) = ts(alert.starts_at.as_deref()) {
                group.started = Some(group.started.map_or(s, |g: i64| g.min(s)));
            }
        }
    }
    let events: Vec<Inbound> = groups
        .into_iter()
        .map(|(service, group)| {
            let mut texts: Vec<&String> = group.firing.values().collect();
            texts.dedup();
            let summary = match texts.len() {
                0 => String::new(),
                1 => texts[0].clone(),
                n => format!(
                    "{n} alerts: {}",
                    texts
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            };
            Inbound {
                source: "alertmanager".into(),
                key: format!("{}|{service}", payload.group_key),
                service,
                summary,
                firing: !group.firing.is_empty(),
                started_ms: group.started,
            }
        })
        .collect();
    if !unrouted.is_empty() {
        eprintln!(
            "alertmanager: no route to a service for {}; add a [[route]]",
            unrouted.join(", ")
        );
    }
    match h.inbound(events).await {
        Ok(changed) => {
            axum::Json(json!({ "status": "ok", "changed": changed, "unrouted": unrouted }))
                .into_response()
        }
        Err(e) => failure(e),
    }
}

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

/// PagerDuty Events API v2: trigger, acknowledge, resolve by `dedup_key`. The
/// `routing_key` is the hooks token.
async fn enqueue(State(state): State<AppState>, body: Bytes) -> Response {
    let event: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return invalid_event(vec![format!("the body is not JSON: {e}")]),
    };
    let text = |path: &str| {
        event
            .pointer(path)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let routing_key = text("/routing_key").unwrap_or_default();
    let token = match hooks_token(&state) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !same(routing_key.as_bytes(), token.as_bytes()) {
        return invalid_event(vec!["'routing_key' is invalid".into()]);
    }
    let h = match alerts(&state) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let action = text("/event_action").unwrap_or_default();
    let mut errors = Vec::new();
    if !["trigger", "acknowledge", "resolve"].contains(&action.as_str()) {
        errors.push("'event_action' must be trigger, acknowledge or resolve".to_string());
    }
    let dedup = text("/dedup_key").filter(|k| !k.is_empty());
    if dedup.as_ref().is_some_and(|k| k.chars().count() > 255) {
        errors.push("'dedup_key' is longer than 255 characters".into());
    }
    let catalog = h.catalog();
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
    if action == "trigger" {
        let summary = text("/payload/summary").unwrap_or_default();
        if summary.is_empty() {
            errors.push("'payload.summary' is missing or blank".into());
        } else if summary.chars().count() > 1_024 {
            errors.push("'payload.summary' is longer than 1024 characters".into());
        }
        if text("/payload/source").is_none_or(|s| s.is_empty()) {
            errors.push("'payload.source' is missing or blank".into());
        }
        let severity = text("/payload/severity").unwrap_or_default();
        if !["critical", "error", "warning", "info"].contains(&severity.as_str()) {
            errors.push("'payload.severity' must be critical, error, warning or info".into());
        }
    } else if dedup.is_none() && !action.is_empty() {
        errors.push("'dedup_key' is required for acknowledge and resolve".into());
    }
    if !errors.is_empty() {
        return invalid_event(errors);
    }
    let key = dedup.unwrap_or_else(|| {
        let h = continuo_core::hash::fnv1a(
            body.iter()
                .copied()
                .chain(state.engine.now_ms().to_le_bytes()),
        );
        format!("{h:016x}")
    });
    let accepted = || {
        (
            StatusCode::ACCEPTED,
            axum::Json(json!({
                "status": "success",
                "message": "Event processed",
                "dedup_key": key,
            })),
        )
            .into_response()
    };
    let origin = Origin::Inbound {
        source: "events".into(),
        key: key.clone(),
    };
    match action.as_str() {
        "acknowledge" => {
            let open = h
                .alerts()
                .into_iter()
                .find(|a| a.alert.origin == origin && a.alert.state != AlertState::Resolved);
            if let Some(a) = open
                && let Err(e) = h.acknowledge(&a.alert.id, "events").await
            {
                return failure(e);
            }
            accepted()
        }
        _ => {
            let firing = action == "trigger";
            let service = route(&catalog, &labels);
            let service = match service {
                Some(s) => s,
                None if !firing => {
                    // A resolve needs no route: find the alert by its key.
                    match h.alerts().into_iter().find(|a| a.alert.origin == origin) {
                        Some(a) => a.alert.service,
                        None => return accepted(),
                    }
                }
                None => {
                    return invalid_event(vec![format!(
                        "no [[route]] sends this event to a service (labels: {})",
                        labels
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )]);
                }
            };
            let event = Inbound {
                source: "events".into(),
                key: key.clone(),
                service,
                summary: text("/payload/summary").unwrap_or_default(),
                firing,
                started_ms: ts(text("/payload/timestamp").as_deref()),
            };
            match h.inbound(vec![event]).await {
                Ok(_) => accepted(),
                Err(e) => failure(e),
            }
        }
    }
}

/// Appends alerting's metrics in the Prometheus text format.
pub(crate) async fn metrics(
    alerts: &AlertHandle,
    store: Option<&continuo_store::Store>,
    out: &mut String,
) {
    use std::fmt::Write as _;
    let mut by_state: BTreeMap<&str, u64> = [
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
    out.push_str(
        "# HELP continuo_alerts Alerts known, by state (resolved ones are kept 7 days).\n",
    );
    out.push_str("# TYPE continuo_alerts gauge\n");
    for (state, n) in &by_state {
        let _ = writeln!(out, "continuo_alerts{{state=\"{state}\"}} {n}");
    }
    let (sent, failed, dead) = alerts.delivery_counts();
    for (name, help, value) in [
        (
            "continuo_notifications_sent_total",
            "Notifications delivered since start.",
            sent,
        ),
        (
            "continuo_notification_failures_total",
            "Failed delivery attempts since start.",
            failed,
        ),
        (
            "continuo_notifications_dead_total",
            "Notifications dead-lettered since start.",
            dead,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    if let Some(store) = store
        && let Ok(counts) = store.outbox_counts().await
    {
        out.push_str("# HELP continuo_outbox_items Notifications in the outbox, by state.\n");
        out.push_str("# TYPE continuo_outbox_items gauge\n");
        for (state, n) in [
            ("pending", counts.pending),
            ("sent", counts.sent),
            ("dead", counts.dead),
        ] {
            let _ = writeln!(out, "continuo_outbox_items{{state=\"{state}\"}} {n}");
        }
    }
}
