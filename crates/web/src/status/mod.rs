//! The public face: the status page (`/status`), its live stream (`/status/events`), the
//! Atom feed of incidents (`/status/feed.atom`), the Statuspage-compatible JSON API
//! (`/api/v2/...`) and SVG badges (`/badge/...`). No sign-in; rate-limited per address by
//! the `guard` middleware like every public path.
//!
//! **Invariant:** every public response is rendered from [`model::PublicView`], which
//! holds nothing private (see there). Responses are cacheable for a few seconds with an
//! `ETag`; a matching `If-None-Match` gets `304 Not Modified`.

mod api;
mod badge;
mod events;
mod feed;
mod model;
mod page;

use crate::app::Shared;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, body::Body};
use continuo_core::Lang;
use model::{Cache, Rendered};
use serde::Deserialize;
use std::sync::Arc;

/// Seconds a public response may be reused by browsers and proxies.
const MAX_AGE: &str = "public, max-age=5";
/// The page's Content-Security-Policy: our own script, the inline style sheet (it
/// carries the configured accent colour), images from anywhere over HTTPS (the logo).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                   img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

use crate::listener::StreamCaps;

/// The public routes; at most `caps` live streams at once.
pub(crate) fn routes(caps: StreamCaps) -> Router<Shared> {
    let cache = Arc::new(Cache::default());
    let hub = events::Hub::new(caps);
    Router::new()
        .route("/status", get(status_page))
        .route("/status/events", get(live_events))
        .route("/status/feed.atom", get(atom_feed))
        .route("/status/status.js", get(script))
        .route("/api/v2/{document}", get(api_document))
        .route("/api/v2/{folder}/{document}", get(api_nested_document))
        .route("/badge/{file}", get(status_badge))
        .route("/badge/{component}/{file}", get(uptime_badge))
        .layer(
            tower::ServiceBuilder::new()
                .layer(Extension(cache))
                .layer(Extension(hub)),
        )
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// Whether the client takes a gzip body (RFC 9110 section 12.5.3): `gzip` (or
/// `x-gzip`) listed with a weight above 0, or failing that `*` with a weight above 0.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut wildcard = None;
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        // An unreadable weight is taken as no weight: compression is never wrong to
        // offer a client that named it.
        let (coding, weight) = crate::lang::weighted(item);
        let weight = weight.unwrap_or(1_000);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            return weight > 0;
        }
        if coding == "*" {
            wildcard = Some(weight > 0);
        }
    }
    wildcard.unwrap_or(false)
}

