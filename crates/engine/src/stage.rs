//! The stage seam: what follows a decision of the alert book. Alerts (pages to
//! notices), incidents (timeline, callouts) and subscribers (announcements) are each a
//! [`Stage`]; the decision task runs every stage after every decision, in the order of
//! the one list in `alerts.rs`, and commits what they produced with the books; the
//! dispatcher lets the stages send their own kind of outbox item and hear of every
//! delivery. A new capability implements [`Stage`] and joins the list; the decider and
//! the dispatcher do not change.

use crate::deliver::{Deliver, Sending};
use crate::persist::Persist;
use crate::recipient::Recipient;
use crate::shared::{AlertHandle, Shared};
use continuo_core::alerting::{AlertBook, Page};
use continuo_core::catalog::Catalog;
use continuo_core::evidence::Evidence;
use continuo_core::incident::book::{IncidentBook, IncidentContext, Scope};
use continuo_core::maintenance::Window;
use continuo_notify::{Delivered, SendError};
use continuo_store::{IncidentRow, OutboxItem};
use std::future::Future;
use std::pin::Pin;

/// One decision as the stages see it, and what they add to its commit.
pub(crate) struct Decided<'a> {
    /// For links (public URL, link secret) and the shared state.
    pub(crate) handle: &'a AlertHandle,
    /// The catalog the decision was made with.
    pub(crate) catalog: &'a Catalog,
    /// When.
    pub(crate) now_ms: i64,
    /// The maintenance windows active now.
    pub(crate) windows: &'a [Window],
    /// The alert book after the decision.
    pub(crate) alerts: &'a AlertBook,
    /// The incident book (stages may write on it).
    pub(crate) incidents: &'a mut IncidentBook,
    /// What incident rules need.
    pub(crate) ictx: &'a IncidentContext<'a>,
    /// What the decision changed, for a sync of incidents that looks only there.
    pub(crate) scope: &'a Scope,
    /// The pages the decision caused.
    pub(crate) pages: &'a [Page],
    /// The outbox items of each page, in the order of `pages` (filled by the alerts
    /// stage, read by those after it).
    pub(crate) paged: Vec<Vec<OutboxItem>>,
    /// Every other outbox item to commit, in the order the stages added them.
    pub(crate) items: Vec<OutboxItem>,
    /// The incidents changed by this decision, as stored rows (filled by the incidents
    /// stage).
    pub(crate) changed_incidents: Vec<(String, IncidentRow)>,
    /// Evidence the decision produced (a recovery measured, a page acknowledged),
    /// committed with it.
    pub(crate) evidence: Vec<Evidence>,
}

/// A delivery (or failed attempt) the dispatcher is about to record.
pub(crate) struct Sent<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) store: &'a dyn Persist,
    pub(crate) item: &'a OutboxItem,
    /// The item's receiver (`None`: a stored form no stage knows).
    pub(crate) recipient: Option<&'a Recipient>,
    pub(crate) result: &'a Result<Delivered, SendError>,
    pub(crate) now_ms: i64,
}

/// A stage's work after a delivery.
pub(crate) type Heard<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// What follows a decision: a capability that turns decisions into outbox items and
/// hears how their deliveries went. Every method has a do-nothing default.
pub(crate) trait Stage: Send + Sync {
    /// Inside the decision task, after every decision and before the commit: read the
    /// books and the pages, write on the incident book, add outbox items. Must not
    /// block: it holds the books' locks.
    fn after_decision(&self, decided: &mut Decided<'_>) {
        let _ = decided;
    }

    /// Sends an item this stage owns itself (`None`: not this stage's; the dispatcher
    /// then sends the stored notice through its channel).
    fn send<'a>(
        &'a self,
        shared: &'a Shared,
        deliver: &'a dyn Deliver,
        item: &'a OutboxItem,
        recipient: Option<&'a Recipient>,
    ) -> Option<Sending<'a>> {
        let _ = (shared, deliver, item, recipient);
        None
    }

    /// After a send or failed attempt of any item, before the outbox records it.
    fn on_delivered<'a>(&'a self, sent: Sent<'a>) -> Heard<'a> {
        let _ = sent;
        Box::pin(async {})
    }
}
