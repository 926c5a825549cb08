//! Runs every example, as a user would, and checks what it does.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../echo.rs"]
mod echo;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../callback.rs"]
mod callback;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../chat.rs"]
mod chat;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../chat-client/examples/chat_client.rs"]
mod chat_client;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../login_one_client.rs"]
mod login_one_client;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../login_two_clients.rs"]
mod login_two_clients;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../login_anonymous.rs"]
mod login_anonymous;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../tls.rs"]
mod tls;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../make_cert.rs"]
mod make_cert;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../central_auth.rs"]
mod central_auth;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn echo_example_runs() {
    echo::main().expect("the echo example succeeds");
}

#[test]
fn callback_example_hears_every_step() {
    let heard = runtime()
        .block_on(callback::run())
        .expect("the callback example succeeds");
    assert_eq!(heard, ["step 1/3", "step 2/3", "step 3/3"]);
    callback::main().expect("and its main succeeds");
}

#[test]
fn chat_demo_delivers_through_minds_and_refuses_the_rest() {
    let screens = runtime()
        .block_on(chat::demo())
        .expect("the chat demo succeeds");
    let expected = [
        "<alice> says: You can call me Al.",
        "<bob> says: Hi Al! Bridge on Saturday?",
        "<carol> says: Only if we find a fourth.",
    ];
    for (user, screen) in &screens {
        assert_eq!(screen, &expected, "{user}'s screen");
    }
    assert!(
        screens
            .iter()
            .all(|(_, screen)| screen.iter().all(|line| !line.contains("mattress"))),
        "the refused message reached nobody"
    );
}

#[test]
fn chat_client_joins_a_running_server() {
    runtime().block_on(async {
        let server = tartine::Server::bind_portal(
            "127.0.0.1:0",
            tartine_examples::chat::portal().expect("randomness for the salts"),
        )
        .await
        .expect("bind");
        let addr = server.local_addr().expect("addr");
        let handle = server.handle();
        tokio::spawn(server.run());
        let screen = chat_client::run(
            addr,
            "carol",
            "fido",
            "#bridge",
            ["anyone?".to_owned(), "my mattress is comfy".to_owned()],
        )
        .await
        .expect("the client succeeds");
        assert_eq!(screen, ["<carol> says: anyone?"]);
        let refused = chat_client::run(addr, "carol", "wrong", "#bridge", []).await;
        assert!(refused.is_err(), "a wrong password is refused");
        handle.shutdown(std::time::Duration::ZERO).await;
    });
}

#[test]
fn the_chat_client_links_no_server_code() {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--package",
            "tartine-chat-client",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(tree.contains("tartine-chat-protocol"), "{tree}");
    assert!(
        !tree.contains("tartine-examples"),
        "the client depends on the server:\n{tree}"
    );
}

#[test]
fn login_examples_from_the_howto() {
    let rt = runtime();
    assert_eq!(
        rt.block_on(login_one_client::run()).expect("one client"),
        "I am user1. foo(12) called."
    );
    assert_eq!(
        rt.block_on(login_two_clients::run()).expect("two clients"),
        ["I am user1. foo(13) called.", "I am user2. foo(14) called."]
    );
    let (anonymous, named) = rt.block_on(login_anonymous::run()).expect("anonymous");
    assert_eq!(anonymous, "I am (anonymous). foo(13) called.");
    assert_eq!(named, "I am user1. foo(13) called.");
    login_one_client::main().expect("main");
    login_two_clients::main().expect("main");
    login_anonymous::main().expect("main");
}

#[test]
fn tls_example_logs_in_over_tls() {
    let answer = runtime()
        .block_on(tls::run())
        .expect("the TLS example succeeds");
    assert_eq!(answer, "I am user1. foo(12) called.");
}

#[test]
fn the_chat_runs_over_tls_with_a_made_certificate() {
    let folder = std::env::temp_dir().join(format!("tartine-chat-tls-{}", std::process::id()));
    let (cert, key) =
        make_cert::make(&folder, &["localhost".to_owned()]).expect("the certificate is made");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
    }
    runtime().block_on(async {
        let server = chat::bind(
            "tls://127.0.0.1:0",
            Some((cert.to_str().expect("path"), key.to_str().expect("path"))),
            &[],
        )
        .await
        .expect("bind");
        let port = server.local_addr().expect("addr").port();
        let handle = server.handle();
        tokio::spawn(server.run());
        let config = chat_client::config(Some(cert.to_str().expect("path"))).expect("trust");
        let (member, room) = chat_client::join_endpoint(
            &format!("tls://localhost:{port}"),
            config,
            "alice",
            "1234",
            "#tls",
        )
        .await
        .expect("alice joins over TLS");
        // The group answers once every member's screen showed the message.
        let delivered = room.send("sealed".into()).await.expect("sent");
        assert_eq!(delivered, 1);
        assert_eq!(member.screen.lines(), ["<alice> says: sealed"]);
        // Without trusting the certificate, the client is refused by TLS.
        let untrusted = chat_client::join_endpoint(
            &format!("tls://localhost:{port}"),
            tartine::Config::default(),
            "alice",
            "1234",
            "#tls",
        )
        .await;
        assert!(untrusted.is_err());
        handle.shutdown(std::time::Duration::ZERO).await;
    });
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn the_chat_server_takes_its_users_from_auth_sources() {
    use tartine::cred::{AuthSource, PasswordStore, PasswordVerifier, SqliteStore};
    let folder = std::env::temp_dir().join(format!("tartine-chat-auth-{}", std::process::id()));
    // A run that failed left its folder; a later one with the same process id starts afresh.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a folder");
    let db = folder.join("users.db");
    runtime().block_on(async {
        let store = SqliteStore::open(&db).await.expect("the store opens");
        let verifier = PasswordVerifier::new("lamp", 4096).expect("randomness");
        store
            .create_user("dora", verifier)
            .await
            .expect("dora is added");
        store.close().await;
        let auth: Vec<AuthSource> = [format!("sqlite:{}", db.display()), "memory:erin:pw".into()]
            .iter()
            .map(|source| source.parse().expect("a source"))
            .collect();
        let server = chat::bind("127.0.0.1:0", None, &auth).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let handle = server.handle();
        tokio::spawn(server.run());
        for (user, password) in [("dora", "lamp"), ("erin", "pw")] {
            let screen = chat_client::run(addr, user, password, "#stores", ["hi".to_owned()])
                .await
                .expect("a user of the sources joins");
            assert_eq!(screen, [format!("<{user}> says: hi")]);
        }
        let demo_user = chat_client::run(addr, "alice", "1234", "#stores", []).await;
        assert!(demo_user.is_err(), "the demo users are not there");
        handle.shutdown(std::time::Duration::ZERO).await;
    });
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn central_auth_logs_in_once_and_ends_everywhere_at_logout() {
    let seen = runtime()
        .block_on(central_auth::demo())
        .expect("the demo succeeds");
    assert_eq!(
        seen,
        [
            "alice logged in once, at the authentication server",
            "chat greets alice",
            "game greets alice",
            "a chat ticket at game: token refused: the token is for another server",
            "alice logged out at the authentication server",
            "chat ended alice's login",
            "game ended alice's login",
        ]
    );
}
