//! A client passes one of its own objects to the server, which calls it back while it works:
//! the server holds a `Remote<Progress>` and the client's `Progress` receives the calls.
//!
//! Run it with `cargo run --release --example callback`.

use std::sync::Mutex;
use tartine::{Remote, Server, referenceable};

/// The client's object: it records the progress the server reports.
#[derive(Debug)]
pub struct Progress {
    steps: Mutex<Vec<String>>,
}

#[referenceable]
impl Progress {
    /// Called by the server after each step.
    pub fn report(&self, step: u32, of: u32) {
        let line = format!("step {step}/{of}");
        println!("client heard: {line}");
        if let Ok(mut steps) = self.steps.lock() {
            steps.push(line);
        }
    }
}

/// The server's root: runs jobs and reports through the caller's `Progress`.
#[derive(Debug)]
pub struct Worker;

#[referenceable]
impl Worker {
    /// Runs a job of `steps` steps, calling `progress` back after each; returns a summary.
    pub async fn run_job(&self, steps: u32, progress: Remote<Progress>) -> String {
        for step in 1..=steps {
            if let Err(error) = progress.report(step, steps).await {
                return format!("stopped at step {step}: {error}");
            }
        }
        format!("{steps} steps done")
    }
}

/// Starts the server, runs one job with a client-side callback, and returns what was heard.
pub async fn run() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let server = Server::bind("127.0.0.1:0", Worker).await?;
    let addr = server.local_addr()?;
    let handle = server.handle();
    tokio::spawn(server.run());

    let connection = tartine::connect(addr).await?;
    let worker: Remote<Worker> = connection.root()?;
    let progress = std::sync::Arc::new(Progress {
        steps: Mutex::new(Vec::new()),
    });
    let summary = worker.run_job(3, progress.clone()).await?;
    println!("server says: {summary}");

    handle.shutdown(std::time::Duration::from_secs(5)).await;
    let heard = progress
        .steps
        .lock()
        .map(|steps| steps.clone())
        .unwrap_or_default();
    Ok(heard)
}

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().await?;
    Ok(())
}
