//! TCP mode: the endpoint is chosen when a client connects (the serving tier first; a
//! refused or timed-out connect moves on to the next endpoint, the client notices
//! nothing), then bytes are copied both ways until either side closes.

use crate::pool::{Pool, TryOutcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections forever.
pub(crate) async fn serve(listener: TcpListener, pool: Arc<Pool>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: say so, and wait instead of spinning.
            Err(e) => {
                tracing::warn!(gateway = %pool.spec.id, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        tokio::spawn(splice(stream, pool.clone()));
    }
}

async fn splice(mut client: TcpStream, pool: Arc<Pool>) {
    let _ = client.set_nodelay(true);
    let mut tried = Vec::new();
    // Every endpoint may be tried at connect time: nothing was sent yet.
    let tries = pool.spec.endpoints.len().max(pool.spec.max_tries as usize);
    while tried.len() < tries {
        let Some(lease) = pool.pick(&tried) else {
            break;
        };
        tried.push(lease.index);
        let limit = pool.spec.connect_timeout;
        match tokio::time::timeout(limit, TcpStream::connect(&lease.address)).await {
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
