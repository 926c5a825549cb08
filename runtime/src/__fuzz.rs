//! Fuzz targets: each takes arbitrary bytes and feeds them to one decoder of the runtime as a
//! hostile peer would, checking that it answers with an error rather than a panic, a hang or
//! memory past its limits. The cargo-fuzz crate in `runtime/fuzz/` runs them; `cargo test`
//! replays the committed corpus through them (see `FUZZING.md`). Not public API.

use crate::codec::{Codec, Postcard};
use crate::config::Config;
use crate::connection::outgoing::Received;
use crate::cred::client::PasswordExchange;
use crate::cred::service::{ChallengeMessage, GrantIn, PortalRoot, method};
use crate::cred::{
    AllowAnonymous, AvatarId, InMemoryPasswords, LoggedIn, LoginError, PasswordVerifier, Portal,
    Realm,
};
use crate::error::{CloseReason, RemoteError};
use crate::link::replies::{Delivered, Incoming};
use crate::link::shared::{CallSite, Object, Peer, Shared};
use crate::payload::Bytes;
use crate::refs::handover::{Handover, announce};
use crate::refs::local::Local;
use crate::refs::remote::Remote;
use crate::reply::{DispatchError, Reply, ReplyKind, Started};
use crate::wire::{FrameCodec, IdList, MemoryBudget, Message, decode_message};
use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use tokio_util::codec::Decoder;

/// The largest frame the targets accept: small, so that a run stays fast.
const MAX_FRAME: usize = 64 * 1024;

/// The budget long frames share in the frame target.
const BUDGET: usize = 96 * 1024;

/// Reads a fuzz input a piece at a time.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    /// The next `len` bytes, or what is left.
    fn take(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        taken
    }

    /// A piece whose length is the next byte.
    fn piece(&mut self) -> Option<&'a [u8]> {
        let len = self.byte()?;
        Some(self.take(usize::from(len)))
    }

    /// A piece whose length is the next two bytes.
    fn long_piece(&mut self) -> Option<&'a [u8]> {
        let len = u16::from_le_bytes([self.byte()?, self.byte()?]);
        Some(self.take(usize::from(len)))
    }
}

/// The configuration of the connections the targets make.
fn config() -> Config {
    Config {
        max_frame_size: MAX_FRAME,
        max_exports: 64,
        failed_login_delay: std::time::Duration::ZERO,
        min_login_iterations: 1,
        max_login_iterations: 16,
        ..Config::default()
    }
}

/// A connection's state with no socket under it: its frames go to a queue nobody reads.
fn connection(root: Option<Arc<dyn Object>>) -> Arc<Shared> {
    connection_from(root, None)
}

/// As [`connection`], from the peer address `peer` (which the login throttle counts by).
fn connection_from(
    root: Option<Arc<dyn Object>>,
    peer: Option<std::net::SocketAddr>,
) -> Arc<Shared> {
    let shared = Arc::new(Shared::new(
        Arc::new(config()),
        peer,
        None,
        Peer {
            root: None,
            max_frame: MAX_FRAME,
            max_refs: 64,
        },
        Arc::default(),
    ));
    if let Some(root) = root {
        shared.tables.exports.lock().set_root(root);
    }
    shared
}

/// Polls `future` once, as the reader does with a call that just started.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = std::pin::pin!(future);
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

/// Counts the ids a message hands over, the first `most` bytes of `ids` each one id, as the
/// reader does; `None` if the list is refused.
fn announced(shared: &Arc<Shared>, ids: &[u8], most: usize) -> Option<Vec<u64>> {
    let ids: Vec<u64> = ids.iter().take(most).map(|&id| u64::from(id)).collect();
    let encoded = IdList::encode(&ids);
    announce(shared, IdList::from_encoded(&encoded)).ok()
}

/// Dispatches a call of `method` on `object` with the arguments `frame`, as the reader does.
fn dispatch_on(
    shared: &Arc<Shared>,
    object: &Arc<dyn Object>,
    method: &str,
    frame: &bytes::Bytes,
    inline: bool,
) -> Result<Started, DispatchError> {
    let site = CallSite {
        shared: Arc::clone(shared),
        perspective: None,
        frame: frame.clone(),
        inline,
    };
    Arc::clone(object).dispatch_native(method, frame, site)
}

