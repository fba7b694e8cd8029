//! Status page subscribers over HTTP. Public: `POST /status/subscribe` (a form or JSON:
//! `email` or `url`, optional `components` and `language`), `/status/confirm/{token}`
//! and `/status/unsubscribe/{token}` (GET shows a page with a button, so mail scanners
//! that follow links change nothing; POST acts; the unsubscribe POST also serves RFC 8058
//! one-click unsubscription). Admin: `GET /api/v1/subscribers`, `DELETE
//! /api/v1/subscribers/{id}` and `POST /api/v1/subscribers/{id}/confirm`.
//!
//! **Invariant:** the answer to a subscription never tells whether the address was
//! subscribed already; bad input gets a clear reason in the visitor's language.
//! **Bounded:** each client address (an IPv6 one by its /64) may ask for at most
//! [`PER_ADDRESS_PER_HOUR`] subscriptions an hour, and the engine refuses new ones while
//! `MAX_PENDING_SUBSCRIBERS` wait for confirmation; both answer 429 with `Retry-After`.
//! **Invariant:** a webhook URL is http or https and, unless `[server]
//! allow_private_webhooks` is on, does not name a loopback, private, link-local or
//! otherwise internal address: a public form must not make the server call inside its own
//! network. (Names are checked as written here; a public name that resolves to an internal
//! address is refused when the webhook is posted, by notify's `direct::Poster`.)

use crate::app::{AppState, Shared};
use crate::auth::{Admin, Authed};
use crate::credentials::{random_hex, sha256_hex};
use crate::error::{ApiError, Refusals, RefusalsAbout};
use crate::html::{escape, page};
use crate::lang;
use crate::running::Alerting;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use continuo_core::subscribers::{SubscriberKind, SubscriberState, check_components, check_email};
use continuo_core::{Lang, Text, tr};
use continuo_engine::alerts::AlertHandle;
use continuo_engine::subscribers::{NewSubscriber, SubscribeError};
use continuo_net::is_internal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::IpAddr;
use utoipa::ToSchema;

/// The most subscription requests one client address (an IPv6 address by its /64,
/// which one client usually holds whole) may make in an hour.
pub(crate) const PER_ADDRESS_PER_HOUR: usize = 10;

const HOUR_MS: i64 = 3_600_000;

/// Above this many addresses remembered, those with nothing in the last hour are
/// forgotten.
const TIDY_ABOVE: usize = 10_000;

/// The subscription requests of each client address in the last hour (in memory: a
/// restart forgets them, the engine's limit on pending subscribers does not).
#[derive(Default)]
pub(crate) struct AddressLimit {
    seen: std::sync::Mutex<std::collections::HashMap<IpAddr, std::collections::VecDeque<i64>>>,
}

impl AddressLimit {
    /// The key an address is counted under: IPv4 as it is, IPv6 by its /64.
    fn key(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut octets = v6.octets();
                    octets[8..].fill(0);
                    IpAddr::V6(std::net::Ipv6Addr::from(octets))
                }
            },
        }
    }

    /// Counts a request from `ip` at `now_ms`, or says how long until it may ask again.
    pub(crate) fn take(&self, ip: IpAddr, now_ms: i64) -> Result<(), std::time::Duration> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() > TIDY_ABOVE {
            seen.retain(|_, times| times.back().is_some_and(|t| now_ms - t < HOUR_MS));
        }
        let times = seen.entry(Self::key(ip)).or_default();
        while times.front().is_some_and(|t| now_ms - t >= HOUR_MS) {
            times.pop_front();
        }
        if times.len() >= PER_ADDRESS_PER_HOUR {
            let frees = times.front().map_or(0, |t| t + HOUR_MS - now_ms).max(1_000);
            return Err(std::time::Duration::from_millis(
                u64::try_from(frees).unwrap_or(1_000),
            ));
        }
        times.push_back(now_ms);
        Ok(())
    }
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/status/subscribe", post(subscribe))
        .route("/status/confirm/{token}", get(confirm_page).post(confirm))
        .route(
            "/status/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
        .route("/api/v1/subscribers", get(list))
        .route("/api/v1/subscribers/{id}", delete(remove))
        .route("/api/v1/subscribers/{id}/confirm", post(admin_confirm))
        .layer(axum::Extension(
            std::sync::Arc::new(AddressLimit::default()),
        ))
}

