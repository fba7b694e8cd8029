//! TLS to `https://` endpoints: one rustls client configuration per gateway (aws-lc-rs,
//! the workspace's only crypto provider), connections for checks and upgrades, and TLS
//! failures worded for an operator ("certificate not trusted for 10.0.0.5").
//!
//! Trust: the `ca_file` bundle when configured (it replaces the system's roots, as
//! curl's `--cacert` and nginx's `proxy_ssl_trusted_certificate` do, so a private CA is
//! trusted for these endpoints and nothing else is), else the system's roots. The server
//! name is the endpoint URL's host: a DNS name is sent as SNI and matched against the
//! certificate; an IP literal is matched against its IP addresses and sends no SNI.
//! ALPN offers only `http/1.1`: requests go to endpoints over HTTP/1.1.

use crate::spec::{EndpointSpec, GatewaySpec};
use continuo_core::{Text, tr};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use rustls_pki_types::ServerName;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A connection to an endpoint, plain or TLS.
pub(crate) trait EndpointIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> EndpointIo for T {}

/// The client configuration of one gateway. The system's roots are loaded only when an
/// `https://` endpoint needs them.
pub(crate) fn client_config(spec: &GatewaySpec) -> Result<Arc<ClientConfig>, Text> {
    let id = &spec.id;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            tr!(
                "gateway `{id}`: TLS cannot be set up: {e}",
                "gateway `{id}`: TLS kan niet worden ingericht: {e}"
            )
        })?;
    let mut config = if spec.tls.skip_verify {
        builder
            .dangerous()
            // Any certificate, signatures still checked: the probes' verifier.
            .with_custom_certificate_verifier(continuo_probe::accept_anything())
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        match &spec.tls.ca_certs {
            Some(certs) => {
                let (added, _) = roots.add_parsable_certificates(certs.iter().cloned());
                if added == 0 {
                    return Err(tr!(
                        "gateway `{id}`: no certificate in ca_file can be used as a CA",
                        "gateway `{id}`: geen certificaat in ca_file is bruikbaar als CA"
                    ));
                }
            }
            None if spec.endpoints.iter().any(|e| e.tls) => {
                // Unreadable system certificates are skipped: an endpoint they would
                // have trusted then fails its checks with "not trusted", which says it.
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
            }
            None => {}
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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

/// Says what went wrong when a rustls error is somewhere in `error`'s chain. (An
/// `io::Error` hides the error it wraps from `source()`, and hyper-rustls wraps
/// tokio-rustls' `io::Error` in another one, so those are looked into.)
pub(crate) fn describe(error: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(worded(tls, host));
        }
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn worded(error: &rustls::Error, host: &str) -> String {
    let rustls::Error::InvalidCertificate(problem) = error else {
        return format!("TLS with {host} failed: {error}");
    };
    match problem {
        CertificateError::UnknownIssuer => {
            format!("certificate not trusted for {host} (unknown issuer)")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("certificate not valid for {host} (another name)")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("certificate of {host} has expired")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("certificate of {host} is not valid yet")
        }
        other => format!("certificate of {host} rejected: {other:?}"),
    }
}