/// A cacheable answer: `ETag`, `Cache-Control`, 304 when the client has it, and the
/// gzip variant (its own `ETag`) when the client accepts it and it is smaller.
fn cacheable(
    headers: &HeaderMap,
    content_type: &'static str,
    rendered: &Rendered,
    extra: &[(header::HeaderName, &'static str)],
) -> Response {
    let gzip = if accepts_gzip(headers) {
        rendered.gzip()
    } else {
        None
    };
    let (body, etag) = match gzip {
        Some(variant) => (&variant.body, variant.etag.as_str()),
        None => (&rendered.body, rendered.etag.as_str()),
    };
    let not_modified = matches(headers, etag);
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Body::from(body.clone()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if gzip.is_some() {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(MAX_AGE));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Accept-Encoding"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    for (name, value) in extra {
        h.insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn status_page(
    State(state): State<Shared>,
    Extension(cache): Extension<Arc<Cache>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = crate::lang::of_request(query.lang.as_deref(), &headers, &state.engine.catalog());
    let view = cache.view(&state, false).await;
    let rendered = cache.rendered(&view, format!("page {lang}"), || {
        page::page_html(&view, lang)
    });
    cacheable(
        &headers,
        "text/html; charset=utf-8",
        &rendered,
        &[
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
    )
}

/// The script, hashed (and compressed) once per process.
fn script_rendered() -> &'static Rendered {
    static SCRIPT: std::sync::OnceLock<Rendered> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| Rendered::new(axum::body::Bytes::from_static(page::SCRIPT.as_bytes())))
}

async fn script(headers: HeaderMap) -> Response {
    cacheable(
        &headers,
        "text/javascript; charset=utf-8",
        script_rendered(),
        &[],
    )
}

async fn live_events(
    State(state): State<Shared>,
    Extension(cache): Extension<Arc<Cache>>,
    Extension(hub): Extension<Arc<events::Hub>>,
    client: Option<Extension<crate::auth::ClientAddr>>,
    closing: Option<Extension<crate::listener::Closing>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = crate::lang::of_request(query.lang.as_deref(), &headers, &state.engine.catalog());
    let address = client.map(|c| c.0.0);
    events::stream(state, cache, hub, address, closing.map(|c| c.0), lang).await
}

async fn atom_feed(
    State(state): State<Shared>,
    Extension(cache): Extension<Arc<Cache>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = crate::lang::of_request(query.lang.as_deref(), &headers, &state.engine.catalog());
    let view = cache.view(&state, false).await;
    let base = api::base_url(&view);
    let rendered = cache.rendered(&view, format!("feed {lang} {base}"), || {
        feed::atom(&view, &base, lang)
    });
    cacheable(
        &headers,
        "application/atom+xml; charset=utf-8",
        &rendered,
        &[],
    )
}

async fn api(
    state: Shared,
    cache: Arc<Cache>,
    path: &str,
    lang: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    // Statuspage's API is English: without `?lang=` or `Accept-Language` it answers
    // in English, whatever the organisation's first language (the page keeps that).
    let lang = lang
        .and_then(Lang::from_code)
        .or_else(|| crate::lang::accepted(headers))
        .unwrap_or(Lang::En);
    let view = cache.view(&state, false).await;
    let base = api::base_url(&view);
    if !api::DOCUMENTS.contains(&path) {
        return not_found();
    }
    let rendered = cache.rendered(&view, format!("api {path} {lang} {base}"), || {
        api::document(&view, path, &base, lang)
            .map(|v| v.to_string())
            .unwrap_or_default()
    });
    cacheable(
        headers,
        "application/json",
        &rendered,
        &[(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
    )
}

async fn api_document(
    State(state): State<Shared>,
    Extension(cache): Extension<Arc<Cache>>,
    Path(document): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    api(state, cache, &document, query.lang.as_deref(), &headers).await
}

async fn api_nested_document(
    State(state): State<Shared>,
    Extension(cache): Extension<Arc<Cache>>,
    Path((folder, document)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("{folder}/{document}");
    api(state, cache, &path, query.lang.as_deref(), &headers).await
}

async fn status_badge(
    State(state): State<Shared>,
    Extension(cache): Extension<Arc<Cache>>,
    Path(file): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = file.strip_suffix(".svg") else {
        return not_found();
    };
    let lang = crate::lang::of_request(query.lang.as_deref(), &headers, &state.engine.catalog());
    let view = cache.view(&state, false).await;
    match view.component(id) {
        Some(c) => {
            let rendered = cache.rendered(&view, format!("badge {id} {lang}"), || {
                badge::status(c, lang)
            });
            cacheable(&headers, "image/svg+xml", &rendered, &[])
        }
        None => not_found(),
    }
}

async fn uptime_badge(
    State(state): State<Shared>,
    Extension(cache): Extension<Arc<Cache>>,
    Path((component, file)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    if file != "uptime.svg" {
        return not_found();
    }
    let lang = crate::lang::of_request(query.lang.as_deref(), &headers, &state.engine.catalog());
    let view = cache.view(&state, false).await;
    match view.component(&component) {
        Some(c) => {
            let rendered = cache.rendered(&view, format!("uptime {component} {lang}"), || {
                badge::uptime(c, lang)
            });
            cacheable(&headers, "image/svg+xml", &rendered, &[])
        }
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_when_listed_or_wildcarded_with_a_weight_above_zero() {
        for (accept, expected) in [
            ("", false),
            ("gzip", true),
            ("GZIP;Q=0.5", true),
            ("x-gzip", true),
            ("br, gzip;q=0.1", true),
            ("gzip;q=0", false),
            ("gzip;q=0.000, *", false),
            ("*", true),
            ("*;q=0", false),
            ("br, deflate", false),
            ("identity", false),
            ("gzip;q=bogus", true),
        ] {
            let mut headers = HeaderMap::new();
            if !accept.is_empty() {
                headers.insert(
                    header::ACCEPT_ENCODING,
                    HeaderValue::from_str(accept).expect("ascii"),
                );
            }
            assert_eq!(accepts_gzip(&headers), expected, "{accept:?}");
        }
    }
}
