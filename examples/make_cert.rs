//! Makes a self-signed certificate and its private key for trying TLS, in PEM files:
//! `cargo run --example make_cert -- [HOST ..] [--out DIR]` writes `DIR/cert.pem` and
//! `DIR/key.pem` (the key readable by its owner only), for `localhost` and 127.0.0.1 unless
//! hosts are given.
//!
//! A test certificate, not a deployment's: a server in use gets its certificate from an
//! authority its clients trust. The client of a server using this one trusts the certificate
//! itself (`chat_client --ca cert.pem`, or `TlsClientConfig::pinned_file`).

use std::path::{Path, PathBuf};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Writes a self-signed certificate for `hosts` to `folder`; returns the paths of the
/// certificate and the key.
pub fn make(folder: &Path, hosts: &[String]) -> Result<(PathBuf, PathBuf), Error> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(hosts.to_vec())?.self_signed(&key)?;
    std::fs::create_dir_all(folder)?;
    let (cert_path, key_path) = (folder.join("cert.pem"), folder.join("key.pem"));
    std::fs::write(&cert_path, cert.pem())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(
        &mut options.open(&key_path)?,
        key.serialize_pem().as_bytes(),
    )?;
    Ok((cert_path, key_path))
}

/// Reads the arguments and writes the files.
pub fn main() -> Result<(), Error> {
    let mut hosts = Vec::new();
    let mut folder = PathBuf::from(".");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--out" {
            folder = args.next().ok_or("--out needs a folder")?.into();
        } else {
            hosts.push(arg);
        }
    }
    if hosts.is_empty() {
        hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    }
    let (cert, key) = make(&folder, &hosts)?;
    println!(
        "wrote {} and {} for {}",
        cert.display(),
        key.display(),
        hosts.join(", ")
    );
    Ok(())
}
