//! Sign-in and roles: who is asking, and may they.
//!
//! A request is someone in one of three ways:
//! - `Authorization: Bearer <admin token>`: the server's `CONTINUO_ADMIN_TOKEN`, an admin
//!   (kept from before users existed);
//! - `Authorization: Bearer continuo_<id>_<secret>`: an API token made with
//!   `continuo token add`, with the token's role;
//! - the `continuo_session` cookie set by `POST /login`: a signed-in user, with the
//!   user's current role (read on every request, so a change or removal applies at once).
//!
//! Handlers say what they need with the [`Authed`] extractor: `Authed<Viewer>`,
//! `Authed<Responder>`, `Authed<Admin>` (roles are ordered).
//!
//! **Invariant:** a state-changing request authenticated by the session cookie must
//! come from our own pages: its `Origin` (or `Referer`) names this server, and it carries
//! the session's CSRF token (`X-CSRF-Token` header or a `csrf` form field). Bearer
//! tokens are never sent by a browser on its own, so they need neither.
//! **Invariant:** sessions and tokens are stored hashed; the cookie and the token are
//! shown once and never logged.

use crate::app::{AppState, BODY_LIMIT, Shared};
use crate::audit_log::record;
use crate::credentials::{self, csrf_token};
use crate::error::ApiError;
use crate::lang;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form};
use continuo_core::access::{self, Role};
use continuo_core::catalog::Catalog;
use continuo_core::{Lang, Text, tr};
use continuo_store::access::{Session, User};
use governor::{Quota, RateLimiter};
use serde::Deserialize;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "continuo_session";
/// The cookie that carries the sign-in form's CSRF token before there is a session.
const LOGIN_COOKIE: &str = "continuo_login";
/// Where a successful sign-in goes when the form names nowhere else: the dashboard.
const AFTER_SIGN_IN: &str = "/";
/// Largest sign-in form accepted (a name, a password, two tokens).
const LOGIN_BODY_LIMIT: usize = 16 * 1024;
/// A session's or token's last use is written at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A role a route requires; implemented by [`Viewer`], [`Responder`] and [`Admin`].
pub trait MinRole: Send + Sync + 'static {
    /// The lowest role allowed.
    const ROLE: Role;
}

/// Needs at least the viewer role (read private data).
pub struct Viewer;
/// Needs at least the responder role (act on alerts and maintenance).
pub struct Responder;
/// Needs the admin role.
pub struct Admin;

impl MinRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for Responder {
    const ROLE: Role = Role::Responder;
}
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// Who made a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// As the audit log names them: `user:anna`, `token:deploy-bot`, `admin-token`.
    pub name: String,
    /// The plain name (`anna`, `deploy-bot`, `admin`), for "acknowledged by".
    pub who: String,
    /// Their role.
    pub role: Role,
}

/// An authenticated request whose role is at least `R`'s. Rejects with 401 (no or bad
/// credentials), 403 (role too low, or a cookie request that fails the CSRF checks) or
/// 503 (the store cannot be read).
pub struct Authed<R> {
    /// Who it is.
    pub actor: Actor,
    /// For a signed-in browser: the session's CSRF token, to put in every form a page
    /// renders (`<input type="hidden" name="csrf" value="...">`) or send as
    /// `X-CSRF-Token`. `None` for bearer tokens, which need none.
    pub csrf: Option<String>,
    _role: PhantomData<R>,
}

/// The client address of a request (behind a trusted proxy: the address it forwarded).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

/// The CSRF token of a form body, taken out by [`guard`] before the handler reads it.
#[derive(Clone)]
struct PresentedCsrf(String);

/// Filled by [`Authed`] so [`guard`] can write the audit entry after the response.
#[derive(Clone, Default)]
struct AuditSlot(Arc<Mutex<Option<Actor>>>);

/// Limits of one router: sign-in throttling and the public live streams. Public
/// endpoints are also limited by `[server] public_rate_limit`.
///
/// Sign-in is throttled per client address, per (address, user name) pair, and by a
/// slower backstop per user name that counts failures from anywhere: once it is used
/// up, only addresses that failed for that user recently are refused. A stranger's
/// wrong passwords therefore never lock the user out of an address of their own.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Sign-in attempts one client address may make (for any user names).
    pub sign_in_per_address: Quota,
    /// Sign-in attempts from one client address for one user name.
    pub sign_in_per_pair: Quota,
    /// Failed sign-ins for one user name from all addresses together (the backstop).
    pub sign_in_per_user: Quota,
    /// Most open `/status/events` streams, in total and per client address.
    pub event_streams: crate::listener::StreamCaps,
}

