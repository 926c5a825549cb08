//! Provides the handing-over of references by a message: the ids of the peer's objects a
//! message lists are counted in the import table before its payload is decoded (or
//! discarded), and settled after.

use crate::error::ProtocolError;
use crate::link::shared::Shared;
use crate::wire::IdList;
use std::sync::Arc;

/// Counts the references a message hands over. The list is checked against
/// [`Config::max_exports`](crate::Config::max_exports) (the limit our hello told the peer)
/// before anything is allocated for it; once they are counted, so is the number of the peer's
/// objects we hold: a peer that keeps to the limit we told it never exports more to us.
///
/// # Errors
/// [`ProtocolError::Malformed`] if the list is malformed or too long,
/// [`ProtocolError::TooManyImports`] if the peer hands over more objects than it may (the
/// connection closes, and with it every reference the peer handed over).
pub(crate) fn announce(shared: &Shared, exports: IdList<'_>) -> Result<Vec<u64>, ProtocolError> {
    if exports.is_empty() {
        return Ok(Vec::new());
    }
    let limit = shared.config.max_exports;
    let ids = exports.decode(limit)?;
    let mut imports = shared.tables.imports.lock();
    for &id in &ids {
        imports.announce(id);
    }
    if imports.len() > limit {
        return Err(ProtocolError::TooManyImports { limit });
    }
    Ok(ids)
}

/// Settles the ids a message handed over when it is dropped: once its payload is decoded or
/// discarded, ids no handle holds are released to the peer.
pub(crate) struct Handover {
    /// The connection and the ids, unless the message handed over none (the common case,
    /// which then costs nothing).
    held: Option<(Arc<Shared>, Vec<u64>)>,
}

impl Handover {
    /// Holds `ids`, announced on `shared`, until dropped.
    pub(crate) fn new(shared: &Arc<Shared>, ids: Vec<u64>) -> Self {
        let held = (!ids.is_empty()).then(|| (Arc::clone(shared), ids));
        Handover { held }
    }
}

impl Drop for Handover {
    fn drop(&mut self) {
        if let Some((shared, ids)) = &self.held {
            shared.settle(ids);
        }
    }
}
