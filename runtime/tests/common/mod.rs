//! Objects and helpers shared by the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations
)]

pub mod counting;
pub mod login;
pub mod postgres;
pub mod proxy;
pub mod raw;
pub mod tempdir;

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tartine::{Bytes, Connection, Local, Remote, Server, ServerHandle, referenceable};

/// Counts live instances, to prove objects are freed.
#[derive(Clone, Default)]
pub struct Live(Arc<AtomicUsize>);

impl Live {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    fn enter(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.0.clone())
    }
}

pub struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct Counter {
    value: AtomicU64,
    _live: LiveGuard,
}

#[referenceable]
impl Counter {
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::SeqCst)
    }

    pub async fn add(&self, n: u64) -> u64 {
        self.value.fetch_add(n, Ordering::SeqCst) + n
    }
}

/// Another interface, to try type confusion.
pub struct Group {
    pub name: String,
}

#[referenceable]
impl Group {
    pub fn name(&self) -> String {
        self.name.clone()
    }
}

/// A client-side callback object.
pub struct Listener {
    pub heard: std::sync::Mutex<Vec<String>>,
}

#[referenceable]
impl Listener {
    pub fn hear(&self, message: String) -> usize {
        let mut heard = self.heard.lock().unwrap();
        heard.push(message);
        heard.len()
    }

    pub fn hear_bytes(&self, data: Bytes) -> usize {
        data.len()
    }
}

/// Told when the server starts decoding a [`Heavy`] argument.
pub static HEAVY_DECODING: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// A map whose decoding the server announces on [`HEAVY_DECODING`] as it starts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Heavy(pub std::collections::BTreeMap<u32, u8>);

impl<'de> Deserialize<'de> for Heavy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        HEAVY_DECODING.notify_one();
        std::collections::BTreeMap::deserialize(deserializer).map(Heavy)
    }
}

/// A recursive argument, to try nesting limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tree {
    Leaf,
    Node(Box<Tree>),
}

impl Tree {
    pub fn nested(depth: usize) -> Tree {
        (0..depth).fold(Tree::Leaf, |tree, _| Tree::Node(Box::new(tree)))
    }

