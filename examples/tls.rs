//! The first login example over TLS: the server presents a certificate from PEM files, the
//! client trusts exactly that certificate (a pin), logs in as `user1` and calls `foo(12)`.
//!
//! A real deployment gets its certificate from its authority; here the example makes a
//! self-signed one at start (with rcgen) and writes it to a temporary folder, so that no
//! private key lives in the repository.
//!
//! Run it with `cargo run --example tls`.

use std::path::{Path, PathBuf};
use tartine::cred::LoginCredentials;
use tartine::{Config, Remote, Server, TlsClientConfig, TlsServerConfig};
use tartine_examples::perspective::{self, MyPerspective, MyRealm};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Makes a self-signed certificate for `localhost` in `folder`: `server.pem` and `server.key`.
fn make_certificate(folder: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let key = rcgen::KeyPair::generate()?;
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    let cert = params.self_signed(&key)?;
    let (cert_path, key_path) = (folder.join("server.pem"), folder.join("server.key"));
    std::fs::write(&cert_path, cert.pem())?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    Ok((cert_path, key_path))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, contents)
}

/// Starts a TLS server, logs in over TLS, calls `foo(12)`; returns what the server answered.
pub async fn run() -> Result<String, Error> {
    let folder = std::env::temp_dir().join(format!("tartine-tls-example-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let (cert_path, key_path) = make_certificate(&folder)?;

    let mut server_config = Config::default();
    server_config.tls_server = Some(TlsServerConfig::from_pem_files(&cert_path, &key_path)?);
    let server = Server::bind_portal_with(
        "tls://127.0.0.1:0",
        perspective::portal(MyRealm::default(), false)?,
        server_config,
    )
    .await?;
    let port = server.local_addr()?.port();
    let handle = server.handle();
    tokio::spawn(server.run());

    let mut client_config = Config::default();
    client_config.tls_client = Some(TlsClientConfig::pinned_file(&cert_path)?);
    let connection =
        tartine::connect_with(format!("tls://localhost:{port}"), client_config).await?;
    let perspective: Remote<MyPerspective> = connection
        .login(LoginCredentials::password("user1", "pass1"))
        .await?;
    println!("logged in over TLS: {perspective:?}");
    let answer = perspective.foo(12).await?;
    println!("foo(12) answered: {answer}");
    handle.shutdown(std::time::Duration::from_secs(5)).await;
    std::fs::remove_dir_all(&folder)?;
    Ok(answer)
}

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result<(), Error> {
    run().await?;
    Ok(())
}