/// The frame decoder: the input is cut into reads (each a length byte and that many bytes),
/// decoded as they come, by a codec that draws on a shared budget.
pub fn frame(data: &[u8]) {
    let budget = Arc::new(MemoryBudget::new(BUDGET));
    let mut codec = FrameCodec::with_budget(MAX_FRAME, Arc::clone(&budget));
    let mut buffer = BytesMut::new();
    let mut input = Input(data);
    'reads: while let Some(read) = input.piece() {
        buffer.extend_from_slice(read);
        loop {
            match codec.decode(&mut buffer) {
                Ok(Some(frame)) => assert!(frame.len() <= MAX_FRAME),
                Ok(None) => break,
                Err(_) => break 'reads,
            }
            assert!(budget.used() <= BUDGET);
        }
        assert!(budget.used() <= BUDGET);
    }
    drop(codec);
    assert_eq!(budget.used(), 0, "a dropped codec gives its budget back");
}

/// The message decoder: a header, its id list, and a round trip of what decodes.
pub fn message(data: &[u8]) {
    let Ok((message, offset)) = decode_message(data) else {
        return;
    };
    assert!(offset <= data.len());
    if let Message::Call { exports, .. }
    | Message::Return { exports, .. }
    | Message::Raised { exports, .. } = &message
        && let Ok(ids) = exports.decode(1_024)
    {
        assert!(ids.len() <= 1_024);
        let encoded = IdList::encode(&ids);
        assert_eq!(
            IdList::from_encoded(&encoded).decode(1_024).as_ref(),
            Ok(&ids)
        );
    }
    let encoded = message.encode().expect("a decoded header encodes");
    let (again, _) = decode_message(&encoded).expect("an encoded header decodes");
    assert_eq!(again, message);
}

/// A recursive argument.
#[derive(Debug, Serialize, Deserialize)]
pub enum Tree {
    /// The end.
    Leaf(u8),
    /// One more level.
    Node(Box<Tree>, Option<Box<Tree>>),
}

/// An argument of every shape serde has.
#[derive(Debug, Serialize, Deserialize)]
pub enum Shape {
    /// A unit variant.
    Unit,
    /// A newtype variant.
    Newtype(i64),
    /// A tuple variant.
    Tuple(u8, char, f64),
    /// A struct variant.
    Struct {
        /// A string.
        text: String,
        /// A nested collection.
        nested: Vec<Vec<u16>>,
    },
}

/// The object the dispatch target calls: one method per shape of argument, references
/// included.
#[derive(Debug)]
pub struct Fixture;

#[crate::referenceable]
impl Fixture {
    /// A recursive argument.
    pub fn tree(&self, tree: Tree) -> u8 {
        let mut tree = &tree;
        loop {
            match tree {
                Tree::Leaf(leaf) => return *leaf,
                Tree::Node(inner, _) => tree = &**inner,
            }
        }
    }

    /// Zero-sized items.
    pub fn units(&self, units: Vec<()>, more: Vec<[(); 0]>) -> usize {
        units.len() + more.len()
    }

    /// Maps and strings.
    pub fn map(&self, map: BTreeMap<String, Vec<u8>>, bytes: Bytes) -> usize {
        map.len() + bytes.len()
    }

    /// Every primitive, and an enum of every variant kind.
    pub fn mixed(
        &self,
        a: (bool, i8, u16, i32, u64, i128, f32),
        b: Option<char>,
        c: Shape,
        d: [u32; 3],
    ) -> bool {
        a.0 && b.is_some() && matches!(c, Shape::Unit) && d[0] == 0
    }

    /// References handed back: ours.
    pub fn reference(&self, one: Local<Fixture>, many: Vec<Local<Fixture>>) -> usize {
        let _ = one;
        many.len()
    }

    /// References handed over: the peer's.
    pub fn remote(&self, remote: Remote<Fixture>, maybe: Option<Remote<Fixture>>) -> bool {
        let _ = remote;
        maybe.is_some()
    }

    /// A method that runs on.
    pub async fn later(&self, text: String) -> Result<String, String> {
        tokio::task::yield_now().await;
        Ok(text)
    }
}

