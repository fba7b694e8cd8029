//! What every probe test needs: a check decoded from a few lines of configuration, a
//! way to run it, and certificates made on the spot.

use continuo_core::catalog::Check;
use continuo_core::load_text;
use continuo_core::observation::Measurement;
use continuo_core::state::Verdict;
use continuo_probe::ProbeContext;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The timeout of probes that are expected to finish: generous, since no test may depend
/// on how fast this machine is.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A short timeout for probes that are expected to time out.
pub const SHORT: Duration = Duration::from_millis(300);

/// The configuration of one service with one check made of `fields` (the lines of a
/// `[[service.check]]` table), decoded the way a user's file is.
pub fn config(fields: &str) -> String {
    format!(
        "[[team]]\nid = \"ops\"\n\n[[service]]\nid = \"svc\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n\n[[service.check]]\n{fields}\n"
    )
}

/// The check described by `fields`.
pub fn check(fields: &str) -> Check {
    let catalog = load_text(&config(fields))
        .unwrap_or_else(|e| panic!("invalid test check:\n{fields}\n{e:?}"));
    Check::clone(&catalog.services[0].checks[0])
}

/// Builds the check of `fields` (CA files relative to `dir`) and runs it once.
pub async fn run_in(dir: &Path, fields: &str, timeout: Duration) -> Measurement {
    let probe = continuo_probe::build(&check(fields), &ProbeContext::new(dir))
        .unwrap_or_else(|e| panic!("cannot build:\n{fields}\n{e}"))
        .expect("an active check");
    probe.run(timeout).await
}

/// [`run_in`] for checks that read no file.
pub async fn run(fields: &str, timeout: Duration) -> Measurement {
    run_in(Path::new("."), fields, timeout).await
}

/// Asserts the verdict and that the message contains every one of `parts`.
#[track_caller]
pub fn assert_measured(m: &Measurement, verdict: Verdict, parts: &[&str]) {
    assert_eq!(m.verdict, verdict, "unexpected verdict: {m:#?}");
    for part in parts {
        assert!(
            m.message.contains(part),
            "message {:?} lacks {part:?}",
            m.message
        );
    }
}

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key, ready for rustls.
pub struct ServerCert {
    /// Leaf certificate.
    pub chain: Vec<CertificateDer<'static>>,
    /// Its private key (PKCS#8 DER).
    pub key: Vec<u8>,
}

impl TestCa {
    /// A new CA called `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA certificate as PEM, as a user's `ca_file` holds it.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for 127.0.0.1 and localhost that expires `valid_for` from now.
    pub fn server_cert(&self, valid_for: Duration) -> ServerCert {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock after 1970");
        self.cert_between(now - Duration::from_secs(3600), now + valid_for)
    }

    /// A certificate for 127.0.0.1 and localhost that expired a day ago.
    pub fn expired_cert(&self) -> ServerCert {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock after 1970");
        let day = Duration::from_secs(86_400);
        self.cert_between(now - 30 * day, now - day)
    }

    /// A certificate valid from `not_before` to `not_after`, both since the Unix epoch.
    fn cert_between(&self, not_before: Duration, not_after: Duration) -> ServerCert {
        let mut params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + not_before;
        params.not_after = epoch + not_after;
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        ServerCert {
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
        }
    }
}

impl ServerCert {
    /// A rustls server configuration presenting this certificate, offering `alpn`.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .expect("server certificate");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// A fresh directory for files a check reads (CA files), removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}