impl Default for Limits {
    /// 20 attempts per address, then one every 6 seconds; 6 per address and user
    /// name, then one every 30 seconds; 60 failures per user name from anywhere, then
    /// one a minute (for addresses that failed for it); the default stream caps.
    fn default() -> Self {
        Limits {
            sign_in_per_address: quota(Duration::from_secs(6), 20),
            sign_in_per_pair: quota(Duration::from_secs(30), 6),
            sign_in_per_user: quota(Duration::from_secs(60), 60),
            event_streams: crate::listener::StreamCaps::default(),
        }
    }
}

/// How long an address counts as having failed for a user name (for the backstop).
const FAILED_MEMORY: Duration = Duration::from_secs(3_600);
/// Most (address, user name) failures remembered for the backstop.
const FAILED_LIMIT: usize = 100_000;

/// A quota of `burst` at once, refilled one every `every`.
pub fn quota(every: Duration, burst: u32) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

type Keyed<K> = governor::DefaultKeyedRateLimiter<K>;

/// The rate limiters of one router.
pub(crate) struct Guards {
    sign_in_address: Keyed<IpAddr>,
    sign_in_pair: Keyed<(IpAddr, String)>,
    sign_in_user: Keyed<String>,
    backstop: Mutex<Backstop>,
    public: Option<Keyed<IpAddr>>,
    requests: AtomicU64,
}

/// The per-user backstop's memory: user names whose failure budget is used up (until
/// when), and which addresses failed for which user name (when last).
#[derive(Default)]
struct Backstop {
    tripped: std::collections::HashMap<String, std::time::Instant>,
    failed: std::collections::HashMap<(IpAddr, String), std::time::Instant>,
}

impl Backstop {
    fn tidy(&mut self, now: std::time::Instant) {
        self.tripped.retain(|_, until| *until > now);
        self.failed
            .retain(|_, at| now.saturating_duration_since(*at) < FAILED_MEMORY);
    }

    /// Seconds `address` must wait for `user`: only while the user's backstop is used
    /// up and this address failed for the user recently.
    fn wait(&self, address: IpAddr, user: &str, now: std::time::Instant) -> Option<u64> {
        let until = *self.tripped.get(user)?;
        let failed_here = self
            .failed
            .get(&(address, user.to_string()))
            .is_some_and(|at| now.saturating_duration_since(*at) < FAILED_MEMORY);
        (until > now && failed_here).then(|| until.duration_since(now).as_secs().max(1))
    }
}

/// The address an attempt is counted under when the client address is unknown.
const UNKNOWN_ADDRESS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

impl Guards {
    pub(crate) fn new(state: &AppState, limits: Limits) -> Arc<Guards> {
        let per_second = state.engine.catalog().server.public_rate_limit;
        let public = NonZeroU32::new(per_second).map(|n| {
            let burst = n.saturating_mul(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
            RateLimiter::keyed(Quota::per_second(n).allow_burst(burst))
        });
        Arc::new(Guards {
            sign_in_address: RateLimiter::keyed(limits.sign_in_per_address),
            sign_in_pair: RateLimiter::keyed(limits.sign_in_per_pair),
            sign_in_user: RateLimiter::keyed(limits.sign_in_per_user),
            backstop: Mutex::new(Backstop::default()),
            public,
            requests: AtomicU64::new(0),
        })
    }

    fn backstop_lock(&self) -> std::sync::MutexGuard<'_, Backstop> {
        self.backstop.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a failed sign-in for `user` from `address`; uses up the user's backstop
    /// budget by one.
    fn sign_in_failed(&self, address: IpAddr, user: &str) {
        let now = std::time::Instant::now();
        let tripped = self
            .sign_in_user
            .check_key(&user.to_string())
            .err()
            .map(|not_until| {
                now + not_until
                    .wait_time_from(governor::clock::Clock::now(self.sign_in_user.clock()))
            });
        let mut b = self.backstop_lock();
        if b.failed.len() >= FAILED_LIMIT {
            b.tidy(now);
            if b.failed.len() >= FAILED_LIMIT {
                b.failed.clear();
            }
        }
        b.failed.insert((address, user.to_string()), now);
        if let Some(until) = tripped {
            b.tripped.insert(user.to_string(), until);
        }
    }

    /// Forgets that `address` failed for `user` (it just signed in).
    fn sign_in_succeeded(&self, address: IpAddr, user: &str) {
        self.backstop_lock()
            .failed
            .remove(&(address, user.to_string()));
    }

    /// Forgets addresses and names whose limits have refilled, now and then, so the
    /// tables do not grow without bound.
    fn tidy(&self) {
        if self.requests.fetch_add(1, Ordering::Relaxed) % 4_096 == 4_095 {
            self.sign_in_address.retain_recent();
            self.sign_in_pair.retain_recent();
            self.sign_in_user.retain_recent();
            self.backstop_lock().tidy(std::time::Instant::now());
            if let Some(p) = &self.public {
                p.retain_recent();
                p.shrink_to_fit();
            }
        }
    }
}

/// Paths whose requests count against the public rate limit: whatever anyone on the
/// network can call without credentials. `/metrics`, `/healthz` and `/readyz` are left
/// out on purpose (scrapers and orchestrators poll them).
const PUBLIC_PREFIXES: [&str; 8] = [
    "/ping/",
    "/hooks/",
    "/v2/enqueue",
    "/ack/",
    "/login",
    "/status",
    "/api/v2/",
    "/badge",
];

/// The sign-in routes.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/login",
            get(login_page)
                .post(login)
                .layer(DefaultBodyLimit::max(LOGIN_BODY_LIMIT)),
        )
        .route("/logout", post(logout))
}

