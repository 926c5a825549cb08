//! Provides credentials: the kinds a client can present, and what a checker receives once
//! they are proved.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A kind of credentials a client can present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CredentialKind {
    /// No credentials: anonymous access.
    Anonymous,
    /// A username and a password, proved by challenge-response.
    Password,
    /// A client certificate, verified by the TLS handshake.
    Certificate,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::Anonymous => "anonymous",
            CredentialKind::Password => "password",
            CredentialKind::Certificate => "certificate",
        })
    }
}

/// Credentials as a checker receives them, already proved where a proof applies.
#[derive(Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// An anonymous login.
    Anonymous,
    /// A user who proved they know the password of `username`.
    Password(VerifiedPassword),
    /// A client that showed a certificate the TLS handshake verified.
    Certificate(VerifiedCertificate),
}

impl Credentials {
    /// The kind of these credentials.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credentials::Anonymous => CredentialKind::Anonymous,
            Credentials::Password(_) => CredentialKind::Password,
            Credentials::Certificate(_) => CredentialKind::Certificate,
        }
    }
}

/// A username whose password the client proved it knows. Only the runtime makes one, after
/// checking the client's proof against the checker's
/// [`PasswordVerifier`](super::PasswordVerifier).
#[derive(Debug)]
pub struct VerifiedPassword {
    username: String,
}

impl VerifiedPassword {
    pub(crate) fn new(username: String) -> Self {
        VerifiedPassword { username }
    }

    /// The user who logged in.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// A client certificate that the TLS handshake of the login's connection verified against the
/// server's client authorities (`TlsServerConfig::with_client_certificates`): the client holds
/// its private key. Only the runtime makes one.
pub struct VerifiedCertificate {
    der: Arc<[u8]>,
}

impl fmt::Debug for VerifiedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCertificate")
            .field("fingerprint", &Fingerprint(self.fingerprint()))
            .finish()
    }
}

/// A SHA-256 fingerprint, printed in hex.
struct Fingerprint([u8; 32]);

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl VerifiedCertificate {
    pub(crate) fn new(der: Arc<[u8]>) -> Self {
        VerifiedCertificate { der }
    }

    /// The certificate, DER-encoded.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The SHA-256 of the certificate's DER: what pins one certificate.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(&self.der).into()
    }

    /// Whether the certificate names `name` (a DNS name or an IP address) among its subject
    /// alternative names, as a server's certificate is checked against a host.
    #[cfg(feature = "tls")]
    pub fn is_valid_for(&self, name: &str) -> bool {
        let Ok(name) = rustls_pki_types::ServerName::try_from(name) else {
            return false;
        };
        let der = rustls_pki_types::CertificateDer::from(&self.der[..]);
        webpki::EndEntityCert::try_from(&der)
            .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(&name).is_ok())
    }
}
