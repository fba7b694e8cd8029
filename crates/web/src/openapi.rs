//! The OpenAPI 3 document of the JSON API v1, served at `GET /api/v1/openapi.json`.
//!
//! utoipa builds it at compile time from the handlers themselves: each `/api/v1`
//! handler carries its `#[utoipa::path]` (method, path, parameters, request body, role,
//! answers), its request body is the type it parses (deriving `ToSchema`), and its
//! answer a typed struct where the answer is an API object; this module lists the
//! handlers and adds the security schemes. The test `crates/web/tests/openapi.rs` keeps
//! the document and the router in step (every `/api/v1` route the router has is in the
//! document with the same methods, and nothing else is).

use crate::app::Shared;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub(crate) fn routes() -> Router<Shared> {
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

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    description = "This document.",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
)]
async fn document() -> Response {
    let mut response = json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Continuo API",
        description = "The JSON API v1 of Continuo: services, checks, alerts, incidents, on-call, maintenance, the outbox, gateways, the audit log, evidence, posture and the availability report. Everything the dashboard can do.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&Security),
    paths(
        crate::checks::services,
        crate::incidents::service_events,
        crate::checks::checks,
        crate::checks::check,
        crate::checks::observations,
        crate::checks::pings,
        crate::checks::reload,
        crate::alerting::list_alerts,
        crate::alerting::one_alert,
        crate::alerting::ack_alert,
        crate::alerting::resolve_alert,
        crate::alerting::oncall,
        crate::alerting::windows,
        crate::alerting::create_window,
        crate::alerting::end_window,
        crate::alerting::outbox,
        crate::alerting::retry_outbox,
        crate::alerting::unrouted,
        crate::incidents::list,
        crate::incidents::declare,
        crate::incidents::figures,
        crate::incidents::show,
        crate::incidents::ack,
        crate::incidents::update,
        crate::incidents::resolve,
        crate::incidents::note,
        crate::incidents::assign,
        crate::incidents::tick,
        crate::incidents::submit,
        crate::incidents::report,
        crate::incidents::add_action,
        crate::incidents::action,
        crate::incidents::review,
        crate::incidents::postmortem,
        crate::gateway::list,
        crate::gateway::one,
        crate::gateway::drain,
        crate::gateway::undrain,
        crate::gateway::failback,
        crate::subscribers::list,
        crate::subscribers::remove,
        crate::subscribers::admin_confirm,
        crate::audit::list,
        crate::posture::posture,
        crate::posture::evidence,
        crate::posture::add_evidence,
        crate::posture::availability,
        document
    ),
    components(schemas(crate::error::ErrorBody)),
)]
struct ApiDoc;
