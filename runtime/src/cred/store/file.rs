//! Provides the password file: one line per user, as htpasswd has, but each holding a SCRAM
//! verifier rather than a password hash.

use super::super::scram::{DEFAULT_ITERATIONS, PasswordVerifier};
use super::contract::{
    PasswordStore, StoreError, WorkFactor, check_iterations, check_username, permission_warning,
};
use super::text::{parse_verifier, verifier_text};
use crate::lock::Lock;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Users kept in a password file: one line per user, as htpasswd has, but each holding a
/// SCRAM verifier rather than a password hash.
///
/// ```text
/// # tartine password file: `name:verifier`, one user per line
/// iterations=4096
/// alice:SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>
/// ```
///
/// Blank lines and lines that start with `#` are skipped; `iterations=N` sets the work factor
/// of new passwords. Every change rewrites the whole file atomically: a temporary file beside
/// it, flushed to disk, then renamed over it, under an exclusive lock on `PATH.lock` so two
/// writers do not lose each other's changes. The rewritten file keeps the old one's mode and
/// owner (a new file is `0600`).
///
/// A line that is none of these is an error that names the file and the line:
/// [`PasswordFile::open`] refuses the file, so a server does not start with half its users.
/// A running server checks the file's size, time and inode at each login and reads it again
/// when they change; a corrupt version is then logged with its line number and skipped, and the
/// server keeps the users it had.

#[derive(Debug, Clone)]
pub struct PasswordFile {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    cache: Lock<Cache>,
    work_factor: WorkFactor,
}

/// What the file held when last read, and how it looked then.
#[derive(Debug)]
struct Cache {
    contents: Contents,
    /// The file as last seen, read well or not: a corrupt version is not read again.
    seen: Option<Stamp>,
}

/// The users and settings of a password file.
#[derive(Debug, Default, Clone)]
struct Contents {
    users: BTreeMap<String, PasswordVerifier>,
    iterations: Option<u32>,
}

/// What tells one version of the file from another without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        }
    }
}

impl PasswordFile {
    /// Opens an existing password file.
    ///
    /// # Errors
    /// [`StoreError::Io`] if it cannot be read (a missing file included), and
    /// [`StoreError::Corrupt`] naming the first line that is not a user, a setting or a
    /// comment.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_inner(path.as_ref().to_owned(), false).await
    }

    /// Opens a password file, creating an empty one (mode `0600`) if there is none.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn open_or_create(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_inner(path.as_ref().to_owned(), true).await
    }

    async fn open_inner(path: PathBuf, create: bool) -> Result<Self, StoreError> {
        let (contents, stamp) = blocking({
            let path = path.clone();
            move || {
                if create && !path.exists() {
                    write_atomically(&path, &Contents::default())?;
                }
                read(&path)
            }
        })
        .await?;
        let file = PasswordFile {
            inner: Arc::new(Inner {
                work_factor: WorkFactor::new(contents.iterations.unwrap_or(DEFAULT_ITERATIONS)),
                cache: Lock::new(Cache {
                    contents,
                    seen: Some(stamp),
                }),
                path,
            }),
        };
        if let Some(warning) = file.permission_warning() {
            tracing::warn!("{warning}");
        }
        Ok(file)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A warning if the file can be read by users other than its owner, who could then
    /// attack its verifiers offline.
    pub fn permission_warning(&self) -> Option<String> {
        permission_warning(&self.inner.path)
    }

    /// Reads the file again if it changed since it was last read. A corrupt version is logged
    /// and skipped: the users read before stay.
    async fn refresh(&self) -> Result<(), StoreError> {
        let path = self.inner.path.clone();
        let stamp = blocking(move || {
            fs::metadata(&path)
                .map(|metadata| Stamp::of(&metadata))
                .map_err(|source| StoreError::Io { path, source })
        })
        .await?;
        if self.inner.cache.lock().seen == Some(stamp) {
            return Ok(());
        }
        let path = self.inner.path.clone();
        match blocking(move || read(&path)).await {
            Ok((contents, stamp)) => self.remember(contents, stamp),
            Err(error @ StoreError::Corrupt { .. }) => {
                tracing::error!(%error, "password file changed but is corrupt; keeping the users read before");
                self.inner.cache.lock().seen = Some(stamp);
            }
            Err(error) => return Err(error),
        }
        Ok(())
    }

    fn remember(&self, contents: Contents, stamp: Stamp) {
        if let Some(iterations) = contents.iterations {
            self.inner.work_factor.set(iterations);
        }
        *self.inner.cache.lock() = Cache {
            contents,
            seen: Some(stamp),
        };
    }

    /// Reads the file under its lock, applies `change`, and writes it back atomically.
    async fn update(
        &self,
        change: impl FnOnce(&mut Contents) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        let path = self.inner.path.clone();
        let (contents, stamp) = blocking(move || {
            let _lock = lock(&path)?;
            let (mut contents, _) = read(&path)?;
            change(&mut contents)?;
            write_atomically(&path, &contents)?;
            let stamp = fs::metadata(&path)
                .map(|metadata| Stamp::of(&metadata))
                .map_err(|source| StoreError::Io {
                    path: path.clone(),
                    source,
                })?;
            Ok((contents, stamp))
        })
        .await?;
        self.remember(contents, stamp);
        Ok(())
    }
}

