//! The small HTML pages answered outside the dashboard and the status page (acknowledge
//! links, subscription links, their refusals): one shape, escaped text. A bottom module.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use continuo_core::Lang;

/// Text made safe to put in HTML, in an element or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A short page: `title` as its heading, then `body` (HTML, escaped by the caller).
/// Never cached: such pages answer one-time links.
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