/// What [`guard`] needs.
#[derive(Clone)]
pub(crate) struct GuardState {
    pub(crate) app: Shared,
    pub(crate) guards: Arc<Guards>,
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Run around every route by the crate root's `front` middleware: finds the client
/// address, applies the public rate limit, takes the CSRF token out of
/// cookie-authenticated form posts, and writes the audit entry of every state-changing
/// request an [`Authed`] extractor identified.
pub(crate) async fn guard(
    gs: GuardState,
    mut request: axum::extract::Request,
    next: Next,
) -> Response {
    let catalog = gs.app.engine.catalog();
    gs.guards.tidy();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_addr(peer, request.headers(), &catalog.server.trusted_proxies);
    if let Some(ip) = client {
        request.extensions_mut().insert(ClientAddr(ip));
    }
    if let (Some(limiter), Some(ip)) = (&gs.guards.public, client)
        && PUBLIC_PREFIXES
            .iter()
            .any(|p| request.uri().path().starts_with(p))
        && let Err(not_until) = limiter.check_key(&ip)
    {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()));
        let lang = lang::of_request(None, request.headers(), &catalog);
        return too_many(lang, wait);
    }
    // A safe request changes nothing: no CSRF token to take, no audit entry to write.
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    let has_session = cookie(request.headers(), SESSION_COOKIE).is_some();
    if has_session && is_form(request.headers()) {
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        };
        let mut parts = parts;
        if let Some(token) = form_field(&bytes, "csrf") {
            parts.extensions.insert(PresentedCsrf(token));
        }
        request = axum::extract::Request::from_parts(parts, Body::from(bytes));
    }
    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().clone();
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let path = request.uri().path().to_string();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let actor = slot.0.lock().ok().and_then(|mut a| a.take());
    if let Some(actor) = actor {
        let action = action_name(&method, matched.as_deref().unwrap_or(&path));
        record(
            &gs.app,
            &actor.name,
            actor.role.name(),
            &action,
            &target,
            client,
            response.status().as_u16(),
        )
        .await;
    }
    response
}

