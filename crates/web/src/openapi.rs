//! The OpenAPI 3 document of the JSON API v1, served at `GET /api/v1/openapi.json`.
//!
//! utoipa builds it at compile time from the declarations below: one `#[utoipa::path]`
//! per route of the router (method, path, parameters, request body, role), and the
//! request bodies as schemas. The handlers live in `lib.rs`, `alerting.rs`,
//! `incidents.rs`, `gateway.rs` and `audit.rs` and answer with hand-built JSON, so the
//! declarations sit here, in one place, rather than on them; the test
//! `crates/web/tests/openapi.rs` keeps the two in step (every `/api/v1` route the router
//! has is in the document with the same methods, and nothing else is).
// The functions only carry the declarations; utoipa reads them, nothing calls them.
#![allow(dead_code)]

use crate::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(document))
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| {
            format!("{{\"error\": \"the OpenAPI document cannot be written: {e}\"}}")
        })
    })
}

async fn document() -> Response {
    let mut response = json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Any JSON object; the API's answers are described in the README and by example.
#[derive(ToSchema)]
struct Document {}

/// What every refusal and bad request carries.
#[derive(ToSchema)]
struct ApiError {
    /// What was wrong, and what would be right.
    error: String,
}

/// The answers of a route on the whole collection.
#[derive(IntoResponses)]
enum Answers {
    #[response(status = 200, description = "Done")]
    Done(Document),
    #[response(status = 400, description = "Bad input, with what would be right")]
    BadInput(ApiError),
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ApiError),
    #[response(
        status = 403,
        description = "Role too low, or a forged browser request"
    )]
    Forbidden(ApiError),
}

/// The answers of a route about one thing named in its path: those of [`Answers`], and
/// 404 when there is no such thing.
#[derive(IntoResponses)]
enum AnswersAbout {
    #[response(status = 200, description = "Done")]
    Done(Document),
    #[response(status = 400, description = "Bad input, with what would be right")]
    BadInput(ApiError),
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ApiError),
    #[response(
        status = 403,
        description = "Role too low, or a forged browser request"
    )]
    Forbidden(ApiError),
    #[response(status = 404, description = "Not found")]
    NotFound(ApiError),
}

/// Who did it; by default whoever asked.
#[derive(ToSchema)]
struct By {
    /// A person's name or id.
    by: Option<String>,
}

/// A new maintenance window: `until` or `duration`.
#[derive(ToSchema)]
struct NewWindow {
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

/// A declared incident.
#[derive(ToSchema)]
struct Declare {
    /// What is wrong, in a line.
    title: String,
    /// Services hit.
    services: Vec<String>,
    /// SEV1 to SEV4; derived from the services when absent.
    severity: Option<String>,
    /// Who declares it.
    by: Option<String>,
}

/// A status update and/or a change of status, severity, title or classification.
#[derive(ToSchema)]
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
    /// Who posts it.
    by: Option<String>,
}

/// A resolution, with an optional closing message for customers.
#[derive(ToSchema)]
struct Resolve {
    /// The closing message.
    message: Option<String>,
    /// Who resolves it.
    by: Option<String>,
}

/// A note for the timeline.
#[derive(ToSchema)]
struct Note {
    /// The note.
    text: String,
    /// Who writes it.
    by: Option<String>,
}

/// A crisis role for a person.
#[derive(ToSchema)]
struct Assign {
    /// incident_commander, communications_lead, ...
    role: String,
    /// The person's id.
    person: String,
    /// Who assigns it.
    by: Option<String>,
}

/// A recovery step ticked off or on.
#[derive(ToSchema)]
struct Tick {
    /// The service whose task it is.
    service: String,
    /// The step, from 1.
    step: usize,
    /// Done or not (default true).
    done: Option<bool>,
    /// Who ticks it.
    by: Option<String>,
}

/// A new action item.
#[derive(ToSchema)]
struct AddAction {
    /// What is to be done.
    title: String,
    /// Who owns it.
    owner: Option<String>,
    /// When it is due.
    due: Option<String>,
    /// Who adds it.
    by: Option<String>,
}

/// An action item completed or reopened.
#[derive(ToSchema)]
struct ActionDone {
    /// Done or not.
    done: bool,
    /// Who changes it.
    by: Option<String>,
}

/// Review notes for the postmortem.
#[derive(ToSchema)]
struct ReviewNotes {
    /// The notes (summary, root causes, trigger, resolution, lessons learned...).
    #[schema(value_type = Object)]
    review: serde_json::Value,
    /// Who writes them.
    by: Option<String>,
}

