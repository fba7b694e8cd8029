//! TCP mode: the endpoint is chosen when a client connects (the serving tier first; a
//! refused or timed-out connect moves on to the next endpoint, the client notices
//! nothing), then bytes are copied both ways until either side closes.

use crate::pool::{Pool, TryOutcome};
use continuo_net::listen::{Activity, Admission, Permit, Tracked};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections forever, within `admission`'s caps (over a cap a connection is
/// closed at once). A spliced connection with no bytes moving either way for
/// [`TCP_IDLE`] (at least the listener's idle timeout) is closed.
pub(crate) async fn serve(listener: Arc<TcpListener>, pool: Arc<Pool>, admission: Arc<Admission>) {
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
        match admission.admit(peer.ip()) {
            Ok(permit) => {
                tokio::spawn(splice(stream, pool.clone(), permit, admission.limits()));
            }
            Err(refusal) => {
                tracing::debug!(gateway = %pool.spec.id, %peer, ?refusal, "connection refused");
                drop(stream);
            }
        }
    }
}

/// How long a spliced TCP connection may carry nothing: longer than HTTP's idle timeout
/// (database clients keep pooled connections idle for minutes), short enough that a
/// flood of silent connections is gone within minutes.
const TCP_IDLE: std::time::Duration = std::time::Duration::from_secs(300);

async fn splice(
    client: TcpStream,
    pool: Arc<Pool>,
    permit: Permit,
    limits: continuo_net::listen::ListenLimits,
) {
    let activity = Activity::new();
    // The server may speak first (MySQL, SMTP): no header timeout, only idleness.
    activity.start();
    let idle = TCP_IDLE.max(limits.idle_timeout);
    tokio::select! {
        () = connect_and_copy(client, pool, activity.clone()) => {}
        () = activity.expired(idle, idle) => {}
    }
    drop(permit);
}

async fn connect_and_copy(client: TcpStream, pool: Arc<Pool>, activity: Arc<Activity>) {
    let mut client = Tracked::new(client, activity);
    let _ = client.get_mut().set_nodelay(true);
    let mut tried = Vec::new();
    // Every endpoint may be tried at connect time: nothing was sent yet.
    let tries = pool.spec.endpoints.len().max(pool.spec.max_tries as usize);
    while tried.len() < tries {
        let Some(lease) = pool.pick(&tried) else {
            break;
        };
        tried.push(lease.index);
        let limit = pool.spec.connect_timeout;
        match tokio::time::timeout(limit, TcpStream::connect(&*lease.address)).await {
            Ok(Ok(mut upstream)) => {
                pool.report(lease.index, TryOutcome::Success, false);
                pool.request_done(false, tried.len() > 1);
                let _ = upstream.set_nodelay(true);
                // Either side closing mid-stream is how TCP connections end; only
                // worth seeing when debugging.
                if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                    tracing::debug!(gateway = %pool.spec.id, error = %e, "connection ended with an error");
                }
                return;
            }
            Ok(Err(e)) => pool.report(
                lease.index,
                TryOutcome::Failure(format!("connect: {e}")),
                false,
            ),
            Err(_) => pool.report(
                lease.index,
                TryOutcome::Failure(format!(
                    "connect: no answer within {} ms",
                    limit.as_millis()
                )),
                false,
            ),
        }
    }
    pool.request_done(true, tried.len() > 1);
}