/// What a subscription request says, from a form or JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    language: Option<String>,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<Request, Text> {
    if is_json(headers) {
        return serde_json::from_slice(body).map_err(|e| {
            tr!(
                "the request is not valid JSON for a subscription: {e}",
                "het verzoek is geen geldige JSON voor een abonnement: {e}"
            )
        });
    }
    let mut request = Request::default();
    for (name, value) in url::form_urlencoded::parse(body) {
        let value = value.trim().to_string();
        match name.as_ref() {
            "email" if !value.is_empty() => request.email = Some(value),
            "url" if !value.is_empty() => request.url = Some(value),
            "components" => request
                .components
                .extend(value.split(',').map(|c| c.trim().to_string())),
            "language" if !value.is_empty() => request.language = Some(value),
            // Other fields (a CSRF token, a submit button) mean nothing here.
            _ => {}
        }
    }
    Ok(request)
}

/// Checks a webhook URL: http or https, a host, and not an internal one unless allowed.
fn check_webhook_url(text: &str, allow_private: bool) -> Result<String, Text> {
    let text = text.trim();
    let bad = || {
        tr!(
            "\"{text}\" is not a webhook URL; write https://hooks.example.com/status",
            "\"{text}\" is geen webhook-URL; schrijf https://hooks.example.com/status"
        )
    };
    let url = url::Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(tr!(
            "a webhook URL must start with https:// or http://",
            "een webhook-URL moet beginnen met https:// of http://"
        ));
    }
    let internal = match url.host() {
        None => return Err(bad()),
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost"
                || !name.contains('.')
                || [".localhost", ".local", ".internal", ".lan", ".home.arpa"]
                    .iter()
                    .any(|s| name.ends_with(s))
        }
    };
    if internal && !allow_private {
        return Err(tr!(
            "the webhook URL points inside a private network; use a public address",
            "de webhook-URL wijst naar een privénetwerk; gebruik een openbaar adres"
        ));
    }
    Ok(url.to_string())
}

/// The language of the answer: the request's `language`, else the browser's.
fn answer_lang(request: Option<&Request>, headers: &HeaderMap, state: &AppState) -> Lang {
    lang::of_request(
        request.and_then(|r| r.language.as_deref()),
        headers,
        &state.engine.catalog(),
    )
}

/// A refusal, as JSON or as a page.
fn refuse(json: bool, lang: Lang, status: StatusCode, why: &Text) -> Response {
    if json {
        return ApiError::new(status, why.clone()).response(lang);
    }
    let title = match lang {
        Lang::Nl => "Aanmelden lukt niet",
        Lang::En => "Cannot subscribe",
    };
    page(
        lang,
        title,
        &format!("<p>{}</p>", escape(why.get(lang))),
        status,
    )
}

/// A 429 refusal, with `Retry-After` in whole seconds.
fn too_many(json: bool, lang: Lang, wait: std::time::Duration, why: &Text) -> Response {
    let mut response = refuse(json, lang, StatusCode::TOO_MANY_REQUESTS, why);
    let secs = wait.as_secs().max(1);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
    response
}

