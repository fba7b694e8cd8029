//! The dashboard's forms: acknowledge, post an update, resolve and annotate an incident;
//! create and end maintenance windows; requeue a dead-lettered notification. Each is a
//! plain POST (works without JavaScript) that answers with a redirect back to the page
//! (post/redirect/get) or a page that says what was wrong.
//!
//! The same [`Authed`] extractor as the JSON API checks the role, the session's CSRF token
//! (the `csrf` field, taken out by the guard) and the `Origin`; the changes go through
//! the same alerting calls as the API, so both are audited and behave alike.

use super::{dashboard_lang, problem, refused};
use crate::alerting::{NewWindow, new_window};
use crate::{Admin, AppState, Authed, Responder};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use continuo_core::incident::book::Change;
use continuo_core::incident::{Audience, Status};
use continuo_core::{Lang, Text};
use continuo_engine::alerts::AlertingError;
use continuo_engine::incidents::Op;
use std::collections::BTreeMap;

/// A form's fields; a name given several times (checkboxes) keeps every value.
struct Fields(BTreeMap<String, Vec<String>>);

impl Fields {
    fn parse(body: &Bytes) -> Fields {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            map.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Fields(map)
    }

    /// The first value of a field, trimmed; `None` when absent or blank.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.get(name).cloned().unwrap_or_default()
    }
}

/// Everything a form handler starts with.
struct Ctx {
    state: AppState,
    lang: Lang,
    fields: Fields,
}

fn ctx(state: AppState, headers: &HeaderMap, body: &Bytes) -> Ctx {
    let fields = Fields::parse(body);
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(fields.get("lang"), headers, &catalog);
    Ctx {
        state,
        lang,
        fields,
    }
}

fn alerting_off(lang: Lang, back: &str) -> Response {
    let message = Text::new(
        "Alerting and incidents do not run on this node.",
        "Alarmering en incidenten draaien niet op deze node.",
    );
    problem(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        message.get(lang),
        back,
    )
}

fn failed(lang: Lang, e: &AlertingError, back: &str) -> Response {
    let status = match e {
        AlertingError::Store(_) | AlertingError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        AlertingError::UnknownIncident(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let message = Text::new(format!("Not done: {e}"), format!("Niet uitgevoerd: {e}"));
    problem(lang, status, message.get(lang), back)
}

fn invalid(lang: Lang, message: Text, back: &str) -> Response {
    problem(
        lang,
        StatusCode::UNPROCESSABLE_ENTITY,
        message.get(lang),
        back,
    )
}

async fn incident_op(ctx: &Ctx, who: &Authed<Responder>, id: &str, op: Op) -> Response {
    let back = format!("/incidents/{id}");
    let Some(h) = &ctx.state.alerts else {
        return alerting_off(ctx.lang, &back);
    };
    match h.incident_op(Some(id), op, &who.actor.who).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => failed(ctx.lang, &e, &back),
    }
}

/// The identified user, or the refusal as a browser should see it.
macro_rules! authed {
    ($who:expr, $uri:expr, $state:expr, $headers:expr) => {
        match $who {
            Ok(w) => w,
            Err(r) => {
                let lang = dashboard_lang(None, &$headers, &$state.engine.catalog());
                return refused(r, $uri.path(), lang).await;
            }
        }
    };
}

/// `POST /incidents/{id}/ack`.
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    who: Result<Authed<Responder>, Response>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = authed!(who, uri, state, headers);
    let ctx = ctx(state, &headers, &body);
    incident_op(&ctx, &who, &id, Op::Acknowledge).await
}

/// `POST /incidents/{id}/update`: a status update for an audience, with a new status.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    who: Result<Authed<Responder>, Response>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = authed!(who, uri, state, headers);
    let ctx = ctx(state, &headers, &body);
    let back = format!("/incidents/{id}");
    let status = match ctx.fields.get("status") {
        None => None,
        Some(name) => match Status::from_name(name) {
            Some(s) => Some(s),
            None => {
                let text = Text::new(
                    format!(
                        "The status is investigating, identified, monitoring or resolved, not `{name}`."
                    ),
                    format!(
                        "De status is investigating, identified, monitoring of resolved, niet `{name}`."
                    ),
                );
                return invalid(ctx.lang, text, &back);
            }
        },
    };
    let audience = match ctx.fields.get("audience") {
        None => Audience::Customers,
        Some(name) => match Audience::from_name(name) {
            Some(a) => a,
            None => {
                let text = Text::new(
                    format!("The audience is customers, internal or management, not `{name}`."),
                    format!("Het publiek is customers, internal of management, niet `{name}`."),
                );
                return invalid(ctx.lang, text, &back);
            }
        },
    };
    let message = ctx.fields.get("message").map(str::to_string);
    if message.is_none() && status.is_none() {
        let text = Text::new(
            "Write a message or choose a status.",
            "Schrijf een bericht of kies een status.",
        );
        return invalid(ctx.lang, text, &back);
    }
    let op = Op::Update {
        status,
        audience,
        message,
    };
    incident_op(&ctx, &who, &id, op).await
}

