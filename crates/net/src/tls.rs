//! TLS for outgoing connections: the crypto provider (aws-lc-rs, the workspace's only
//! one, chosen explicitly so `ring` is never needed), the system's trusted roots (read
//! once per process), CA files, client configurations, the skip-verify verifier, and how
//! a certificate failure is worded for an operator.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The crypto provider of every client configuration: rustls with aws-lc-rs.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Makes rustls with aws-lc-rs the process's default crypto provider; binaries (and tests
/// that build clients with reqwest's defaults) call it once at start.
///
/// Why: reqwest's rustls support is turned on without a provider (so `ring` stays out),
/// and features are shared by the whole build, so every reqwest client in the process
/// uses rustls: one built with reqwest's defaults (`reqwest::Client::new()`) panics with
/// "No provider set" unless a default is installed. Calling it again, or after another
/// default was installed, changes nothing.
pub fn install_default_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The system's trusted roots, read once per process (reading them opens many files) and
/// shared. Unreadable certificates are skipped: a host without any simply trusts nothing,
/// and whatever then fails to connect says "not trusted", which names the problem.
pub fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            #[allow(
                clippy::disallowed_methods,
                reason = "this is the one place that reads the system's certificate store"
            )]
            let native = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(native.certs);
            Arc::new(store)
        })
        .clone()
}

/// What went wrong while setting up TLS.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsSetupError {
    /// The provider cannot offer the protocol versions asked for.
    #[error("TLS setup failed: {0}")]
    Protocol(rustls::Error),
    /// A CA certificate added to the roots cannot be used as a trust anchor.
    #[error("the CA certificate is not usable: {0}")]
    UnusableCa(rustls::Error),
    /// None of the CA certificates that replace the system's roots can be used.
    #[error("no certificate can be used as a CA")]
    NoUsableCa,
}

/// The system's roots plus `extra` (a private CA from a `ca_file`).
pub fn system_roots_and(extra: &[CertificateDer<'static>]) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = (*system_roots()).clone();
    for cert in extra {
        roots.add(cert.clone()).map_err(TlsSetupError::UnusableCa)?;
    }
    Ok(roots)
}

/// Only `certs` as roots, instead of the system's (as curl's `--cacert` does): what is
/// signed by that CA is trusted and nothing else is. Unusable certificates are skipped;
/// when none is left, nothing could ever be trusted, which is an error.
pub fn only_roots(certs: &[CertificateDer<'static>]) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(TlsSetupError::NoUsableCa);
    }
    Ok(roots)
}

/// A client configuration that verifies servers against `roots`: aws-lc-rs, rustls' safe
/// protocol versions, no client certificate, ALPN `http/1.1` (callers that speak another
/// protocol clear or change it).
pub fn verifying_config(
    roots: impl Into<Arc<RootCertStore>>,
) -> Result<ClientConfig, TlsSetupError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Protocol)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration that accepts any certificate ([`accept_anything`]); otherwise
/// as [`verifying_config`].
pub fn skip_verify_config() -> Result<ClientConfig, TlsSetupError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Protocol)?
        .dangerous()
        .with_custom_certificate_verifier(accept_anything())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The client configuration with the system's roots, built once per process and shared
/// (every probe without its own CA file uses it).
pub fn system_config() -> Result<Arc<ClientConfig>, TlsSetupError> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, TlsSetupError>> = OnceLock::new();
    CONFIG
        .get_or_init(|| verifying_config(system_roots()).map(Arc::new))
        .clone()
}

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.english())]
pub struct CaFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: CaFileProblem,
}

/// What is wrong with a CA file.
#[derive(Debug, thiserror::Error)]
pub enum CaFileProblem {
    /// It cannot be read.
    #[error("{0}")]
    Read(std::io::Error),
    /// It is larger than [`MAX_CA_FILE_BYTES`].
    #[error("larger than {}", crate::file::shown(MAX_CA_FILE_BYTES))]
    TooLarge,
    /// It is not PEM.
    #[error("{0}")]
    NotPem(rustls_pki_types::pem::Error),
    /// It is PEM, without a certificate in it.
    #[error("no PEM certificate in it")]
    NoCertificate,
}

impl CaFileError {
    fn english(&self) -> String {
        let shown = self.path.display();
        match &self.problem {
            CaFileProblem::Read(e) => format!("cannot read {shown}: {e}"),
            CaFileProblem::TooLarge => format!(
                "{shown} is larger than {}, too large for a CA bundle",
                crate::file::shown(MAX_CA_FILE_BYTES)
            ),
            CaFileProblem::NotPem(e) => format!("{shown} is not a PEM certificate file: {e}"),
            CaFileProblem::NoCertificate => format!("{shown} holds no certificate"),
        }
    }

    /// The message in Dutch, for callers that answer in both languages (the English one
    /// is `Display`). Both wordings live here so every `ca_file` reads the same.
    pub fn dutch(&self) -> String {
        let shown = self.path.display();
        match &self.problem {
            CaFileProblem::Read(e) => format!("kan {shown} niet lezen: {e}"),
            CaFileProblem::TooLarge => format!(
                "{shown} is groter dan {}, te groot voor een CA-bundel",
                crate::file::shown(MAX_CA_FILE_BYTES)
            ),
            CaFileProblem::NotPem(e) => format!("{shown} is geen PEM-certificaatbestand: {e}"),
            CaFileProblem::NoCertificate => format!("{shown} bevat geen certificaat"),
        }
    }
}

