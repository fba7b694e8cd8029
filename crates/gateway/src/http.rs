//! HTTP mode: HTTP/1.1 and HTTP/2 from clients (one listener, the protocol is detected),
//! HTTP/1.1 to endpoints (TLS to `https://` ones) on connections each client connection
//! keeps and drives in its own task, idle ones shared through a list per endpoint
//! ([`crate::upstream`]), bodies
//! streamed both ways. The `Host` header the endpoint sees is the client's, as for plain
//! endpoints; the TLS server name is the endpoint URL's host.
//!
//! The request path is a stack of tower services:
//! [`ForwardedLayer`] (hop-by-hop headers out, `X-Forwarded-For`/`-Proto`/`-Host` in, on
//! the way in and on the way back) around [`FailoverService`] (pick an endpoint, per-try
//! and overall timeouts, passive health, safe retries). WebSocket (and any other HTTP/1.1
//! `Upgrade`) requests get a connection of their own and the two upgraded streams are
//! spliced.
//!
//! Retry rules: a request is retried on another endpoint only when its body was buffered
//! (no body, or a known length up to `retry_body_limit`) and either it never reached an
//! endpoint (connect failure) or it is idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE
//! or an `Idempotency-Key` header). A 502/503/504 answer to an idempotent request is
//! retried too. Nothing is retried once response headers went to the client: the
//! decision is made before the answer is returned.

use crate::pool::{Lease, Pool, TryOutcome};
use crate::{tls, upstream};
use bytes::Bytes;
use continuo_net::listen::{Activity, Admission, Tracked};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::{Layer, Service};

pub(crate) use crate::upstream::{BoxError, ProxyBody, error_chain};
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Accepts connections forever, within `admission`'s bounds: over a cap a connection is
/// closed at once; a connection that sends no complete request head within the header
/// timeout, or carries nothing with no request in progress for the idle timeout, is
/// closed.
pub(crate) async fn serve(listener: Arc<TcpListener>, pool: Arc<Pool>, admission: Arc<Admission>) {
    let limits = admission.limits();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let idle = Arc::new(upstream::Idle::new(pool.spec.endpoints.len()));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: say so, and wait instead of spinning.
            Err(e) => {
                if continuo_net::listen::log_accept_error_now() {
                    tracing::warn!(gateway = %pool.spec.id, error = %e, "accept failed");
                }
                continuo_net::listen::accept_backoff().await;
                continue;
            }
        };
        let permit = match admission.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                tracing::debug!(gateway = %pool.spec.id, %peer, ?refusal, "connection refused");
                drop(stream);
                continue;
            }
        };
        // Latency only; the connection works without it.
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        admission.track(&activity);
        // The endpoint connections this client connection opens are driven in its task.
        let (drive, mut to_drive) = tokio::sync::mpsc::unbounded_channel();
        let local = Arc::new(upstream::Local::new(idle.clone(), drive));
        let failover = FailoverService {
            pool: pool.clone(),
            local: local.clone(),
        };
        let service = tower::ServiceBuilder::new()
            .layer(ForwardedLayer::new(peer))
            .service(failover);
        let service = Busy {
            inner: service,
            activity: activity.clone(),
        };
        let gateway = pool.spec.id.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(Tracked::new(stream, activity.clone()));
            let connection = builder.serve_connection_with_upgrades(
                io,
                hyper_util::service::TowerToHyperService::new(service),
            );
            tokio::pin!(connection);
            let expired = activity.expired(limits.header_timeout, limits.idle_timeout);
            tokio::pin!(expired);
            let mut drivers = upstream::Drivers::default();
            loop {
                tokio::select! {
                    served = &mut connection => {
                        // Clients hang up and send garbage all the time: worth a look
                        // only when debugging, never a warning.
                        if let Err(e) = served {
                            tracing::debug!(%gateway, %peer, error = %e, "client connection ended with an error");
                        }
                        break;
                    }
                    () = &mut expired => {
                        tracing::debug!(%gateway, %peer, "client connection closed: no request or idle too long");
                        break;
                    }
                    Some(driving) = to_drive.recv() => drivers.push(driving),
                    () = std::future::poll_fn(|cx| drivers.poll_closed(cx)), if !drivers.is_empty() => {}
                }
            }
            local.retire();
            while let Ok(driving) = to_drive.try_recv() {
                drivers.push(driving);
            }
            drivers.hand_off();
            drop(permit);
        });
    }
}