/// The audit log's name for what a request does.
fn action_name(method: &Method, matched: &str) -> String {
    let known = match (method.as_str(), matched) {
        ("POST", "/api/v1/alerts/{id}/ack") => "alert.acknowledge",
        ("POST", "/api/v1/alerts/{id}/resolve") => "alert.resolve",
        ("POST", "/api/v1/maintenance") => "maintenance.create",
        ("POST", "/api/v1/maintenance/{id}/end") => "maintenance.end",
        ("POST", "/api/v1/outbox/retry") => "outbox.requeue",
        ("POST", "/api/v1/reload") => "config.reload",
        ("POST", "/api/v1/evidence") => "evidence.add",
        ("DELETE", "/api/v1/subscribers/{id}") => "subscriber.delete",
        ("POST", "/api/v1/subscribers/{id}/confirm") => "subscriber.confirm",
        ("POST", "/logout") => "session.sign_out",
        _ => "",
    };
    if known.is_empty() {
        format!("{method} {matched}")
    } else {
        known.to_string()
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the last
/// address in `X-Forwarded-For` that is not a trusted proxy itself.
fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

/// Whether the request reached us over https: `[server] secure_cookies`, an https
/// `public_url`, or `X-Forwarded-Proto: https` from a trusted proxy.
fn over_https(parts_headers: &HeaderMap, peer: Option<IpAddr>, catalog: &Catalog) -> bool {
    let server = &catalog.server;
    server.secure_cookies
        || server
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
        || (peer.is_some_and(|p| server.trusted_proxies.contains(&p))
            && parts_headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of a cookie in the request.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The token of an `Authorization: Bearer <token>` header, for API tokens and the inbound
/// hooks alike. The scheme is matched case-insensitively, as RFC 7235 says.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The authority (`host[:port]`) of an origin or URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// Whether a state-changing browser request comes from one of our own pages: its
/// `Origin` (else its `Referer`) names the host it was sent to, or the public URL.
/// A request with neither is refused: every browser sends `Origin` on a POST.
fn same_origin(headers: &HeaderMap, catalog: &Catalog) -> bool {
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && *v != "null")
    };
    let Some(source) = header_text(header::ORIGIN).or_else(|| header_text(header::REFERER)) else {
        return false;
    };
    let Some(from) = authority(source) else {
        return false;
    };
    let host = header_text(header::HOST);
    let public = catalog.server.public_url.as_deref().and_then(authority);
    [host, public]
        .into_iter()
        .flatten()
        .any(|ours| ours.eq_ignore_ascii_case(from))
}

/// Why a request was not let through.
enum Refusal {
    /// No or bad credentials (401).
    Unauthenticated(Text),
    /// Known, but not allowed (403).
    Forbidden(Text),
    /// The store could not answer (503).
    Unavailable(Text),
}

impl Refusal {
    /// The refusal as the API answers it.
    fn into_error(self) -> ApiError {
        match self {
            Refusal::Unauthenticated(t) => ApiError::unauthorized(t),
            Refusal::Forbidden(t) => ApiError::forbidden(t),
            Refusal::Unavailable(t) => ApiError::unavailable(t),
        }
    }

    /// The refusal in a language chosen already (a page's).
    fn response(self, lang: Lang) -> Response {
        self.into_error().response(lang)
    }
}

fn store_down(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(tr!(
        "cannot check credentials: the database cannot be read ({e})",
        "kan de inloggegevens niet controleren: de database is niet leesbaar ({e})"
    ))
}

impl<R: MinRole> FromRequestParts<Shared> for Authed<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let catalog = state.engine.catalog();
        let actor = identify(parts, state, &catalog)
            .await
            .map_err(Refusal::into_error)?;
        if actor.role < R::ROLE {
            let (need, have) = (R::ROLE.label(), actor.role.label());
            let who = &actor.who;
            return Err(Refusal::Forbidden(Text::new(
                format!(
                    "this needs the {} role; {who} has the {} role",
                    need.en, have.en
                ),
                format!(
                    "hiervoor is de rol {} nodig; {who} heeft de rol {}",
                    need.nl, have.nl
                ),
            ))
            .into_error());
        }
        let csrf = match bearer(&parts.headers) {
            Some(_) => None,
            None => cookie(&parts.headers, SESSION_COOKIE).map(csrf_token),
        };
        Ok(Authed {
            actor,
            csrf,
            _role: PhantomData,
        })
    }
}

/// Tells [`guard`] who made the request, for the audit entry written after it.
fn note_for_audit(parts: &Parts, actor: &Actor) {
    if let Some(slot) = parts.extensions.get::<AuditSlot>()
        && let Ok(mut s) = slot.0.lock()
    {
        *s = Some(actor.clone());
    }
}

