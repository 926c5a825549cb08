//! Provides TLS through rustls (the `tls` feature): the server's settings
//! ([`TlsServerConfig`]: its certificate and key from PEM files, client certificates if
//! wanted), the client's ([`TlsClientConfig`]: the authorities it trusts, or one pinned
//! certificate), and [`TlsError`], what goes wrong, typed.
//!
//! Only TLS 1.3 is spoken, with ring as the crypto provider. Set the settings in
//! [`Config::tls_server`](crate::Config::tls_server) and
//! [`Config::tls_client`](crate::Config::tls_client), then bind or connect a `tls://`
//! endpoint.

mod pinned;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;

/// What went wrong with TLS: reading the settings, or a handshake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// PEM text holds no certificate, or one that does not parse.
    #[error("{what} holds no usable PEM certificate")]
    NoCertificate {
        /// The file, or "the PEM text".
        what: String,
    },
    /// PEM text holds no private key, or one that does not parse.
    #[error("{what} holds no usable PEM private key")]
    NoPrivateKey {
        /// The file, or "the PEM text".
        what: String,
    },
    /// rustls refused the settings (a key that does not match its certificate, say).
    #[error("the TLS settings are refused: {0}")]
    Settings(String),
    /// The server's certificate is not signed by an authority the client trusts, or is not
    /// the pinned one.
    #[error(
        "the server's certificate is not trusted: it is not signed by a trusted authority (or not the pinned certificate)"
    )]
    UnknownIssuer,
    /// The server's certificate is not valid for the host the client asked for.
    #[error("the server's certificate is not valid for `{host}`")]
    WrongHost {
        /// The host of the endpoint.
        host: String,
    },
    /// The server's certificate has expired, or is not valid yet.
    #[error("the server's certificate has expired or is not valid yet")]
    Expired,
    /// The certificate was refused for another reason.
    #[error("the certificate is refused: {0}")]
    BadCertificate(String),
    /// The peer does not speak TLS (a plain tartine server on this port, say).
    #[error("the peer does not speak TLS: is this a plain `tcp://` endpoint?")]
    NotTls,
    /// The peer ended the handshake with an alert (it requires a client certificate, or
    /// refused ours, say).
    #[error("the peer refused the TLS handshake: {0}")]
    Refused(String),
    /// The endpoint's host cannot be a TLS server name.
    #[error("`{host}` cannot be checked against a certificate: not a DNS name or an IP address")]
    BadHost {
        /// The host of the endpoint.
        host: String,
    },
    /// The handshake did not complete in [`Config::handshake_timeout`](crate::Config::handshake_timeout).
    #[error("the TLS handshake timed out")]
    Timeout,
    /// The handshake failed otherwise.
    #[error("the TLS handshake failed: {0}")]
    Handshake(String),
}

/// The crypto provider every configuration uses: ring's, preferring AES-128-GCM (fast where
/// the CPU has AES instructions, and ample), then AES-256-GCM and ChaCha20-Poly1305.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::crypto::ring::cipher_suite;
    Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ],
        ..rustls::crypto::ring::default_provider()
    })
}

