//! The `tartine-admin` command on real stores, and two server processes sharing one
//! PostgreSQL database: a user added with the command logs in at both at once, without a
//! restart, and a user removed logs in at neither.
#![cfg(feature = "cli")]

mod common;

use common::login::{Club, Player, serve_portal};
use common::tempdir::TempDir;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use tartine::cred::{AuthSource, LoginCredentials, LoginError, Portal};

const ADMIN: &str = env!("CARGO_BIN_EXE_tartine-admin");

/// Runs `tartine-admin --store STORE ARGS`, with `stdin` on its standard input.
fn admin(store: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(ADMIN)
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tartine-admin starts");
    // A command that refuses its arguments exits before it reads its input; the write
    // then meets a closed pipe, which is not a failure of the test.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
    {
        Err(error) if error.kind() == ErrorKind::BrokenPipe => {}
        written => written.expect("writes"),
    }
    child.wait_with_output().expect("tartine-admin ends")
}

fn succeeds(output: &Output) -> String {
    assert!(
        output.status.success(),
        "tartine-admin failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fails_saying(output: &Output, words: &str) {
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains(words), "{said}");
}

async fn login(addr: SocketAddr, user: &str, password: &str) -> Result<(), LoginError> {
    let connection = tartine::connect(addr).await.expect("connects");
    connection
        .login::<Player>(LoginCredentials::password(user, password))
        .await
        .map(drop)
}

/// Everything the command does, on one store.
fn manage_users(store: &str) {
    succeeds(&admin(
        store,
        &["add", "alice", "--password-stdin"],
        "1234\n",
    ));
    fails_saying(
        &admin(store, &["add", "alice", "--password-stdin"], "1234\n"),
        "exists already",
    );
    succeeds(&admin(
        store,
        &["add", "bob", "--password-stdin", "--iterations", "5000"],
        "pw\r\n",
    ));
    assert_eq!(succeeds(&admin(store, &["list"], "")), "alice\nbob\n");
    succeeds(&admin(
        store,
        &["passwd", "alice", "--password-stdin"],
        "5678\n",
    ));
    fails_saying(
        &admin(store, &["passwd", "carol", "--password-stdin"], "x\n"),
        "no user",
    );
    fails_saying(
        &admin(store, &["add", "carol", "--password-stdin"], "\n"),
        "empty",
    );
    fails_saying(
        &admin(store, &["add", "a:b", "--password-stdin"], "x\n"),
        "bad user name",
    );
    assert_eq!(succeeds(&admin(store, &["iterations"], "")), "4096\n");
    succeeds(&admin(store, &["iterations", "8192"], ""));
    assert_eq!(succeeds(&admin(store, &["iterations"], "")), "8192\n");
    fails_saying(&admin(store, &["iterations", "12"], ""), "outside");
    // More than a default client accepts: taken, with a warning.
    let past = admin(store, &["iterations", "2000000"], "");
    succeeds(&past);
    let said = String::from_utf8_lossy(&past.stderr);
    assert!(said.contains("max_login_iterations"), "{said}");
    succeeds(&admin(store, &["iterations", "8192"], ""));
    succeeds(&admin(store, &["remove", "bob"], ""));
    fails_saying(&admin(store, &["remove", "bob"], ""), "no user");
    assert_eq!(succeeds(&admin(store, &["list"], "")), "alice\n");
    // There is no way to give a password in the arguments.
    let output = admin(store, &["add", "carol", "secret"], "");
    assert!(!output.status.success());
}

#[test]
fn the_command_manages_a_password_file() {
    let dir = TempDir::new();
    let path = dir.path().join("users.passwd");
    let store = format!("file:{}", path.display());
    manage_users(&store);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let output = admin(&store, &["list"], "");
        fails_saying_nothing_but_warns(&output, "chmod 600");
    }
    let text = std::fs::read_to_string(&path).expect("reads");
    assert!(!text.contains("5678"), "no password in the file");
}

fn fails_saying_nothing_but_warns(output: &Output, words: &str) {
    succeeds(output);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains(words), "{said}");
}

#[cfg(feature = "sqlite")]
#[test]
fn the_command_manages_a_sqlite_store() {
    let dir = TempDir::new();
    manage_users(&format!("sqlite:{}", dir.path().join("users.db").display()));
}

/// Reads `from` until `text` has appeared in what was read.
fn read_until(from: &mut impl std::io::Read, seen: &mut Vec<u8>, text: &str) {
    let mut buffer = [0u8; 256];
    while !String::from_utf8_lossy(seen).contains(text) {
        let read = from.read(&mut buffer).expect("reads the terminal");
        assert!(
            read > 0,
            "the terminal closed before {text:?}: {:?}",
            String::from_utf8_lossy(seen)
        );
        seen.extend_from_slice(&buffer[..read]);
    }
}

