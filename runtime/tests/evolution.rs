//! Two versions of one interface, under one wire name, in one program: a server that added a
//! method still serves an older client; a client that calls a method the server lacks gets
//! `NoSuchMethod` and keeps its connection; a method whose argument types changed gets a typed
//! error.

use tartine::{CallError, Remote, Server};

/// The first version of the protocol.
#[allow(unreachable_pub)]
mod v1 {
    #[tartine::referenceable(name = "evolution.Store")]
    pub trait Store {
        fn get(&self, key: String) -> Option<String>;
        fn put(&self, key: String, value: String) -> bool;
    }
}

/// The second version: `count` is new, and `put` takes a list of values.
#[allow(unreachable_pub)]
mod v2 {
    #[tartine::referenceable(name = "evolution.Store")]
    pub trait Store {
        fn get(&self, key: String) -> Option<String>;
        fn put(&self, key: String, values: Vec<String>) -> bool;
        fn count(&self) -> u64;
    }
}

/// One store, serving either version.
struct MemoryStore;

#[tartine::referenceable]
impl v1::Store for MemoryStore {
    fn get(&self, key: String) -> Option<String> {
        (key == "greeting").then(|| "hello".to_owned())
    }

    fn put(&self, _key: String, _value: String) -> bool {
        true
    }
}

struct CountingStore;

#[tartine::referenceable]
impl v2::Store for CountingStore {
    fn get(&self, key: String) -> Option<String> {
        (key == "greeting").then(|| "hello, again".to_owned())
    }

    fn put(&self, _key: String, values: Vec<String>) -> bool {
        !values.is_empty()
    }

    fn count(&self) -> u64 {
        1
    }
}

async fn serve<T: tartine::Referenceable>(root: T) -> tartine::Connection {
    let server = Server::bind("127.0.0.1:0", root).await.expect("bind");
    let addr = server.local_addr().expect("address");
    tokio::spawn(server.run());
    tartine::connect(addr).await.expect("connect")
}

#[tokio::test]
async fn a_newer_server_serves_an_older_client() {
    let connection = serve(CountingStore).await;
    let store: Remote<dyn v1::Store> = connection.root().expect("the same interface name");
    assert_eq!(
        store.get("greeting".into()).await.unwrap().as_deref(),
        Some("hello, again")
    );
    // `put` changed its argument types: the old call does not decode as the new one.
    match store.put("key".into(), "value".into()).await {
        Err(CallError::BadArguments(reason)) => assert!(!reason.is_empty()),
        other => panic!("expected BadArguments, got {other:?}"),
    }
    // The connection is still up.
    assert_eq!(store.get("other".into()).await.unwrap(), None);
}

#[tokio::test]
async fn an_older_server_answers_a_newer_method_with_no_such_method() {
    let connection = serve(MemoryStore).await;
    let store: Remote<dyn v2::Store> = connection.root().expect("the same interface name");
    match store.count().await {
        Err(CallError::NoSuchMethod { interface, method }) => {
            assert_eq!(interface, "evolution.Store");
            assert_eq!(method, "count");
        }
        other => panic!("expected NoSuchMethod, got {other:?}"),
    }
    assert_eq!(
        store.get("greeting".into()).await.unwrap().as_deref(),
        Some("hello")
    );
    assert!(!connection.is_closed());
}

/// Names both versions of the store in its signatures: two interfaces under one name.
struct Twins;

/// Hands out either version inside a value of its own, where signatures do not show it.
struct Hider;

/// A store of either version.
#[derive(serde::Serialize, serde::Deserialize)]
enum AnyStore {
    Old(tartine::Ref<dyn v1::Store>),
    New(tartine::Ref<dyn v2::Store>),
}

#[allow(unreachable_pub, missing_docs)]
mod roots {
    use super::*;

    #[tartine::referenceable]
    impl Twins {
        pub fn old(&self) -> tartine::Ref<dyn v1::Store> {
            tartine::Ref::new(MemoryStore)
        }

        pub fn newer(&self) -> tartine::Ref<dyn v2::Store> {
            tartine::Ref::new(CountingStore)
        }
    }

    #[tartine::referenceable]
    impl Hider {
        pub fn store(&self, newer: bool) -> AnyStore {
            if newer {
                AnyStore::New(tartine::Ref::new(CountingStore))
            } else {
                AnyStore::Old(tartine::Ref::new(MemoryStore))
            }
        }
    }
}

#[tokio::test]
async fn a_server_whose_signatures_name_two_interfaces_under_one_name_does_not_start() {
    let refused = Server::bind("127.0.0.1:0", Twins).await;
    let error = refused.expect_err("the server refuses to start");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    let message = error.to_string();
    assert!(
        message.contains("two interfaces are named `evolution.Store`"),
        "{message}"
    );
    assert!(
        message.contains("v1::Store") && message.contains("v2::Store"),
        "{message}"
    );
}

#[tokio::test]
async fn a_second_interface_under_a_name_is_refused_when_it_would_be_handed_out() {
    // The versions hide in a value of the server's own: the server starts, and refuses the
    // second one when a call would hand it out.
    let connection = serve(Hider).await;
    let hider: Remote<Hider> = connection.root().unwrap();
    let AnyStore::Old(old) = hider.store(false).await.unwrap() else {
        panic!("asked for the old store")
    };
    let old = old.into_remote().expect("the server's store");
    assert!(old.get("greeting".into()).await.unwrap().is_some());
    match hider.store(true).await {
        Err(CallError::Encode(reason)) => {
            assert!(
                reason.contains("two interfaces are named `evolution.Store`"),
                "{reason}"
            );
        }
        Ok(_) => panic!("the second interface was handed out"),
        Err(other) => panic!("expected the second interface to be refused, got {other:?}"),
    }
    // Nothing was confused or lost: the first one still answers.
    assert!(old.get("greeting".into()).await.unwrap().is_some());
}
