//! TLS for checks: which client configuration a check uses (system roots, an extra CA
//! file, or the loudly named skip-verification option; built by `continuo_net::tls`),
//! certificate expiry, and the `tls` check kind.

use super::net::{connect, resolve, split_host_port};
use super::{BuildError, ProbeContext, measured, micros};
use continuo_core::HumanDuration;
use continuo_core::catalog::{Located, TlsSpec};
use continuo_core::diag::Loc;
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_core::tr;
use continuo_net::tls::{self as net_tls, TlsSetupError};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The client configuration for a check: the process-wide one with the system's roots,
/// one with an extra CA file, or one that verifies nothing. `loc` is the check's target,
/// where a failure to set TLS up at all is reported.
pub(crate) fn client_config(
    ctx: &ProbeContext,
    ca_file: Option<&Located<String>>,
    insecure: bool,
    loc: &Loc,
) -> Result<Arc<ClientConfig>, BuildError> {
    if insecure {
        return net_tls::skip_verify_config()
            .map(Arc::new)
            .map_err(|e| setup_failed(loc, &e));
    }
    let Some(ca_file) = ca_file else {
        return net_tls::system_config().map_err(|e| setup_failed(loc, &e));
    };
    let path = ctx.resolve(&ca_file.value);
    let certs = net_tls::read_ca_file(&path).map_err(|error| {
        let shown = path.display().to_string();
        let reason = &error.problem;
        BuildError::new(
            &ca_file.loc,
            tr!(
                "cannot use CA file `{shown}`: {reason}",
                "kan CA-bestand `{shown}` niet gebruiken: {reason}"
            ),
        )
    })?;
    let roots = net_tls::system_roots_and(&certs).map_err(|error| match error {
        TlsSetupError::UnusableCa(e) => BuildError::new(
            &ca_file.loc,
            tr!(
                "invalid CA certificate: {e}",
                "ongeldig CA-certificaat: {e}"
            ),
        ),
        other => setup_failed(&ca_file.loc, &other),
    })?;
    net_tls::verifying_config(roots)
        .map(Arc::new)
        .map_err(|e| setup_failed(loc, &e))
}

/// TLS cannot be set up at all (the provider lacks the protocol versions): not expected
/// with aws-lc-rs, reported like any other check that cannot be built.
fn setup_failed(loc: &Loc, error: &TlsSetupError) -> BuildError {
    BuildError::new(
        loc,
        tr!(
            "TLS cannot be set up: {error}",
            "TLS kan niet worden ingericht: {error}"
        ),
    )
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
        let mut config =
            (*client_config(ctx, spec.ca_file.as_ref(), false, &spec.target.loc)?).clone();
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
