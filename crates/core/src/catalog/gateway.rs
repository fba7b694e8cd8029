//! `[[gateway]]`: a failover proxy in front of one service's endpoints, as the catalog
//! holds it, and how an endpoint URL becomes where the gateway connects. Decoding and
//! the cross-checks against the catalog are in `crate::decode::gateway`.
//!
//! The running proxy lives in the `gateway` crate; here is only its shape.

use crate::catalog::{Endpoint, Id, Located};
use crate::diag::Loc;
use crate::duration::HumanDuration;
use crate::text::Text;
use crate::tr;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What a gateway proxies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayMode {
    /// HTTP/1.1 and HTTP/2 from clients, HTTP/1.1 to endpoints (over TLS for
    /// `https://` endpoints), with retries.
    Http,
    /// Plain TCP: the endpoint is chosen at connect time, then bytes are copied.
    Tcp,
}

/// How a request picks an endpoint within the tier that serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each endpoint in turn.
    RoundRobin,
    /// The endpoint with the fewest requests in flight.
    LeastOutstanding,
}

/// How traffic returns to the primary tier after a failover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Failback {
    /// When a primary has been healthy for `failback_after`.
    Auto,
    /// Only when an operator says so (`continuo gateway failback`).
    Manual,
}

/// When a failover action runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionTrigger {
    /// When traffic moves from the primary to the backup tier.
    Failover,
    /// When traffic returns to the primary tier.
    Failback,
}

/// The state an HAProxy server is set to (`set server <b>/<s> state <state>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HaproxyState {
    /// Takes traffic.
    Ready,
    /// Finishes what it has, takes nothing new.
    Drain,
    /// Out of service.
    Maint,
}

impl HaproxyState {
    /// The word HAProxy's runtime API uses.
    pub fn word(self) -> &'static str {
        match self {
            HaproxyState::Ready => "ready",
            HaproxyState::Drain => "drain",
            HaproxyState::Maint => "maint",
        }
    }
}

/// What a failover action does.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ActionKind {
    /// Runs a program (no shell) with the event in `CONTINUO_*` environment variables.
    Command {
        /// Program and arguments.
        command: Vec<String>,
    },
    /// POSTs the event as JSON.
    Webhook {
        /// Where to.
        url: String,
        /// Extra request headers.
        headers: BTreeMap<String, String>,
    },
    /// Sets a server's state over HAProxy's runtime API.
    Haproxy {
        /// The admin socket: a unix socket path or `host:port`.
        socket: String,
        /// The backend name.
        backend: String,
        /// The server name in the backend.
        server: String,
        /// The state to set.
        state: HaproxyState,
    },
}

/// One failover action.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailoverAction {
    /// When it runs.
    pub on: ActionTrigger,
    /// How long it may take.
    pub timeout: HumanDuration,
    /// What it does.
    #[serde(flatten)]
    pub kind: ActionKind,
}

/// A failover gateway in front of a service's endpoints.
#[derive(Clone, Debug, Serialize)]
pub struct Gateway {
    /// Identifier (used by `continuo gateway drain <gateway> <endpoint>`).
    pub id: Id,
    /// Address to listen on, `ip:port`.
    pub listen: Located<String>,
    /// The service whose endpoints it fronts.
    pub service: Id,
    /// HTTP or TCP.
    pub mode: GatewayMode,
    /// Balancing within the tier that serves.
    pub balance: Balance,
    /// Automatic failback with hysteresis, or manual.
    pub failback: Failback,
    /// How long a primary must stay healthy before traffic returns to it.
    pub failback_after: HumanDuration,
    /// Consecutive failures (live traffic or checks) that take an endpoint out.
    pub eject_after: u32,
    /// Consecutive successful checks that bring an ejected endpoint back.
    pub recover_after: u32,
    /// Interval of the gateway's own active checks.
    pub check_interval: HumanDuration,
    /// Interval while an endpoint is changing state (failing or recovering).
    pub check_fast_interval: HumanDuration,
    /// Path requested by HTTP checks (a status below 500 is healthy).
    pub check_path: String,
    /// Time to connect to an endpoint (and one check's time limit).
    pub connect_timeout: HumanDuration,
    /// Time for one try, up to the response headers.
    pub try_timeout: HumanDuration,
    /// Time for all tries of one request, up to the response headers.
    pub request_timeout: HumanDuration,
    /// Largest request body buffered so the request can be retried.
    pub retry_body_limit: u64,
    /// Most tries of one request (each on another endpoint).
    pub max_tries: u32,
    /// Failover actions are reported, not run.
    pub dry_run: bool,
    /// Failover actions, in order.
    pub actions: Vec<FailoverAction>,
    /// A PEM bundle of the certificate authorities trusted for `https://` endpoints,
    /// instead of the system's roots; as written, relative to the file that declares the
    /// gateway.
    pub ca_file: Option<Located<String>>,
    /// `ca_file` resolved against the declaring file's folder (set by `load`).
    pub ca_file_path: Option<String>,
    /// `https://` endpoints' certificates are not verified (warned about).
    pub tls_skip_verify: bool,
    /// Where the `[[gateway]]` table starts.
    #[serde(skip)]
    pub loc: Loc,
}

