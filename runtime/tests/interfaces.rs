//! Interface traits, as a protocol crate declares them and a server implements them, called
//! over a real loopback connection through `Remote<dyn Trait>`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tartine::{Interface, Remote, RemoteError, Server};

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
    let (_server, connection) = serve(server::LimitedCounter::default()).await;
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
}

/// A chat protocol: an avatar, a viewable shared by its members, a mind, and a message type
/// holding references that travels both ways.
#[allow(unreachable_pub)]
mod chat {
    use serde::{Deserialize, Serialize};
    use tartine::Ref;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ChatError {
        NoSuchRoom(String),
    }

    /// Where a user sits: a value of the protocol that holds a reference.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub enum Seat {
        In(Ref<dyn Room>),
        Nowhere,
    }

    #[tartine::avatar(name = "chat.User")]
    pub trait User {
        fn name(&self) -> String;
        async fn join(&self, room: String) -> Result<Ref<dyn Room>, ChatError>;
        fn seat(&self) -> Seat;
        /// Whether `seat` is the seat this user was given (handed back by the client).
        fn is_my_seat(&self, seat: Seat) -> bool;
        /// Calls the client's mind back.
        async fn ring(&self, text: String) -> usize;
    }

    #[tartine::viewable(name = "chat.Room")]
    pub trait Room {
        /// The server's avatar type: the protocol does not know it.
        type Member;
        async fn say(&self, from: &Self::Member, text: String) -> usize;
        fn log(&self, from: std::sync::Arc<Self::Member>) -> Vec<String>;
    }

    #[tartine::referenceable(name = "chat.Bell")]
    pub trait Bell {
        fn ring(&self, text: String) -> usize;
    }
}

#[allow(unreachable_pub)]
mod chat_server {
    use super::chat::{self, ChatError, Seat};
    use std::sync::{Arc, Mutex};
    use tartine::cred::{AvatarId, LoggedIn, LoginError, Realm};
    use tartine::{Ref, Remote};

    pub struct Member {
        pub name: String,
        pub room: Arc<ChatRoom>,
        pub bell: Option<Remote<dyn chat::Bell>>,
    }

    #[tartine::avatar]
    impl chat::User for Member {
        fn name(&self) -> String {
            self.name.clone()
        }

        async fn join(&self, room: String) -> Result<Ref<dyn chat::Room>, ChatError> {
            if room != "lobby" {
                return Err(ChatError::NoSuchRoom(room));
            }
            Ok(Ref::from_arc(self.room.clone()))
        }

        fn seat(&self) -> Seat {
            Seat::In(Ref::from_arc(self.room.clone()))
        }

        fn is_my_seat(&self, seat: Seat) -> bool {
            match seat {
                Seat::In(room) => room
                    .downcast::<ChatRoom>()
                    .is_some_and(|room| Arc::ptr_eq(&room, &self.room)),
                Seat::Nowhere => false,
            }
        }

        async fn ring(&self, text: String) -> usize {
            match &self.bell {
                Some(bell) => bell.ring(text).await.unwrap_or(0),
                None => 0,
            }
        }
    }

    #[derive(Default)]
    pub struct ChatRoom {
        pub lines: Mutex<Vec<String>>,
    }

    #[tartine::viewable]
    impl chat::Room for ChatRoom {
        type Member = Member;

        async fn say(&self, from: &Member, text: String) -> usize {
            let mut lines = self.lines.lock().unwrap();
            lines.push(format!("{}: {text}", from.name));
            lines.len()
        }

        fn log(&self, _from: Arc<Member>) -> Vec<String> {
            self.lines.lock().unwrap().clone()
        }
    }

    pub struct Lobby {
        pub room: Arc<ChatRoom>,
    }

    impl Realm for Lobby {
        type Avatar = Member;
        type Mind = dyn chat::Bell;

        async fn request_avatar(
            &self,
            id: AvatarId,
            mind: Option<Remote<dyn chat::Bell>>,
        ) -> Result<LoggedIn<Member>, LoginError> {
            Ok(LoggedIn::new(Member {
                name: id.to_string(),
                room: self.room.clone(),
                bell: mind,
            }))
        }
    }
}

#[allow(unreachable_pub)]
mod chat_client {
    use super::chat;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    pub struct Bell {
        pub rung: AtomicUsize,
    }

    #[tartine::referenceable]
    impl chat::Bell for Bell {
        fn ring(&self, text: String) -> usize {
            self.rung.fetch_add(1, Ordering::SeqCst);
            text.len()
        }
    }
}

async fn chat_server() -> std::net::SocketAddr {
    use tartine::cred::{InMemoryPasswords, Portal};
    let passwords = InMemoryPasswords::new()
        .with_user("alice", "wonderland")
        .expect("a user")
        .with_user("bob", "builder")
        .expect("a user");
    let portal = Portal::new(chat_server::Lobby {
        room: Arc::default(),
    })
    .with_checker(passwords);
    let server = Server::bind_portal("127.0.0.1:0", portal)
        .await
        .expect("bind");
    let addr = server.local_addr().expect("address");
    tokio::spawn(server.run());
    addr
}