/// The two ways to authenticate: a bearer token (an API token or the admin token) or
/// the session cookie of a signed-in browser (state changes then need the CSRF token).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::SESSION_COOKIE))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Continuo API",
        description = "The JSON API v1 of Continuo: services, checks, alerts, incidents, on-call, maintenance, the outbox, gateways and the audit log. Everything the dashboard can do.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&Security),
    paths(
        get_services,
        get_services_id_events,
        get_checks,
        get_checks_id,
        get_checks_id_observations,
        post_reload,
        get_alerts,
        get_alerts_id,
        post_alerts_id_ack,
        post_alerts_id_resolve,
        get_oncall,
        get_maintenance,
        post_maintenance,
        post_maintenance_id_end,
        get_outbox,
        post_outbox_retry,
        get_incidents,
        post_incidents,
        get_incidents_stats,
        get_incidents_id,
        post_incidents_id_ack,
        post_incidents_id_update,
        post_incidents_id_resolve,
        post_incidents_id_notes,
        post_incidents_id_roles,
        post_incidents_id_checklist,
        post_incidents_id_reports_key_submit,
        get_incidents_id_report_regime,
        post_incidents_id_actions,
        post_incidents_id_actions_n,
        post_incidents_id_review,
        get_incidents_id_postmortem,
        get_gateways,
        get_gateways_id,
        post_gateways_id_endpoints_endpoint_drain,
        post_gateways_id_endpoints_endpoint_undrain,
        post_gateways_id_failback,
        get_subscribers,
        delete_subscribers_id,
        post_subscribers_id_confirm,
        get_audit,
        get_openapi
    ),
    components(schemas(Document, ApiError, By, NewWindow, Declare, Update, Resolve, Note, Assign, Tick, AddAction, ActionDone, ReviewNotes)),
)]
struct ApiDoc;

#[utoipa::path(
    get,
    path = "/api/v1/services",
    tag = "services",
    description = "Services with their health (root cause or impacted). Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_services() {}

#[utoipa::path(
    get,
    path = "/api/v1/services/{id}/events",
    tag = "services",
    description = "A service's own timeline: failovers and failbacks, newest first. Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_services_id_events() {}

#[utoipa::path(
    get,
    path = "/api/v1/checks",
    tag = "checks",
    description = "Checks with their status and last observation. Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_checks() {}

#[utoipa::path(
    get,
    path = "/api/v1/checks/{id}",
    tag = "checks",
    description = "One check. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_checks_id() {}

#[utoipa::path(
    get,
    path = "/api/v1/checks/{id}/observations",
    tag = "checks",
    description = "A check's recent observations, newest first. Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_checks_id_observations() {}

#[utoipa::path(
    post,
    path = "/api/v1/reload",
    tag = "config",
    description = "Reloads the configuration. Needs the admin role.",
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn post_reload() {}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    description = "Alerts (one per root cause). Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_alerts() {}

#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    description = "One alert. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_alerts_id() {}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    tag = "alerts",
    description = "Acknowledges an alert. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = By,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_alerts_id_ack() {}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/resolve",
    tag = "alerts",
    description = "Resolves an alert by hand. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = By,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_alerts_id_resolve() {}

