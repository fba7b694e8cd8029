//! The old path of the status page's settings and public ids, kept while callers move:
//! the settings are in [`crate::catalog::status_page`], component ids and statuses in
//! [`crate::public`].

pub use crate::catalog::status_page::*;
pub use crate::public::{ComponentStatus, component_ids, slug};