/// Argument decoding through a generated dispatch table: the input names up to three ids the
/// message hands over, a method (one of the fixture's, or any name), and the arguments.
pub fn dispatch(data: &[u8]) {
    let mut input = Input(data);
    let Some(announced_ids) = input.piece() else {
        return;
    };
    let Some(selector) = input.byte() else {
        return;
    };
    let method = match <Fixture as crate::Interface>::METHODS.get(usize::from(selector)) {
        Some(name) => (*name).to_owned(),
        None => String::from_utf8_lossy(input.piece().unwrap_or_default()).into_owned(),
    };
    let frame = bytes::Bytes::copy_from_slice(input.0);
    let shared = connection(Some(Arc::new(Fixture)));
    if let Some(ids) = announced(&shared, announced_ids, 3) {
        let settle = Handover::new(&shared, ids);
        let object: Arc<dyn Object> = Arc::new(Fixture);
        if let Ok(Started::Running(call)) =
            dispatch_on(&shared, &object, &method, &frame, selector % 2 == 0)
        {
            let _ = poll_once(call);
        }
        drop(settle);
    }
    shared.close(CloseReason::Local);
    assert_eq!(shared.tables.exports.lock().len(), 0);
}

/// The avatar of the login targets.
#[derive(Debug)]
pub struct FuzzUser;

#[crate::avatar]
impl FuzzUser {
    /// Answers.
    pub fn ping(&self) -> u8 {
        1
    }
}

/// Makes a [`FuzzUser`] for every login.
#[derive(Debug)]
struct FuzzRealm;

impl Realm for FuzzRealm {
    type Avatar = FuzzUser;
    type Mind = Fixture;

    async fn request_avatar(
        &self,
        id: AvatarId,
        _mind: Option<Remote<Fixture>>,
    ) -> Result<LoggedIn<FuzzUser>, LoginError> {
        match id {
            AvatarId::User(name) if name == "banned" => Err(LoginError::Refused(name)),
            _ => Ok(LoggedIn::new(FuzzUser).on_logout(|| {})),
        }
    }
}

const USER: &str = "alice";
const PASSWORD: &str = "1234";

/// Answers token logins at once, by the token's first byte: `g` for good, `e` for expired,
/// anything else unknown (as an issuer would).
#[derive(Debug)]
struct FuzzTokens;

impl crate::cred::CredentialChecker for FuzzTokens {
    fn kinds(&self) -> &[crate::cred::CredentialKind] {
        &[crate::cred::CredentialKind::Token]
    }

    async fn check(&self, credentials: &crate::cred::Credentials) -> Result<AvatarId, LoginError> {
        use crate::cred::{Credentials, TokenError};
        match credentials {
            Credentials::Token(presented) => match presented.token().first() {
                Some(b'g') => Ok(AvatarId::User(presented.username().to_owned())),
                Some(b'e') => Err(LoginError::Token(TokenError::Expired)),
                _ => Err(LoginError::Token(TokenError::Unknown)),
            },
            _ => Err(LoginError::Unauthorized),
        }
    }
}

/// The verifier of the login targets' one user, derived once.
fn verifier() -> PasswordVerifier {
    static VERIFIER: OnceLock<PasswordVerifier> = OnceLock::new();
    VERIFIER
        .get_or_init(|| PasswordVerifier::with_salt(PASSWORD, b"fuzz-salt".to_vec(), 2))
        .clone()
}

/// The runtime login calls run on.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a fuzzing runtime")
    })
}

/// The payload of a reply, if it is a value or the method's own error.
fn payload(reply: &Reply) -> Option<&[u8]> {
    match &reply.0 {
        ReplyKind::Value(encoded) | ReplyKind::Raised(encoded) => {
            Some(encoded.frame.payload_bytes())
        }
        ReplyKind::Failed(_) | ReplyKind::Sent => None,
    }
}