async fn identify(parts: &Parts, state: &AppState, catalog: &Catalog) -> Result<Actor, Refusal> {
    if let Some(presented) = bearer(&parts.headers) {
        let actor = bearer_actor(presented, state).await?;
        note_for_audit(parts, &actor);
        return Ok(actor);
    }
    if let Some(cookie_value) = cookie(&parts.headers, SESSION_COOKIE) {
        let (_, user) = signed_in(state, catalog, cookie_value)
            .await?
            .ok_or_else(|| {
                Refusal::Unauthenticated(tr!(
                    "your session has ended; sign in again at /login",
                    "je sessie is beëindigd; log opnieuw in op /login"
                ))
            })?;
        let actor = Actor {
            name: format!("user:{}", user.name),
            who: user.name,
            role: user.role,
        };
        // Known from here on: a refused forgery below is audited under their name.
        note_for_audit(parts, &actor);
        if !is_safe(&parts.method) {
            if !same_origin(&parts.headers, catalog) {
                return Err(Refusal::Forbidden(tr!(
                    "refused: this request did not come from a page of this server (Origin or Referer)",
                    "geweigerd: dit verzoek kwam niet van een pagina van deze server (Origin of Referer)"
                )));
            }
            let presented = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| parts.extensions.get::<PresentedCsrf>().map(|p| p.0.clone()))
                .unwrap_or_default();
            let expected = csrf_token(cookie_value);
            if !continuo_core::hash::same_secret(presented.as_bytes(), expected.as_bytes()) {
                return Err(Refusal::Forbidden(tr!(
                    "refused: the form's security token is missing or belongs to another session; reload the page and try again",
                    "geweigerd: het beveiligingstoken van het formulier ontbreekt of hoort bij een andere sessie; laad de pagina opnieuw en probeer het nog eens"
                )));
            }
        }
        return Ok(actor);
    }
    Err(Refusal::Unauthenticated(tr!(
        "sign in at /login, or present an API token (Authorization: Bearer <token>)",
        "log in op /login, of geef een API-token mee (Authorization: Bearer <token>)"
    )))
}

async fn bearer_actor(presented: &str, state: &AppState) -> Result<Actor, Refusal> {
    let invalid = || {
        Refusal::Unauthenticated(tr!(
            "the bearer token is not valid (unknown, revoked or mistyped)",
            "het bearer-token is niet geldig (onbekend, ingetrokken of verkeerd getypt)"
        ))
    };
    if let Some(admin) = &state.admin_token
        && continuo_core::hash::same_secret(presented.as_bytes(), admin.as_bytes())
    {
        return Ok(Actor {
            name: "admin-token".into(),
            who: "admin".into(),
            role: Role::Admin,
        });
    }
    let Some((id, secret)) = credentials::split_api_token(presented) else {
        return Err(invalid());
    };
    let Some(store) = &state.store else {
        return Err(invalid());
    };
    let token = store.token(id).await.map_err(store_down)?;
    let Some(token) = token.filter(|t| t.revoked_ms.is_none()) else {
        return Err(invalid());
    };
    if !credentials::secret_matches(secret, &token.secret_hash) {
        return Err(invalid());
    }
    let now = state.engine.now_ms();
    if token
        .last_used_ms
        .is_none_or(|t| now.saturating_sub(t) >= TOUCH_EVERY_MS)
    {
        let (store, id) = (store.clone(), token.id.clone());
        tokio::spawn(async move {
            let _ = store.touch_token(&id, now).await;
        });
    }
    Ok(Actor {
        name: format!("token:{}", token.name),
        who: token.name,
        role: token.role,
    })
}

/// The live session and its user for a session cookie; `None` when there is none, it
/// has ended (its row is removed then), or its user is gone.
async fn signed_in(
    state: &AppState,
    catalog: &Catalog,
    cookie_value: &str,
) -> Result<Option<(Session, User)>, Refusal> {
    let Some(store) = &state.store else {
        return Ok(None);
    };
    let id_hash = credentials::sha256_hex(cookie_value.as_bytes());
    let Some(session) = store.session(&id_hash).await.map_err(store_down)? else {
        return Ok(None);
    };
    let now = state.engine.now_ms();
    let idle_ms = i64::try_from(catalog.server.session_idle.get().as_millis()).unwrap_or(i64::MAX);
    if now >= session.expires_ms || now.saturating_sub(session.last_seen_ms) >= idle_ms {
        let _ = store.remove_session(&id_hash).await;
        return Ok(None);
    }
    let Some(user) = store.user(&session.user_name).await.map_err(store_down)? else {
        let _ = store.remove_session(&id_hash).await;
        return Ok(None);
    };
    if now.saturating_sub(session.last_seen_ms) >= TOUCH_EVERY_MS {
        let _ = store.touch_session(&id_hash, now).await;
    }
    Ok(Some((session, user)))
}

