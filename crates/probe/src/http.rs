//! The `http` check kind: a request on a fresh connection, with timings for DNS,
//! connect, TLS, first byte and total, and expectations on the response.

use super::net::{connect, resolve};
use super::tls::{client_config, expiry_verdict, handshake, leaf_time_left, server_name};
use super::{BuildError, ProbeContext, measured, micros};
use bytes::Bytes;
use continuo_core::catalog::{HttpExpect, HttpSpec};
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_core::{HumanDuration, tr};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use url::Url;

/// Most bytes of a response body read for expectations.
const MAX_BODY: usize = 1024 * 1024;

pub(crate) struct HttpProbe {
    url: Url,
    method: hyper::Method,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    body: Bytes,
    follow_redirects: u32,
    tls: Arc<ClientConfig>,
    expect: Expect,
}

struct Expect {
    status: Vec<u16>,
    body_contains: Option<String>,
    body_regex: Option<regex::Regex>,
    json: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    max_latency: Option<Duration>,
    cert_valid_for: Option<Duration>,
}

impl HttpProbe {
    pub(crate) fn build(spec: &HttpSpec, ctx: &ProbeContext) -> Result<HttpProbe, BuildError> {
        let url = Url::parse(&spec.url.value).map_err(|e| {
            let v = &spec.url.value;
            BuildError::new(
                &spec.url.loc,
                tr!(
                    "`{v}` is not a valid URL: {e}",
                    "`{v}` is geen geldige URL: {e}"
                ),
            )
        })?;
        if url.host_str().is_none() {
            return Err(BuildError::new(
                &spec.url.loc,
                tr!("the URL has no host", "de URL heeft geen host"),
            ));
        }
        let method = hyper::Method::from_bytes(spec.method.as_bytes()).map_err(|_| {
            let m = &spec.method;
            BuildError::new(
                &spec.url.loc,
                tr!("`{m}` is not an HTTP method", "`{m}` is geen HTTP-methode"),
            )
        })?;
        let mut headers = Vec::new();
        for (name, value) in &spec.headers {
            let parsed = (
                hyper::header::HeaderName::from_bytes(name.as_bytes()),
                hyper::header::HeaderValue::from_str(value),
            );
            match parsed {
                (Ok(n), Ok(v)) => headers.push((n, v)),
                _ => {
                    return Err(BuildError::new(
                        &spec.url.loc,
                        tr!(
                            "header `{name}` is not a valid HTTP header",
                            "header `{name}` is geen geldige HTTP-header"
                        ),
                    ));
                }
            }
        }
        let body_regex = match &spec.expect.body_regex {
            Some(r) => Some(regex::Regex::new(&r.value).map_err(|e| {
                let first = e.to_string().lines().last().unwrap_or_default().to_string();
                BuildError::new(
                    &r.loc,
                    tr!(
                        "invalid regular expression: {first}",
                        "ongeldige reguliere expressie: {first}"
                    ),
                )
            })?),
            None => None,
        };
        let HttpExpect {
            status,
            body_contains,
            json,
            headers: expect_headers,
            max_latency,
            cert_valid_for,
            ..
        } = &spec.expect;
        if json.keys().any(|p| !p.is_empty() && !p.starts_with('/')) {
            return Err(BuildError::new(
                &spec.url.loc,
                tr!(
                    "JSON pointers in `expect.json` start with `/`, e.g. \"/status\"",
                    "JSON-pointers in `expect.json` beginnen met `/`, bijv. \"/status\""
                ),
            ));
        }
        Ok(HttpProbe {
            tls: client_config(
                ctx,
                spec.ca_file.as_ref(),
                spec.tls_insecure_skip_verify,
                &spec.url.loc,
            )?,
            url,
            method,
            headers,
            body: Bytes::from(spec.body.clone().unwrap_or_default()),
            follow_redirects: spec.follow_redirects,
            expect: Expect {
                status: status.clone(),
                body_contains: body_contains.clone(),
                body_regex,
                json: json.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                headers: expect_headers
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect(),
                max_latency: max_latency.map(HumanDuration::get),
                cert_valid_for: cert_valid_for.map(HumanDuration::get),
            },
        })
    }

    pub(crate) async fn run(&self, _timeout: Duration) -> Measurement {
        let started = Instant::now();
        let mut url = self.url.clone();
        let mut method = self.method.clone();
        let mut body = self.body.clone();
        let mut redirects = 0;
        loop {
            let response = match self.exchange(&url, &method, &body, started).await {
                Ok(r) => r,
                Err(failure) => return failure,
            };
            let location = response.location.clone();
            if (300..400).contains(&response.status)
                && redirects < self.follow_redirects
                && let Some(next) = location.and_then(|l| url.join(&l).ok())
            {
                redirects += 1;
                url = next;
                // 303 always, and 301/302 after a POST, continue with a GET without the
                // body (as browsers and curl do); 307 and 308 repeat the request.
                let to_get = response.status == 303
                    || (matches!(response.status, 301 | 302) && method == hyper::Method::POST);
                if to_get && method != hyper::Method::HEAD {
                    method = hyper::Method::GET;
                    body = Bytes::new();
                }
                continue;
            }
            return self.judge(response, started);
        }
    }