/// A server's TLS settings: its certificate chain and private key, and whether it asks
/// clients for certificates.
///
/// ```no_run
/// # fn run() -> Result<(), tartine::TlsError> {
/// let mut config = tartine::Config::default();
/// config.tls_server = Some(tartine::TlsServerConfig::from_pem_files("server.pem", "server.key")?);
/// // Server::bind_with("tls://0.0.0.0:7443", root, config)
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsServerConfig {
    pub(crate) rustls: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig").finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// The certificate chain (leaf first) and the private key, from PEM files. Clients are
    /// not asked for certificates.
    ///
    /// # Errors
    /// When a file cannot be read, holds no certificate or key, or the key does not match.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let certs = certificates_from_file(cert_chain.as_ref())?;
        let key = key_from_file(key.as_ref())?;
        Self::build(certs, key, None)
    }

    /// As [`from_pem_files`](Self::from_pem_files), from PEM text.
    ///
    /// # Errors
    /// When the text holds no certificate or key, or the key does not match.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let certs = certificates_from_pem(cert_chain, "the PEM text")?;
        let key = key_from_pem(key, "the PEM text")?;
        Self::build(certs, key, None)
    }

    /// The same settings, asking each client for a certificate signed by one of the
    /// authorities in `client_cas` (PEM text). A client without one is still served (it
    /// logs in with a password, say); a client whose certificate fails the check is refused.
    ///
    /// # Errors
    /// When the text holds no certificate.
    pub fn with_client_certificates(
        cert_chain: &[u8],
        key: &[u8],
        client_cas: &[u8],
    ) -> Result<Self, TlsError> {
        let certs = certificates_from_pem(cert_chain, "the PEM text")?;
        let key = key_from_pem(key, "the PEM text")?;
        let roots = root_store(certificates_from_pem(client_cas, "the PEM text")?)?;
        Self::build(certs, key, Some(roots))
    }

    /// Settings of your own, built with rustls.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> Self {
        TlsServerConfig { rustls: config }
    }

    /// The rustls settings.
    pub fn as_rustls(&self) -> &Arc<rustls::ServerConfig> {
        &self.rustls
    }

    fn build(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        client_roots: Option<rustls::RootCertStore>,
    ) -> Result<Self, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(settings)?;
        let builder = match client_roots {
            None => builder.with_no_client_auth(),
            Some(roots) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider(),
                )
                .allow_unauthenticated()
                .build()
                .map_err(|error| TlsError::Settings(error.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(certs, key).map_err(settings)?;
        Ok(TlsServerConfig {
            rustls: Arc::new(config),
        })
    }
}

/// A client's TLS settings: whom it trusts (authorities, or one pinned certificate), and the
/// certificate it shows, if any.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut config = tartine::Config::default();
/// config.tls_client = Some(tartine::TlsClientConfig::from_ca_file("ca.pem")?);
/// let connection = tartine::connect_with("tls://chat.example.org:7443", config).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsClientConfig {
    pub(crate) rustls: Arc<rustls::ClientConfig>,
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig").finish_non_exhaustive()
    }
}

/// Whom a client trusts.
enum Trust {
    Authorities(rustls::RootCertStore),
    Pinned(CertificateDer<'static>),
}

impl TlsClientConfig {
    /// Trusts the certificate authorities in a PEM file; the server's certificate must be
    /// signed by one of them, valid now, and valid for the endpoint's host.
    ///
    /// # Errors
    /// When the file cannot be read or holds no certificate.
    pub fn from_ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let roots = root_store(certificates_from_file(path.as_ref())?)?;
        Self::build(Trust::Authorities(roots), None)
    }

    /// As [`from_ca_file`](Self::from_ca_file), from PEM text.
    ///
    /// # Errors
    /// When the text holds no certificate.
    pub fn from_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let roots = root_store(certificates_from_pem(pem, "the PEM text")?)?;
        Self::build(Trust::Authorities(roots), None)
    }

    /// Trusts exactly one certificate (the first in the PEM text), the server's own: the pin
    /// replaces the authority, host name and date checks, and the server still proves that it
    /// holds the certificate's key. Rotating the server's certificate means a new pin.
    ///
    /// # Errors
    /// When the text holds no certificate.
    pub fn pinned_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let pinned =
            first_certificate(certificates_from_pem(pem, "the PEM text")?, "the PEM text")?;
        Self::build(Trust::Pinned(pinned), None)
    }

    /// As [`pinned_pem`](Self::pinned_pem), from a PEM file.
    ///
    /// # Errors
    /// When the file cannot be read or holds no certificate.
    pub fn pinned_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let path = path.as_ref();
        let pinned = first_certificate(certificates_from_file(path)?, &path.display().to_string())?;
        Self::build(Trust::Pinned(pinned), None)
    }

    /// The same trust, showing a client certificate (chain and key in PEM text) to servers
    /// that ask for one.
    ///
    /// # Errors
    /// When the text holds no certificate or key, or the key does not match.
    pub fn with_client_certificate(
        ca_pem: &[u8],
        cert_chain: &[u8],
        key: &[u8],
    ) -> Result<Self, TlsError> {
        let roots = root_store(certificates_from_pem(ca_pem, "the PEM text")?)?;
        let certs = certificates_from_pem(cert_chain, "the PEM text")?;
        let key = key_from_pem(key, "the PEM text")?;
        Self::build(Trust::Authorities(roots), Some((certs, key)))
    }

    /// Settings of your own, built with rustls.
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        TlsClientConfig { rustls: config }
    }

    /// The rustls settings.
    pub fn as_rustls(&self) -> &Arc<rustls::ClientConfig> {
        &self.rustls
    }

    fn build(
        trust: Trust,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(settings)?;
        let builder = match trust {
            Trust::Authorities(roots) => builder.with_root_certificates(roots),
            Trust::Pinned(pinned) => {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(pinned::PinnedCertificate::new(
                        pinned,
                        provider(),
                    )))
            }
        };
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((certs, key)) => builder
                .with_client_auth_cert(certs, key)
                .map_err(settings)?,
        };
        Ok(TlsClientConfig {
            rustls: Arc::new(config),
        })
    }
}

