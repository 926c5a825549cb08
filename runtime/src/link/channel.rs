//! Provides [`Channel`], what a connection's transport tells about the channel under it: the
//! value that binds a login to a TLS session, and the certificate the peer showed.

use std::fmt;
use std::sync::Arc;

/// What the transport of one connection knows about its channel.
#[derive(Clone, Default)]
pub(crate) struct Channel {
    /// On TLS, the session's exporter value (RFC 9266 `tls-exporter`: the label
    /// `EXPORTER-Channel-Binding`, no context, 32 bytes); both ends of one TLS session get the
    /// same value, and a man in the middle's two sessions two different ones. A password login
    /// signs it (see `cred/scram.rs`).
    pub(crate) binding: Option<[u8; 32]>,
    /// On TLS, the end-entity certificate the peer showed (DER), once the handshake checked it.
    pub(crate) peer_certificate: Option<Arc<[u8]>>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("bound", &self.binding.is_some())
            .field("peer_certificate", &self.peer_certificate.is_some())
            .finish()
    }
}
