//! TLS to `https://` endpoints: one rustls client configuration per gateway (aws-lc-rs,
//! the workspace's only crypto provider), connections for checks and upgrades, and TLS
//! failures worded for an operator ("the certificate of 10.0.0.5 is not trusted").
//!
//! Trust: the `ca_file` bundle when configured (it replaces the system's roots, as
//! curl's `--cacert` and nginx's `proxy_ssl_trusted_certificate` do, so a private CA is
//! trusted for these endpoints and nothing else is), else the system's roots. The server
//! name is the endpoint URL's host: a DNS name is sent as SNI and matched against the
//! certificate; an IP literal is matched against its IP addresses and sends no SNI.
//! ALPN offers only `http/1.1`: requests go to endpoints over HTTP/1.1.

use crate::spec::{EndpointSpec, GatewaySpec};
use continuo_core::{Text, tr};
use continuo_net::tls::{self as net_tls, TlsSetupError};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::ServerName;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How a TLS failure is worded for an operator ("the certificate of 10.0.0.5 is not trusted").
pub(crate) use continuo_net::tls::describe_failure as describe;

/// A connection to an endpoint, plain or TLS.
pub(crate) trait EndpointIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> EndpointIo for T {}

/// The client configuration of one gateway. The system's roots are used only when an
/// `https://` endpoint needs them.
pub(crate) fn client_config(spec: &GatewaySpec) -> Result<Arc<ClientConfig>, Text> {
    let id = &spec.id;
    let config = if spec.tls.skip_verify {
        // Any certificate, signatures still checked: the probes' verifier.
        net_tls::skip_verify_config()
    } else {
        let roots = match &spec.tls.ca_certs {
            Some(certs) => Arc::new(net_tls::only_roots(certs).map_err(|_| {
                tr!(
                    "gateway `{id}`: no certificate in ca_file can be used as a CA",
                    "gateway `{id}`: geen certificaat in ca_file is bruikbaar als CA"
                )
            })?),
            None if spec.endpoints.iter().any(|e| e.tls) => net_tls::system_roots(),
            None => Arc::new(RootCertStore::empty()),
        };
        net_tls::verifying_config(roots)
    };
    config.map(Arc::new).map_err(|e| {
        let e = match e {
            TlsSetupError::Protocol(e) => e.to_string(),
            other => other.to_string(),
        };
        tr!(
            "gateway `{id}`: TLS cannot be set up: {e}",
            "gateway `{id}`: TLS kan niet worden ingericht: {e}"
        )
    })
}

/// The TLS server name of an endpoint: the host of its `host:port`, brackets off.
pub(crate) fn server_host(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Connects to an endpoint, with a TLS handshake for an `https://` one. The error is
/// ready for an event: `connect: ...` or the certificate problem.
pub(crate) async fn connect(
    config: &Arc<ClientConfig>,
    endpoint: &EndpointSpec,
) -> Result<Box<dyn EndpointIo>, String> {
    let stream = TcpStream::connect(&endpoint.address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    if !endpoint.tls {
        return Ok(Box::new(stream));
    }
    let host = server_host(&endpoint.address);
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("TLS: `{host}` is not a valid server name"))?;
    let tls = tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, stream)
        .await
        .map_err(|e| describe(&e, host).unwrap_or_else(|| format!("TLS with {host}: {e}")))?;
    Ok(Box::new(tls))
}
