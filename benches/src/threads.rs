//! Runs each side of a benchmark on its own single-threaded tokio runtime and OS thread, as two
//! single-threaded processes would.

use std::future::Future;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::oneshot;

/// A runtime on a thread of its own (or a multi-thread runtime), running until dropped.
#[derive(Debug)]
pub struct Side {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// A multi-thread runtime, kept here.
    pool: Option<Runtime>,
}

impl Side {
    /// Starts a current-thread runtime on a new thread named `name`.
    ///
    /// # Panics
    /// If the OS cannot start a thread or the runtime cannot be built (a broken machine).
    pub fn start(name: &str) -> Side {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = runtime();
                let _ = handle_tx.send(runtime.handle().clone());
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .expect("a thread for the benchmark side");
        let handle = handle_rx.recv().expect("the side's runtime handle");
        Side {
            handle,
            stop: Some(stop),
            thread: Some(thread),
            pool: None,
        }
    }

    /// Starts a multi-thread runtime with `workers` worker threads named `name`.
    ///
    /// # Panics
    /// If the runtime cannot be built.
    pub fn multi_thread(name: &str, workers: usize) -> Side {
        Self::multi_thread_with(name, workers, |_| {})
    }

    /// Starts a multi-thread runtime with `workers` worker threads named `name`, its builder
    /// set up further by `tune` (tokio's `event_interval`, say).
    ///
    /// # Panics
    /// If the runtime cannot be built.
    pub fn multi_thread_with(name: &str, workers: usize, tune: impl FnOnce(&mut Builder)) -> Side {
        let mut builder = Builder::new_multi_thread();
        tune(&mut builder);
        let pool = builder
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build()
            .expect("a multi-thread tokio runtime");
        Side {
            handle: pool.handle().clone(),
            stop: None,
            thread: None,
            pool: Some(pool),
        }
    }

    /// Runs `future` on this side and waits for its output.
    pub fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().expect("the side's task finishes")
    }

    /// Spawns `future` on this side.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future);
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(pool) = self.pool.take() {
            pool.shutdown_background();
        }
    }
}

/// A current-thread runtime with I/O and timers.
///
/// # Panics
/// If the runtime cannot be built.
pub fn runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
