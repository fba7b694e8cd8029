//! `/status/events`: the live stream (Server-Sent Events). A `change` event carries the
//! re-rendered live section when a component's status, an incident or maintenance
//! changes. A comment every 15 s keeps proxies from closing an idle stream.
//!
//! One watcher per router ([`Hub`]) looks at the public view (on every change of
//! service health, the engine's watch channel, and on a short poll for incidents, which
//! have no channel of their own) and publishes a [`Snapshot`] when what the live section
//! shows changed; every stream only waits on that channel, and the live section is
//! rendered once per view and language (the cache's rendered answers), not once per
//! stream. The watcher runs only while a stream is open.
//!
//! Streams are capped per client address and in total ([`StreamCaps`]); over a cap the
//! answer is 429 (this address) or 503 (everyone) with `Retry-After`, and the page's
//! script falls back to reloading the live section now and then.

use super::model::{Cache, PublicView};
use super::page;
use crate::app::Shared;
use crate::listener::{Closing, StreamCaps};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use continuo_core::{Lang, tr};
use futures_util::stream::unfold;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How often incidents are looked at.
const POLL: Duration = Duration::from_secs(2);
/// How often an idle stream gets a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Seconds a refused client is asked to wait.
const RETRY_AFTER_SECS: u32 = 60;

/// What the live section shows, at one moment.
pub(crate) struct Snapshot {
    fingerprint: u64,
    view: Arc<PublicView>,
}

/// The per-router watcher and the open streams' counts.
pub(crate) struct Hub {
    caps: StreamCaps,
    inner: Mutex<HubInner>,
}

#[derive(Default)]
struct HubInner {
    sender: Option<watch::Sender<Arc<Snapshot>>>,
    open: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One open stream's place; freed when the stream ends.
struct Slot {
    hub: Arc<Hub>,
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.hub.lock();
        inner.open = inner.open.saturating_sub(1);
        if let Some(a) = self.address
            && let Some(n) = inner.by_address.get_mut(&a)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.by_address.remove(&a);
            }
        }
    }
}

/// Why a stream was refused.
enum Full {
    Address,
    Total,
}

impl Hub {
    pub(crate) fn new(caps: StreamCaps) -> Arc<Hub> {
        Arc::new(Hub {
            caps,
            inner: Mutex::new(HubInner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a stream from `address` and the snapshot channel, starting the
    /// watcher when none runs.
    fn join(
        self: &Arc<Self>,
        address: Option<IpAddr>,
        state: &Shared,
        cache: &Arc<Cache>,
        view: Arc<PublicView>,
    ) -> Result<(Slot, watch::Receiver<Arc<Snapshot>>), Full> {
        let mut inner = self.lock();
        if let Some(a) = address
            && inner.by_address.get(&a).copied().unwrap_or(0) >= self.caps.per_address
        {
            return Err(Full::Address);
        }
        if inner.open >= self.caps.total {
            return Err(Full::Total);
        }
        inner.open += 1;
        if let Some(a) = address {
            *inner.by_address.entry(a).or_insert(0) += 1;
        }
        let slot = Slot {
            hub: self.clone(),
            address,
        };
        let receiver = match &inner.sender {
            Some(sender) => sender.subscribe(),
            None => {
                let snapshot = Arc::new(Snapshot {
                    fingerprint: view.live_fingerprint(),
                    view,
                });
                let (sender, receiver) = watch::channel(snapshot);
                inner.sender = Some(sender.clone());
                tokio::spawn(watcher(self.clone(), state.clone(), cache.clone(), sender));
                receiver
            }
        };
        Ok((slot, receiver))
    }
}

/// Publishes a snapshot whenever the live section changes, while any stream listens.
async fn watcher(
    hub: Arc<Hub>,
    state: Shared,
    cache: Arc<Cache>,
    sender: watch::Sender<Arc<Snapshot>>,
) {
    let mut health = Some(state.engine.health_watch());
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let fresh = tokio::select! {
            changed = async {
                match health.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            } => {
                if !changed {
                    // The engine is gone; keep polling.
                    health = None;
                }
                true
            }
            _ = tick.tick() => false,
            () = sender.closed() => false,
        };
        {
            // Decided under the lock that `join` takes, so a stream that joins now
            // either finds this watcher running or starts a new one.
            let mut inner = hub.lock();
            if sender.receiver_count() == 0 {
                inner.sender = None;
                return;
            }
        }
        let view = cache.view(&state, fresh).await;
        let fingerprint = view.live_fingerprint();
        if fingerprint != sender.borrow().fingerprint {
            sender.send_replace(Arc::new(Snapshot { fingerprint, view }));
        }
    }
}

struct Live {
    cache: Arc<Cache>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    closing: Option<watch::Receiver<bool>>,
    lang: Lang,
    last: u64,
    _slot: Slot,
}

fn refused(full: Full, lang: Lang) -> Response {
    let (status, text) = match full {
        Full::Address => (
            StatusCode::TOO_MANY_REQUESTS,
            tr!(
                "Too many live updates open from your address; the page refreshes itself instead.",
                "Te veel live-updates open vanaf jouw adres; de pagina ververst zichzelf in plaats daarvan."
            ),
        ),
        Full::Total => (
            StatusCode::SERVICE_UNAVAILABLE,
            tr!(
                "Too many live updates open; the page refreshes itself instead.",
                "Te veel live-updates open; de pagina ververst zichzelf in plaats daarvan."
            ),
        ),
    };
    let mut response = (status, format!("{}\n", text.get(lang))).into_response();
    let h = response.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The stream for one client, or a refusal over a cap.
pub(crate) async fn stream(
    state: Shared,
    cache: Arc<Cache>,
    hub: Arc<Hub>,
    address: Option<IpAddr>,
    closing: Option<Closing>,
    lang: Lang,
) -> Response {
    let view = cache.view(&state, false).await;
    let (slot, snapshots) = match hub.join(address, &state, &cache, view) {
        Ok(joined) => joined,
        Err(full) => return refused(full, lang),
    };
    let last = snapshots.borrow().fingerprint;
    let live = Live {
        cache,
        snapshots,
        closing: closing.map(|c| c.0),
        lang,
        last,
        _slot: slot,
    };
    let events = unfold(live, |mut live| async move {
        loop {
            if live.closing.as_ref().is_some_and(|c| *c.borrow()) {
                return None;
            }
            tokio::select! {
                changed = live.snapshots.changed() => changed.ok()?,
                () = async {
                    match live.closing.as_mut() {
                        Some(c) => { let _ = c.changed().await; }
                        None => std::future::pending().await,
                    }
                } => return None,
            }
            let snapshot = live.snapshots.borrow_and_update().clone();
            if snapshot.fingerprint != live.last {
                live.last = snapshot.fingerprint;
                let lang = live.lang;
                let rendered = live
                    .cache
                    .rendered(&snapshot.view, format!("live {lang}"), || {
                        page::live_html(&snapshot.view, lang)
                    });
                let html = String::from_utf8_lossy(&rendered.body);
                let event = Event::default().event("change").data(html);
                return Some((Ok::<_, std::convert::Infallible>(event), live));
            }
        }
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
