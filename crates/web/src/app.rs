//! What every route shares: the application state handed to the router, and the
//! seam to the failover gateways the binary runs. A bottom module: it imports nothing
//! else from this crate, so every other module may import it.

use continuo_engine::{EngineHandle, ReloadSummary};
use continuo_store::Store;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Reloads the configuration from wherever it came from; the error lists what is wrong.
pub type Reloader = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<ReloadSummary, String>> + Send>> + Send + Sync,
>;

/// What the routes need.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: EngineHandle,
    /// The store, for history.
    pub store: Option<Store>,
    /// Reloads the configuration (API and SIGHUP share it).
    pub reloader: Option<Reloader>,
    /// The admin token (`CONTINUO_ADMIN_TOKEN`): a bearer token with the admin role,
    /// besides users' sessions and API tokens.
    pub admin_token: Option<String>,
    /// Alerting, when it runs on this node.
    pub alerts: Option<continuo_engine::alerts::AlertHandle>,
    /// The failover gateways, when any run on this node.
    pub gateways: Option<Arc<dyn GatewayControl>>,
}

/// The state the routes share: one allocation, so each extractor and middleware that
/// takes it costs one reference count, not a copy of every handle in [`AppState`].
pub(crate) type Shared = Arc<AppState>;

/// Largest request body accepted anywhere (pings keep only the first part of it).
pub(crate) const BODY_LIMIT: usize = 1 << 20;

/// Why a gateway command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlFailure {
    /// No such gateway or endpoint (the text says which).
    NotFound(String),
    /// The command cannot be carried out now (the text says why).
    Refused(String),
}

/// What the routes need from the running gateways (implemented by the binary).
pub trait GatewayControl: Send + Sync {
    /// Every gateway's status, as a JSON array.
    fn status(&self) -> Value;
    /// Drains (`true`) or undrains an endpoint.
    fn set_drained(
        &self,
        gateway: &str,
        endpoint: &str,
        drained: bool,
    ) -> Result<(), ControlFailure>;
    /// Returns traffic to the primary tier now.
    fn fail_back(&self, gateway: &str) -> Result<(), ControlFailure>;
    /// Registers the gateways' metrics in the registry `/metrics` encodes.
    fn register_metrics(&self, registry: &mut continuo_engine::metrics::Registry);
}
