//! A gateway ready to run: the `[[gateway]]` table joined with its service's endpoints,
//! addresses resolved to `host:port`, durations in `std::time` and the CA bundle read.

use continuo_core::catalog::gateway::{
    Balance, Failback, FailoverAction, Gateway, GatewayMode, endpoint_name, endpoint_target,
};
use continuo_core::catalog::{Catalog, Role};
use continuo_core::{Text, tr};
use std::net::SocketAddr;
use std::time::Duration;

/// One endpoint as the gateway sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointSpec {
    /// Its name (the endpoint's `name`, else its URL).
    pub name: String,
    /// `host:port` to connect to.
    pub address: String,
    /// Primary or backup.
    pub role: Role,
    /// Whether the gateway speaks TLS to it (an `https://` endpoint in HTTP mode); the
    /// server name is the host of `address`.
    pub tls: bool,
}

/// How the gateway verifies `https://` endpoints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TlsSpec {
    /// The certificate authorities trusted instead of the system's roots (`ca_file`),
    /// read when the spec is made, so a reload notices a changed bundle.
    pub ca_certs: Option<Vec<rustls_pki_types::CertificateDer<'static>>>,
    /// Certificates are not verified at all (`tls_skip_verify`).
    pub skip_verify: bool,
}

/// Everything one gateway needs to run.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewaySpec {
    /// The gateway's id.
    pub id: String,
    /// The service it fronts.
    pub service: String,
    /// Where it listens.
    pub listen: SocketAddr,
    /// HTTP or TCP.
    pub mode: GatewayMode,
    /// Balancing within the serving tier.
    pub balance: Balance,
    /// Automatic or manual failback.
    pub failback: Failback,
    /// How long a primary must stay healthy before traffic returns (automatic failback).
    pub failback_after: Duration,
    /// Consecutive failures that eject an endpoint.
    pub eject_after: u32,
    /// Consecutive good checks that bring it back.
    pub recover_after: u32,
    /// Active check interval.
    pub check_interval: Duration,
    /// Active check interval while an endpoint is changing state.
    pub check_fast_interval: Duration,
    /// Path of HTTP checks.
    pub check_path: String,
    /// Connect time limit (and one check's time limit).
    pub connect_timeout: Duration,
    /// Time for one try up to the response headers.
    pub try_timeout: Duration,
    /// Time for all tries of one request up to the response headers.
    pub request_timeout: Duration,
    /// Largest request body buffered for retries.
    pub retry_body_limit: u64,
    /// Most tries per request.
    pub max_tries: u32,
    /// Failover actions are reported, not run.
    pub dry_run: bool,
    /// Failover actions in order.
    pub actions: Vec<FailoverAction>,
    /// The endpoints, primaries and backups in configuration order.
    pub endpoints: Vec<EndpointSpec>,
    /// Verification of `https://` endpoints.
    pub tls: TlsSpec,
}

impl GatewaySpec {
    /// Joins a validated `[[gateway]]` with its service. Errors only for a catalog that
    /// did not pass validation.
    pub fn from_catalog(catalog: &Catalog, gateway: &Gateway) -> Result<GatewaySpec, Text> {
        let id = &gateway.id.value;
        let service_id = &gateway.service.value;
        let service = catalog.service(service_id).ok_or_else(|| {
            tr!(
                "gateway `{id}`: unknown service `{service_id}`",
                "gateway `{id}`: onbekende service `{service_id}`"
            )
        })?;
        let listen = gateway.listen.value.parse::<SocketAddr>().map_err(|_| {
            let v = &gateway.listen.value;
            tr!(
                "gateway `{id}`: `{v}` is not an address to listen on",
                "gateway `{id}`: `{v}` is geen adres om op te luisteren"
            )
        })?;
        let mut endpoints = Vec::new();
        for endpoint in &service.endpoints {
            let target = endpoint_target(&endpoint.url, gateway.mode)?;
            endpoints.push(EndpointSpec {
                name: endpoint_name(endpoint).to_string(),
                address: target.address,
                role: endpoint.role,
                tls: target.tls,
            });
        }
        if endpoints.is_empty() {
            return Err(tr!(
                "gateway `{id}`: service `{service_id}` has no endpoints",
                "gateway `{id}`: service `{service_id}` heeft geen endpoints"
            ));
        }
        Ok(GatewaySpec {
            id: id.clone(),
            service: service_id.clone(),
            listen,
            mode: gateway.mode,
            balance: gateway.balance,
            failback: gateway.failback,
            failback_after: gateway.failback_after.get(),
            eject_after: gateway.eject_after,
            recover_after: gateway.recover_after,
            check_interval: gateway.check_interval.get(),
            check_fast_interval: gateway.check_fast_interval.get(),
            check_path: gateway.check_path.clone(),
            connect_timeout: gateway.connect_timeout.get(),
            try_timeout: gateway.try_timeout.get(),
            request_timeout: gateway.request_timeout.get(),
            retry_body_limit: gateway.retry_body_limit,
            max_tries: gateway.max_tries,
            dry_run: gateway.dry_run,
            actions: gateway.actions.clone(),
            endpoints,
            tls: TlsSpec {
                ca_certs: match &gateway.ca_file_path {
                    Some(path) => Some(read_ca_file(id, path)?),
                    None => None,
                },
                skip_verify: gateway.tls_skip_verify,
            },
        })
    }

    /// A spec with the configuration's defaults, for tests and benchmarks.
    pub fn new(
        id: &str,
        listen: SocketAddr,
        mode: GatewayMode,
        endpoints: Vec<EndpointSpec>,
    ) -> Self {
        GatewaySpec {
            id: id.to_string(),
            service: id.to_string(),
            listen,
            mode,
            balance: Balance::RoundRobin,
            failback: Failback::Auto,
            failback_after: Gateway::DEFAULT_FAILBACK_AFTER,
            eject_after: Gateway::DEFAULT_EJECT_AFTER,
            recover_after: Gateway::DEFAULT_RECOVER_AFTER,
            check_interval: Duration::from_secs(2),
            check_fast_interval: Duration::from_millis(250),
            check_path: "/".into(),
            connect_timeout: Duration::from_secs(1),
            try_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry_body_limit: Gateway::DEFAULT_RETRY_BODY_LIMIT,
            max_tries: 3,
            dry_run: false,
            actions: Vec::new(),
            endpoints,
            tls: TlsSpec::default(),
        }
    }
}

/// The certificates of a PEM bundle; the decoder checked the file already, this reads
/// it again (it may have changed since) and parses it for real.
fn read_ca_file(
    id: &str,
    path: &str,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, Text> {
    continuo_net::tls::read_ca_file(std::path::Path::new(path)).map_err(|why| {
        tr!(
            "gateway `{id}`: ca_file: {}",
            "gateway `{id}`: ca_file: {}",
            why;
            why.dutch()
        )
    })
}