fn too_many(lang: Lang, wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let text = tr!(
        "too many requests from this address; try again in {secs} s\n",
        "te veel verzoeken vanaf dit adres; probeer het over {secs} s opnieuw\n"
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, text.get(lang).to_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

// ---- The sign-in page -------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: &'static str,
    organization: String,
    title: String,
    heading: String,
    user_label: String,
    password_label: String,
    submit: String,
    switch_href: String,
    switch_label: String,
    switch_lang: &'static str,
    csrf: String,
    next: String,
    user: String,
    error: Option<String>,
    signed_in: Option<String>,
    sign_out: String,
    session_csrf: String,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    lang: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    lang: String,
}

/// A local path to go to after signing in; anything else (another site, `//host`,
/// backslashes) falls back to [`AFTER_SIGN_IN`].
fn safe_next(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local {
        next.to_string()
    } else {
        AFTER_SIGN_IN.to_string()
    }
}

struct PageInput<'a> {
    lang: Lang,
    organization: &'a str,
    csrf: &'a str,
    next: &'a str,
    user: &'a str,
    error: Option<Text>,
    signed_in: Option<(&'a User, String)>,
}

fn render_login(input: PageInput<'_>, status: StatusCode, set_cookies: Vec<String>) -> Response {
    let lang = input.lang;
    let other = if lang == Lang::Nl { Lang::En } else { Lang::Nl };
    let next_query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("lang", other.code())
        .append_pair("next", input.next)
        .finish();
    let page = LoginPage {
        lang: lang.code(),
        organization: input.organization.to_string(),
        title: tr!("Sign in — Continuo", "Inloggen — Continuo")
            .get(lang)
            .to_string(),
        heading: tr!("Sign in", "Inloggen").get(lang).to_string(),
        user_label: tr!("User name", "Gebruikersnaam").get(lang).to_string(),
        password_label: tr!("Password", "Wachtwoord").get(lang).to_string(),
        submit: tr!("Sign in", "Inloggen").get(lang).to_string(),
        switch_href: format!("/login?{next_query}"),
        switch_label: match other {
            Lang::Nl => "Nederlands",
            Lang::En => "English",
        }
        .to_string(),
        switch_lang: other.code(),
        csrf: input.csrf.to_string(),
        next: input.next.to_string(),
        user: input.user.to_string(),
        error: input.error.map(|e| e.get(lang).to_string()),
        signed_in: input.signed_in.as_ref().map(|(u, _)| {
            let role = u.role.label();
            let name = &u.name;
            Text::new(
                format!("Signed in as {name} ({}).", role.en),
                format!("Ingelogd als {name} ({}).", role.nl),
            )
            .get(lang)
            .to_string()
        }),
        sign_out: tr!("Sign out", "Uitloggen").get(lang).to_string(),
        session_csrf: input
            .signed_in
            .as_ref()
            .map(|(_, c)| c.clone())
            .unwrap_or_default(),
    };
    let html = match page.render() {
        Ok(h) => h,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                tr!(
                    "rendering the sign-in page: {e}",
                    "de inlogpagina kan niet worden gemaakt: {e}"
                ),
            )
            .response(lang);
        }
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    for c in set_cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

fn set_cookie(name: &str, value: &str, path: &str, max_age_secs: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The connected peer's address, when the router is served with connect info.
struct Peer(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(peer_of(&parts.extensions)))
    }
}

/// The login form's token: the one in its cookie, or a new one (then the cookie is set).
fn login_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, LOGIN_COOKIE) {
        Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (v.to_string(), false)
        }
        _ => (credentials::random_hex(32).unwrap_or_default(), true),
    }
}

async fn login_page(
    State(state): State<Shared>,
    Query(query): Query<PageQuery>,
    request: axum::extract::Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let catalog = state.engine.catalog();
    let lang = lang::of_request(query.lang.as_deref(), &parts.headers, &catalog);
    let next = safe_next(query.next.as_deref().unwrap_or(AFTER_SIGN_IN));
    let secure = over_https(&parts.headers, peer_of(&parts.extensions), &catalog);
    if state.store.is_none() {
        return no_sign_in(lang, &catalog.organization.name, &next);
    }
    let (token, fresh) = login_token(&parts.headers);
    let mut cookies = Vec::new();
    if fresh {
        cookies.push(set_cookie(LOGIN_COOKIE, &token, "/login", 3_600, secure));
    }
    let current = match cookie(&parts.headers, SESSION_COOKIE) {
        Some(c) => match signed_in(&state, &catalog, c).await {
            Ok(found) => found.map(|(_, u)| (u, csrf_token(c))),
            Err(r) => return r.response(lang),
        },
        None => None,
    };
    render_login(
        PageInput {
            lang,
            organization: &catalog.organization.name,
            csrf: &token,
            next: &next,
            user: "",
            error: None,
            signed_in: current.as_ref().map(|(u, c)| (u, c.clone())),
        },
        StatusCode::OK,
        cookies,
    )
}

