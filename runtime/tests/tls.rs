//! TLS over real sockets, with certificates made here (rcgen): calls and logins over
//! `tls://`, each way a handshake can fail (typed on the client, and the server goes on),
//! pinned certificates, client certificates, and bad settings.
#![cfg(feature = "tls")]

mod common;

use common::login::{Club, Player};
use common::{Echo, Live};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::PathBuf;
use std::sync::Arc;
use tartine::cred::{CertificateNames, InMemoryPasswords, LoginCredentials, LoginError, Portal};
use tartine::{
    Config, ConnectError, HandshakeError, Server, ServerHandle, TlsClientConfig, TlsError,
    TlsServerConfig,
};

/// A certificate authority of the tests.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
struct Issued {
    cert: String,
    key: String,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        Authority {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names`, valid from now for a year.
    fn issue(&self, names: &[&str]) -> Issued {
        self.issue_with(names, |_| {})
    }

    fn issue_with(&self, names: &[&str], adjust: impl FnOnce(&mut CertificateParams)) -> Issued {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "tartine test");
        adjust(&mut params);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// A self-signed certificate for `names`.
fn self_signed(names: &[&str]) -> Issued {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let params = CertificateParams::new(names).expect("params");
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    Issued {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// A fresh folder for PEM files.
fn folder() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let folder = std::env::temp_dir().join(format!(
        "tartine-tls-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("temp folder");
    folder
}

/// Serves the echo over TLS with `tls` on a loopback port; returns the port.
async fn echo_over_tls(tls: TlsServerConfig) -> (u16, ServerHandle) {
    let mut config = Config::default();
    config.tls_server = Some(tls);
    let server = Server::bind_with(
        "tls://127.0.0.1:0",
        Arc::new(Echo::new(Live::default())),
        config,
    )
    .await
    .expect("bind");
    let port = server.local_addr().expect("address").port();
    let handle = server.handle();
    tokio::spawn(server.run());
    (port, handle)
}

fn client(tls: TlsClientConfig) -> Config {
    let mut config = Config::default();
    config.tls_client = Some(tls);
    config
}

async fn echo_works(endpoint: &str, config: Config) -> Result<(), ConnectError> {
    let connection = tartine::connect_with(endpoint, config).await?;
    let echo = connection.root::<Echo>().expect("root");
    assert_eq!(echo.echo("sealed".into()).await.expect("call"), "sealed");
    Ok(())
}

#[tokio::test]
async fn logins_and_calls_cross_tls_with_pem_files() {
    let authority = Authority::new("tartine test CA");
    let issued = authority.issue(&["localhost", "127.0.0.1"]);
    let files = folder();
    std::fs::write(files.join("ca.pem"), authority.pem()).expect("write");
    std::fs::write(files.join("server.pem"), &issued.cert).expect("write");
    std::fs::write(files.join("server.key"), &issued.key).expect("write");

    let mut config = Config::default();
    config.tls_server = Some(
        TlsServerConfig::from_pem_files(files.join("server.pem"), files.join("server.key"))
            .expect("server settings"),
    );
    let portal = Portal::new(Club::new()).with_checker(
        InMemoryPasswords::new()
            .with_user("alice", "wonderland")
            .expect("randomness"),
    );
    let server = Server::bind_portal_with("tls://127.0.0.1:0", portal, config)
        .await
        .expect("bind");
    let endpoint = server.local_endpoint().expect("endpoint");
    assert!(
        endpoint.to_string().starts_with("tls://127.0.0.1:"),
        "{endpoint}"
    );
    tokio::spawn(server.run());

    let tls = TlsClientConfig::from_ca_file(files.join("ca.pem")).expect("client settings");
    let connection = tartine::connect_with(&endpoint, client(tls))
        .await
        .expect("TLS connection");
    assert!(connection.peer_addr().is_some());
    let player = connection
        .login::<Player>(LoginCredentials::password("alice", "wonderland"))
        .await
        .expect("login over TLS");
    assert_eq!(player.name().await.expect("call"), "alice");
    assert_eq!(player.foo(7).await.expect("call"), "I am alice, foo(7)");
}

/// Payloads far larger than what a session seals ahead of its socket, one at a time and many
/// at once: each sealed in part by its sender and finished by the writer, and each arrives
/// whole, to its own caller.
#[tokio::test]
async fn large_payloads_cross_tls_whole() {
    let own = self_signed(&["localhost"]);
    let (port, _handle) = echo_over_tls(
        TlsServerConfig::from_pem(own.cert.as_bytes(), own.key.as_bytes()).expect("settings"),
    )
    .await;
    let pinned = TlsClientConfig::pinned_pem(own.cert.as_bytes()).expect("pin");
    let connection = tartine::connect_with(&format!("tls://localhost:{port}"), client(pinned))
        .await
        .expect("TLS connection");
    let echo = connection.root::<Echo>().expect("root");
    let payload = |i: usize, len: usize| {
        let bytes: Vec<u8> = (0..len).map(|j| (i * 13 + j % 241) as u8).collect();
        tartine::Bytes::from(bytes)
    };
    for (i, len) in [16 * 1024, 100_000, 1 << 20, 3 << 20]
        .into_iter()
        .enumerate()
    {
        let sent = payload(i, len);
        let echoed = echo.echo_bytes(sent.clone()).await.expect("echoed");
        assert!(echoed == sent, "{len} bytes echoed whole");
    }
    let calls = (0..16).map(|i| {
        let sent = payload(i, 200_000 + i * 1_000);
        let echo = echo.clone();
        async move { (echo.echo_bytes(sent.clone()).await, sent) }
    });
    for (echoed, sent) in futures_util::future::join_all(calls).await {
        assert!(echoed.expect("echoed") == sent, "each to its caller");
    }
}

#[tokio::test]
async fn each_failed_handshake_is_typed_and_the_server_goes_on() {
    let authority = Authority::new("tartine test CA");
    let trusted = TlsClientConfig::from_ca_pem(authority.pem().as_bytes()).expect("trust");
    let localhost = authority.issue(&["localhost"]);
    let (port, handle) = echo_over_tls(
        TlsServerConfig::from_pem(localhost.cert.as_bytes(), localhost.key.as_bytes())
            .expect("settings"),
    )
    .await;

    // The wrong host: the certificate names `localhost`, the client asked for 127.0.0.1.
    let error = echo_works(&format!("tls://127.0.0.1:{port}"), client(trusted.clone()))
        .await
        .expect_err("not valid for the IP");
    assert!(
        matches!(&error, ConnectError::Tls(TlsError::WrongHost { host }) if host == "127.0.0.1"),
        "{error:?}"
    );

    // An authority the client does not trust.
    let stranger = Authority::new("someone else");
    let other_trust = TlsClientConfig::from_ca_pem(stranger.pem().as_bytes()).expect("trust");
    let error = echo_works(&format!("tls://localhost:{port}"), client(other_trust))
        .await
        .expect_err("unknown authority");
    assert!(
        matches!(error, ConnectError::Tls(TlsError::UnknownIssuer)),
        "{error:?}"
    );

    // A plain client on the TLS port.
    let error = echo_works(&format!("tcp://127.0.0.1:{port}"), Config::default())
        .await
        .expect_err("plain on TLS");
    assert!(
        matches!(
            error,
            ConnectError::Handshake(HandshakeError::PeerSpeaksTls)
        ),
        "{error:?}"
    );
    assert!(
        !format!("{error}").is_empty(),
        "the error reads as a sentence"
    );

    // The server goes on serving.
    echo_works(&format!("tls://localhost:{port}"), client(trusted.clone()))
        .await
        .expect("a good client still gets in");
    assert_eq!(
        handle.stats().pending,
        0,
        "no failed handshake is left pending"
    );
}

#[tokio::test]
async fn a_plain_server_is_not_taken_for_tls() {
    let authority = Authority::new("tartine test CA");
    let trusted = TlsClientConfig::from_ca_pem(authority.pem().as_bytes()).expect("trust");
    let server = Server::bind("127.0.0.1:0", Echo::new(Live::default()))
        .await
        .expect("bind");
    let port = server.local_addr().expect("address").port();
    tokio::spawn(server.run());
    let error = echo_works(&format!("tls://127.0.0.1:{port}"), client(trusted))
        .await
        .expect_err("TLS on a plain port");
    assert!(
        matches!(error, ConnectError::Tls(TlsError::NotTls)),
        "{error:?}"
    );
    echo_works(&format!("tcp://127.0.0.1:{port}"), Config::default())
        .await
        .expect("the plain server goes on");
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let authority = Authority::new("tartine test CA");
    let trusted = TlsClientConfig::from_ca_pem(authority.pem().as_bytes()).expect("trust");
    let expired = authority.issue_with(&["localhost"], |params| {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let (port, _handle) = echo_over_tls(
        TlsServerConfig::from_pem(expired.cert.as_bytes(), expired.key.as_bytes())
            .expect("settings"),
    )
    .await;
    let error = echo_works(&format!("tls://localhost:{port}"), client(trusted))
        .await
        .expect_err("expired");
    assert!(
        matches!(error, ConnectError::Tls(TlsError::Expired)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_pinned_certificate_is_trusted_alone() {
    let own = self_signed(&["tartine.invalid"]);
    let (port, _handle) = echo_over_tls(
        TlsServerConfig::from_pem(own.cert.as_bytes(), own.key.as_bytes()).expect("settings"),
    )
    .await;
    let files = folder();
    std::fs::write(files.join("pin.pem"), &own.cert).expect("write");
    // Pinned, the certificate is trusted whatever the host and the authority.
    let pinned = TlsClientConfig::pinned_file(files.join("pin.pem")).expect("pin");
    echo_works(&format!("tls://127.0.0.1:{port}"), client(pinned))
        .await
        .expect("the pinned certificate");
    // Another certificate, even for the same names, is not.
    let other = self_signed(&["tartine.invalid"]);
    let pinned_other = TlsClientConfig::pinned_pem(other.cert.as_bytes()).expect("pin");
    let error = echo_works(&format!("tls://127.0.0.1:{port}"), client(pinned_other))
        .await
        .expect_err("not the pin");
    assert!(
        matches!(error, ConnectError::Tls(TlsError::UnknownIssuer)),
        "{error:?}"
    );
}

#[tokio::test]
async fn client_certificates_are_checked_when_shown() {
    let servers = Authority::new("servers");
    let clients = Authority::new("clients");
    let issued = servers.issue(&["localhost"]);
    let (port, handle) = echo_over_tls(
        TlsServerConfig::with_client_certificates(
            issued.cert.as_bytes(),
            issued.key.as_bytes(),
            clients.pem().as_bytes(),
        )
        .expect("settings"),
    )
    .await;
    let endpoint = format!("tls://localhost:{port}");

    // No client certificate: served (it would log in with a password).
    let anonymous = TlsClientConfig::from_ca_pem(servers.pem().as_bytes()).expect("trust");
    echo_works(&endpoint, client(anonymous))
        .await
        .expect("without a client certificate");

    // A certificate from the clients' authority.
    let service = clients.issue(&["billing.service"]);
    let with_cert = TlsClientConfig::with_client_certificate(
        servers.pem().as_bytes(),
        service.cert.as_bytes(),
        service.key.as_bytes(),
    )
    .expect("identity");
    echo_works(&endpoint, client(with_cert))
        .await
        .expect("with a good client certificate");

    // A certificate from elsewhere is refused.
    let forged = Authority::new("forger").issue(&["billing.service"]);
    let with_forged = TlsClientConfig::with_client_certificate(
        servers.pem().as_bytes(),
        forged.cert.as_bytes(),
        forged.key.as_bytes(),
    )
    .expect("identity");
    let error = echo_works(&endpoint, client(with_forged))
        .await
        .expect_err("a forged client certificate");
    assert!(
        matches!(error, ConnectError::Tls(TlsError::Refused(_))),
        "{error:?}"
    );
    common::eventually("nothing is left of the refused one", || {
        handle.stats().connections == 0 && handle.stats().pending == 0
    })
    .await;
}

#[tokio::test]
async fn missing_or_bad_settings_are_typed_errors() {
    let error = tartine::connect("tls://127.0.0.1:1")
        .await
        .expect_err("no client settings");
    assert!(matches!(error, ConnectError::TlsUnavailable), "{error:?}");

    let error = Server::bind("tls://127.0.0.1:0", Echo::new(Live::default()))
        .await
        .expect_err("no server settings");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{error}");
    assert!(error.to_string().contains("tls_server"), "{error}");

    let files = folder();
    let missing = TlsServerConfig::from_pem_files(files.join("none.pem"), files.join("none.key"))
        .expect_err("no such file");
    assert!(matches!(missing, TlsError::File { .. }), "{missing:?}");
    assert!(missing.to_string().contains("none.pem"), "{missing}");

    let garbage = TlsClientConfig::from_ca_pem(b"not a certificate").expect_err("garbage");
    assert!(
        matches!(garbage, TlsError::NoCertificate { .. }),
        "{garbage:?}"
    );

    let one = self_signed(&["a.invalid"]);
    let another = self_signed(&["b.invalid"]);
    let mismatch = TlsServerConfig::from_pem(one.cert.as_bytes(), another.key.as_bytes())
        .expect_err("the key is not the certificate's");
    assert!(matches!(mismatch, TlsError::Settings(_)), "{mismatch:?}");

    let no_key = TlsServerConfig::from_pem(one.cert.as_bytes(), one.cert.as_bytes())
        .expect_err("a certificate is no key");
    assert!(
        matches!(no_key, TlsError::NoPrivateKey { .. }),
        "{no_key:?}"
    );
}

/// Relays one connection: ends the client's TLS with `own` (a certificate the client trusts),
/// opens its own TLS session to `server` (trusting `authority`), and copies the bytes both
/// ways, reading everything in clear.
async fn relay(own: TlsServerConfig, authority: TlsClientConfig, server: u16) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(own.as_rustls()));
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(authority.as_rustls()));
            tokio::spawn(async move {
                let Ok(mut client_side) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", server)).await else {
                    return;
                };
                let name = "localhost".try_into().expect("a DNS name");
                let Ok(mut server_side) = connector.connect(name, tcp).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client_side, &mut server_side).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_password_login_relayed_by_a_man_in_the_middle_fails() {
    let authority = Authority::new("tartine test CA");
    let trusted = TlsClientConfig::from_ca_pem(authority.pem().as_bytes()).expect("trust");
    let genuine = authority.issue(&["localhost"]);
    // The man in the middle holds a certificate the client trusts too.
    let forged = authority.issue(&["localhost"]);

    let mut config = Config::default();
    config.tls_server = Some(
        TlsServerConfig::from_pem(genuine.cert.as_bytes(), genuine.key.as_bytes())
            .expect("settings"),
    );
    let portal = Portal::new(Club::new()).with_checker(
        InMemoryPasswords::new()
            .with_user("alice", "wonderland")
            .expect("randomness"),
    );
    let server = Server::bind_portal_with("tls://127.0.0.1:0", portal, config)
        .await
        .expect("bind");
    let server_port = server.local_addr().expect("address").port();
    tokio::spawn(server.run());
    let relay_port = relay(
        TlsServerConfig::from_pem(forged.cert.as_bytes(), forged.key.as_bytes()).expect("settings"),
        trusted.clone(),
        server_port,
    )
    .await;

    // Through the relay, TLS and tartine's handshake succeed: the relay is a working one.
    let relayed = tartine::connect_with(
        format!("tls://localhost:{relay_port}"),
        client(trusted.clone()),
    )
    .await
    .expect("the relay carries the connection");
    // The login signs the client's TLS session, which is not the server's: it fails.
    let error = relayed
        .login::<Player>(LoginCredentials::password("alice", "wonderland"))
        .await
        .expect_err("a relayed login");
    assert!(matches!(error, LoginError::Unauthorized), "{error:?}");

    // The same client, straight to the server, gets in.
    let direct = tartine::connect_with(format!("tls://localhost:{server_port}"), client(trusted))
        .await
        .expect("direct");
    let player = direct
        .login::<Player>(LoginCredentials::password("alice", "wonderland"))
        .await
        .expect("a direct login");
    assert_eq!(player.name().await.expect("call"), "alice");
}

#[tokio::test]
async fn a_service_logs_in_with_its_client_certificate() {
    let servers = Authority::new("servers");
    let clients = Authority::new("clients");
    let issued = servers.issue(&["localhost"]);
    let mut config = Config::default();
    config.tls_server = Some(
        TlsServerConfig::with_client_certificates(
            issued.cert.as_bytes(),
            issued.key.as_bytes(),
            clients.pem().as_bytes(),
        )
        .expect("settings"),
    );
    let portal = Portal::new(Club::new())
        .with_checker(CertificateNames::new().with_name("billing.service", "billing"))
        .with_checker(
            InMemoryPasswords::new()
                .with_user("alice", "wonderland")
                .expect("randomness"),
        );
    let server = Server::bind_portal_with("tls://127.0.0.1:0", portal, config)
        .await
        .expect("bind");
    let endpoint = format!(
        "tls://localhost:{}",
        server.local_addr().expect("address").port()
    );
    tokio::spawn(server.run());
    let with_certificate = |names: &[&str]| {
        let service = clients.issue(names);
        client(
            TlsClientConfig::with_client_certificate(
                servers.pem().as_bytes(),
                service.cert.as_bytes(),
                service.key.as_bytes(),
            )
            .expect("identity"),
        )
    };

    // The billing service: its certificate is its credential.
    let billing = tartine::connect_with(&endpoint, with_certificate(&["billing.service"]))
        .await
        .expect("connect");
    let avatar = billing
        .login::<Player>(LoginCredentials::certificate())
        .await
        .expect("a certificate login");
    assert_eq!(avatar.name().await.expect("call"), "billing");

    // A certificate for a name nobody mapped.
    let mailer = tartine::connect_with(&endpoint, with_certificate(&["mailer.service"]))
        .await
        .expect("connect");
    let error = mailer
        .login::<Player>(LoginCredentials::certificate())
        .await
        .expect_err("an unmapped certificate");
    assert!(matches!(error, LoginError::Unauthorized), "{error:?}");

    // No certificate at all: a certificate login is refused, a password one works.
    let plain_trust = TlsClientConfig::from_ca_pem(servers.pem().as_bytes()).expect("trust");
    let alice = tartine::connect_with(&endpoint, client(plain_trust))
        .await
        .expect("connect");
    let error = alice
        .login::<Player>(LoginCredentials::certificate())
        .await
        .expect_err("no certificate");
    assert!(matches!(error, LoginError::NoCertificate), "{error:?}");
    let player = alice
        .login::<Player>(LoginCredentials::password("alice", "wonderland"))
        .await
        .expect("a password login beside");
    assert_eq!(player.name().await.expect("call"), "alice");
}

#[tokio::test]
async fn a_silent_or_garbled_tls_client_holds_up_no_one_and_is_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = Authority::new("tartine test CA");
    let trusted = TlsClientConfig::from_ca_pem(authority.pem().as_bytes()).expect("trust");
    let issued = authority.issue(&["localhost"]);
    let mut config = Config::default();
    config.handshake_timeout = std::time::Duration::from_secs(1);
    config.tls_server = Some(
        TlsServerConfig::from_pem(issued.cert.as_bytes(), issued.key.as_bytes()).expect("settings"),
    );
    let server = Server::bind_with(
        "tls://127.0.0.1:0",
        Arc::new(Echo::new(Live::default())),
        config,
    )
    .await
    .expect("bind");
    let port = server.local_addr().expect("address").port();
    let handle = server.handle();
    tokio::spawn(server.run());

    // One says nothing; another sends garbage where a ClientHello belongs.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut garbled = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    common::eventually("both are counted pending", || handle.stats().pending == 2).await;
    garbled
        .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7])
        .await
        .expect("write");

    // A good client is served meanwhile.
    echo_works(&format!("tls://localhost:{port}"), client(trusted))
        .await
        .expect("served beside them");

    // Past the handshake timeout, both are dropped: their sockets see the end.
    let mut byte = [0u8; 1];
    let silent_end =
        tokio::time::timeout(std::time::Duration::from_secs(5), silent.read(&mut byte))
            .await
            .expect("the silent one is dropped");
    assert!(matches!(silent_end, Ok(0) | Err(_)), "{silent_end:?}");
    // The garbled one gets an alert, or a reset, and then the end of its stream.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        garbled.read_to_end(&mut rest),
    )
    .await
    .expect("the garbled one is dropped");
    common::eventually("nothing is left pending", || handle.stats().pending == 0).await;
}