    /// Its depth, counted without recursion.
    pub fn depth(&self) -> u64 {
        let mut depth = 0;
        let mut tree = self;
        while let Tree::Node(inner) = tree {
            depth += 1;
            tree = inner;
        }
        depth
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum EchoError {
    #[error("nothing to echo")]
    Empty,
}

pub struct Echo {
    pub live: Live,
    pub shared: Arc<Counter>,
    pub subscribers: std::sync::Mutex<Vec<Remote<Listener>>>,
    /// How many calls entered `hang`, `hang_briefly` or `hold`: tests wait on it.
    pub hanging: Arc<tokio::sync::watch::Sender<usize>>,
    /// How many calls are inside `meet`.
    pub meeting: (std::sync::Mutex<usize>, std::sync::Condvar),
    /// What `gated` calls wait for: one permit lets one finish.
    pub gate: Arc<tokio::sync::Semaphore>,
}

/// Counts one more call into a method that never answers.
fn entered(hanging: &tokio::sync::watch::Sender<usize>) {
    hanging.send_modify(|count| *count += 1);
}

impl Echo {
    pub fn new(live: Live) -> Self {
        let shared = Arc::new(Counter {
            value: AtomicU64::new(0),
            _live: live.enter(),
        });
        Echo {
            live,
            shared,
            subscribers: std::sync::Mutex::new(Vec::new()),
            hanging: Arc::new(tokio::sync::watch::Sender::new(0)),
            meeting: Default::default(),
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }

    fn make_counter(&self, start: u64) -> Counter {
        Counter {
            value: AtomicU64::new(start),
            _live: self.live.enter(),
        }
    }
}

#[referenceable]
impl Echo {
    pub async fn echo(&self, text: String) -> String {
        text
    }

    pub fn echo_bytes(&self, data: Bytes) -> Bytes {
        data
    }

    /// The first `len` bytes of `data`, sharing its memory.
    pub fn head(&self, data: Bytes, len: u64) -> Bytes {
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(data.len());
        data.slice(..len)
    }

    /// The parts in reverse order, the label, and their total length: large byte strings
    /// between small values, both ways.
    pub fn mirror(&self, parts: Vec<Bytes>, label: String) -> (Vec<Bytes>, String, u64) {
        let total = parts.iter().map(|part| part.len() as u64).sum();
        (parts.into_iter().rev().collect(), label, total)
    }

    pub fn add(&self, a: u64, b: u64) -> u64 {
        a + b
    }

    pub fn nothing(&self) {}

    /// The caller's address as the server's socket sees it.
    pub fn whoami(&self, cx: &tartine::CallContext) -> String {
        cx.peer_addr()
            .map(|addr| addr.to_string())
            .unwrap_or_default()
    }

    /// Sleeps `millis` then returns `tag`: lets tests put calls out of order.
    pub async fn delayed(&self, millis: u64, tag: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        tag
    }

    pub async fn hang(&self) -> u64 {
        entered(&self.hanging);
        std::future::pending::<()>().await;
        0
    }

    /// Never answers, and its callers wait 100 ms at most.
    #[tartine(timeout = "100ms")]
    pub async fn hang_briefly(&self) -> u64 {
        entered(&self.hanging);
        std::future::pending::<()>().await;
        0
    }

    /// Counts as hanging, waits for a permit of the gate, then returns `tag`.
    pub async fn gated(&self, tag: u64) -> u64 {
        entered(&self.hanging);
        if let Ok(permit) = self.gate.acquire().await {
            permit.forget();
        }
        tag
    }

    /// Holds `data` for ever.
    pub async fn hold(&self, data: Bytes) -> usize {
        entered(&self.hanging);
        std::future::pending::<()>().await;
        data.len()
    }

    pub fn shout(&self, text: String) -> Result<String, EchoError> {
        if text.is_empty() {
            Err(EchoError::Empty)
        } else {
            Ok(text.to_uppercase())
        }
    }

    pub fn counter(&self, start: u64) -> Counter {
        self.make_counter(start)
    }

    pub fn shared_counter(&self) -> Arc<Counter> {
        self.shared.clone()
    }

    pub fn checked_counter(&self, start: u64) -> Result<Counter, EchoError> {
        if start == 0 {
            Err(EchoError::Empty)
        } else {
            Ok(self.make_counter(start))
        }
    }

    pub fn counters(&self, n: u64) -> Vec<Local<Counter>> {
        (0..n).map(|i| Local::new(self.make_counter(i))).collect()
    }

    pub fn maybe_counter(&self, start: u64) -> Option<Counter> {
        (start > 0).then(|| self.make_counter(start))
    }

    /// The shared counter, `n` times in one reply.
    pub fn shared_counters(&self, n: u64) -> Vec<Arc<Counter>> {
        (0..n).map(|_| self.shared.clone()).collect()
    }

    pub fn counter_list(&self, n: u64) -> Vec<Arc<Counter>> {
        (0..n).map(|i| Arc::new(self.make_counter(i))).collect()
    }

    pub fn group(&self, name: String) -> Group {
        Group { name }
    }

    pub fn inspect(&self, counter: Local<Counter>) -> u64 {
        counter.get()
    }

    pub fn is_shared(&self, counter: Local<Counter>) -> bool {
        Arc::ptr_eq(counter.as_arc(), &self.shared)
    }

    pub fn sum(&self, counters: Vec<Local<Counter>>) -> u64 {
        counters.iter().map(|c| c.get()).sum()
    }

    /// Hands the caller's own listener back, keeping no reference to it: it arrives as the
    /// original object.
    pub fn give_back(&self, listener: Remote<Listener>) -> Remote<Listener> {
        listener
    }

    /// Hands the caller's listeners back, nested in containers and in a `Result`.
    #[allow(clippy::type_complexity)]
    pub fn give_back_nested(
        &self,
        listeners: Vec<Remote<Listener>>,
    ) -> Result<(Option<Box<Remote<Listener>>>, Vec<[Remote<Listener>; 1]>), String> {
        let mut listeners = listeners.into_iter();
        let first = listeners.next().map(Box::new);
        Ok((first, listeners.map(|listener| [listener]).collect()))
    }

    pub async fn notify(&self, listener: Remote<Listener>, message: String) -> usize {
        listener.hear(message).await.unwrap_or(0)
    }

    pub fn depth(&self, tree: Tree) -> u64 {
        tree.depth()
    }

    /// `0..n`: a reply of many items, which a caller decodes on the blocking pool past
    /// `Config::max_inline_decode_items`.
    pub fn numbers(&self, n: u32) -> Vec<u32> {
        (0..n).collect()
    }

    /// `0..n`, or the method's own error when `n` is zero.
    pub fn some_numbers(&self, n: u32) -> Result<Vec<u32>, EchoError> {
        if n == 0 {
            return Err(EchoError::Empty);
        }
        Ok((0..n).collect())
    }

    pub fn units(&self, units: Vec<()>) -> usize {
        units.len()
    }

    /// A payload whose every entry allocates: the slowest to decode.
    pub fn entries(&self, map: std::collections::BTreeMap<u32, u8>) -> usize {
        map.len()
    }

    /// Waits (blocking its thread) until `count` calls of `meet` are inside it at once, for at
    /// most five seconds; returns whether they met. Each call is a task of its own, so calls
    /// of one connection can meet on different worker threads.
    #[tartine(spawn)]
    pub fn meet(&self, count: usize) -> bool {
        let (lock, arrived) = &self.meeting;
        let mut inside = lock.lock().unwrap();
        *inside += 1;
        arrived.notify_all();
        let (inside, _) = arrived
            .wait_timeout_while(inside, Duration::from_secs(5), |inside| *inside < count)
            .unwrap();
        *inside >= count
    }

    /// Like `entries`, announcing its decode on [`HEAVY_DECODING`].
    pub fn heavy(&self, map: Heavy) -> usize {
        map.0.len()
    }

    /// Keeps `listener` to hear what `publish` sends.
    pub fn subscribe(&self, listener: Remote<Listener>) {
        self.subscribers.lock().unwrap().push(listener);
    }

    /// Sends `data` to every subscriber, without waiting for them; returns how many.
    pub fn publish(&self, data: Bytes) -> usize {
        let subscribers = self.subscribers.lock().unwrap().clone();
        for listener in &subscribers {
            let listener = listener.clone();
            let data = data.clone();
            tokio::spawn(async move { listener.hear_bytes(data).await });
        }
        subscribers.len()
    }

    pub fn panic(&self) -> u64 {
        panic!("this method panics on purpose")
    }

    #[tartine(rename = "renamed_on_wire")]
    pub fn renamed(&self) -> u64 {
        7
    }

    #[tartine(skip)]
    pub fn local_only(&self) -> u64 {
        8
    }

    fn private_helper(&self) -> u64 {
        9
    }
}

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub handle: ServerHandle,
    pub live: Live,
    /// How many calls entered a method that never answers.
    pub hanging: tokio::sync::watch::Receiver<usize>,
    /// Lets `gated` calls finish.
    pub gate: Arc<tokio::sync::Semaphore>,
}

impl TestServer {
    /// Waits until `count` calls in all entered a method that never answers (`hang`,
    /// `hang_briefly`, `hold`): they are running on the server.
    pub async fn hanging(&self, count: usize) {
        let mut hanging = self.hanging.clone();
        tokio::time::timeout(Duration::from_secs(10), hanging.wait_for(|&n| n >= count))
            .await
            .expect("the calls reach the server")
            .expect("the server lives");
    }
}

pub async fn start_server() -> TestServer {
    start_server_with(tartine::Config::default()).await
}

pub async fn start_server_with(config: tartine::Config) -> TestServer {
    let live = Live::default();
    let echo = Echo::new(live.clone());
    let hanging = echo.hanging.subscribe();
    let gate = Arc::clone(&echo.gate);
    let server = Server::bind_with("127.0.0.1:0", Arc::new(echo), config)
        .await
        .expect("bind");
    let addr = server.local_addr().expect("local addr");
    let handle = server.handle();
    tokio::spawn(server.run());
    TestServer {
        addr,
        handle,
        live,
        hanging,
        gate,
    }
}

pub async fn connect(server: &TestServer) -> (Connection, Remote<Echo>) {
    let connection = tartine::connect(server.addr).await.expect("connect");
    let echo = connection.root::<Echo>().expect("root");
    (connection, echo)
}

/// Polls `condition` for up to five seconds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}
