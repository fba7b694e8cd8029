//! Live updates: `GET /events` (server-sent events, signed in) says `health` when a
//! service's health changes and `incidents` when an incident changes; the embedded
//! script (`dashboard.js`) then reloads the sections marked `data-live` with that word.
//!
//! Service health comes from the engine's watch channel, at once. Incidents have no such
//! channel: each stream looks at the recent incidents every [`INCIDENT_POLL`] and sends
//! an event when what it sees differs (a cheap fingerprint of their JSON).
//!
//! A stream ends after [`STREAM_LIFETIME`] (the browser reconnects by itself) and when
//! the server shuts down ([`close_streams`]), so an open dashboard never holds up a
//! graceful shutdown.

use crate::app::{AppState, Shared};
use crate::auth::{Authed, Viewer};
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::watch;

/// How often a stream looks for changed incidents.
const INCIDENT_POLL: Duration = Duration::from_secs(2);
/// How long one stream lasts before the browser is asked to reconnect.
const STREAM_LIFETIME: Duration = Duration::from_secs(300);
/// The script, embedded in the binary.
const SCRIPT: &str = include_str!("dashboard.js");

/// The process's "server is stopping" signal for open streams.
fn closing() -> &'static watch::Sender<bool> {
    static CLOSING: OnceLock<watch::Sender<bool>> = OnceLock::new();
    CLOSING.get_or_init(|| watch::channel(false).0)
}

/// Ends every open event stream (called when the server starts shutting down).
pub(crate) fn close_streams() {
    closing().send_replace(true);
}

/// `GET /assets/dashboard.js`.
pub(crate) async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

struct Watch {
    state: Shared,
    health: watch::Receiver<
        std::sync::Arc<std::collections::BTreeMap<String, continuo_core::state::ServiceHealth>>,
    >,
    closing: watch::Receiver<bool>,
    incidents: Option<u64>,
    end: tokio::time::Instant,
}

/// A fingerprint of the incidents detected in the last 30 days, or `None` when they
/// cannot be read (a read failure is not a change).
async fn incidents_fingerprint(state: &AppState) -> Option<u64> {
    let h = state.alerts.as_ref()?;
    let now = state.engine.now_ms();
    let list = h
        .incidents(now - 30 * 86_400_000, now + 60_000, 50)
        .await
        .ok()?;
    let text = serde_json::to_string(&list).ok()?;
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    Some(hasher.finish())
}

async fn next_event(mut w: Watch) -> Option<(Result<Event, Infallible>, Watch)> {
    loop {
        if *w.closing.borrow() {
            return None;
        }
        tokio::select! {
            changed = w.health.changed() => {
                changed.ok()?;
                w.health.borrow_and_update();
                return Some((Ok(Event::default().event("health").data("changed")), w));
            }
            _ = w.closing.changed() => return None,
            _ = tokio::time::sleep_until(w.end) => return None,
            _ = tokio::time::sleep(INCIDENT_POLL) => {
                let now = incidents_fingerprint(&w.state).await;
                if now.is_some() && now != w.incidents {
                    let first = w.incidents.is_none();
                    w.incidents = now;
                    if !first {
                        return Some((Ok(Event::default().event("incidents").data("changed")), w));
                    }
                }
            }
        }
    }
}

/// `GET /events`: the live stream (401 without a sign-in; EventSource then gives up).
pub(crate) async fn events(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
) -> Response {
    if let Err(r) = who {
        return r.into_response();
    }
    let mut health = state.engine.health_watch();
    health.borrow_and_update();
    let incidents = incidents_fingerprint(&state).await;
    let start = Watch {
        health,
        closing: closing().subscribe(),
        incidents,
        end: tokio::time::Instant::now() + STREAM_LIFETIME,
        state,
    };
    let stream = futures_util::stream::unfold(start, next_event);
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
