//! A fixed workload to count instructions with callgrind, which repeats to the instruction
//! whatever else the machine is doing: `calls` small calls, then `bulk` echoes of 1 MiB, over a
//! real loopback connection, server and client on one thread.
//!
//! ```sh
//! cargo build --release -p tartine-benches --bin instructions
//! valgrind --tool=callgrind target/release/instructions 20000 0
//! valgrind --tool=callgrind target/release/instructions 40000 0
//! ```
//!
//! The difference between two runs, divided by the difference in calls, is the cost of one
//! call (both sides), without the fixed cost of starting. `--no-deadline` makes the calls wait
//! without a deadline (`Remote::with_timeout(None)`); `--window N` keeps N calls in flight
//! instead of one; `--trait` makes the small calls through a protocol trait
//! (`Remote<dyn EchoProtocol>`); `--raw` runs the raw length-delimited echo of the comparison harness
//! instead of tartine (the floor, counted the same way). See `benches/README.md`.

use tartine::{Remote, Server};
use tartine_benches::rpc::BenchService;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let no_deadline = args.iter().any(|arg| arg == "--no-deadline");
    let raw = args.iter().any(|arg| arg == "--raw");
    let through_trait = args.iter().any(|arg| arg == "--trait");
    let window = args
        .iter()
        .position(|arg| arg == "--window")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<u64>().ok());
    let mut numbers = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || args.get(i - 1).is_none_or(|before| before != "--window"))
        .filter_map(|(_, arg)| arg.parse::<u64>().ok());
    let calls = numbers.next().unwrap_or(20_000);
    let bulk = numbers.next().unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if raw {
        return runtime.block_on(raw_floor(calls, window));
    }
    runtime.block_on(async {
        let server = Server::bind("127.0.0.1:0", BenchService).await?;
        let addr = server.local_addr()?;
        tokio::spawn(server.run());
        let connection = tartine::connect(addr).await?;
        let mut service: Remote<BenchService> = connection.root()?;
        if no_deadline {
            service = service.with_timeout(None);
        }
        if let Some(window) = window {
            // `window` calls in flight, refilled as each completes.
            use futures_util::StreamExt;
            let mut in_flight: futures_util::stream::FuturesUnordered<_> =
                (0..window.min(calls)).map(|i| service.echo(i)).collect();
            let mut next = window.min(calls);
            while let Some(echoed) = in_flight.next().await {
                echoed?;
                if next < calls {
                    in_flight.push(service.echo(next));
                    next += 1;
                }
            }
        } else if through_trait {
            let echo = service.protocol().await?;
            for i in 0..calls {
                if echo.echo(i).await? != i {
                    return Err("a wrong echo".into());
                }
            }
        } else {
            for i in 0..calls {
                if service.echo(i).await? != i {
                    return Err("a wrong echo".into());
                }
            }
        }
        let data = tartine::Bytes::from(vec![7u8; 1 << 20]);
        for _ in 0..bulk {
            if service.echo_bytes(data.clone()).await?.len() != data.len() {
                return Err("a short echo".into());
            }
        }
        Ok(())
    })
}

/// The raw echo's share of the same workload: `calls` frames of an `echo(u64)` call's size,
/// one at a time or `window` in flight.
async fn raw_floor(calls: u64, window: Option<u64>) -> Result<(), Error> {
    use tartine_benches::raw::{self, RawClient};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(raw::serve(listener));
    let mut client = RawClient::connect(addr).await?;
    let payload = bytes::Bytes::copy_from_slice(&7u64.to_le_bytes());
    match window {
        Some(window) => client.pipelined(payload, window as usize, calls).await?,
        None => {
            for _ in 0..calls {
                client.round_trip(payload.clone()).await?;
            }
        }
    }
    Ok(())
}