fn no_sign_in(lang: Lang, organization: &str, next: &str) -> Response {
    render_login(
        PageInput {
            lang,
            organization,
            csrf: "",
            next,
            user: "",
            error: Some(tr!(
                "Signing in is not available: this server runs without a database.",
                "Inloggen is niet beschikbaar: deze server draait zonder database."
            )),
            signed_in: None,
        },
        StatusCode::SERVICE_UNAVAILABLE,
        Vec::new(),
    )
}

async fn login(
    State(state): State<Shared>,
    Extension(guards): Extension<Arc<Guards>>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Peer(peer): Peer,
    Form(form): Form<LoginForm>,
) -> Response {
    let catalog = state.engine.catalog();
    let lang = lang::of_request(Some(&form.lang), &headers, &catalog);
    let next = safe_next(&form.next);
    let client = client.map(|c| c.0.0);
    let secure = over_https(&headers, peer, &catalog);
    let Some(store) = state.store.clone() else {
        return no_sign_in(lang, &catalog.organization.name, &next);
    };
    let (token, _) = login_token(&headers);
    let page = |status: StatusCode, error: Text, user: &str| {
        render_login(
            PageInput {
                lang,
                organization: &catalog.organization.name,
                csrf: &token,
                next: &next,
                user,
                error: Some(error),
                signed_in: None,
            },
            status,
            vec![set_cookie(LOGIN_COOKIE, &token, "/login", 3_600, secure)],
        )
    };
    if let Some(ip) = client
        && let Err(not_until) = guards.sign_in_address.check_key(&ip)
    {
        let secs = not_until
            .wait_time_from(governor::clock::Clock::now(guards.sign_in_address.clock()))
            .as_secs()
            .max(1);
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            tr!(
                "Too many sign-in attempts from your address. Try again in {secs} seconds.",
                "Te veel inlogpogingen vanaf jouw adres. Probeer het over {secs} seconden opnieuw."
            ),
            &form.user,
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let form_ok = same_origin(&headers, &catalog)
        && cookie(&headers, LOGIN_COOKIE)
            .is_some_and(|c| continuo_core::hash::same_secret(c.as_bytes(), form.csrf.as_bytes()));
    if !form_ok {
        return page(
            StatusCode::FORBIDDEN,
            tr!(
                "This form has expired or was sent from another site. Sign in again below.",
                "Dit formulier is verlopen of werd vanaf een andere site verstuurd. Log hieronder opnieuw in."
            ),
            &form.user,
        );
    }
    let wrong = tr!(
        "Wrong user name or password.",
        "Onjuiste gebruikersnaam of wachtwoord."
    );
    let name = access::user_name(&form.user).unwrap_or_default();
    let limit_key = if name.is_empty() {
        form.user.chars().take(64).collect::<String>()
    } else {
        name.clone()
    };
    let address = client.unwrap_or(UNKNOWN_ADDRESS);
    let pair_wait = guards
        .sign_in_pair
        .check_key(&(address, limit_key.clone()))
        .err()
        .map(|not_until| {
            not_until
                .wait_time_from(governor::clock::Clock::now(guards.sign_in_pair.clock()))
                .as_secs()
                .max(1)
        });
    let backstop_wait = || {
        guards
            .backstop_lock()
            .wait(address, &limit_key, std::time::Instant::now())
    };
    if let Some(secs) = pair_wait.or_else(backstop_wait) {
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            tr!(
                "Too many sign-in attempts for this user. Try again in {secs} seconds.",
                "Te veel inlogpogingen voor deze gebruiker. Probeer het over {secs} seconden opnieuw."
            ),
            &form.user,
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let user = if name.is_empty() {
        None
    } else {
        match store.user(&name).await {
            Ok(u) => u,
            Err(e) => return store_down(e).response(lang),
        }
    };
    let password = form.password.clone();
    let stored = user.as_ref().map_or_else(
        || credentials::decoy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    // Argon2 takes tens of milliseconds of CPU on purpose: keep it off the async threads.
    let matches = tokio::task::spawn_blocking(move || {
        password.len() <= access::MAX_PASSWORD_BYTES
            && credentials::verify_password(&password, &stored)
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        guards.sign_in_failed(address, &limit_key);
        record(
            &state,
            &format!("user:{}", limit_key),
            "none",
            "session.sign_in_failed",
            &limit_key,
            client,
            401,
        )
        .await;
        return page(StatusCode::UNAUTHORIZED, wrong, &form.user);
    };
    let now = state.engine.now_ms();
    let lifetime = catalog.server.session_lifetime.get();
    let idle_ms = i64::try_from(catalog.server.session_idle.get().as_millis()).unwrap_or(i64::MAX);
    let _ = store.prune_sessions(now, idle_ms).await;
    let cookie_value = match credentials::random_hex(32) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Text::same(e.to_string()))
                .response(lang);
        }
    };
    let session = Session {
        id_hash: credentials::sha256_hex(cookie_value.as_bytes()),
        user_name: user.name.clone(),
        created_ms: now,
        last_seen_ms: now,
        expires_ms: now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX)),
        address: client.map_or_else(|| "unknown".into(), |c| c.to_string()),
    };
    if let Err(e) = store.add_session(&session).await {
        return store_down(e).response(lang);
    }
    guards.sign_in_succeeded(address, &limit_key);
    record(
        &state,
        &format!("user:{}", user.name),
        user.role.name(),
        "session.sign_in",
        &user.name,
        client,
        303,
    )
    .await;
    let mut response = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, next)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::SEE_OTHER.into_response());
    for c in [
        set_cookie(
            SESSION_COOKIE,
            &cookie_value,
            "/",
            lifetime.as_secs(),
            secure,
        ),
        set_cookie(LOGIN_COOKIE, "", "/login", 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Ends the session (needs the session's CSRF token, like every form).
async fn logout(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    headers: HeaderMap,
    Peer(peer): Peer,
) -> Response {
    match who {
        // A live session: it ends (the CSRF checks have passed).
        Ok(_) => {
            if let (Some(store), Some(c)) = (&state.store, cookie(&headers, SESSION_COOKIE)) {
                let _ = store
                    .remove_session(&credentials::sha256_hex(c.as_bytes()))
                    .await;
            }
        }
        // No session, or it had ended already: nothing to end, just forget the cookie.
        Err(r) if r.status() == StatusCode::UNAUTHORIZED => {}
        // A forged or stale form: refused, the session stays.
        Err(r) => return r.into_response(),
    }
    let catalog = state.engine.catalog();
    let secure = over_https(&headers, peer, &catalog);
    let mut response = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, "/login")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::SEE_OTHER.into_response());
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", "/", 0, secure)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for (next, expected) in [
            ("/", "/"),
            ("/api/v1/alerts", "/api/v1/alerts"),
            ("//evil.example/", AFTER_SIGN_IN),
            ("https://evil.example/", AFTER_SIGN_IN),
            ("/\\evil.example", AFTER_SIGN_IN),
            ("", AFTER_SIGN_IN),
        ] {
            assert_eq!(safe_next(next), expected, "{next:?}");
        }
    }

    #[test]
    fn client_address_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 5.6.7.8, 10.0.0.1"),
        );
        let check = |peer: &str, trusted: &[IpAddr], expected: &str| {
            let got = client_addr(Some(peer.parse().expect("ip")), &headers, trusted);
            assert_eq!(
                got,
                Some(expected.parse().expect("ip")),
                "{peer} {trusted:?}"
            );
        };
        // Untrusted peers cannot choose their address.
        check("9.9.9.9", &[proxy], "9.9.9.9");
        check("10.0.0.1", &[], "10.0.0.1");
        // The last hop before our proxies is the client; earlier ones are the client's claims.
        check("10.0.0.1", &[proxy], "5.6.7.8");
    }

    #[test]
    fn origins_are_compared_by_authority() {
        let catalog =
            continuo_core::load_text("[server]\npublic_url = \"https://status.acme.example\"\n")
                .expect("catalog");
        let check = |pairs: &[(&str, &str)], expected: bool| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(
                    header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    HeaderValue::from_str(v).expect("value"),
                );
            }
            assert_eq!(same_origin(&headers, &catalog), expected, "{pairs:?}");
        };
        check(
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080"),
            ],
            true,
        );
        check(
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example"),
            ],
            false,
        );
        check(&[("host", "127.0.0.1:8080"), ("origin", "null")], false);
        check(&[("host", "127.0.0.1:8080")], false);
        check(
            &[
                ("host", "127.0.0.1:8080"),
                ("referer", "http://127.0.0.1:8080/login?x=1"),
            ],
            true,
        );
        check(
            &[
                ("host", "10.0.0.5"),
                ("origin", "https://status.acme.example"),
            ],
            true,
        );
    }
}
