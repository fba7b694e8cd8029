//! TLS: client configurations (system roots, extra CA files, or the loudly named
//! skip-verification option), certificate expiry, and the `tls` check kind.

use super::net::{connect, resolve, split_host_port};
use super::{BuildError, ProbeContext, measured, micros};
use continuo_core::HumanDuration;
use continuo_core::diag::Loc;
use continuo_core::model::{Located, TlsSpec};
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_core::tr;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The trusted certificates of this host, loaded once and shared.
#[derive(Clone)]
pub struct TlsRoots {
    roots: Arc<RootCertStore>,
    default_config: Arc<ClientConfig>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn config_with(roots: RootCertStore) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| ClientConfig::builder());
    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

impl TlsRoots {
    /// The operating system's trusted roots. Unreadable certificates are skipped: a host
    /// without any simply trusts nothing, and HTTPS probes say why they fail.
    pub fn system() -> TlsRoots {
        let mut roots = RootCertStore::empty();
        let loaded = rustls_native_certs::load_native_certs();
        for cert in loaded.certs {
            let _ = roots.add(cert);
        }
        TlsRoots::from_store(roots)
    }

    /// Roots from a given store (tests use their own CA).
    pub fn from_store(roots: RootCertStore) -> TlsRoots {
        let default_config = config_with(roots.clone());
        TlsRoots {
            roots: Arc::new(roots),
            default_config,
        }
    }
}

/// Reads PEM certificates from a file.
fn read_pem(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut data.as_slice()).collect();
    let certs = certs.map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// The client configuration for a check: the shared default, one with an extra CA file,
/// or one that verifies nothing.
pub(crate) fn client_config(
    ctx: &ProbeContext,
    ca_file: Option<&Located<String>>,
    insecure: bool,
) -> Result<Arc<ClientConfig>, BuildError> {
    if insecure {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| ClientConfig::builder());
        let mut config = builder
            .dangerous()
            .with_custom_certificate_verifier(accept_anything())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        return Ok(Arc::new(config));
    }
    let Some(ca_file) = ca_file else {
        return Ok(ctx.roots.default_config.clone());
    };
    let path = ctx.resolve(&ca_file.value);
    let certs = read_pem(&path).map_err(|reason| {
        let shown = path.display().to_string();
        BuildError::new(
            &ca_file.loc,
            tr!(
                "cannot use CA file `{shown}`: {reason}",
                "kan CA-bestand `{shown}` niet gebruiken: {reason}"
            ),
        )
    })?;
    let mut roots = (*ctx.roots.roots).clone();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            BuildError::new(
                &ca_file.loc,
                tr!(
                    "invalid CA certificate: {e}",
                    "ongeldig CA-certificaat: {e}"
                ),
            )
        })?;
    }
    Ok(config_with(roots))
}

/// A verifier that accepts any certificate, what `tls_insecure_skip_verify = true` (a
/// check) and `tls_skip_verify = true` (a gateway) ask for. The handshake's signatures
/// are still checked, so the connection is at least encrypted to whoever holds that key.
pub fn accept_anything() -> Arc<dyn ServerCertVerifier> {
    Arc::new(AcceptAnything(provider()))
}

#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS server name for a host.
pub(crate) fn server_name(host: &str, loc: &Loc) -> Result<ServerName<'static>, BuildError> {
    ServerName::try_from(host.to_string()).map_err(|_| {
        BuildError::new(
            loc,
            tr!(
                "`{host}` is not a valid TLS server name",
                "`{host}` is geen geldige TLS-servernaam"
            ),
        )
    })
}

/// Performs the handshake; returns the stream and the handshake time.
pub(crate) async fn handshake(
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    stream: TcpStream,
) -> Result<(TlsStream<TcpStream>, u64), String> {
    let started = Instant::now();
    let tls = TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    Ok((tls, micros(started.elapsed())))
}

/// Time left until the peer's leaf certificate expires (negative: expired).
pub(crate) fn leaf_time_left(tls: &TlsStream<TcpStream>) -> Option<i64> {
    let der = tls.get_ref().1.peer_certificates()?.first()?.clone();
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some(not_after - now)
}

/// Verdict for a certificate with `left` seconds to live, required to last `needed`.
pub(crate) fn expiry_verdict(left: i64, needed: Duration) -> (Verdict, String) {
    if left <= 0 {
        return (Verdict::Failure, "certificate has expired".into());
    }
    let left_d = HumanDuration(Duration::from_secs(left as u64 / 3600 * 3600));
    if (left as u64) < needed.as_secs() {
        (
            Verdict::Degraded,
            format!(
                "certificate expires in {left_d}, less than the required {}",
                HumanDuration(needed)
            ),
        )
    } else {
        (Verdict::Success, format!("certificate valid for {left_d}"))
    }
}

/// The `tls` check kind: a handshake with chain verification, and certificate expiry.
pub(crate) struct TlsProbe {
    host: String,
    port: u16,
    name: ServerName<'static>,
    config: Arc<ClientConfig>,
    valid_for: Duration,
}

impl TlsProbe {
    pub(crate) fn build(spec: &TlsSpec, ctx: &ProbeContext) -> Result<TlsProbe, BuildError> {
        let (host, port) = split_host_port(&spec.target.value).ok_or_else(|| {
            BuildError::new(
                &spec.target.loc,
                tr!("expected host:port", "verwacht host:poort"),
            )
        })?;
        let name = server_name(
            spec.server_name.as_deref().unwrap_or(&host),
            &spec.target.loc,
        )?;
        // A raw TLS port speaks its own protocol: offering HTTP's ALPN there makes a
        // server that insists on another one (an h2-only gRPC server) refuse the
        // handshake, so this kind offers none.
        let mut config = (*client_config(ctx, spec.ca_file.as_ref(), false)?).clone();
        config.alpn_protocols.clear();
        Ok(TlsProbe {
            config: Arc::new(config),
            host,
            port,
            name,
            valid_for: spec.cert_valid_for.get(),
        })
    }

    pub(crate) async fn run(&self) -> Measurement {
        let started = Instant::now();
        let mut timings = Timings::default();
        let (addr, dns) = match resolve(&self.host, self.port).await {
            Ok(r) => r,
            Err(e) => return fail(e, timings, started),
        };
        timings.dns_us = dns;
        let (stream, connect_us) = match connect(addr).await {
            Ok(r) => r,
            Err(e) => return fail(e, timings, started),
        };
        timings.connect_us = Some(connect_us);
        let (tls, tls_us) = match handshake(self.config.clone(), self.name.clone(), stream).await {
            Ok(r) => r,
            Err(e) => return fail(e, timings, started),
        };
        timings.tls_us = Some(tls_us);
        timings.total_us = micros(started.elapsed());
        match leaf_time_left(&tls) {
            Some(left) => {
                let (verdict, message) = expiry_verdict(left, self.valid_for);
                measured(verdict, message, None, timings)
            }
            None => measured(
                Verdict::Failure,
                "the server sent no readable certificate",
                None,
                timings,
            ),
        }
    }
}

fn fail(message: String, mut timings: Timings, started: Instant) -> Measurement {
    timings.total_us = micros(started.elapsed());
    Measurement::failure(message, timings)
}