impl PasswordStore for PasswordFile {
    async fn verifier(&self, username: &str) -> Result<Option<PasswordVerifier>, StoreError> {
        self.refresh().await?;
        Ok(self
            .inner
            .cache
            .lock()
            .contents
            .users
            .get(username)
            .cloned())
    }

    async fn create_user(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> Result<(), StoreError> {
        check_username(username)?;
        let username = username.to_owned();
        self.update(move |contents| {
            if contents.users.contains_key(&username) {
                return Err(StoreError::UserExists(username));
            }
            contents.users.insert(username, verifier);
            Ok(())
        })
        .await
    }

    async fn set_verifier(
        &self,
        username: &str,
        verifier: PasswordVerifier,
    ) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.update(move |contents| match contents.users.get_mut(&username) {
            Some(old) => {
                *old = verifier;
                Ok(())
            }
            None => Err(StoreError::NoSuchUser(username)),
        })
        .await
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.update(move |contents| match contents.users.remove(&username) {
            Some(_) => Ok(()),
            None => Err(StoreError::NoSuchUser(username)),
        })
        .await
    }

    async fn usernames(&self) -> Result<Vec<String>, StoreError> {
        self.refresh().await?;
        Ok(self
            .inner
            .cache
            .lock()
            .contents
            .users
            .keys()
            .cloned()
            .collect())
    }

    fn iterations(&self) -> u32 {
        self.inner.work_factor.get()
    }

    async fn set_iterations(&self, iterations: u32) -> Result<(), StoreError> {
        check_iterations(iterations)?;
        self.update(move |contents| {
            contents.iterations = Some(iterations);
            Ok(())
        })
        .await
    }
}

/// Runs file work on the blocking pool, off the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(error.to_string()),
        })?
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads and parses the file, with the stamp of the version read.
fn read(path: &Path) -> Result<(Contents, Stamp), StoreError> {
    let file = fs::File::open(path).map_err(io_error(path))?;
    let stamp = Stamp::of(&file.metadata().map_err(io_error(path))?);
    let text = std::io::read_to_string(file).map_err(io_error(path))?;
    Ok((parse(path, &text)?, stamp))
}

fn parse(path: &Path, text: &str) -> Result<Contents, StoreError> {
    let mut contents = Contents::default();
    let mut lines_of = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.to_owned(),
            line: number,
            reason,
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(value) = line.strip_prefix("iterations=") {
            let iterations = value
                .trim()
                .parse()
                .map_err(|_| corrupt("`iterations=` is not followed by a number".to_owned()))?;
            check_iterations(iterations).map_err(|error| corrupt(error.to_string()))?;
            contents.iterations = Some(iterations);
            continue;
        }
        let (username, verifier) = line.split_once(':').ok_or_else(|| {
            corrupt("expected `name:SCRAM-SHA-256$...`, `iterations=N` or a `#` comment".to_owned())
        })?;
        check_username(username).map_err(|error| corrupt(error.to_string()))?;
        let verifier = parse_verifier(verifier).map_err(|reason| {
            if verifier.contains('$') {
                corrupt(format!("the verifier {reason}"))
            } else {
                // Twisted's password files hold passwords in clear; this one never does.
                corrupt(format!(
                    "the verifier {reason}; passwords are not kept in clear: add users with \
                         `tartine-admin --store file:{} add USER`",
                    path.display()
                ))
            }
        })?;
        if let Some(first) = lines_of.insert(username.to_owned(), number) {
            return Err(corrupt(format!(
                "user `{username}` is on line {first} already"
            )));
        }
        contents.users.insert(username.to_owned(), verifier);
    }
    Ok(contents)
}