/// Whole minutes, rounded up, for a refusal's text.
fn minutes(wait: std::time::Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

fn handle(state: &AppState) -> Option<&AlertHandle> {
    state.alerts.as_ref()
}

fn unavailable() -> Text {
    tr!(
        "subscriptions are not available right now; try again later",
        "abonneren kan nu niet; probeer het later opnieuw"
    )
}

fn subscribe_error(e: &SubscribeError) -> (StatusCode, Text) {
    match e {
        SubscribeError::EmailDisabled => (
            StatusCode::BAD_REQUEST,
            tr!(
                "this status page does not offer email subscriptions",
                "deze statuspagina biedt geen abonnement per e-mail"
            ),
        ),
        SubscribeError::Unknown(id) => (
            StatusCode::NOT_FOUND,
            tr!("no subscriber with id `{id}`", "geen abonnee met id `{id}`"),
        ),
        SubscribeError::TooManyPending { retry_after } => {
            let minutes = minutes(*retry_after);
            (
                StatusCode::TOO_MANY_REQUESTS,
                tr!(
                    "too many subscriptions are waiting for confirmation; try again in {minutes} min",
                    "te veel abonnementen wachten op bevestiging; probeer het over {minutes} min opnieuw"
                ),
            )
        }
        SubscribeError::NoStore | SubscribeError::Store(_) => {
            tracing::warn!(error = %e, "subscribers: the store cannot be used");
            (StatusCode::SERVICE_UNAVAILABLE, unavailable())
        }
    }
}

async fn subscribe(
    State(state): State<Shared>,
    limit: axum::Extension<std::sync::Arc<AddressLimit>>,
    client: Option<axum::Extension<crate::auth::ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = is_json(&headers);
    let request = match parse_request(&headers, &body) {
        Ok(r) => r,
        Err(why) => {
            let lang = answer_lang(None, &headers, &state);
            return refuse(json, lang, StatusCode::BAD_REQUEST, &why);
        }
    };
    let lang = answer_lang(Some(&request), &headers, &state);
    let Some(h) = handle(&state) else {
        return refuse(json, lang, StatusCode::SERVICE_UNAVAILABLE, &unavailable());
    };
    let catalog = state.engine.catalog();
    if let Some(code) = &request.language
        && Lang::from_code(code).is_none()
    {
        let why = tr!(
            "language \"{code}\" is not offered; choose en or nl",
            "taal \"{code}\" wordt niet aangeboden; kies en of nl"
        );
        return refuse(json, lang, StatusCode::BAD_REQUEST, &why);
    }
    let (kind, address) = match (&request.email, &request.url) {
        (Some(email), None) => (SubscriberKind::Email, check_email(email)),
        (None, Some(url)) => (
            SubscriberKind::Webhook,
            check_webhook_url(url, catalog.server.allow_private_webhooks),
        ),
        _ => {
            let why = tr!(
                "give either an email address (email) or a webhook URL (url)",
                "geef een e-mailadres (email) of een webhook-URL (url)"
            );
            return refuse(json, lang, StatusCode::BAD_REQUEST, &why);
        }
    };
    let address = match address {
        Ok(a) => a,
        Err(why) => return refuse(json, lang, StatusCode::BAD_REQUEST, &why),
    };
    let components = match check_components(&catalog, &request.components) {
        Ok(c) => c,
        Err(why) => return refuse(json, lang, StatusCode::BAD_REQUEST, &why),
    };
    if let Some(axum::Extension(crate::auth::ClientAddr(ip))) = client
        && let Err(wait) = limit.take(ip, state.engine.now_ms())
    {
        let minutes = minutes(wait);
        let why = tr!(
            "too many subscription requests from your address; try again in {minutes} min",
            "te veel aanmeldingen vanaf jouw adres; probeer het over {minutes} min opnieuw"
        );
        return too_many(json, lang, wait, &why);
    }
    let (Ok(id), Ok(token)) = (random_hex(16), random_hex(32)) else {
        return refuse(json, lang, StatusCode::SERVICE_UNAVAILABLE, &unavailable());
    };
    let token_hash = sha256_hex(token.as_bytes());
    let new = NewSubscriber {
        kind,
        address,
        components,
        language: lang,
        id,
        token,
        token_hash,
    };
    if let Err(e) = h.subscribe(new).await {
        let (status, why) = subscribe_error(&e);
        if let SubscribeError::TooManyPending { retry_after } = e {
            return too_many(json, lang, retry_after, &why);
        }
        return refuse(json, lang, status, &why);
    }
    // The same answer whether or not the address was subscribed already.
    let said = match kind {
        SubscriberKind::Email => tr!(
            "Check your inbox: we sent a link to confirm the subscription.",
            "Kijk in je inbox: we stuurden een link om het abonnement te bevestigen."
        ),
        SubscriberKind::Webhook => tr!(
            "We send a test delivery to the webhook; when it answers 2xx, the subscription is confirmed.",
            "We sturen een testbericht naar de webhook; antwoordt die met 2xx, dan is het abonnement bevestigd."
        ),
    };
    if json {
        return (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "status": "pending", "message": said.get(lang) })),
        )
            .into_response();
    }
    let title = match lang {
        Lang::Nl => "Bijna klaar",
        Lang::En => "Almost done",
    };
    page(
        lang,
        title,
        &format!("<p>{}</p>", escape(said.get(lang))),
        StatusCode::ACCEPTED,
    )
}