/// The server's side of the login exchange: a sequence of calls to the login service of one
/// connection (password, anonymous and token logins, logouts), each a method selector and its
/// arguments. Two selectors make the harness
/// compute what only an honest client could: a `begin` for the known user, and the right
/// proof for the last challenge, so the fuzzer reaches `finish` and `logout` too.
pub fn login_server(data: &[u8]) {
    let mut input = Input(data);
    let mut users = InMemoryPasswords::with_iterations(2);
    users.add_verifier(USER, verifier());
    let portal = Portal::new(FuzzRealm)
        .with_checker(users)
        .with_checker(AllowAnonymous)
        .with_checker(FuzzTokens);
    let root: Arc<dyn Object> = Arc::new(PortalRoot::new(Arc::clone(&portal.inner)));
    let peer = std::net::SocketAddr::from(([192, 0, 2, 1], 4000));
    let shared = connection_from(Some(Arc::clone(&root)), Some(peer));
    let mut exchange: Option<PasswordExchange> = None;
    let mut challenge: Option<ChallengeMessage> = None;
    runtime().block_on(async {
        for _ in 0..16 {
            let Some(selector) = input.byte() else { break };
            let (name, args) = match selector % 9 {
                0 => (
                    method::PASSWORD_BEGIN,
                    input.piece().unwrap_or_default().to_vec(),
                ),
                1 => (
                    method::PASSWORD_PROVE,
                    input.piece().unwrap_or_default().to_vec(),
                ),
                2 => (
                    method::PASSWORD_FINISH,
                    input.piece().unwrap_or_default().to_vec(),
                ),
                3 => (
                    method::ANONYMOUS,
                    input.piece().unwrap_or_default().to_vec(),
                ),
                4 => (method::LOGOUT, input.piece().unwrap_or_default().to_vec()),
                5 => {
                    let Ok(started) =
                        PasswordExchange::new(USER.to_owned(), PASSWORD.to_owned(), None)
                    else {
                        return;
                    };
                    let args = postcard::to_stdvec(&started.begin_args()).unwrap_or_default();
                    exchange = Some(started);
                    (method::PASSWORD_BEGIN, args)
                }
                6 => {
                    let proof = match (&mut exchange, &challenge) {
                        (Some(exchange), Some(challenge)) => exchange.prove(challenge).ok(),
                        _ => None,
                    };
                    let args = postcard::to_stdvec(&proof.unwrap_or_default()).unwrap_or_default();
                    (method::PASSWORD_PROVE, args)
                }
                7 => (
                    "tartine.login.unknown",
                    input.piece().unwrap_or_default().to_vec(),
                ),
                _ => (method::TOKEN, input.piece().unwrap_or_default().to_vec()),
            };
            let Some(ids) = announced(&shared, input.piece().unwrap_or_default(), 2) else {
                continue;
            };
            let settle = Handover::new(&shared, ids);
            let frame = bytes::Bytes::from(args);
            let outcome = dispatch_on(&shared, &root, name, &frame, true);
            drop(settle);
            let reply = match outcome {
                Ok(Started::Ready(reply)) => reply,
                Ok(Started::Running(call) | Started::Spawn(call)) => call.await,
                Err(_) => continue,
            };
            if name == method::PASSWORD_BEGIN
                && let Some(bytes) = payload(&reply)
            {
                challenge = Postcard::decode(bytes, config().decode_limits()).ok();
            }
            drop(reply);
        }
    });
    shared.close(CloseReason::Local);
    assert_eq!(shared.tables.exports.lock().len(), 0);
    assert_eq!(shared.lifecycle.logins(), 0);
}

/// Decodes one answer of a hostile server to a login call the way the client does: a value,
/// the method's error, or a framework failure, with the ids its header hands over.
fn answer<T: serde::de::DeserializeOwned>(
    shared: &Arc<Shared>,
    input: &mut Input<'_>,
) -> Option<Result<T, RemoteError<LoginError>>> {
    let kind = input.byte()?;
    let ids = input.piece()?;
    let body = input.long_piece()?;
    let ids = announced(shared, ids, 2)?;
    let delivered = Delivered {
        frame: bytes::Bytes::copy_from_slice(body),
        offset: 0,
        ids,
    };
    let incoming = match kind % 3 {
        0 => Incoming::Value(delivered),
        1 => Incoming::Raised(delivered),
        _ => Incoming::Failed(Postcard::decode(body, config().decode_limits()).ok()?),
    };
    Some(Received::new(shared, incoming).decode_result::<Postcard, T, LoginError>())
}