#[tokio::test]
async fn a_chat_protocol_works_through_traits_alone() {
    use tartine::cred::LoginCredentials;
    let addr = chat_server().await;
    let alice = tartine::connect(addr).await.unwrap();
    let bell = chat_client::Bell::default();
    let bell = tartine::Local::new(bell);
    let user: Remote<dyn chat::User> = alice
        .login_with_mind(
            LoginCredentials::password("alice", "wonderland"),
            bell.clone(),
        )
        .await
        .unwrap();
    assert_eq!(user.name().await.unwrap(), "alice");
    // A reference returned by the server arrives as a remote one; the room learns who speaks
    // from the runtime, not from the client.
    let room: Remote<dyn chat::Room> = user.join("lobby".into()).await.unwrap();
    assert_eq!(room.say("hello".into()).await.unwrap(), 1);
    assert_eq!(room.log().await.unwrap(), ["alice: hello"]);
    match user.join("cellar".into()).await {
        Err(RemoteError::Method(chat::ChatError::NoSuchRoom(name))) => assert_eq!(name, "cellar"),
        other => panic!("{other:?}"),
    }
    // A protocol value holding a reference travels both ways, and comes back to its owner.
    let seat = user.seat().await.unwrap();
    let chat::Seat::In(seated) = &seat else {
        panic!("seated nowhere")
    };
    assert!(!seated.is_local());
    assert!(seated.as_remote().unwrap().same_object(&room));
    assert!(user.is_my_seat(seat.clone()).await.unwrap());
    assert!(!user.is_my_seat(chat::Seat::Nowhere).await.unwrap());
    // The server calls the client's mind back through its interface.
    assert_eq!(user.ring("ding".into()).await.unwrap(), 4);
    assert_eq!(bell.rung.load(Ordering::SeqCst), 1);
    // Bob speaks in the same room under his own name.
    let bob = tartine::connect(addr).await.unwrap();
    let bob_user: Remote<dyn chat::User> = bob
        .login(LoginCredentials::password("bob", "builder"))
        .await
        .unwrap();
    let bob_room = bob_user.join("lobby".into()).await.unwrap();
    bob_room.say("hi".into()).await.unwrap();
    assert_eq!(room.log().await.unwrap(), ["alice: hello", "bob: hi"]);
}

/// A hub handing out objects of two interfaces, and taking one of them back.
#[allow(unreachable_pub)]
mod hub {
    use super::protocol;
    use tartine::Ref;

    #[tartine::referenceable(name = "test.Hub")]
    pub trait Hub {
        fn counter(&self) -> Ref<dyn protocol::Counter>;
        fn pinger(&self) -> Ref<dyn protocol::Unnamed>;
        /// Whether `counter` is one of this server's `LimitedCounter`s.
        fn is_counter(&self, counter: Ref<dyn protocol::Counter>) -> bool;
        /// How many of `counters` are this server's own.
        fn count_own(&self, counters: Vec<Ref<dyn protocol::Counter>>) -> usize;
    }

    pub struct Station;

    #[tartine::referenceable]
    impl Hub for Station {
        fn counter(&self) -> Ref<dyn protocol::Counter> {
            Ref::new(super::server::LimitedCounter::default())
        }

        fn pinger(&self) -> Ref<dyn protocol::Unnamed> {
            Ref::new(super::server::Pinger)
        }

        fn is_counter(&self, counter: Ref<dyn protocol::Counter>) -> bool {
            counter
                .downcast::<super::server::LimitedCounter>()
                .is_some()
        }

        fn count_own(&self, counters: Vec<Ref<dyn protocol::Counter>>) -> usize {
            counters
                .into_iter()
                .filter(|counter| {
                    counter
                        .downcast::<super::server::LimitedCounter>()
                        .is_some()
                })
                .count()
        }
    }
}

#[tokio::test]
async fn a_reference_handed_back_is_checked_against_the_interface_before_the_method_runs() {
    use common::raw::{Answer, Raw, receiver_ref};
    let server = Server::bind("127.0.0.1:0", hub::Station).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    // Through the types: a counter handed back is the server's own.
    let connection = tartine::connect(addr).await.unwrap();
    let hub: Remote<dyn hub::Hub> = connection.root().unwrap();
    let counter = hub.counter().await.unwrap();
    assert!(hub.is_counter(&counter).await.unwrap());
    // In a `Vec<Ref<..>>`, the caller passes the server's objects and its own alike; only the
    // server's are its own.
    let mine = tartine::Ref::<dyn protocol::Counter>::new(server::LimitedCounter::default());
    assert_eq!(
        hub.count_own(vec![
            tartine::Ref::from(&counter),
            mine,
            tartine::Ref::from(&counter)
        ])
        .await
        .unwrap(),
        2
    );
    // By hand: Mallory hands back her pinger where a counter is expected.
    let mut mallory = Raw::connect_to(addr).await;
    let pinger = match mallory.call(0, "pinger", &()).await {
        Answer::Return { exports, .. } => exports[0],
        other => panic!("{other:?}"),
    };
    match mallory
        .call_raw(0, "is_counter", &receiver_ref(pinger))
        .await
    {
        Answer::Failed(tartine::wire::Failure::WrongReferenceType { expected, found }) => {
            assert_eq!(expected, "test.Counter");
            assert_eq!(found, "tartine.Unnamed");
        }
        other => panic!("expected a wrong reference type, got {other:?}"),
    }
    // An id she was never given is no object at all.
    assert_eq!(
        mallory
            .call_raw(0, "is_counter", &receiver_ref(pinger + 1000))
            .await,
        Answer::Failed(tartine::wire::Failure::NoSuchObject)
    );
}

#[test]
fn an_interface_knows_the_interfaces_its_signatures_name() {
    let names = |infos: Vec<tartine::__private::InterfaceInfo>| {
        let mut names: Vec<_> = infos.iter().map(|info| info.name).collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    // Through `Ref<dyn Room>`, in a `Result` and an `Option`; `Seat` hides its reference.
    assert_eq!(
        names(<dyn chat::User as Interface>::references()),
        ["chat.Room"]
    );
    assert_eq!(
        names(<dyn hub::Hub as Interface>::references()),
        ["tartine.Unnamed", "test.Counter"]
    );
    assert!(<dyn protocol::Counter as Interface>::references().is_empty());
}
