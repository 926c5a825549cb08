//! Provides the register of this process's TCP connections that run on a current-thread
//! runtime, by local address and thread, so that a connection can tell whether its peer runs
//! on its own thread (a test, or a client and server embedded in one program).
//!
//! It matters to the reader. While it works through a burst of calls, it lets the replies leave
//! every few calls, so that a peer on another thread (or machine) starts on them while the
//! rest are worked through. A peer on the same thread cannot run before the burst is over: the
//! replies then leave together, in one write.
//!
//! The register holds one entry per such connection while it is open (a few dozen bytes each),
//! so it is bounded by the connections a process keeps open.

use crate::lock::Lock;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::thread::ThreadId;

/// Open connections by local address and thread: how many (a server's connections share its
/// address).
static REGISTER: LazyLock<Lock<HashMap<(SocketAddr, ThreadId), usize>>> =
    LazyLock::new(|| Lock::new(HashMap::new()));

/// Whether this thread runs a current-thread tokio runtime.
pub(crate) fn on_current_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread)
}

/// A connection's entry in the register, removed when dropped.
#[derive(Debug)]
pub(crate) struct Registration(Option<(SocketAddr, ThreadId)>);

/// Registers a connection whose local address is `local`, if it runs on a current-thread
/// runtime.
pub(crate) fn register(local: Option<SocketAddr>) -> Registration {
    let key = local
        .filter(|_| on_current_thread_runtime())
        .map(|local| (local, std::thread::current().id()));
    if let Some(key) = key {
        *REGISTER.lock().entry(key).or_default() += 1;
    }
    Registration(key)
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(key) = self.0.take() {
            let mut register = REGISTER.lock();
            if let Some(count) = register.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    register.remove(&key);
                }
            }
        }
    }
}

/// Whether the connection to `peer` has its other end on this thread, on this current-thread
/// runtime.
pub(crate) fn peer_on_this_thread(peer: Option<SocketAddr>) -> bool {
    let Some(peer) = peer else {
        return false;
    };
    on_current_thread_runtime()
        && REGISTER
            .lock()
            .contains_key(&(peer, std::thread::current().id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_peer_is_found_on_its_thread_while_registered() {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("an address");
        assert!(!peer_on_this_thread(Some(addr)));
        let first = register(Some(addr));
        let second = register(Some(addr));
        assert!(peer_on_this_thread(Some(addr)));
        drop(first);
        assert!(peer_on_this_thread(Some(addr)), "one of two is still open");
        drop(second);
        assert!(!peer_on_this_thread(Some(addr)));
        let elsewhere = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            runtime.block_on(async move { register(Some(addr)) })
        })
        .join()
        .expect("the thread ends");
        assert!(
            !peer_on_this_thread(Some(addr)),
            "registered on another thread"
        );
        drop(elsewhere);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_multi_thread_runtime_nothing_is_registered() {
        let addr: SocketAddr = "127.0.0.1:2".parse().expect("an address");
        let _registration = register(Some(addr));
        assert!(!peer_on_this_thread(Some(addr)));
    }
}