/// The client's side of the login exchange: the answers of a hostile server to `begin`,
/// `prove` and `finish`, each decoded and judged as the client does. The client may never get
/// past `prove` unless the server's signature is right, which the fuzzer cannot forge.
pub fn login_client(data: &[u8]) {
    let mut input = Input(data);
    let shared = connection(None);
    let config = config();
    let Ok(mut exchange) = PasswordExchange::new(USER.to_owned(), PASSWORD.to_owned(), None) else {
        return;
    };
    let _ = (|| {
        let challenge: ChallengeMessage = answer(&shared, &mut input)?.ok()?;
        exchange.check(&config, &challenge).ok()?;
        exchange.prove(&challenge).ok()?;
        let signature: crate::cred::scram::Key = answer(&shared, &mut input)?.ok()?;
        let finished = exchange.verify_server(&signature);
        assert!(finished.is_err(), "a forged server signature was accepted");
        let _: GrantIn = answer(&shared, &mut input)?.ok()?;
        Some(())
    })();
    shared.close(CloseReason::Local);
    assert_eq!(shared.tables.imports.lock().len(), 0);
}

#[cfg(test)]
mod replay {
    //! Replays the committed corpus of each target, so that every case the fuzzer kept stays
    //! a test.

    use crate::cred::LoginError;
    use std::path::PathBuf;

