//! `/status/events`: the live stream (Server-Sent Events). A `change` event carries the
//! re-rendered live section when a component's status, an incident or maintenance
//! changes: on every change of service health (the engine's watch channel) and on a
//! short poll for incidents, which have no channel of their own. A comment every 15 s
//! keeps proxies from closing an idle stream.

use super::model::Cache;
use super::page;
use crate::AppState;
use axum::response::sse::{Event, KeepAlive, Sse};
use continuo_core::Lang;
use futures_util::stream::{Stream, unfold};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How often incidents are looked at.
const POLL: Duration = Duration::from_secs(2);
/// How often an idle stream gets a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

struct Live {
    state: AppState,
    cache: Arc<Cache>,
    health: Option<
        tokio::sync::watch::Receiver<
            Arc<std::collections::BTreeMap<String, continuo_core::state::ServiceHealth>>,
        >,
    >,
    tick: tokio::time::Interval,
    lang: Lang,
    last: u64,
}

/// The stream for one client.
pub(crate) async fn stream(
    state: AppState,
    cache: Arc<Cache>,
    lang: Lang,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let health = Some(state.engine.health_watch());
    let last = cache.view(&state, false).await.live_fingerprint();
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let live = Live {
        state,
        cache,
        health,
        tick,
        lang,
        last,
    };
    let events = unfold(live, |mut live| async move {
        loop {
            let fresh = tokio::select! {
                changed = async {
                    match live.health.as_mut() {
                        Some(rx) => rx.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                } => {
                    if !changed {
                        // The engine is gone; keep polling.
                        live.health = None;
                    }
                    true
                }
                _ = live.tick.tick() => false,
            };
            let view = live.cache.view(&live.state, fresh).await;
            let fingerprint = view.live_fingerprint();
            if fingerprint != live.last {
                live.last = fingerprint;
                let html = page::live_html(&view, live.lang);
                let event = Event::default().event("change").data(html);
                return Some((Ok(event), live));
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}