fn settings(error: rustls::Error) -> TlsError {
    TlsError::Settings(error.to_string())
}

fn certificates_from_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::File {
        path: path.to_owned(),
        source,
    })?;
    certificates_from_pem(&pem, &path.display().to_string())
}

fn certificates_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what: what.to_owned(),
        });
    }
    Ok(certs)
}

fn first_certificate(
    certs: Vec<CertificateDer<'static>>,
    what: &str,
) -> Result<CertificateDer<'static>, TlsError> {
    certs
        .into_iter()
        .next()
        .ok_or_else(|| TlsError::NoCertificate {
            what: what.to_owned(),
        })
}

fn key_from_file(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::File {
        path: path.to_owned(),
        source,
    })?;
    key_from_pem(&pem, &path.display().to_string())
}

fn key_from_pem(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|_| TlsError::NoPrivateKey {
        what: what.to_owned(),
    })
}

fn root_store(certs: Vec<CertificateDer<'static>>) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|error| TlsError::Settings(error.to_string()))?;
    }
    Ok(roots)
}

/// The server name a client checks the certificate against, from the endpoint's host.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::BadHost {
        host: host.to_owned(),
    })
}

/// How many bytes of sealed records a session holds ahead of its socket (rustls's default is
/// 64 KiB). Two full records: a large frame's first records reach the peer, which decrypts them
/// while the rest is sealed, sooner than with four. A 1 MiB echo runs at 0.87x to 0.96x plain
/// TCP with 32 KiB, 0.71x to 0.86x with 64 KiB, 0.75x to 0.79x with 16 KiB and 0.67x to 0.69x
/// with 256 KiB (see `benches/README.md`).
const SEALED_AHEAD: usize = 32 * 1024;

/// Sets up an established session for tartine's traffic: see [`SEALED_AHEAD`].
pub(crate) fn tune<D>(session: &mut rustls::ConnectionCommon<D>) {
    session.set_buffer_limit(Some(SEALED_AHEAD));
}

/// Whether `error` carries a rustls error.
pub(crate) fn is_tls_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

/// What a failed client handshake means, from the error tokio-rustls returned.
pub(crate) fn client_failure(error: io::Error, host: &str) -> TlsError {
    use rustls::{CertificateError, Error};
    let Some(inner) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
    else {
        return match error.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => TlsError::NotTls,
            _ => TlsError::Handshake(error.to_string()),
        };
    };
    match inner {
        Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                TlsError::UnknownIssuer
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsError::WrongHost {
                    host: host.to_owned(),
                }
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsError::Expired,
            CertificateError::Other(other)
                if other.0.downcast_ref::<webpki::Error>()
                    == Some(&webpki::Error::CaUsedAsEndEntity) =>
            {
                TlsError::BadCertificate(
                    "the server's certificate is marked as an authority (CA): a self-signed \
                     certificate trusted as its own authority must not be; or pin it"
                        .to_owned(),
                )
            }
            other => TlsError::BadCertificate(format!("{other:?}")),
        },
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => TlsError::NotTls,
        Error::AlertReceived(alert) => TlsError::Refused(format!("{alert:?}")),
        other => TlsError::Handshake(other.to_string()),
    }
}
