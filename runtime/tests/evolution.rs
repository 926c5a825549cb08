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

/// Hands out both versions of the store: two interfaces under one name on one server.
struct Twins;

#[allow(unreachable_pub, missing_docs)]
mod twins {
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
}

#[tokio::test]
async fn a_server_refuses_to_hand_out_two_interfaces_under_one_name() {
    let connection = serve(Twins).await;
    let twins: Remote<Twins> = connection.root().unwrap();
    let old: Remote<dyn v1::Store> = twins.old().await.unwrap();
    assert!(old.get("greeting".into()).await.unwrap().is_some());
    match twins.newer().await {
        Err(CallError::Encode(reason)) => {
            assert!(
                reason.contains("two interfaces are named `evolution.Store`"),
                "{reason}"
            );
            assert!(
                reason.contains("v1::Store") && reason.contains("v2::Store"),
                "{reason}"
            );
        }
        other => panic!("expected the second interface to be refused, got {other:?}"),
    }
    // Nothing was confused or lost: the first one still answers, on any connection.
    assert!(old.get("greeting".into()).await.unwrap().is_some());
    let again: Remote<dyn v1::Store> = twins.old().await.unwrap();
    assert!(again.same_object(&old) || again.get("x".into()).await.is_ok());
}
