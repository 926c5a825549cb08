//! Provides the preamble both sides write first: tartine's magic and the protocol version.

use crate::error::HandshakeError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The protocol version this build speaks. Version 5: each side's hello says the largest frame
/// it accepts, and the other sends none larger. Version 4: a password login signs the channel
/// binding (the TLS session's `tls-exporter` value, empty over a plain stream). Version 3: interfaces are named by their crate and
/// type or trait name (or their `name = ".."`), not by their module path; version 2: id lists
/// in headers are byte strings of varints, and a password login proves both sides before the
/// client sends its mind.
pub const PROTOCOL_VERSION: u8 = 6;

/// The eight bytes each side writes first: the magic `TARTINE` and [`PROTOCOL_VERSION`].
pub const PREAMBLE: [u8; 8] = [b'T', b'A', b'R', b'T', b'I', b'N', b'E', PROTOCOL_VERSION];

/// Writes our preamble and checks the peer's.
///
/// # Errors
/// [`HandshakeError::BadMagic`] if the peer is not tartine, [`HandshakeError::VersionMismatch`]
/// if it speaks another version, [`HandshakeError::Closed`] or [`HandshakeError::Io`] if the
/// socket fails.
pub async fn exchange_preamble<S>(io: &mut S) -> Result<(), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(&PREAMBLE).await?;
    io.flush().await?;
    let mut theirs = [0u8; 8];
    let mut filled = 0;
    while filled < theirs.len() {
        let read = io.read(&mut theirs[filled..]).await?;
        if read == 0 {
            // A TLS server answers our preamble with an alert, then closes.
            return Err(if looks_like_tls(&theirs[..filled]) {
                HandshakeError::PeerSpeaksTls
            } else {
                HandshakeError::Closed
            });
        }
        filled += read;
    }
    if looks_like_tls(&theirs) {
        return Err(HandshakeError::PeerSpeaksTls);
    }
    if theirs[..7] != PREAMBLE[..7] {
        return Err(HandshakeError::BadMagic);
    }
    if theirs[7] != PROTOCOL_VERSION {
        return Err(HandshakeError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: theirs[7],
        });
    }
    Ok(())
}

/// Whether `bytes` start like a TLS record: an alert or a handshake, version 3.x.
fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, ..])
}