#[cfg(unix)]
/// Waits until the program on the terminal has turned its echo off: the prompt shows before
/// the echo goes off, and what is typed in between would be echoed, as it would for a person
/// who types faster than a program.
fn wait_for_echo_off(terminal: &std::os::fd::OwnedFd) {
    use nix::sys::termios::{LocalFlags, tcgetattr};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tcgetattr(terminal)
        .expect("the terminal's settings")
        .local_flags
        .contains(LocalFlags::ECHO)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the echo never went off"
        );
        std::thread::yield_now();
    }
}

#[cfg(unix)]
#[test]
fn the_prompt_reads_the_password_from_a_terminal_without_echoing_it() {
    if Command::new("setsid").arg("--version").output().is_err() {
        eprintln!("\n*** SKIPPED: no `setsid` (util-linux) to give the command a terminal ***\n");
        return;
    }
    let dir = TempDir::new();
    let path = dir.path().join("users.passwd");
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let slave = |pty: &nix::pty::OpenptyResult| {
        Stdio::from(pty.slave.try_clone().expect("the terminal's other end"))
    };
    // The command runs on the terminal as its controlling terminal (the prompt opens
    // /dev/tty), as it would in a shell.
    let mut command = Command::new("setsid")
        .args(["-c", ADMIN, "--store"])
        .arg(format!("file:{}", path.display()))
        .args(["add", "alice"])
        .stdin(slave(&pty))
        .stdout(slave(&pty))
        .stderr(slave(&pty))
        .spawn()
        .expect("the command starts");
    drop(pty.slave);
    let master = pty.master;
    let mut screen = std::fs::File::from(master.try_clone().expect("the terminal"));
    let mut seen = Vec::new();
    for prompt in ["password for alice: ", "again: "] {
        read_until(&mut screen, &mut seen, prompt);
        wait_for_echo_off(&master);
        screen.write_all(b"correct horse\n").expect("types");
    }
    assert!(command.wait().expect("ends").success());
    // The rest of the screen, up to the terminal's end (EIO once no one holds its other end).
    let mut buffer = [0u8; 256];
    while let Ok(read @ 1..) = std::io::Read::read(&mut screen, &mut buffer) {
        seen.extend_from_slice(&buffer[..read]);
    }
    let screen = String::from_utf8_lossy(&seen);
    assert!(
        !screen.contains("correct horse"),
        "the password was echoed: {screen:?}"
    );
    assert!(screen.contains("added alice"), "{screen:?}");
    let text = std::fs::read_to_string(&path).expect("reads");
    let line = text
        .lines()
        .find(|line| line.starts_with("alice:"))
        .expect("alice");
    let stored = tartine::cred::store::parse_verifier(&line["alice:".len()..]).expect("parses");
    let typed = tartine::cred::PasswordVerifier::with_salt(
        "correct horse",
        stored.salt().to_vec(),
        stored.iterations(),
    );
    assert_eq!(
        typed.stored_key(),
        stored.stored_key(),
        "the typed password was kept"
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn the_command_grants_and_revokes_keys_in_a_sqlite_store() {
    let dir = TempDir::new();
    let store = format!("sqlite:{}", dir.path().join("users.db").display());
    succeeds(&admin(
        &store,
        &["key", "grant", "alice", "game", "player"],
        "",
    ));
    succeeds(&admin(
        &store,
        &["key", "grant", "alice", "chat", "moderator"],
        "",
    ));
    succeeds(&admin(
        &store,
        &["key", "grant", "#anonymous", "chat", "guest"],
        "",
    ));
    assert_eq!(
        succeeds(&admin(&store, &["key", "list", "alice"], "")),
        "chat/moderator\ngame/player\n"
    );
    assert_eq!(
        succeeds(&admin(&store, &["key", "list", "#anonymous"], "")),
        "chat/guest\n"
    );
    succeeds(&admin(
        &store,
        &["key", "revoke", "alice", "game", "player"],
        "",
    ));
    fails_saying(
        &admin(&store, &["key", "revoke", "alice", "game", "player"], ""),
        "holds no key",
    );
    assert_eq!(
        succeeds(&admin(&store, &["key", "list", "alice"], "")),
        "chat/moderator\n"
    );
    assert_eq!(
        succeeds(&admin(&store, &["revoke-sessions", "alice"], "")),
        "",
        "no sessions yet"
    );
    let dir = TempDir::new();
    let file = format!("file:{}", dir.path().join("users.passwd").display());
    succeeds(&admin(&file, &["add", "alice", "--password-stdin"], "pw\n"));
    fails_saying(
        &admin(&file, &["revoke-sessions", "alice"], ""),
        "SQLite or PostgreSQL",
    );
    fails_saying(
        &admin(&file, &["key", "list", "alice"], ""),
        "keeps no keyring",
    );
}

#[test]
fn the_command_refuses_stores_that_keep_no_users_and_unknown_ones() {
    fails_saying(&admin("memory:a:b", &["list"], ""), "keeps no users");
    fails_saying(&admin("anonymous", &["list"], ""), "keeps no users");
    fails_saying(&admin("ldap://x", &["list"], ""), "sqlite:PATH");
    let none = Command::new(ADMIN)
        .arg("list")
        .env_remove("TARTINE_STORE")
        .output();
    fails_saying(&none.expect("runs"), "TARTINE_STORE");
}

#[test]
fn a_listing_piped_into_a_reader_that_has_gone_ends_quietly() {
    let dir = TempDir::new();
    let store = format!("file:{}", dir.path().join("users.passwd").display());
    for user in ["alice", "bob"] {
        succeeds(&admin(&store, &["add", user, "--password-stdin"], "pw\n"));
    }
    // As `tartine-admin list | head -0`: the reading end is closed before anything is written.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(ADMIN)
        .args(["--store", &store, "list"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {said}", output.status);
    assert!(said.is_empty(), "{said}");
}

/// A server in a process of its own, serving logins from the store in
/// `TARTINE_TEST_STORE`; it prints its address and runs until its standard input closes.
/// Started by the two-process test; does nothing when run alone.
#[tokio::test]
#[ignore = "a server process for the two-process test"]
async fn server_process() {
    let Ok(store) = std::env::var("TARTINE_TEST_STORE") else {
        return;
    };
    let source: AuthSource = store.parse().expect("a store");
    let checker = source.open().await.expect("the store opens");
    let portal = Portal::new(Club::new()).with_checker(checker);
    let (addr, _server) = serve_portal(portal, tartine::Config::default()).await;
    println!("listening on {addr}");
    tokio::task::spawn_blocking(|| std::io::stdin().lock().lines().count())
        .await
        .expect("waits for stdin to close");
}

/// A child running [`server_process`], killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(store: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "server_process", "--ignored", "--nocapture"])
            .env("TARTINE_TEST_STORE", store)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server process starts");
        let stdout = child.stdout.take().expect("stdout");
        let addr = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("listening on ")?.parse().ok())
            .expect("the server process says where it listens");
        ServerProcess { child, addr }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_database_see_users_added_and_removed_at_once() {
    let Some(cluster) = common::postgres::start() else {
        return;
    };
    let url = cluster.url();
    let (first, second) = (ServerProcess::start(&url), ServerProcess::start(&url));
    assert_ne!(first.child.id(), second.child.id());
    for server in [&first, &second] {
        assert_eq!(
            login(server.addr, "dave", "pw").await,
            Err(LoginError::Unauthorized)
        );
    }
    succeeds(&admin(&url, &["add", "dave", "--password-stdin"], "pw\n"));
    // The very next login, at either server, sees him: each login reads the database.
    for server in [&first, &second] {
        assert_eq!(login(server.addr, "dave", "pw").await, Ok(()));
    }
    assert_eq!(succeeds(&admin(&url, &["list"], "")), "dave\n");
    succeeds(&admin(&url, &["remove", "dave"], ""));
    for server in [&first, &second] {
        assert_eq!(
            login(server.addr, "dave", "pw").await,
            Err(LoginError::Unauthorized)
        );
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_command_revokes_a_users_sessions_in_a_sqlite_store() {
    use tartine::central::{SessionId, SessionRecord, SessionStore};
    let dir = TempDir::new();
    let path = dir.path().join("auth.db");
    let store = tartine::cred::SqliteStore::open(&path)
        .await
        .expect("opens");
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
        + 3_600_000;
    let session = SessionRecord {
        id: SessionId::from_text("s-alice-1"),
        username: "alice".into(),
        expires_at: in_an_hour,
        ended: false,
    };
    store.create_session(&session).await.expect("keeps");
    let uri = format!("sqlite:{}", path.display());
    let revoked = tokio::task::spawn_blocking(move || {
        succeeds(&admin(&uri, &["revoke-sessions", "alice"], ""))
    })
    .await
    .expect("runs");
    assert_eq!(revoked.trim(), session.id.to_string());
    // Ended, and expired at once: the next pruning removes it.
    let ended = store
        .session(&session.id)
        .await
        .expect("reads")
        .expect("kept until pruned");
    assert!(ended.ended && ended.expires_at < in_an_hour, "{ended:?}");
    store.prune(ended.expires_at + 1).await.expect("prunes");
    assert_eq!(store.session(&session.id).await.expect("reads"), None);
}