#[utoipa::path(
    get,
    path = "/api/v1/oncall",
    tag = "oncall",
    description = "Who is on call in every schedule. Needs the viewer role.",
    params(("at" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_oncall() {}

#[utoipa::path(
    get,
    path = "/api/v1/maintenance",
    tag = "maintenance",
    description = "Active and upcoming maintenance windows. Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_maintenance() {}

#[utoipa::path(
    post,
    path = "/api/v1/maintenance",
    tag = "maintenance",
    description = "Creates a maintenance window. Needs the responder role.",
    request_body = NewWindow,
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn post_maintenance() {}

#[utoipa::path(
    post,
    path = "/api/v1/maintenance/{id}/end",
    tag = "maintenance",
    description = "Ends a maintenance window now. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_maintenance_id_end() {}

#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    tag = "outbox",
    description = "The notification outbox with counts per state. Needs the admin role.",
    params(("state" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_outbox() {}

#[utoipa::path(
    post,
    path = "/api/v1/outbox/retry",
    tag = "outbox",
    description = "Requeues a dead-lettered notification. Needs the admin role.",
    params(("key" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn post_outbox_retry() {}

#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    description = "Incidents detected in a period, newest first. Needs the viewer role.",
    params(("status" = Option<String>, Query), ("from" = Option<String>, Query), ("until" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_incidents() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    description = "Declares an incident. Needs the responder role.",
    request_body = Declare,
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn post_incidents() {}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/stats",
    tag = "incidents",
    description = "Figures over the incidents of a period. Needs the viewer role.",
    params(("from" = Option<String>, Query), ("until" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_incidents_stats() {}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    description = "One incident with durations, RTO countdowns and deadlines. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_incidents_id() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/ack",
    tag = "incidents",
    description = "Acknowledges an incident. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = By,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_ack() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/update",
    tag = "incidents",
    description = "Posts a status update and/or changes status, severity, title, classification. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Update,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_update() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/resolve",
    tag = "incidents",
    description = "Resolves an incident. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Resolve,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_resolve() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/notes",
    tag = "incidents",
    description = "Adds a note to the timeline. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Note,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_notes() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/roles",
    tag = "incidents",
    description = "Gives a crisis role to a person. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Assign,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_roles() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/checklist",
    tag = "incidents",
    description = "Ticks a recovery step off or on. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = Tick,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_checklist() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/reports/{key}/submit",
    tag = "incidents",
    description = "Marks a regulatory report submitted. Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("key" = String, Path, description = "The report key")),
    request_body = By,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_reports_key_submit() {}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/report/{regime}",
    tag = "incidents",
    description = "The NIS2 or DORA report draft (Markdown). Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("regime" = String, Path, description = "nis2 or dora"), ("lang" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_incidents_id_report_regime() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions",
    tag = "incidents",
    description = "Adds an action item. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = AddAction,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_actions() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions/{n}",
    tag = "incidents",
    description = "Completes or reopens an action item. Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("n" = String, Path, description = "The action item number")),
    request_body = ActionDone,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_actions_n() {}

#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/review",
    tag = "incidents",
    description = "Writes review notes for the postmortem. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    request_body = ReviewNotes,
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_incidents_id_review() {}

#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/postmortem",
    tag = "incidents",
    description = "The postmortem (Markdown). Needs the viewer role.",
    params(("id" = String, Path, description = "The id"), ("lang" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_incidents_id_postmortem() {}

#[utoipa::path(
    get,
    path = "/api/v1/gateways",
    tag = "gateways",
    description = "The failover gateways and their endpoints. Needs the viewer role.",
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_gateways() {}

#[utoipa::path(
    get,
    path = "/api/v1/gateways/{id}",
    tag = "gateways",
    description = "One gateway. Needs the viewer role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_gateways_id() {}

#[utoipa::path(
    post,
    path = "/api/v1/gateways/{id}/endpoints/{endpoint}/drain",
    tag = "gateways",
    description = "Drains an endpoint (a planned switchover when it is the last primary). Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("endpoint" = String, Path, description = "The endpoint (host:port)")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_gateways_id_endpoints_endpoint_drain() {}

#[utoipa::path(
    post,
    path = "/api/v1/gateways/{id}/endpoints/{endpoint}/undrain",
    tag = "gateways",
    description = "Puts a drained endpoint back. Needs the responder role.",
    params(("id" = String, Path, description = "The id"), ("endpoint" = String, Path, description = "The endpoint (host:port)")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_gateways_id_endpoints_endpoint_undrain() {}

#[utoipa::path(
    post,
    path = "/api/v1/gateways/{id}/failback",
    tag = "gateways",
    description = "Fails back to the primary tier. Needs the responder role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_gateways_id_failback() {}

#[utoipa::path(
    get,
    path = "/api/v1/subscribers",
    tag = "subscribers",
    description = "Status page subscribers (email and webhook), optionally by state (pending, confirmed, unsubscribed). Needs the admin role.",
    params(("state" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn get_subscribers() {}

#[utoipa::path(
    delete,
    path = "/api/v1/subscribers/{id}",
    tag = "subscribers",
    description = "Removes a subscriber. Needs the admin role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn delete_subscribers_id() {}

#[utoipa::path(
    post,
    path = "/api/v1/subscribers/{id}/confirm",
    tag = "subscribers",
    description = "Confirms a subscriber by hand (a webhook whose test delivery failed). Needs the admin role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(AnswersAbout),
)]
fn post_subscribers_id_confirm() {}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    description = "The audit log, newest first. Needs the admin role.",
    params(("before_ms" = Option<i64>, Query), ("limit" = Option<u32>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(Answers),
)]
fn get_audit() {}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    description = "This document.",
    responses((status = 200, description = "The OpenAPI document", body = Document)),
)]
fn get_openapi() {}