/// `POST /incidents/{id}/resolve`, with an optional closing message for customers.
pub(crate) async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    who: Result<Authed<Responder>, Response>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = authed!(who, uri, state, headers);
    let ctx = ctx(state, &headers, &body);
    let op = match ctx.fields.get("message") {
        Some(message) => Op::Update {
            status: Some(Status::Resolved),
            audience: Audience::Customers,
            message: Some(message.to_string()),
        },
        None => Op::Change(Change {
            status: Some(Status::Resolved),
            ..Change::default()
        }),
    };
    incident_op(&ctx, &who, &id, op).await
}

/// `POST /incidents/{id}/note`.
pub(crate) async fn note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    who: Result<Authed<Responder>, Response>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = authed!(who, uri, state, headers);
    let ctx = ctx(state, &headers, &body);
    let Some(text) = ctx.fields.get("text").map(str::to_string) else {
        let text = Text::new("The note is empty.", "De notitie is leeg.");
        return invalid(ctx.lang, text, &format!("/incidents/{id}"));
    };
    incident_op(&ctx, &who, &id, Op::Note(text)).await
}

/// `POST /maintenance`: a window from now (or `from`) for a `duration` or `until`.
pub(crate) async fn create_window(
    State(state): State<AppState>,
    uri: Uri,
    who: Result<Authed<Responder>, Response>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _who = authed!(who, uri, state, headers);
    let ctx = ctx(state, &headers, &body);
    let back = "/#maintenance";
    let Some(h) = &ctx.state.alerts else {
        return alerting_off(ctx.lang, back);
    };
    let Some(title) = ctx.fields.get("title").map(str::to_string) else {
        let text = Text::new("Give the window a title.", "Geef het venster een titel.");
        return invalid(ctx.lang, text, back);
    };
    let request = NewWindow {
        id: None,
        title,
        services: ctx.fields.all("services"),
        from: ctx.fields.get("from").map(str::to_string),
        until: ctx.fields.get("until").map(str::to_string),
        duration: match (ctx.fields.get("until"), ctx.fields.get("duration")) {
            (Some(_), _) => None,
            (None, d) => Some(d.unwrap_or("1h").to_string()),
        },
    };
    let window = match new_window(&h.catalog(), h.now_ms(), request) {
        Ok(w) => w,
        // The rules are written once, in English, in `alerting`; the page says what is
        // wrong in the user's language around it.
        Err(e) => {
            let text = Text::new(
                format!("The window is not valid: {e}"),
                format!("Het venster is niet geldig: {e}"),
            );
            return invalid(ctx.lang, text, back);
        }
    };
    match h.put_window(window).await {
        Ok(()) => Redirect::to(back).into_response(),
        Err(e) => failed(ctx.lang, &e, back),
    }
}

/// `POST /maintenance/{id}/end`.
pub(crate) async fn end_window(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    who: Result<Authed<Responder>, Response>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _who = authed!(who, uri, state, headers);
    let ctx = ctx(state, &headers, &body);
    let back = "/#maintenance";
    let Some(h) = &ctx.state.alerts else {
        return alerting_off(ctx.lang, back);
    };
    match h.end_window(&id).await {
        Ok(_) => Redirect::to(back).into_response(),
        Err(e) => failed(ctx.lang, &e, back),
    }
}

/// `POST /outbox/requeue` (admin): sends a dead-lettered notification again.
pub(crate) async fn requeue(
    State(state): State<AppState>,
    uri: Uri,
    who: Result<Authed<Admin>, Response>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _who = authed!(who, uri, state, headers);
    let ctx = ctx(state, &headers, &body);
    let back = "/#outbox";
    let Some(store) = &ctx.state.store else {
        let text = Text::new(
            "This node has no database.",
            "Deze node heeft geen database.",
        );
        return problem(
            ctx.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            text.get(ctx.lang),
            back,
        );
    };
    let Some(key) = ctx.fields.get("key").map(str::to_string) else {
        let text = Text::new(
            "Which notification? The key is missing.",
            "Welk bericht? De sleutel ontbreekt.",
        );
        return invalid(ctx.lang, text, back);
    };
    match store.outbox_retry(&key, ctx.state.engine.now_ms()).await {
        Ok(true) => {
            if let Some(h) = &ctx.state.alerts {
                h.wake_dispatcher();
            }
            Redirect::to(back).into_response()
        }
        Ok(false) => {
            let text = Text::new(
                format!("No dead-lettered notification with key `{key}`."),
                format!("Geen opgegeven bericht met sleutel `{key}`."),
            );
            problem(ctx.lang, StatusCode::NOT_FOUND, text.get(ctx.lang), back)
        }
        Err(e) => {
            let text = Text::new(
                format!("The outbox cannot be written: {e}"),
                format!("De uitgaande berichten zijn niet te schrijven: {e}"),
            );
            problem(
                ctx.lang,
                StatusCode::SERVICE_UNAVAILABLE,
                text.get(ctx.lang),
                back,
            )
        }
    }
}
