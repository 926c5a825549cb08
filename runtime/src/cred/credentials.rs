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
    /// A user name and a token another server issued (a central authentication server's
    /// ticket), checked by the checker with its issuer.
    Token,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::Anonymous => "anonymous",
            CredentialKind::Password => "password",
            CredentialKind::Certificate => "certificate",
            CredentialKind::Token => "token",
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
    /// A user name and a token, as the client presented them: the checker proves them with
    /// the token's issuer.
    Token(PresentedToken),
}

impl Credentials {
    /// The kind of these credentials.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credentials::Anonymous => CredentialKind::Anonymous,
            Credentials::Password(_) => CredentialKind::Password,
            Credentials::Certificate(_) => CredentialKind::Certificate,
            Credentials::Token(_) => CredentialKind::Token,
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

/// A user name and a token as a client presented them, not proved yet: the checker that
/// accepts tokens asks their issuer.
pub struct PresentedToken {
    username: String,
    token: Vec<u8>,
}

impl fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedToken")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl PresentedToken {
    pub(crate) fn new(username: String, token: Vec<u8>) -> Self {
        PresentedToken { username, token }
    }

    /// Who the client says it is.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The token.
    pub fn token(&self) -> &[u8] {
        &self.token
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

/// A signal that ends the logins admitted with it: a checker whose credentials belong to a
/// session kept elsewhere (a central authentication server's) fires it when that session ends,
/// and every login it admitted ends at once: its logout action runs and its references stop
/// working. Clones fire together.
#[derive(Debug, Clone, Default)]
pub struct SessionEnd(Arc<tokio_util::sync::CancellationToken>);

impl SessionEnd {
    /// A signal not fired yet.
    pub fn new() -> Self {
        SessionEnd::default()
    }

    /// Fires it: every login admitted with it (or a clone) ends.
    pub fn end(&self) {
        self.0.cancel();
    }

    /// Whether it fired.
    pub fn is_ended(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves once it fires.
    pub async fn ended(&self) {
        self.0.cancelled().await;
    }

    /// A handle that fires with it, without counting as a clone.
    pub(crate) fn token(&self) -> tokio_util::sync::CancellationToken {
        (*self.0).clone()
    }

    /// Whether a clone other than this one lives on: a login admitted with it is still going
    /// (each keeps one until it ends).
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}