/// Marks a request in progress on its connection's [`Activity`] until the answer's
/// headers are ready (the body's bytes then count as activity).
#[derive(Clone, Debug)]
struct Busy<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, R> Service<R> for Busy<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let busy = self.activity.busy();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await;
            drop(busy);
            response
        })
    }
}

/// Headers that belong to one connection, never forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn is_upgrade(headers: &HeaderMap, version: Version) -> bool {
    version == Version::HTTP_11
        && headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Removes hop-by-hop headers, and those the `Connection` header names. An upgrade keeps
/// `Connection: upgrade` and its `Upgrade` header: they are the point of it.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let upgrade = headers.get(header::UPGRADE).cloned();
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if keep_upgrade && let Some(upgrade) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, upgrade);
    }
}

/// Sets `X-Forwarded-For` (appending the client, `client` being its address as a
/// header value), `X-Forwarded-Proto` and, when absent, `X-Forwarded-Host`; gives HTTP/2
/// requests the `Host` header HTTP/1.1 needs.
pub(crate) fn add_forwarded(headers: &mut HeaderMap, uri: &hyper::Uri, client: &HeaderValue) {
    let before = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let forwarded_for = match (before, client.to_str()) {
        (Some(before), Ok(client)) => HeaderValue::from_str(&format!("{before}, {client}")).ok(),
        _ => Some(client.clone()),
    };
    if let Some(value) = forwarded_for {
        headers.insert("x-forwarded-for", value);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if !headers.contains_key(header::HOST)
        && let Some(authority) = uri.authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        headers.insert(header::HOST, value);
    }
    if !headers.contains_key("x-forwarded-host")
        && let Some(host) = headers.get(header::HOST).cloned()
    {
        headers.insert("x-forwarded-host", host);
    }
}

/// The tower layer that handles forwarding headers.
#[derive(Clone, Debug)]
pub(crate) struct ForwardedLayer {
    /// The client's address as a header value, made once per connection.
    client: HeaderValue,
}

impl ForwardedLayer {
    fn new(peer: SocketAddr) -> ForwardedLayer {
        let address = peer.ip().to_string();
        ForwardedLayer {
            // An IP address is always a valid header value.
            client: HeaderValue::from_str(&address)
                .unwrap_or_else(|_| HeaderValue::from_static("unknown")),
        }
    }
}

impl<S> Layer<S> for ForwardedLayer {
    type Service = Forwarded<S>;
    fn layer(&self, inner: S) -> Forwarded<S> {
        Forwarded {
            inner,
            client: self.client.clone(),
        }
    }
}

/// See [`ForwardedLayer`].
#[derive(Clone, Debug)]
pub(crate) struct Forwarded<S> {
    inner: S,
    client: HeaderValue,
}

impl<S> Service<Request<Incoming>> for Forwarded<S>
where
    S: Service<Request<Incoming>, Response = Response<ProxyBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<ProxyBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Incoming>) -> Self::Future {
        let upgrade = is_upgrade(request.headers(), request.version());
        let uri = request.uri().clone();
        strip_hop_by_hop(request.headers_mut(), upgrade);
        add_forwarded(request.headers_mut(), &uri, &self.client);
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
            strip_hop_by_hop(response.headers_mut(), switching);
            Ok(response)
        })
    }
}

/// The tower service that chooses endpoints, retries and times out.
#[derive(Clone)]
pub(crate) struct FailoverService {
    pool: Arc<Pool>,
    /// The client connection's connections to endpoints.
    local: Arc<upstream::Local>,
}

impl Service<Request<Incoming>> for FailoverService {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<ProxyBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if is_upgrade(request.headers(), request.version()) {
                return Ok(upgrade(this.pool, request).await);
            }
            Ok(this.forward(request).await)
        })
    }
}

/// Whether repeating the request cannot do harm.
fn idempotent(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    ) || headers.contains_key("idempotency-key")
}

fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// An answer the gateway makes itself, in English and Dutch.
fn own_answer(status: StatusCode, en: &str, nl: &str) -> Response<ProxyBody> {
    let mut response = Response::new(full(Bytes::from(format!(
        "continuo gateway: {en}\ncontinuo gateway: {nl}\n"
    ))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

enum Failed {
    Unavailable,
    Timeout,
    Error,
    /// An answer that cannot be relayed safely.
    Malformed,
}

/// Whether an answer's head gives both a length and a transfer coding.
fn both_framings(headers: &HeaderMap) -> bool {
    headers.contains_key(header::CONTENT_LENGTH) && headers.contains_key(header::TRANSFER_ENCODING)
}

impl FailoverService {
    async fn forward(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let spec = &self.pool.spec;
        let deadline = Instant::now() + spec.request_timeout;
        let (parts, body) = request.into_parts();
        let idempotent = idempotent(&parts.method, &parts.headers);
        // A body is buffered (and the request so made retryable) when it is empty or of
        // a known length within the limit; anything else streams through once.
        let size = body.size_hint();
        let mut streamed = None;
        let buffered = if body.is_end_stream() {
            Some(Bytes::new())
        } else if size.exact().is_some_and(|n| n <= spec.retry_body_limit) {
            match tokio::time::timeout_at(deadline, body.collect()).await {
                Ok(Ok(collected)) => Some(collected.to_bytes()),
                _ => {
                    self.pool.request_done(true, false);
                    return own_answer(
                        StatusCode::BAD_REQUEST,
                        "the request body could not be read",
                        "de body van het verzoek kon niet gelezen worden",
                    );
                }
            }
        } else {
            streamed = Some(body);
            None
        };
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| hyper::http::uri::PathAndQuery::from_static("/"));
        let mut tried: Vec<usize> = Vec::new();
        let mut kept: Option<Response<ProxyBody>> = None;
        let mut failed = Failed::Unavailable;
        while tried.len() < spec.max_tries as usize {
            let now = Instant::now();
            if now >= deadline {
                failed = Failed::Timeout;
                break;
            }
            let Some(lease) = self.pool.pick(&tried) else {
                break;
            };
            tried.push(lease.index);
            let body = match (&buffered, streamed.take()) {
                (Some(bytes), _) => full(bytes.clone()),
                (None, Some(body)) => body.map_err(|e| Box::new(e) as BoxError).boxed(),
                (None, None) => break,
            };
            let mut upstream = Request::new(body);
            *upstream.method_mut() = parts.method.clone();
            *upstream.headers_mut() = parts.headers.clone();
            *upstream.version_mut() = Version::HTTP_11;
            // Origin form on the connection to the endpoint; its own authority as the
            // `Host` of a request that came without one (HTTP/1.0).
            *upstream.uri_mut() = hyper::Uri::from(path.clone());
            if !upstream.headers().contains_key(header::HOST) {
                match HeaderValue::from_str(&lease.address) {
                    Ok(host) => {
                        upstream.headers_mut().insert(header::HOST, host);
                    }
                    Err(e) => {
                        tracing::warn!(
                            gateway = %spec.id,
                            endpoint = %lease.address,
                            error = %e,
                            "cannot form the endpoint's Host header for a request"
                        );
                        failed = Failed::Error;
                        break;
                    }
                }
            }
            let limit = spec.try_timeout.min(deadline - now);
            let retryable = buffered.is_some() && tried.len() < spec.max_tries as usize;
            let sending = self.local.send(&self.pool, lease.index, upstream);
            match tokio::time::timeout(limit, sending).await {
                Ok(Ok(response)) if both_framings(response.headers()) => {
                    // RFC 9112 §6.3: a sign of request smuggling or response splitting,
                    // to be handled as an error. Relayed, its Content-Length would not
                    // match the chunked body and the client would get an empty reply.
                    self.report_failure(
                        &lease,
                        "answered with both Content-Length and Transfer-Encoding".into(),
                    );
                    failed = Failed::Malformed;
                    if !(retryable && idempotent) {
                        break;
                    }
                }
                Ok(Ok(response)) => {
                    let status = response.status();
                    if !status.is_server_error() {
                        self.pool.report(lease.index, TryOutcome::Success, false);
                        self.pool.request_done(false, tried.len() > 1);
                        return response;
                    }
                    self.report_failure(&lease, format!("status {}", status.as_u16()));
                    let gateway_status = matches!(status.as_u16(), 502..=504);
                    if !(retryable && idempotent && gateway_status) {
                        self.pool.request_done(true, tried.len() > 1);
                        return response;
                    }
                    kept = Some(response);
                }
                Ok(Err(e)) => {
                    // A connect error means the request never left: any method can go
                    // elsewhere. Anything later may have reached the endpoint.
                    let (sent, reason) = match e {
                        upstream::Failure::NotSent(reason) => (false, reason),
                        upstream::Failure::Sent(reason) => (true, reason),
                    };
                    self.report_failure(&lease, reason);
                    failed = Failed::Error;
                    if !(retryable && (!sent || idempotent)) {
                        break;
                    }
                }
                Err(_) => {
                    self.report_failure(
                        &lease,
                        format!("no answer within {} ms", limit.as_millis()),
                    );
                    failed = Failed::Timeout;
                    if !(retryable && idempotent) {
                        break;
                    }
                }
            }
        }
        self.pool.request_done(true, tried.len() > 1);
        if let Some(response) = kept {
            return response;
        }
        match failed {
            Failed::Unavailable => {
                let mut r = own_answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no healthy endpoint",
                    "geen gezond endpoint",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            Failed::Timeout => own_answer(
                StatusCode::GATEWAY_TIMEOUT,
                "the endpoint did not answer in time",
                "het endpoint antwoordde niet op tijd",
            ),
            Failed::Error => own_answer(
                StatusCode::BAD_GATEWAY,
                "the endpoint failed",
                "het endpoint faalde",
            ),
            Failed::Malformed => own_answer(
                StatusCode::BAD_GATEWAY,
                "the endpoint's answer had both Content-Length and Transfer-Encoding",
                "het antwoord van het endpoint had zowel Content-Length als Transfer-Encoding",
            ),
        }
    }

    fn report_failure(&self, lease: &Lease, reason: String) {
        self.pool
            .report(lease.index, TryOutcome::Failure(reason), false);
    }
}

/// Passes an HTTP/1.1 upgrade (WebSocket) through: its own connection to an endpoint
/// (another endpoint if connecting fails: nothing was sent yet), the request forwarded,
/// and after `101 Switching Protocols` both upgraded streams spliced.
async fn upgrade(pool: Arc<Pool>, mut request: Request<Incoming>) -> Response<ProxyBody> {
    let spec = pool.spec.clone();
    let mut tried = Vec::new();
    let (lease, stream) = loop {
        let Some(lease) = pool.pick(&tried) else {
            pool.request_done(true, tried.len() > 1);
            return own_answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "no healthy endpoint",
                "geen gezond endpoint",
            );
        };
        tried.push(lease.index);
        let Some(endpoint) = spec.endpoints.get(lease.index) else {
            continue;
        };
        match tokio::time::timeout(spec.connect_timeout, tls::connect(&pool.tls, endpoint)).await {
            Ok(Ok(stream)) => break (lease, stream),
            Ok(Err(e)) => pool.report(lease.index, TryOutcome::Failure(e), false),
            Err(_) => pool.report(
                lease.index,
                TryOutcome::Failure("connect: timed out".into()),
                false,
            ),
        }
    };
    let retried = tried.len() > 1;
    let client_side = hyper::upgrade::on(&mut request);
    let (parts, _) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut upstream = Request::new(Empty::<Bytes>::new());
    *upstream.method_mut() = parts.method;
    *upstream.headers_mut() = parts.headers;
    if let Ok(uri) = path.parse() {
        *upstream.uri_mut() = uri;
    }
    let fail = |pool: &Pool, lease: &Lease, reason: String| {
        pool.report(lease.index, TryOutcome::Failure(reason), false);
        pool.request_done(true, retried);
        own_answer(
            StatusCode::BAD_GATEWAY,
            "the endpoint failed",
            "het endpoint faalde",
        )
    };
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => return fail(&pool, &lease, error_chain(&e)),
        };
    let gateway = spec.id.clone();
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(%gateway, error = %e, "upgraded endpoint connection ended with an error");
        }
    });
    let mut response =
        match tokio::time::timeout(spec.try_timeout, sender.send_request(upstream)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return fail(&pool, &lease, error_chain(&e)),
            Err(_) => return fail(&pool, &lease, "no answer in time".into()),
        };
    pool.report(lease.index, TryOutcome::Success, false);
    pool.request_done(false, retried);
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return response.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed());
    }
    let endpoint_side = hyper::upgrade::on(&mut response);
    tokio::spawn(async move {
        // The lease lives as long as the spliced connection: it counts as outstanding.
        let _lease = lease;
        if let (Ok(client), Ok(endpoint)) = tokio::join!(client_side, endpoint_side) {
            let mut client = TokioIo::new(client);
            let mut endpoint = TokioIo::new(endpoint);
            if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut endpoint).await {
                tracing::debug!(error = %e, "upgraded connection ended with an error");
            }
        }
    });
    response.map(|_| {
        Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed()
    })
}
