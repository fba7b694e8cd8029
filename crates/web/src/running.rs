//! What a route needs running on this node, as extractors: alerting (which carries
//! incidents and subscribers too) answers 503 when it does not run here, in one place.

use crate::app::{AppState, Shared};
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use continuo_engine::alerts::AlertHandle;
use continuo_store::Store;

/// The alerting handle; the request is refused with 503 when alerting does not run on
/// this node.
pub(crate) struct Alerting(pub(crate) AlertHandle);

impl Alerting {
    /// The handle, for a handler that must check other things first (a hook's token).
    pub(crate) fn of(state: &AppState) -> Result<Alerting, ApiError> {
        state
            .alerts
            .clone()
            .map(Alerting)
            .ok_or_else(ApiError::alerting_off)
    }
}

impl std::ops::Deref for Alerting {
    type Target = AlertHandle;

    fn deref(&self) -> &AlertHandle {
        &self.0
    }
}

impl FromRequestParts<Shared> for Alerting {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        Alerting::of(state)
    }
}

/// The store, or 503 when this node runs without one.
pub(crate) fn store(state: &AppState) -> Result<&Store, ApiError> {
    state.store.as_ref().ok_or_else(ApiError::no_store)
}
