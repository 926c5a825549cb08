//! Interface traits, as a protocol crate declares them and a server implements them, called
//! over a real loopback connection through `Remote<dyn Trait>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tartine::{CallError, Interface, Remote, RemoteError, Server};

/// What a protocol crate holds: traits and the types that cross the wire.
#[allow(unreachable_pub)]
mod protocol {
    use serde::{Deserialize, Serialize};

    /// The counter's own error.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub enum CounterError {
        /// Past the limit.
        Full { limit: u64 },
    }

    /// A counter peers share.
    #[tartine::referenceable(name = "test.Counter")]
    pub trait Counter {
        /// The count.
        fn get(&self) -> u64;
        /// Adds `amount`, up to a limit.
        async fn add(&self, amount: u64) -> Result<u64, CounterError>;
        /// Sets the count.
        #[tartine(rename = "set")]
        fn reset(&self, value: u64);
        /// Who is calling.
        fn caller(&self, cx: &tartine::CallContext) -> bool;
    }

    /// An interface named by the default rule: the crate's name and the trait's.
    #[tartine::referenceable]
    pub trait Unnamed {
        fn ping(&self) -> u8;
    }
}

/// What the server crate holds: its types, implementing the protocol's traits.
#[allow(unreachable_pub)]
mod server {
    use super::*;
    use protocol::CounterError;

    #[derive(Default)]
    pub struct LimitedCounter {
        pub count: AtomicU64,
    }

    #[tartine::referenceable]
    impl protocol::Counter for LimitedCounter {
        fn get(&self) -> u64 {
            self.count.load(Ordering::SeqCst)
        }

        async fn add(&self, amount: u64) -> Result<u64, CounterError> {
            tokio::task::yield_now().await;
            let now = self.count.load(Ordering::SeqCst) + amount;
            if now > 100 {
                return Err(CounterError::Full { limit: 100 });
            }
            self.count.store(now, Ordering::SeqCst);
            Ok(now)
        }

        fn reset(&self, value: u64) {
            self.count.store(value, Ordering::SeqCst);
        }

        fn caller(&self, cx: &tartine::CallContext) -> bool {
            cx.peer_addr().is_some()
        }
    }

    pub struct Pinger;

    #[tartine::referenceable]
    impl protocol::Unnamed for Pinger {
        fn ping(&self) -> u8 {
            7
        }
    }
}

async fn serve<T: tartine::Referenceable>(root: T) -> (tartine::ServerHandle, tartine::Connection) {
    let server = Server::bind("127.0.0.1:0", root).await.expect("bind");
    let addr = server.local_addr().expect("address");
    let handle = server.handle();
    tokio::spawn(server.run());
    (handle, tartine::connect(addr).await.expect("connect"))
}

#[tokio::test]
async fn a_client_calls_a_server_through_the_trait_alone() {
    let counter = Arc::new(server::LimitedCounter::default());
    let (_server, connection) = serve(server::LimitedCounter::default()).await;
    drop(counter);
    let counter: Remote<dyn protocol::Counter> = connection.root().expect("a counter");
    assert_eq!(counter.get().await.unwrap(), 0);
    assert_eq!(counter.add(40).await.unwrap(), 40);
    counter.reset(99).await.unwrap();
    assert_eq!(counter.get().await.unwrap(), 99);
    assert!(counter.caller().await.unwrap());
    match counter.add(2).await {
        Err(RemoteError::Method(protocol::CounterError::Full { limit: 100 })) => {}
        other => panic!("expected the method's own error, got {other:?}"),
    }
}

#[test]
fn wire_names_are_set_or_follow_the_crate_and_trait_names() {
    assert_eq!(<dyn protocol::Counter as Interface>::NAME, "test.Counter");
    assert_eq!(
        <dyn protocol::Counter as Interface>::METHODS,
        &["get", "add", "set", "caller"]
    );
    assert_eq!(
        <dyn protocol::Unnamed as Interface>::NAME,
        "tartine.Unnamed"
    );
}

#[tokio::test]
async fn the_root_is_checked_against_the_interface() {
    let (_server, connection) = serve(server::Pinger).await;
    let pinger: Remote<dyn protocol::Unnamed> = connection.root().expect("a pinger");
    assert_eq!(pinger.ping().await.unwrap(), 7);
    let wrong = connection.root::<dyn protocol::Counter>();
    assert!(
        matches!(wrong, Err(tartine::RootError::WrongType { .. })),
        "{wrong:?}"
    );
    let _: Option<CallError> = None;
}
