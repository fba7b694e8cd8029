//! HTTP for every channel that speaks it: the client (built once per channel), custom
//! headers from settings, and the one place that decides what a receiver's answer means.
//!
//! What an answer means: 2xx is delivered; 408, 429 and 5xx are worth retrying, after the
//! receiver's `Retry-After` when it sends one (seconds or an HTTP date); every other
//! status is permanent. Connection errors and timeouts are retryable. Redirects are not
//! followed: a redirected POST silently turns into a GET on most receivers, so a 3xx is
//! reported (permanently) with where it pointed, for the operator to fix the URL.

use crate::error::{Delivered, SendError};
use crate::settings::Settings;
use continuo_core::{Text, tr};
use continuo_net::http::{ClientError, ClientSpec};
use continuo_net::tls::TlsSetupError;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rustls_pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The most of a receiver's answer that is read and kept (in error messages, shortened
/// further): enough for any error JSON, and a misbehaving receiver cannot fill memory.
const MAX_BODY: usize = 64 * 1024;

/// The certificates in a PEM file (a private CA): a channel's `ca_file`.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Text> {
    continuo_net::tls::read_ca_file(path).map_err(|e| Text::new(e.to_string(), e.dutch()))
}

/// A client for one channel (`continuo_net::http::client`): rustls with the aws-lc-rs
/// provider, the system's roots plus `extra_roots`, HTTP/1.1, no redirects, `timeout` for
/// every request.
pub(crate) fn client(
    timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
) -> Result<reqwest::Client, Text> {
    client_with(timeout, extra_roots, None)
}

/// [`client`] with its own name resolver (status page subscribers' webhooks).
pub(crate) fn client_with(
    timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
    resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
) -> Result<reqwest::Client, Text> {
    let spec = ClientSpec {
        timeout,
        extra_roots,
        resolver,
    };
    continuo_net::http::client(spec).map_err(|error| match error {
        ClientError::Tls(TlsSetupError::UnusableCa(e)) => tr!(
            "the CA certificate is not usable: {e}",
            "het CA-certificaat is niet bruikbaar: {e}"
        ),
        ClientError::Tls(e) => tr!("TLS setup failed: {e}", "TLS-instelling mislukt: {e}"),
        ClientError::Build(e) => tr!(
            "cannot build the HTTP client: {e}",
            "kan de HTTP-client niet maken: {e}"
        ),
    })
}

/// Custom headers from the table setting `key`, each name and value checked.
pub(crate) fn headers(settings: &mut Settings<'_>, key: &str) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in settings.map(key) {
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            settings.problem(
                key,
                tr!(
                    "`{name}` is not a valid header name",
                    "`{name}` is geen geldige headernaam"
                ),
            );
            continue;
        };
        let Ok(value) = HeaderValue::from_str(&value) else {
            settings.problem(
                key,
                tr!(
                    "the value of header `{name}` holds characters a header cannot carry (line breaks, control characters or non-ASCII)",
                    "de waarde van header `{name}` bevat tekens die een header niet kan dragen (regeleinden, stuurtekens of niet-ASCII)"
                ),
            );
            continue;
        };
        out.insert(header, value);
    }
    out
}

/// The parts of an answer channels look at.
pub(crate) struct Reply {
    /// The status.
    pub status: StatusCode,
    /// `Retry-After`, when present and readable.
    pub retry_after: Option<Duration>,
    /// `Location`, for redirects.
    pub location: Option<String>,
    /// The body (at most [`MAX_BODY`] bytes of it), lossily decoded.
    pub body: String,
}

/// Sends a request; transport failures become a [`SendError`], every answer a [`Reply`].
pub(crate) async fn exchange(request: reqwest::RequestBuilder) -> Result<Reply, SendError> {
    let mut response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v));
    let location = header(reqwest::header::LOCATION);
    let mut body = Vec::new();
    // A body that breaks off after the status arrived changes nothing about the
    // status, so a read error ends the body instead of failing the send.
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    Ok(Reply {
        status,
        retry_after,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Sends a request and classifies the answer by its status alone.
pub(crate) async fn deliver(request: reqwest::RequestBuilder) -> Result<Delivered, SendError> {
    classify(exchange(request).await?)
}

/// What an answer means (see the module's documentation).
pub(crate) fn classify(reply: Reply) -> Result<Delivered, SendError> {
    let status = reply.status;
    let line = status_line(status);
    if status.is_success() {
        return Ok(Delivered { detail: line });
    }
    let snippet = snippet(&reply.body);
    let mut message = if snippet.is_empty() {
        line
    } else {
        format!("{line}: {snippet}")
    };
    if status.is_redirection() {
        let to = reply.location.as_deref().unwrap_or("an unnamed place");
        message = format!(
            "{}: redirected to {to}; set the channel's url to the final address",
            status_line(status)
        );
        return Err(SendError::permanent(message));
    }
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        let mut error = SendError::retryable(message);
        error.retry_after = reply.retry_after;
        return Err(error);
    }
    Err(SendError::permanent(message))
}

/// [`classify`] for receivers that also say how long to wait in their JSON body (Telegram's
/// `parameters.retry_after`, Discord's `retry_after`, Matrix's `retry_after_ms`): `hint`
/// reads it from the body, and a `Retry-After` header still wins when both are there.
pub(crate) fn classify_hinted(
    reply: Reply,
    hint: impl FnOnce(&serde_json::Value) -> Option<Duration>,
) -> Result<Delivered, SendError> {
    let hinted = serde_json::from_str::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|body| hint(&body));
    let header = reply.retry_after;
    classify(reply).map_err(|mut e| {
        if e.is_retryable() {
            e.retry_after = header.or(hinted);
        }
        e
    })
}

/// `HTTP 429 Too Many Requests`.
pub(crate) fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The start of a receiver's answer, on one line, for an error message.
pub(crate) fn snippet(body: &str) -> String {
    const MAX: usize = 300;
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A transport failure: timeouts and connection problems are worth retrying; a request
/// that cannot even be built is not.
fn transport_error(e: reqwest::Error) -> SendError {
    // Without the URL: webhook URLs and Telegram's carry their secret, and this message
    // ends up in logs and the dead-letter list.
    let e = e.without_url();
    let detail = error_chain(&e);
    if e.is_builder() {
        SendError::permanent(format!("cannot build the request: {detail}"))
    } else if e.is_timeout() {
        SendError::retryable(format!("timed out: {detail}"))
    } else if e.is_connect() {
        SendError::retryable(format!("cannot connect: {detail}"))
    } else {
        SendError::retryable(detail)
    }
}

/// An error with its causes: reqwest's own message alone rarely says what happened.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// `Retry-After` as seconds (`120`) or as an HTTP date (`Wed, 25 Nov 2026 13:05:00 GMT`);
/// a date in the past means now.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3_600);
        let header = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&later)
            .expect("printable");
        let wait = parse_retry_after(&header).expect("a date");
        assert!(
            wait > Duration::from_secs(3_500) && wait <= Duration::from_secs(3_600),
            "{header} -> {wait:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn snippets_are_one_short_line() {
        assert_eq!(
            snippet("  {\"error\":\n \"bad\"}\n"),
            "{\"error\": \"bad\"}"
        );
        let long = "x".repeat(400);
        assert_eq!(snippet(&long).chars().count(), 301);
    }
}