    /// One request on a fresh connection.
    async fn exchange(
        &self,
        url: &Url,
        method: &hyper::Method,
        body: &Bytes,
        started: Instant,
    ) -> Result<Response, Measurement> {
        let mut timings = Timings::default();
        let fail = |timings: Timings, message: String| {
            let mut timings = timings;
            timings.total_us = micros(started.elapsed());
            Measurement::failure(message, timings)
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => return Err(fail(timings, "the URL has no host".into())),
        };
        let https = url.scheme() == "https";
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        let (addr, dns) = resolve(&host, port).await.map_err(|e| fail(timings, e))?;
        timings.dns_us = dns;
        let (stream, connect_us) = connect(addr).await.map_err(|e| fail(timings, e))?;
        timings.connect_us = Some(connect_us);
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let host_header = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, host_header)
            .header(
                hyper::header::USER_AGENT,
                concat!("Continuo/", env!("CARGO_PKG_VERSION")),
            );
        let rewritten = *method != self.method;
        for (name, value) in &self.headers {
            // A body's headers do not follow a redirect that drops the body.
            if rewritten && *name == hyper::header::CONTENT_TYPE {
                continue;
            }
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(body.clone()))
            .map_err(|e| fail(timings, format!("cannot build the request: {e}")))?;
        if https {
            let name = server_name(
                &host,
                &continuo_core::diag::Loc::new(continuo_core::diag::FileId(0), 0..0),
            )
            .map_err(|e| fail(timings, e.message.en))?;
            let (tls, tls_us) = handshake(self.tls.clone(), name, stream)
                .await
                .map_err(|e| fail(timings, e))?;
            timings.tls_us = Some(tls_us);
            let cert_left = leaf_time_left(&tls);
            let mut response = send(tls, request, timings, started)
                .await
                .map_err(|(t, e)| fail(t, e))?;
            response.cert_left = cert_left;
            Ok(response)
        } else {
            send(stream, request, timings, started)
                .await
                .map_err(|(t, e)| fail(t, e))
        }
    }

    /// Applies the expectations to a response.
    fn judge(&self, response: Response, started: Instant) -> Measurement {
        let mut timings = response.timings;
        timings.total_us = micros(started.elapsed());
        let status = response.status;
        let code = Some(i32::from(status));
        let bad = |message: String| measured(Verdict::Failure, message, code, timings);
        let status_ok = if self.expect.status.is_empty() {
            (200..400).contains(&status)
        } else {
            self.expect.status.contains(&status)
        };
        if !status_ok {
            let wanted = if self.expect.status.is_empty() {
                "200-399".to_string()
            } else {
                self.expect
                    .status
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return bad(format!("status {status}, expected {wanted}"));
        }
        for (name, needle) in &self.expect.headers {
            match response.headers.iter().find(|(n, _)| n == name) {
                Some((_, value)) if value.contains(needle.as_str()) => {}
                Some((_, value)) => {
                    return bad(format!(
                        "header {name} is {value:?}, expected it to contain {needle:?}"
                    ));
                }
                None => return bad(format!("header {name} is missing")),
            }
        }
        let body = String::from_utf8_lossy(&response.body);
        if let Some(needle) = &self.expect.body_contains
            && !body.contains(needle.as_str())
        {
            return bad(format!("body does not contain {needle:?}"));
        }
        if let Some(regex) = &self.expect.body_regex
            && !regex.is_match(&body)
        {
            return bad(format!("body does not match /{}/", regex.as_str()));
        }
        if !self.expect.json.is_empty() {
            let Ok(document) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
                return bad("body is not JSON".into());
            };
            for (pointer, expected) in &self.expect.json {
                let found = document.pointer(pointer);
                let text = match found {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => return bad(format!("JSON has nothing at {pointer}")),
                };
                if &text != expected {
                    return bad(format!("JSON {pointer} is {text:?}, expected {expected:?}"));
                }
            }
        }
        let elapsed = Duration::from_micros(timings.total_us);
        let took = HumanDuration(Duration::from_millis(elapsed.as_millis() as u64));
        if let (Some(wanted), Some(left)) = (self.expect.cert_valid_for, response.cert_left) {
            let (verdict, message) = expiry_verdict(left, wanted);
            if verdict != Verdict::Success {
                return measured(
                    verdict,
                    format!("status {status}; {message}"),
                    code,
                    timings,
                );
            }
        }
        if let Some(max) = self.expect.max_latency
            && elapsed > max
        {
            return measured(
                Verdict::Degraded,
                format!(
                    "status {status} in {took}, slower than {}",
                    HumanDuration(max)
                ),
                code,
                timings,
            );
        }
        measured(
            Verdict::Success,
            format!("status {status} in {took}"),
            code,
            timings,
        )
    }
}

/// What came back, before expectations.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    location: Option<String>,
    body: Vec<u8>,
    timings: Timings,
    cert_left: Option<i64>,
}

async fn send<S>(
    stream: S,
    request: Request<Full<Bytes>>,
    mut timings: Timings,
    started: Instant,
) -> Result<Response, (Timings, String)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| (timings, format!("HTTP handshake failed: {e}")))?;
    // The connection is ours alone; it ends when the sender is dropped.
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let sent_at = Instant::now();
    let result = sender.send_request(request).await;
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            driver.abort();
            return Err((timings, describe_hyper_error(&e)));
        }
    };
    timings.first_byte_us = Some(micros(sent_at.elapsed()));
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let location = headers
        .iter()
        .find(|(n, _)| n == "location")
        .map(|(_, v)| v.clone());
    let mut body_stream = response.into_body();
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match body_stream.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let room = MAX_BODY - body.len();
                    body.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(e)) => {
                driver.abort();
                return Err((timings, format!("reading the body failed: {e}")));
            }
            None => break,
        }
    }
    driver.abort();
    let _ = started;
    Ok(Response {
        status,
        headers,
        location,
        body,
        timings,
        cert_left: None,
    })
}

fn describe_hyper_error(e: &hyper::Error) -> String {
    use std::error::Error;
    let mut message = format!("request failed: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}