    fn replay(target: &str, run: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join("corpus")
            .join(target);
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .collect()
            })
            .unwrap_or_default();
        cases.sort();
        assert!(!cases.is_empty(), "no corpus in {}", dir.display());
        for case in &cases {
            let data = std::fs::read(case).expect("a corpus file");
            run(&data);
        }
    }

    /// Writes the seed corpus the fuzzer starts from (`cargo test -p tartine --lib --
    /// --ignored write_seeds`); the committed corpus holds these and what the fuzzer added.
    #[test]
    #[ignore = "writes the seed corpus; run by hand"]
    fn write_seeds() {
        use super::{Shape, Tree};
        use crate::wire::{Failure, IdList, Message};
        use std::collections::BTreeMap;

        fn to(value: &impl serde::Serialize) -> Vec<u8> {
            postcard::to_stdvec(value).expect("encodable")
        }
        fn piece(bytes: &[u8]) -> Vec<u8> {
            let mut out = vec![u8::try_from(bytes.len()).expect("a short piece")];
            out.extend_from_slice(bytes);
            out
        }
        fn long_piece(bytes: &[u8]) -> Vec<u8> {
            let len = u16::try_from(bytes.len()).expect("a piece");
            let mut out = len.to_le_bytes().to_vec();
            out.extend_from_slice(bytes);
            out
        }
        fn write(target: &str, seeds: Vec<Vec<u8>>) {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz")
                .join("corpus")
                .join(target);
            std::fs::create_dir_all(&dir).expect("a corpus directory");
            for (index, seed) in seeds.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{index:02}")), seed).expect("written");
            }
        }

        // Frames, cut into reads.
        let mut long = piece(&[0, 0, 0xf0, 0]);
        for _ in 0..250 {
            long.extend(piece(&[7; 255]));
        }
        write(
            "frame",
            vec![
                [
                    piece(&[0, 0, 0, 3, b'a']),
                    piece(b"bc"),
                    piece(&[0, 0, 0, 0]),
                ]
                .concat(),
                piece(&[0xff, 0xff, 0xff, 0xff]),
                long,
            ],
        );

        // Headers of every kind.
        let ids = IdList::encode(&[1, 300, u64::MAX]);
        let exports = IdList::from_encoded(&ids);
        let messages = [
            Message::Hello {
                root: Some("x"),
                max_frame: 1 << 20,
                max_refs: 1_000,
            },
            Message::Call {
                call: 1,
                target: 0,
                method: "add",
                exports,
            },
            Message::Return { call: 1, exports },
            Message::Raised {
                call: 2,
                exports: IdList::EMPTY,
            },
            Message::Failed {
                call: 3,
                failure: Failure::NoSuchMethod {
                    interface: "i".into(),
                    method: "m".into(),
                },
            },
            Message::Release {
                target: 4,
                count: 2,
            },
            Message::Ping,
            Message::Pong,
            Message::Cancel { call: 9 },
        ];
        write(
            "message",
            messages
                .iter()
                .map(|m| m.encode().expect("encodable").to_vec())
                .collect(),
        );

        // Calls of each of the fixture's methods.
        let call = |announced: &[u8], selector: u8, args: Vec<u8>| {
            [piece(announced), vec![selector], args].concat()
        };
        let mut map = BTreeMap::new();
        map.insert("a".to_owned(), vec![1u8, 2]);
        let shape = Shape::Struct {
            text: "t".into(),
            nested: vec![vec![1, 2], vec![]],
        };
        write(
            "dispatch",
            vec![
                call(&[], 0, to(&(Tree::Node(Box::new(Tree::Leaf(3)), None),))),
                call(&[], 1, to(&(vec![(); 3], vec![[(); 0]; 2]))),
                call(
                    &[],
                    2,
                    to(&(map, crate::payload::Bytes::from_static(b"xy"))),
                ),
                call(
                    &[],
                    3,
                    to(&(
                        (true, -1i8, 2u16, 3i32, 4u64, 5i128, 1.5f32),
                        Some('x'),
                        shape,
                        [0u32, 1, 2],
                    )),
                ),
                call(&[], 4, vec![1, 0, 1, 1, 0]),
                call(&[5], 5, vec![0, 5, 0]),
                call(&[], 6, to(&("hi",))),
                [piece(&[]), vec![200], piece(b"no_such_method")].concat(),
            ],
        );

        // Login sequences: a full password login and logout, anonymous ones, a wrong proof.
        let step = |selector: u8, args: Option<Vec<u8>>, announced: &[u8]| {
            [
                vec![selector],
                args.map(|args| piece(&args)).unwrap_or_default(),
                piece(announced),
            ]
            .concat()
        };
        write(
            "login_server",
            vec![
                [
                    step(5, None, &[]),
                    step(6, None, &[]),
                    step(2, Some(vec![1, 1, 0, 7]), &[7]),
                    step(4, Some(vec![1, 1]), &[]),
                ]
                .concat(),
                [
                    step(3, Some(vec![0]), &[]),
                    step(3, Some(vec![1, 0, 7]), &[7]),
                ]
                .concat(),
                [
                    step(0, Some(to(&("alice", [1u8; 18]))), &[]),
                    step(1, Some(to(&(1u64, [0u8; 32]))), &[]),
                    step(2, Some(vec![1, 0]), &[]),
                ]
                .concat(),
                // Token logins: a good one and its logout, an expired one, made-up ones.
                [
                    step(8, Some(to(&("alice", b"good".to_vec(), None::<u8>))), &[]),
                    step(4, Some(vec![1, 1]), &[]),
                    step(
                        8,
                        Some(to(&("alice", b"expired".to_vec(), None::<u8>))),
                        &[],
                    ),
                    step(8, Some(to(&("bob", b"made up".to_vec(), None::<u8>))), &[]),
                    step(8, Some(to(&("bob", b"made up".to_vec(), None::<u8>))), &[]),
                ]
                .concat(),
            ],
        );

        // A hostile server's answers to begin, prove and finish.
        let answer = |kind: u8, announced: &[u8], body: &[u8]| {
            [vec![kind], piece(announced), long_piece(body)].concat()
        };
        let challenge = to(&(1u64, vec![3u8; 16], 2u32, [4u8; 18]));
        write(
            "login_client",
            vec![
                [
                    answer(0, &[], &challenge),
                    answer(0, &[], &[9; 32]),
                    answer(0, &[3], &[1, b'x', 0, 3]),
                ]
                .concat(),
                answer(1, &[], &to(&LoginError::Unauthorized)),
                answer(2, &[], &to(&Failure::Busy)),
                answer(0, &[], &to(&(1u64, vec![3u8; 16], 1_000_000u32, [4u8; 18]))),
            ],
        );
    }

    /// A test replaying each target's corpus.
    macro_rules! replays {
        ($($target:ident),*) => {
            $(
                #[test]
                fn $target() {
                    replay(stringify!($target), super::$target);
                }
            )*
        };
    }

    replays!(frame, message, dispatch, login_server, login_client);
}
