//! The gateway's own active checks: one small task per endpoint that connects (TCP mode)
//! or asks for `check_path` on a fresh connection (HTTP mode, over TLS to an `https://`
//! endpoint; any answer below 500 is healthy, a certificate that does not verify is a
//! failed check named after its problem). It runs at `check_interval`, and at `check_fast_interval` while the
//! endpoint is changing state, so an ejected endpoint is readmitted quickly and a
//! failing one is confirmed quickly.
//!
//! Why not the engine's checks: the gateway must decide in milliseconds, per endpoint,
//! without a round trip through the engine's scheduler and store; the engine keeps
//! monitoring the service as configured.

use crate::pool::{Pool, TryOutcome};
use crate::spec::EndpointSpec;
use crate::tls::{self, EndpointIo};
use bytes::Bytes;
use continuo_core::catalog::gateway::GatewayMode;
use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;

/// Checks endpoint `index` forever.
pub(crate) async fn run(pool: Arc<Pool>, index: usize) {
    let Some(endpoint) = pool.spec.endpoints.get(index).cloned() else {
        return;
    };
    loop {
        pool.injected_panic();
        let outcome = check_once(&pool, &endpoint).await;
        pool.report(index, outcome, true);
        pool.tick();
        let wait = if pool.changing(index) {
            pool.spec.check_fast_interval
        } else {
            pool.spec.check_interval
        };
        tokio::time::sleep(wait).await;
    }
}

async fn check_once(pool: &Pool, endpoint: &EndpointSpec) -> TryOutcome {
    let limit = pool.spec.connect_timeout;
    let result = tokio::time::timeout(limit, async {
        let stream = tls::connect(&pool.tls, endpoint)
            .await
            .map_err(|e| format!("check: {e}"))?;
        if pool.spec.mode == GatewayMode::Tcp {
            return Ok(());
        }
        http_check(stream, &endpoint.address, &pool.spec.check_path).await
    })
    .await;
    match result {
        Ok(Ok(())) => TryOutcome::Success,
        Ok(Err(e)) => TryOutcome::Failure(e),
        Err(_) => TryOutcome::Failure(format!("check: no answer within {}", ms(limit))),
    }
}

async fn http_check(stream: Box<dyn EndpointIo>, address: &str, path: &str) -> Result<(), String> {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("check: {e}"))?;
    let driver = tokio::spawn(conn);
    let request = Request::get(path)
        .header(hyper::header::HOST, address)
        .header(hyper::header::USER_AGENT, "continuo-gateway-check")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("check: {e}"))?;
    let response = sender.send_request(request).await;
    driver.abort();
    let response = response.map_err(|e| format!("check: {e}"))?;
    if response.status().is_server_error() {
        return Err(format!("check: status {}", response.status().as_u16()));
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}
