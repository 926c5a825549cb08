//! A throwaway PostgreSQL cluster for the store tests: made with the machine's own `initdb`
//! and `pg_ctl` (Debian's `postgresql` package keeps them in `/usr/lib/postgresql/N/bin`,
//! off the PATH), in a temporary folder, reached through a Unix socket in that folder (a TCP
//! port could be taken by another test between two starts), and removed when dropped.
//! PostgreSQL refuses to run as root, so under root every command runs as the `postgres`
//! system user.
//!
//! Without the binaries the tests say so loudly and are skipped; with `CI=true` they fail.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A running cluster.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
}

/// The port that names the cluster's socket file (`.s.PGSQL.5432`); no TCP port is opened.
const SOCKET_PORT: u16 = 5432;

/// Starts a cluster, or says why it cannot and returns `None` (panics instead under CI).
pub fn start() -> Option<Cluster> {
    match Cluster::start() {
        Ok(cluster) => Some(cluster),
        Err(reason) => {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("PostgreSQL is needed under CI=true: {reason}");
            }
            eprintln!(
                "\n*** SKIPPED: the PostgreSQL store tests: {reason}. \
                 Install Debian's `postgresql` package (`.ci/run` does). ***\n"
            );
            None
        }
    }
}

/// The newest `/usr/lib/postgresql/N/bin` that has `initdb` and `pg_ctl`.
fn binaries() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|error| format!("{}: {error}", root.display()))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no initdb and pg_ctl under {}/*/bin", root.display()))
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

impl Cluster {
    fn start() -> Result<Cluster, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let bin = binaries()?;
        let dir = std::env::temp_dir().join(format!(
            "tartine-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
        let as_postgres = running_as_root();
        if as_postgres {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .status()
                .map_err(|error| format!("chown: {error}"))?;
            if !status.success() {
                return Err("cannot give the cluster's folder to the postgres user".into());
            }
        }
        let cluster = Cluster {
            bin,
            dir,
            as_postgres,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        cluster.resume()?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|error| format!("{}: {error}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed: {}{}",
                program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// A URL to the cluster's `postgres` database, through its socket.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@localhost/postgres?host={}&port={SOCKET_PORT}",
            self.dir.display()
        )
    }

    /// Stops the server, as an outage would; the data stays.
    pub fn pause(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .expect("pg_ctl stop");
    }

    /// Starts the server (again), on its socket alone.
    pub fn resume(&self) -> Result<(), String> {
        let options = format!(
            "-p {SOCKET_PORT} -k {} -c listen_addresses='' -c fsync=off",
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
