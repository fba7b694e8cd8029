//! The outgoing HTTP client (reqwest) every library crate builds the same way: rustls with
//! the aws-lc-rs provider, the system's roots plus any private CA, HTTP/1.1, Continuo's
//! `User-Agent`, no redirects, one timeout per request, and optionally its own resolver
//! (see [`crate::address::PublicOnly`]).
//!
//! Why no redirects: a redirected POST silently turns into a GET on most receivers, and a
//! redirect could lead anywhere, including inside our network; callers report a 3xx.

use crate::tls::{self, TlsSetupError};
use rustls_pki_types::CertificateDer;
use std::sync::Arc;
use std::time::Duration;

/// Sent with every request, so receivers' logs say who called.
pub const USER_AGENT: &str = concat!("Continuo/", env!("CARGO_PKG_VERSION"));

/// How a client is to be built.
#[derive(Clone)]
pub struct ClientSpec<'a> {
    /// The longest a request (and, separately, its connect) may take.
    pub timeout: Duration,
    /// CA certificates trusted besides the system's roots (a `ca_file`).
    pub extra_roots: &'a [CertificateDer<'static>],
    /// A resolver of its own instead of the system's.
    pub resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
}

impl<'a> ClientSpec<'a> {
    /// The system's roots and resolver, and `timeout`.
    pub fn new(timeout: Duration) -> ClientSpec<'a> {
        ClientSpec {
            timeout,
            extra_roots: &[],
            resolver: None,
        }
    }
}

/// Why a client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TLS cannot be set up (an unusable CA certificate, a provider problem).
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

/// A client as described in the module's documentation.
pub fn client(spec: ClientSpec<'_>) -> Result<reqwest::Client, ClientError> {
    let tls = tls::verifying_config(tls::system_roots_and(spec.extra_roots)?)?;
    let mut builder = reqwest::Client::builder();
    if let Some(resolver) = spec.resolver {
        builder = builder.dns_resolver2(resolver);
    }
    builder
        .use_preconfigured_tls(tls)
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(spec.timeout)
        .connect_timeout(spec.timeout)
        .build()
        .map_err(ClientError::Build)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redirects are reported, not followed: the caller sees the 3xx itself.
    #[tokio::test]
    async fn answers_come_back_unfollowed_with_our_user_agent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut request = vec![0; 4096];
            let n = stream.read(&mut request).await.expect("read");
            stream
                .write_all(
                    b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await
                .expect("write");
            String::from_utf8_lossy(&request[..n]).to_lowercase()
        });
        let client = client(ClientSpec::new(Duration::from_secs(5))).expect("client");
        let response = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 302);
        let request = server.await.expect("join");
        assert!(
            request.contains(&format!("user-agent: {}", USER_AGENT.to_lowercase())),
            "{request}"
        );
    }
}