fn render(contents: &Contents) -> String {
    let mut text = String::from("# tartine password file: `name:verifier`, one user per line\n");
    if let Some(iterations) = contents.iterations {
        let _ = writeln!(text, "iterations={iterations}");
    }
    for (username, verifier) in &contents.users {
        let _ = writeln!(text, "{username}:{}", verifier_text(verifier));
    }
    text
}

/// Takes the exclusive lock of the file (on `PATH.lock`), held until the result drops.
fn lock(path: &Path) -> Result<fs::File, StoreError> {
    let lock_path = sibling(path, ".lock");
    let file = owner_only()
        .write(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io_error(&lock_path))?;
    file.lock().map_err(io_error(&lock_path))?;
    Ok(file)
}

/// Writes `contents` to a temporary file beside `path`, flushes it, and renames it over
/// `path`, keeping the mode and owner of the file it replaces.
fn write_atomically(path: &Path, contents: &Contents) -> Result<(), StoreError> {
    let temporary = sibling(path, &format!(".tmp{}", std::process::id()));
    let previous = fs::metadata(path).ok();
    let written = (|| {
        let mut file = owner_only().write(true).truncate(true).open(&temporary)?;
        file.write_all(render(contents).as_bytes())?;
        if let Some(previous) = &previous {
            file.set_permissions(previous.permissions())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                if let Err(error) =
                    std::os::unix::fs::fchown(&file, Some(previous.uid()), Some(previous.gid()))
                {
                    tracing::warn!(%error, "could not keep the password file's owner");
                }
            }
        }
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        if let Some(directory) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            // Makes the rename itself durable; not every platform can open a directory.
            if let Ok(directory) = fs::File::open(directory) {
                let _ = directory.sync_all();
            }
        }
        Ok(())
    })();
    written.map_err(|source| {
        let _ = fs::remove_file(&temporary);
        StoreError::Io {
            path: path.to_owned(),
            source,
        }
    })
}

/// Options that create a file only its owner can read.
fn owner_only() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> PasswordVerifier {
        PasswordVerifier::with_salt("pw", vec![1; 16], 4096)
    }

    #[test]
    fn a_file_survives_its_text_form() {
        let mut contents = Contents {
            iterations: Some(8192),
            ..Contents::default()
        };
        contents.users.insert("alice".into(), verifier());
        contents.users.insert("o'brien; --".into(), verifier());
        let back = parse(Path::new("f"), &render(&contents)).expect("parses");
        assert_eq!(back.iterations, Some(8192));
        assert_eq!(
            back.users.keys().collect::<Vec<_>>(),
            ["alice", "o'brien; --"]
        );
    }

    #[test]
    fn a_corrupt_line_is_named_by_its_number() {
        let good = format!("alice:{}", verifier_text(&verifier()));
        let cases = [
            (format!("# c\n\n{good}\nbob\n"), 4, "expected `name:"),
            (format!("{good}\n{good}\n"), 2, "on line 1 already"),
            (
                format!("iterations=ten\n{good}\n"),
                1,
                "not followed by a number",
            ),
            ("iterations=1\n".to_owned(), 1, "outside"),
            ("#ok\nbob:MD5$x\n".to_owned(), 2, "does not start"),
            ("alice:1234\n".to_owned(), 1, "not kept in clear"),
            (format!("\n a:{}\n", verifier_text(&verifier())), 2, "space"),
        ];
        for (text, line, reason) in cases {
            match parse(Path::new("users.passwd"), &text) {
                Err(StoreError::Corrupt {
                    line: found,
                    reason: said,
                    ..
                }) => {
                    assert_eq!(found, line, "{text}");
                    assert!(said.contains(reason), "{said}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
