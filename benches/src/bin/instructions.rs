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
//! without a timer (`Remote::with_timeout(None)`). See `benches/README.md`.

use tartine::{Remote, Server};
use tartine_benches::rpc::BenchService;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let no_deadline = args.iter().any(|arg| arg == "--no-deadline");
    let mut numbers = args.iter().filter_map(|arg| arg.parse::<u64>().ok());
    let calls = numbers.next().unwrap_or(20_000);
    let bulk = numbers.next().unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::bind("127.0.0.1:0", BenchService).await?;
        let addr = server.local_addr()?;
        tokio::spawn(server.run());
        let connection = tartine::connect(addr).await?;
        let mut service: Remote<BenchService> = connection.root()?;
        if no_deadline {
            service = service.with_timeout(None);
        }
        for i in 0..calls {
            if service.echo(i).await? != i {
                return Err("a wrong echo".into());
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