/// The largest CA file read: the system's whole bundle is about 200 KiB, and
/// `ca_file = "/dev/zero"` must end. `continuo_core::load::MAX_CA_FILE_BYTES`, which
/// `check` applies, is the same.
pub const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The certificates in a PEM file (a private CA): a channel's, a check's or a gateway's
/// `ca_file`, read up to [`MAX_CA_FILE_BYTES`].
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let error = |problem| CaFileError {
        path: path.to_path_buf(),
        problem,
    };
    let data = crate::file::read_bounded(path, MAX_CA_FILE_BYTES).map_err(|e| match e {
        crate::file::BoundedReadError::TooLarge { .. } => error(CaFileProblem::TooLarge),
        crate::file::BoundedReadError::Io(e) => error(CaFileProblem::Read(e)),
    })?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(CaFileProblem::NotPem(e)))?;
    if certs.is_empty() {
        return Err(error(CaFileProblem::NoCertificate));
    }
    Ok(certs)
}

/// A verifier that accepts any certificate, what `tls_insecure_skip_verify = true` (a
/// check) and `tls_skip_verify = true` (a gateway) ask for. The handshake's signatures
/// are still checked, so the connection is at least encrypted to whoever holds that key.
pub fn accept_anything() -> Arc<dyn ServerCertVerifier> {
    Arc::new(AcceptAnything(provider()))
}

#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

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

/// Says what went wrong when a rustls error is somewhere in `error`'s chain
/// ("the certificate of 10.0.0.5 is not trusted: no authority Continuo trusts signed it
/// (give its CA with ca_file)"), for the host the
/// connection was for. (An `io::Error` hides the error it wraps from `source()`, and
/// hyper-rustls wraps tokio-rustls' `io::Error` in another one, so those are looked into.)
pub fn describe_failure(error: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
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
        return format!("the TLS handshake with {host} failed ({error})");
    };
    match problem {
        CertificateError::UnknownIssuer => format!(
            "the certificate of {host} is not trusted: no authority Continuo trusts signed it (give its CA with ca_file)"
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("the certificate of {host} is for another name")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("the certificate of {host} has expired")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the certificate of {host} is not valid yet (is a clock wrong?)")
        }
        CertificateError::Revoked => format!("the certificate of {host} has been revoked"),
        CertificateError::BadSignature | CertificateError::BadEncoding => {
            format!("the certificate of {host} is damaged or badly signed")
        }
        other => format!("the certificate of {host} was refused ({other:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).expect("self-signed").pem()
    }

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(text.as_bytes()).expect("write");
        file
    }

    /// Regression (issue 16, failure 8): `ca_file = "/dev/zero"` grew without bound.
    #[test]
    fn an_endless_ca_file_is_refused_at_the_limit() {
        let error = read_ca_file(Path::new("/dev/zero")).expect_err("endless");
        assert!(matches!(error.problem, CaFileProblem::TooLarge));
        assert_eq!(
            error.to_string(),
            "/dev/zero is larger than 4 MiB, too large for a CA bundle"
        );
        assert_eq!(
            error.dutch(),
            "/dev/zero is groter dan 4 MiB, te groot voor een CA-bundel"
        );
    }

    #[test]
    fn ca_files_are_read_or_say_what_is_wrong() {
        let good = file_with(&ca_pem());
        assert_eq!(read_ca_file(good.path()).expect("a CA").len(), 1);

        let empty = file_with("no certificate here\n");
        let error = read_ca_file(empty.path()).expect_err("no certificate");
        assert!(matches!(error.problem, CaFileProblem::NoCertificate));
        assert!(
            error.to_string().ends_with("holds no certificate"),
            "{error}"
        );
        assert!(error.dutch().ends_with("bevat geen certificaat"));

        let error = read_ca_file(Path::new("/nonexistent/ca.pem")).expect_err("missing");
        assert!(
            error
                .to_string()
                .starts_with("cannot read /nonexistent/ca.pem: ")
        );
        assert!(
            error
                .dutch()
                .starts_with("kan /nonexistent/ca.pem niet lezen: ")
        );
    }

    #[test]
    fn configs_use_the_explicit_provider_and_offer_http1() {
        let certs = read_ca_file(file_with(&ca_pem()).path()).expect("a CA");
        for config in [
            verifying_config(only_roots(&certs).expect("roots")).expect("config"),
            verifying_config(system_roots_and(&certs).expect("roots")).expect("config"),
            skip_verify_config().expect("config"),
        ] {
            assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        }
        assert!(matches!(only_roots(&[]), Err(TlsSetupError::NoUsableCa)));
    }

    #[test]
    fn system_roots_are_loaded_once() {
        assert!(Arc::ptr_eq(&system_roots(), &system_roots()));
        let (a, b) = (
            system_config().expect("config"),
            system_config().expect("config"),
        );
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn certificate_failures_name_the_host_and_the_problem() {
        let check = |problem: CertificateError, expected: &str| {
            let error = std::io::Error::other(rustls::Error::InvalidCertificate(problem));
            assert_eq!(
                describe_failure(&error, "10.0.0.5").as_deref(),
                Some(expected)
            );
        };
        check(
            CertificateError::UnknownIssuer,
            "the certificate of 10.0.0.5 is not trusted: no authority Continuo trusts signed it (give its CA with ca_file)",
        );
        check(
            CertificateError::NotValidForName,
            "the certificate of 10.0.0.5 is for another name",
        );
        check(
            CertificateError::Expired,
            "the certificate of 10.0.0.5 has expired",
        );
        check(
            CertificateError::NotValidYet,
            "the certificate of 10.0.0.5 is not valid yet (is a clock wrong?)",
        );
        assert_eq!(
            describe_failure(&std::io::Error::other("refused"), "h"),
            None
        );
    }
}