impl Gateway {
    /// Defaults of every optional field, shared by decoding and documentation.
    pub const DEFAULT_FAILBACK_AFTER: Duration = Duration::from_secs(30);
    /// Consecutive failures before an endpoint is ejected.
    pub const DEFAULT_EJECT_AFTER: u32 = 3;
    /// Consecutive good checks before it is back.
    pub const DEFAULT_RECOVER_AFTER: u32 = 2;
    /// Default largest body buffered for retries (64 KiB).
    pub const DEFAULT_RETRY_BODY_LIMIT: u64 = 64 * 1024;
}

/// Where a gateway connects for one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointTarget {
    /// `host:port` to connect to (an IPv6 host keeps its brackets); its host is the TLS
    /// server name of an `https://` endpoint.
    pub address: String,
    /// Whether the gateway speaks TLS to it: an `https://` endpoint of an HTTP gateway.
    /// A TCP gateway never does: it splices bytes, so a client's own TLS passes through.
    pub tls: bool,
}

/// Turns an endpoint URL into where the gateway connects: `http://h[:p]/...` (port 80 by
/// default), `https://h[:p]/...` (port 443 by default; TLS in HTTP mode, a plain
/// `h:port` in TCP mode), `tcp://h:p`, any other `scheme://h:p` in TCP mode, or bare
/// `h:p`.
pub fn endpoint_target(url: &str, mode: GatewayMode) -> Result<EndpointTarget, Text> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, url),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if let Some(s) = scheme.as_deref()
        && mode == GatewayMode::Http
        && s != "http"
        && s != "https"
    {
        return Err(tr!(
            "endpoint `{url}` uses `{s}://`; an HTTP gateway connects to endpoints over http:// or https://",
            "endpoint `{url}` gebruikt `{s}://`; een HTTP-gateway verbindt met endpoints via http:// of https://"
        ));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && !h.ends_with(':') && p.parse::<u16>().is_ok());
    let default_port = match scheme.as_deref() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    };
    let address = match default_port {
        _ if has_port => authority.to_string(),
        Some(port) if !authority.is_empty() => format!("{authority}:{port}"),
        _ => {
            return Err(tr!(
                "endpoint `{url}` has no host and port the gateway can connect to",
                "endpoint `{url}` heeft geen host en poort waarmee de gateway kan verbinden"
            ));
        }
    };
    let host = address.rsplit_once(':').map_or("", |(h, _)| h);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(tr!(
            "endpoint `{url}` has no host and port the gateway can connect to",
            "endpoint `{url}` heeft geen host en poort waarmee de gateway kan verbinden"
        ));
    }
    Ok(EndpointTarget {
        tls: mode == GatewayMode::Http && scheme.as_deref() == Some("https"),
        address,
    })
}

/// The `host:port` of [`endpoint_target`].
pub fn endpoint_address(url: &str, mode: GatewayMode) -> Result<String, Text> {
    endpoint_target(url, mode).map(|t| t.address)
}

/// The name an endpoint is known by in a gateway: its `name`, else its URL.
pub fn endpoint_name(endpoint: &Endpoint) -> &str {
    endpoint.name.as_deref().unwrap_or(&endpoint.url)
}