fn link_problem(lang: Lang) -> Response {
    let (title, text) = match lang {
        Lang::Nl => (
            "Ongeldige link",
            "Deze link is niet geldig, al gebruikt of verlopen. Meld je opnieuw aan als je berichten wilt ontvangen.",
        ),
        Lang::En => (
            "Invalid link",
            "This link is not valid, was used already or has expired. Subscribe again if you want to receive updates.",
        ),
    };
    page(
        lang,
        title,
        &format!("<p>{}</p>", escape(text)),
        StatusCode::NOT_FOUND,
    )
}

fn store_problem(lang: Lang, e: &SubscribeError) -> Response {
    let (status, why) = subscribe_error(e);
    page(
        lang,
        why.get(lang),
        "",
        if status == StatusCode::NOT_FOUND {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
    )
}

/// Shows what the link confirms, with a button; a GET changes nothing.
async fn confirm_page(
    State(state): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::of_request(None, &headers, &state.engine.catalog());
    let Some(h) = handle(&state) else {
        return store_problem(lang, &SubscribeError::NoStore);
    };
    let subscriber = match h.pending_subscriber(&sha256_hex(token.as_bytes())).await {
        Ok(Some(s)) => s,
        Ok(None) => return link_problem(lang),
        Err(e) => return store_problem(lang, &e),
    };
    let lang = subscriber.language;
    let org = state.engine.catalog().organization.name.clone();
    let address = escape(&subscriber.address);
    let action = format!("/status/confirm/{}", escape(&token));
    let (title, body) = match lang {
        Lang::Nl => (
            format!("Abonnement bevestigen: {org}"),
            format!(
                "<p>Statusberichten van {} ontvangen op <strong>{address}</strong>?</p><form method=\"post\" action=\"{action}\"><button type=\"submit\">Bevestigen</button></form>",
                escape(&org)
            ),
        ),
        Lang::En => (
            format!("Confirm subscription: {org}"),
            format!(
                "<p>Receive status updates from {} at <strong>{address}</strong>?</p><form method=\"post\" action=\"{action}\"><button type=\"submit\">Confirm</button></form>",
                escape(&org)
            ),
        ),
    };
    page(lang, &title, &body, StatusCode::OK)
}

async fn confirm(
    State(state): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::of_request(None, &headers, &state.engine.catalog());
    let Some(h) = handle(&state) else {
        return store_problem(lang, &SubscribeError::NoStore);
    };
    let hash = sha256_hex(token.as_bytes());
    let lang = match h.pending_subscriber(&hash).await {
        Ok(Some(s)) => s.language,
        Ok(None) => return link_problem(lang),
        Err(e) => return store_problem(lang, &e),
    };
    match h.confirm_by_token(&hash).await {
        Ok(true) => {
            let (title, text) = match lang {
                Lang::Nl => (
                    "Abonnement bevestigd",
                    "Je ontvangt voortaan statusberichten. Elk bericht bevat een link om je af te melden.",
                ),
                Lang::En => (
                    "Subscription confirmed",
                    "You will receive status updates from now on. Every message has a link to unsubscribe.",
                ),
            };
            page(
                lang,
                title,
                &format!("<p>{}</p>", escape(text)),
                StatusCode::OK,
            )
        }
        Ok(false) => link_problem(lang),
        Err(e) => store_problem(lang, &e),
    }
}

async fn unsubscribe_page(
    State(state): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::of_request(None, &headers, &state.engine.catalog());
    let Some(h) = handle(&state) else {
        return store_problem(lang, &SubscribeError::NoStore);
    };
    if h.verify_unsubscribe(&token).is_none() {
        return link_problem(lang);
    }
    let action = format!("/status/unsubscribe/{}", escape(&token));
    let (title, body) = match lang {
        Lang::Nl => (
            "Afmelden",
            format!(
                "<p>Geen statusberichten meer ontvangen?</p><form method=\"post\" action=\"{action}\"><button type=\"submit\">Afmelden</button></form>"
            ),
        ),
        Lang::En => (
            "Unsubscribe",
            format!(
                "<p>Stop receiving status updates?</p><form method=\"post\" action=\"{action}\"><button type=\"submit\">Unsubscribe</button></form>"
            ),
        ),
    };
    page(lang, title, &body, StatusCode::OK)
}

/// Unsubscribes: the page's button, or a mail client's one-click POST (RFC 8058). Says
/// the same whether or not the subscriber was still subscribed.
async fn unsubscribe(
    State(state): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::of_request(None, &headers, &state.engine.catalog());
    let Some(h) = handle(&state) else {
        return store_problem(lang, &SubscribeError::NoStore);
    };
    let Some(id) = h.verify_unsubscribe(&token) else {
        return link_problem(lang);
    };
    if let Err(e) = h.unsubscribe(&id).await {
        return store_problem(lang, &e);
    }
    let (title, text) = match lang {
        Lang::Nl => ("Afgemeld", "Je ontvangt geen statusberichten meer."),
        Lang::En => (
            "Unsubscribed",
            "You will not receive status updates any more.",
        ),
    };
    page(
        lang,
        title,
        &format!("<p>{}</p>", escape(text)),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
}

/// A subscriber confirmed by hand.
#[derive(Serialize, ToSchema)]
struct Confirmed {
    /// The subscriber's id.
    id: String,
    /// Always `confirmed`.
    state: &'static str,
}

/// An operator call's answer.
type Answer = Result<Response, ApiError>;

impl From<SubscribeError> for ApiError {
    fn from(e: SubscribeError) -> ApiError {
        let (status, why) = subscribe_error(&e);
        ApiError::new(status, why)
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/subscribers",
    tag = "subscribers",
    description = "Status page subscribers (email and webhook), optionally by state (pending, confirmed, unsubscribed). Needs the admin role.",
    params(("state" = Option<String>, Query)),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The subscribers", body = Vec<Object>),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn list(_who: Authed<Admin>, h: Alerting, Query(q): Query<ListQuery>) -> Answer {
    let filter = match q.state.as_deref() {
        None | Some("") | Some("all") => None,
        Some(name) => Some(SubscriberState::from_name(name).ok_or_else(|| {
            ApiError::bad_request(tr!(
                "unknown state `{name}`: use pending, confirmed, unsubscribed or all",
                "onbekende toestand `{name}`: gebruik pending, confirmed, unsubscribed of all"
            ))
        })?),
    };
    let list = h.subscribers(filter).await?;
    Ok(axum::Json(list).into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/subscribers/{id}",
    tag = "subscribers",
    description = "Removes a subscriber. Needs the admin role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 204, description = "Removed"),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn remove(_who: Authed<Admin>, h: Alerting, Path(id): Path<String>) -> Answer {
    h.delete_subscriber(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/subscribers/{id}/confirm",
    tag = "subscribers",
    description = "Confirms a subscriber by hand (a webhook whose test delivery failed). Needs the admin role.",
    params(("id" = String, Path, description = "The id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Confirmed", body = Confirmed),
        Refusals,
        RefusalsAbout,
    ),
)]
async fn admin_confirm(_who: Authed<Admin>, h: Alerting, Path(id): Path<String>) -> Answer {
    if h.confirm_subscriber(&id).await? {
        Ok(axum::Json(Confirmed {
            id,
            state: "confirmed",
        })
        .into_response())
    } else {
        Err(ApiError::conflict(tr!(
            "subscriber `{id}` is not pending (unknown, confirmed or unsubscribed)",
            "abonnee `{id}` wacht niet op bevestiging (onbekend, bevestigd of afgemeld)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let check = |url: &str, allow: bool, ok: bool| {
            assert_eq!(check_webhook_url(url, allow).is_ok(), ok, "{url} {allow}");
        };
        check("https://hooks.example.com/status", false, true);
        check("http://203.0.113.9:8080/x", false, false); // documentation range
        check("http://8.8.8.8/x", false, true);
        check("ftp://hooks.example.com/", false, false);
        check("javascript:alert(1)", false, false);
        check("not a url", false, false);
        check("http://127.0.0.1:9000/hook", false, false);
        check("http://127.0.0.1:9000/hook", true, true);
        check("http://10.1.2.3/", false, false);
        check("http://192.168.1.1/", false, false);
        check("http://169.254.169.254/latest/meta-data", false, false);
        check("http://[::1]/", false, false);
        check("http://[::ffff:127.0.0.1]/", false, false);
        check("http://[fd00::1]/", false, false);
        check("http://localhost:8080/", false, false);
        check("http://intranet/", false, false);
        check("http://printer.local/", false, false);
    }
}
