//! The bounded accept loop of the main listener (instead of `axum::serve`): every
//! connection needs a [`Permit`](continuo_net::listen::Permit) of the listener's
//! [`Admission`] (a per-address cap, over which the connection is closed at once before
//! a byte is read, and a total cap: when full, the oldest connection that has not begun
//! a request is closed to make room, and only when there is none is the new one closed),
//! must send a complete request head within the header timeout (hyper's HTTP/1 header
//! timer, and our own for the first bytes, so protocol detection cannot wait forever
//! either), and is closed after the idle timeout with no request in progress and no
//! bytes moving.
//!
//! HTTP/1.1 and HTTP/2 (prior knowledge) as `axum::serve` had them, with upgrades; the
//! peer's address reaches handlers as `ConnectInfo<SocketAddr>`. On shutdown the
//! listener closes, open connections finish their requests, and event streams end.

use axum::Router;
use axum::extract::ConnectInfo;
use continuo_net::listen::{Activity, Admission, Refusal, Tracked};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Most open live event streams (`/status/events`), in total and from one client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamCaps {
    /// In total.
    pub total: usize,
    /// From one client address.
    pub per_address: usize,
}

impl Default for StreamCaps {
    /// 500 in total, 4 per address (a visitor has one per open tab).
    fn default() -> Self {
        StreamCaps {
            total: 500,
            per_address: 4,
        }
    }
}

/// The "server is stopping" signal of the listener that took a request, in its
/// extensions: long-lived answers (event streams) end when it turns true.
#[derive(Clone, Debug)]
pub(crate) struct Closing(pub(crate) watch::Receiver<bool>);

/// Serves `router` on `listener` within `admission`'s bounds until `shutdown`
/// completes, then waits for open connections to finish (`on_shutdown` runs first, to
/// end long-lived answers such as event streams).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    admission: Arc<Admission>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_shutdown: impl FnOnce(),
) -> std::io::Result<()> {
    let limits = admission.limits();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let (closing_tx, closing_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if continuo_net::listen::log_accept_error_now() {
                        tracing::warn!(error = %e, "accept failed");
                    }
                    continuo_net::listen::accept_backoff().await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match admission.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                // Closed at once: a flood costs one accept per connection, nothing more.
                let why = match refusal {
                    Refusal::Full => "connection limit reached",
                    Refusal::AddressFull => "per-address connection limit reached",
                };
                tracing::debug!(%peer, why, "connection refused");
                drop(stream);
                continue;
            }
        };
        // Latency only; the connection works without it.
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        admission.track(&activity);
        let io = TokioIo::new(Tracked::new(stream, activity.clone()));
        let router = router.clone();
        let busy_activity = activity.clone();
        let closing_signal = Closing(closing_rx.clone());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(closing_signal.clone());
            let busy = busy_activity.busy();
            let answer = tower::ServiceExt::oneshot(router.clone(), request);
            async move {
                let response = answer.await;
                drop(busy);
                response
            }
        });
        let builder = builder.clone();
        let mut closing = closing_rx.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(connection);
            let expired = activity.expired(limits.header_timeout, limits.idle_timeout);
            tokio::pin!(expired);
            let mut shutting_down = false;
            loop {
                tokio::select! {
                    served = connection.as_mut() => {
                        // Clients hang up and send garbage all the time.
                        if let Err(e) = served {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = &mut expired => {
                        tracing::debug!(%peer, "connection closed: no request or idle too long");
                        break;
                    }
                    changed = closing.changed(), if !shutting_down => {
                        shutting_down = true;
                        if changed.is_ok() {
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            drop(permit);
            drop(done);
        });
    }
    drop(listener);
    on_shutdown();
    let _ = closing_tx.send(true);
    drop(done_tx);
    // Every connection task holds a sender; `None` once all are gone.
    let _: Option<()> = done_rx.recv().await;
    Ok(())
}
