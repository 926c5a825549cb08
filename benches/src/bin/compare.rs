//! The comparison harness: measures tartine, a raw tokio length-delimited echo and tarpc in one
//! run, interleaving their rounds, and prints absolute medians with ratios.
//!
//! `cargo run --release -p tartine-benches --bin compare [-- --quick] [-- --connections N]`.
//! See `benches/README.md`.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tartine::cred::LoginCredentials;
use tartine::{Remote, Server, ServerHandle};
use tartine_benches::alloc::{Counting, live_bytes, rss_bytes};
use tartine_benches::raw::{self, RawClient};
use tartine_benches::rpc::{self, BenchService, Member};
use tartine_benches::stats::{median, quantile, rate};
use tartine_benches::tarpc_peer::{self, BenchClient};
use tartine_benches::threads::{Side, runtime};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
struct Plan {
    rounds: usize,
    latency_samples: usize,
    round: Duration,
    references: u64,
    connections: usize,
}

/// The three servers, on the server side's runtime.
#[derive(Debug, Clone, Copy)]
struct Addrs {
    tartine: SocketAddr,
    raw: SocketAddr,
    tarpc: SocketAddr,
    portal: SocketAddr,
}

/// One line of the result table.
#[derive(Debug)]
struct Row {
    what: String,
    tartine: f64,
    raw: Option<f64>,
    tarpc: Option<f64>,
    unit: &'static str,
    /// Whether larger is better (throughput) or smaller (latency).
    higher_is_better: bool,
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, addr, count] = args.as_slice()
        && mode == "--idle-client"
    {
        return idle_client(addr.parse()?, count.parse()?);
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let connections = args
        .iter()
        .position(|arg| arg == "--connections")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let plan = if quick {
        Plan {
            rounds: 3,
            latency_samples: 2_000,
            round: Duration::from_millis(300),
            references: 20_000,
            connections: connections.min(2_000),
        }
    } else {
        Plan {
            rounds: 5,
            latency_samples: 5_000,
            round: Duration::from_secs(1),
            references: 100_000,
            connections,
        }
    };
    let only = args
        .iter()
        .position(|arg| arg == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let wants = |name: &str| only.as_deref().is_none_or(|only| only == name);
    raise_fd_limit();
    println!(
        "tartine comparison: {} cores, {} rounds per figure{}",
        std::thread::available_parallelism().map_or(0, usize::from),
        plan.rounds,
        if quick { " (quick)" } else { "" }
    );

    let server = Side::start("server");
    let (addrs, portal_handle, tartine_handle) = server.run(start_servers())?;
    let client = runtime();
    let mut rows = Vec::new();
    client.block_on(async {
        if wants("latency") {
            rows.extend(latency(addrs, plan).await?);
        }
        if wants("pipelined") {
            rows.push(pipelined(addrs, plan).await?);
        }
        if wants("clients") {
            rows.push(many_clients(addrs, plan).await?);
        }
        if wants("bulk") {
            for size in [64 * 1024, 1024 * 1024] {
                rows.push(bulk(addrs, plan, size).await?);
            }
        }
        if wants("references") {
            rows.extend(references(addrs, plan, &tartine_handle).await?);
        }
        if wants("logins") {
            rows.extend(logins(addrs, plan).await?);
        }
        Ok::<_, Error>(())
    })?;
    if wants("idle") {
        rows.extend(idle_connections(addrs, plan, &portal_handle)?);
    }
    if wants("embedded") {
        rows.extend(embedded(plan)?);
    }
    if wants("workers") {
        rows.extend(two_workers(plan)?);
    }
    if wants("fanin") {
        rows.extend(fan_in(plan)?);
    }
    if wants("cpu") {
        rows.extend(cpu_bound(plan)?);
    }
    if wants("transports") {
        rows.extend(transports(plan)?);
    }
    print_table(&rows);
    Ok(())
}

async fn start_servers() -> Result<(Addrs, ServerHandle, ServerHandle), Error> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let tartine = Server::bind_with(loopback, Arc::new(BenchService), rpc::load_config()).await?;
    let portal = Server::bind_portal_with(
        loopback,
        rpc::portal(tartine::cred::DEFAULT_ITERATIONS)?,
        rpc::load_config(),
    )
    .await?;
    let raw_listener = tokio::net::TcpListener::bind(loopback).await?;
    let (tarpc, tarpc_serve) = tarpc_peer::bind(loopback).await?;
    let addrs = Addrs {
        tartine: tartine.local_addr()?,
        raw: raw_listener.local_addr()?,
        tarpc,
        portal: portal.local_addr()?,
    };
    let (portal_handle, tartine_handle) = (portal.handle(), tartine.handle());
    tokio::spawn(tartine.run());
    tokio::spawn(portal.run());
    tokio::spawn(raw::serve(raw_listener));
    tokio::spawn(tarpc_serve);
    Ok((addrs, portal_handle, tartine_handle))
}

/// Clients of the three systems on one connection each.
struct Clients {
    tartine: Remote<BenchService>,
    _connection: tartine::Connection,
    raw: RawClient,
    tarpc: BenchClient,
}

async fn clients(addrs: Addrs) -> Result<Clients, Error> {
    let connection = tartine::connect(addrs.tartine).await?;
    Ok(Clients {
        tartine: connection.root()?,
        _connection: connection,
        raw: RawClient::connect(addrs.raw).await?,
        tarpc: tarpc_peer::connect(addrs.tarpc).await?,
    })
}

fn ctx() -> tarpc::context::Context {
    tarpc::context::current()
}

/// Sequential small calls: median and p99 round trip.
async fn latency(addrs: Addrs, plan: Plan) -> Result<Vec<Row>, Error> {
    let mut c = clients(addrs).await?;
    let through_trait = c.tartine.protocol().await?;
    let payload = Bytes::copy_from_slice(&7u64.to_le_bytes());
    let (mut t, mut r, mut p) = (Vec::new(), Vec::new(), Vec::new());
    let mut traits: Vec<Duration> = Vec::new();
    for round in 0..=plan.rounds {
        let keep = round > 0; // round 0 warms up
        for _ in 0..plan.latency_samples {
            let start = Instant::now();
            c.raw.round_trip(payload.clone()).await?;
            if keep {
                r.push(start.elapsed());
            }
        }
        for i in 0..plan.latency_samples as u64 {
            let start = Instant::now();
            c.tartine.echo(i).await?;
            if keep {
                t.push(start.elapsed());
            }
        }
        for i in 0..plan.latency_samples as u64 {
            let start = Instant::now();
            c.tarpc.echo(ctx(), i).await?;
            if keep {
                p.push(start.elapsed());
            }
        }
        for i in 0..plan.latency_samples as u64 {
            let start = Instant::now();
            through_trait.echo(i).await?;
            if keep {
                traits.push(start.elapsed());
            }
        }
    }
    let impl_form = quantile(&mut t, 0.5);
    let trait_form = quantile(&mut traits, 0.5);
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let row = |what: &str,
               q: f64,
               t: &mut Vec<Duration>,
               r: &mut Vec<Duration>,
               p: &mut Vec<Duration>| Row {
        what: what.to_owned(),
        tartine: micros(quantile(t, q)),
        raw: Some(micros(quantile(r, q))),
        tarpc: Some(micros(quantile(p, q))),
        unit: "µs",
        higher_is_better: false,
    };
    Ok(vec![
        row(
            "small call, sequential: median",
            0.5,
            &mut t,
            &mut r,
            &mut p,
        ),
        row("small call, sequential: p99", 0.99, &mut t, &mut r, &mut p),
        Row {
            what: format!(
                "small call through a protocol trait (`Remote<dyn Trait>`): median, {:.2}x the impl-block form",
                trait_form.as_secs_f64() / impl_form.as_secs_f64().max(1e-12)
            ),
            tartine: micros(trait_form),
            raw: None,
            tarpc: None,
            unit: "µs",
            higher_is_better: false,
        },
    ])
}

/// 64 calls in flight on one connection: calls per second, median over rounds.
async fn pipelined(addrs: Addrs, plan: Plan) -> Result<Row, Error> {
    const WINDOW: usize = 64;
    let mut c = clients(addrs).await?;
    let payload = Bytes::copy_from_slice(&7u64.to_le_bytes());
    let (mut t, mut r, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=plan.rounds {
        // Raw: as many frames as fit in a round, counted.
        let start = Instant::now();
        let mut raw_calls = 0u64;
        while start.elapsed() < plan.round {
            c.raw.pipelined(payload.clone(), WINDOW, 4_096).await?;
            raw_calls += 4_096;
        }
        let raw_rate = rate(raw_calls, start.elapsed());

        let start = Instant::now();
        let mut calls = 0u64;
        let mut in_flight: FuturesUnordered<_> =
            (0..WINDOW as u64).map(|i| c.tartine.echo(i)).collect();
        while let Some(result) = in_flight.next().await {
            result?;
            calls += 1;
            if start.elapsed() < plan.round {
                in_flight.push(c.tartine.echo(calls));
            }
        }
        let tartine_rate = rate(calls, start.elapsed());

        let start = Instant::now();
        let mut calls = 0u64;
        let mut in_flight: FuturesUnordered<_> =
            (0..WINDOW as u64).map(|i| c.tarpc.echo(ctx(), i)).collect();
        while let Some(result) = in_flight.next().await {
            result?;
            calls += 1;
            if start.elapsed() < plan.round {
                in_flight.push(c.tarpc.echo(ctx(), calls));
            }
        }
        let tarpc_rate = rate(calls, start.elapsed());
        if round > 0 {
            r.push(raw_rate);
            t.push(tartine_rate);
            p.push(tarpc_rate);
        }
    }
    Ok(Row {
        what: "64 calls in flight on one connection".into(),
        tartine: median(&mut t),
        raw: Some(median(&mut r)),
        tarpc: Some(median(&mut p)),
        unit: "calls/s",
        higher_is_better: true,
    })
}

/// 256 clients, each with one call in flight: total calls per second.
async fn many_clients(addrs: Addrs, plan: Plan) -> Result<Row, Error> {
    const CLIENTS: usize = 256;
    let mut raws = Vec::new();
    let mut tartines = Vec::new();
    let mut tarpcs = Vec::new();
    for _ in 0..CLIENTS {
        raws.push(RawClient::connect(addrs.raw).await?);
        let connection = tartine::connect(addrs.tartine).await?;
        tartines.push((connection.root::<BenchService>()?, connection));
        tarpcs.push(tarpc_peer::connect(addrs.tarpc).await?);
    }
    let payload = Bytes::copy_from_slice(&7u64.to_le_bytes());
    let (mut t, mut r, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=plan.rounds {
        let deadline = Instant::now() + plan.round;
        let start = Instant::now();
        let counts = futures_util::future::join_all(raws.iter_mut().map(|client| {
            let payload = payload.clone();
            async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if client.round_trip(payload.clone()).await.is_err() {
                        break;
                    }
                    n += 1;
                }
                n
            }
        }))
        .await;
        let raw_rate = rate(counts.iter().sum(), start.elapsed());

        let deadline = Instant::now() + plan.round;
        let start = Instant::now();
        let counts =
            futures_util::future::join_all(tartines.iter().map(|(service, _)| async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if service.echo(n).await.is_err() {
                        break;
                    }
                    n += 1;
                }
                n
            }))
            .await;
        let tartine_rate = rate(counts.iter().sum(), start.elapsed());

        let deadline = Instant::now() + plan.round;
        let start = Instant::now();
        let counts = futures_util::future::join_all(tarpcs.iter().map(|client| async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                if client.echo(ctx(), n).await.is_err() {
                    break;
                }
                n += 1;
            }
            n
        }))
        .await;
        let tarpc_rate = rate(counts.iter().sum(), start.elapsed());
        if round > 0 {
            r.push(raw_rate);
            t.push(tartine_rate);
            p.push(tarpc_rate);
        }
    }
    Ok(Row {
        what: "256 clients, 1 call in flight each".into(),
        tartine: median(&mut t),
        raw: Some(median(&mut r)),
        tarpc: Some(median(&mut p)),
        unit: "calls/s",
        higher_is_better: true,
    })
}

/// Sequential round trips of `size`-byte payloads: MiB per second carried each way.
async fn bulk(addrs: Addrs, plan: Plan, size: usize) -> Result<Row, Error> {
    let mut c = clients(addrs).await?;
    let payload = Bytes::from(vec![0x5au8; size]);
    let tartine_payload = tartine::Bytes::from(payload.clone());
    let mib =
        |calls: u64, elapsed: Duration| rate(calls * size as u64, elapsed) / (1024.0 * 1024.0);
    let (mut t, mut r, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=plan.rounds {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < plan.round {
            c.raw.round_trip(payload.clone()).await?;
            n += 1;
        }
        let raw_rate = mib(n, start.elapsed());
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < plan.round {
            c.tartine.echo_bytes(tartine_payload.clone()).await?;
            n += 1;
        }
        let tartine_rate = mib(n, start.elapsed());
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < plan.round {
            c.tarpc.echo_bytes(ctx(), payload.clone()).await?;
            n += 1;
        }
        let tarpc_rate = mib(n, start.elapsed());
        if round > 0 {
            r.push(raw_rate);
            t.push(tartine_rate);
            p.push(tarpc_rate);
        }
    }
    Ok(Row {
        what: format!("bulk echo_bytes, {} KiB", size / 1024),
        tartine: median(&mut t),
        raw: Some(median(&mut r)),
        tarpc: Some(median(&mut p)),
        unit: "MiB/s",
        higher_is_better: true,
    })
}

/// Export, call and release of short-lived referenceables; heap before and after.
async fn references(addrs: Addrs, plan: Plan, server: &ServerHandle) -> Result<Vec<Row>, Error> {
    const WORKERS: u64 = 32;
    let connection = tartine::connect(addrs.tartine).await?;
    let service: Remote<BenchService> = connection.root()?;
    let cycle = |n: u64| {
        let service = service.clone();
        async move {
            let token = service.token(n).await?;
            token.get().await
        }
    };
    // Warm up with the same concurrency, so tables and buffers reach their steady size.
    let mut warm: FuturesUnordered<_> = (0..WORKERS).map(cycle).collect();
    let mut warmed = 0u64;
    while let Some(result) = warm.next().await {
        result?;
        warmed += 1;
        if warmed < 5_000 {
            warm.push(cycle(warmed));
        }
    }
    settle(server, 1).await;
    let before = live_bytes();
    let start = Instant::now();
    let mut done = 0u64;
    let mut in_flight: FuturesUnordered<_> = (0..WORKERS).map(cycle).collect();
    while let Some(result) = in_flight.next().await {
        result?;
        done += 1;
        if done + (in_flight.len() as u64) < plan.references {
            in_flight.push(cycle(done));
        }
    }
    let elapsed = start.elapsed();
    settle(server, 1).await;
    let after = live_bytes();
    let growth = (after as f64 - before as f64) / before as f64 * 100.0;
    Ok(vec![
        Row {
            what: format!(
                "{} short-lived references: export, call, release",
                plan.references
            ),
            tartine: rate(done, elapsed),
            raw: None,
            tarpc: None,
            unit: "cycles/s",
            higher_is_better: true,
        },
        Row {
            what: format!("heap after releasing them (before: {} KiB)", before / 1024),
            tartine: growth,
            raw: None,
            tarpc: None,
            unit: "% change",
            higher_is_better: false,
        },
    ])
}

/// Waits until the server exports `exports` references in all, for up to five seconds.
async fn settle(server: &ServerHandle, exports: usize) {
    for _ in 0..500 {
        if server.stats().exports <= exports {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Logins per second, anonymous and by password, 8 at a time over 4 connections.
/// Logins in progress at once, over 4 connections.
const LOGINS_AT_ONCE: usize = 16;

async fn logins(addrs: Addrs, plan: Plan) -> Result<Vec<Row>, Error> {
    let mut connections = Vec::new();
    for _ in 0..4 {
        connections.push(tartine::connect(addrs.portal).await?);
    }
    let mut rows = Vec::new();
    for (label, credentials) in [
        ("logins, anonymous", LoginCredentials::anonymous()),
        (
            "logins, password (SCRAM-SHA-256, 4096 iterations)",
            LoginCredentials::password("bench", "bench"),
        ),
    ] {
        let mut rates = Vec::new();
        for round in 0..=plan.rounds.min(3) {
            let deadline = Instant::now() + plan.round;
            let start = Instant::now();
            let counts = futures_util::future::join_all((0..LOGINS_AT_ONCE).map(|i| {
                let connection = connections[i % connections.len()].clone();
                let credentials = credentials.clone();
                async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let Ok(member) = connection.login::<Member>(credentials.clone()).await
                        else {
                            break;
                        };
                        let _ = connection.logout(&member).await;
                        n += 1;
                    }
                    n
                }
            }))
            .await;
            if round > 0 {
                rates.push(rate(counts.iter().sum(), start.elapsed()));
            }
        }
        rows.push(Row {
            what: label.into(),
            tartine: median(&mut rates),
            raw: None,
            tarpc: None,
            unit: "logins/s",
            higher_is_better: true,
        });
    }
    // The floor of a password login: its one key derivation, as many at once, on the same
    // pool.
    let mut rates = Vec::new();
    for round in 0..=plan.rounds.min(3) {
        let deadline = Instant::now() + plan.round;
        let start = Instant::now();
        let counts = futures_util::future::join_all((0..LOGINS_AT_ONCE).map(|_| async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let derived = tokio::task::spawn_blocking(|| {
                    tartine::cred::scram::client_proof(
                        "bench",
                        b"a-salt-of-16-byt",
                        tartine::cred::DEFAULT_ITERATIONS,
                        b"transcript",
                    )
                })
                .await;
                if derived.is_err() {
                    break;
                }
                n += 1;
            }
            n
        }))
        .await;
        if round > 0 {
            rates.push(rate(counts.iter().sum(), start.elapsed()));
        }
    }
    let floor = median(&mut rates);
    let logins = rows.last().map_or(0.0, |row| row.tartine);
    rows.push(Row {
        what: format!(
            "PBKDF2 alone (4096 iterations), {LOGINS_AT_ONCE} at once: password logins reach {:.2} of it",
            logins / floor
        ),
        tartine: floor,
        raw: None,
        tarpc: None,
        unit: "derivations/s",
        higher_is_better: true,
    });
    Ok(rows)
}

/// Names each row as measured in `setup`.
fn in_setup(setup: &str, rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter()
        .map(|row| Row {
            what: format!("{setup}: {}", row.what),
            ..row
        })
        .collect()
}

/// Client and servers on one current-thread runtime in one process, as a test or an embedded
/// user runs them: the small call, 64 in flight, a 64 KiB echo.
fn embedded(plan: Plan) -> Result<Vec<Row>, Error> {
    let runtime = runtime();
    let rows = runtime.block_on(async {
        let (addrs, _portal, _tartine) = start_servers().await?;
        let mut rows = latency(addrs, plan).await?;
        rows.truncate(1);
        rows.push(pipelined(addrs, plan).await?);
        rows.push(bulk(addrs, plan, 64 * 1024).await?);
        Ok::<_, Error>(rows)
    })?;
    Ok(in_setup("one runtime for client and server", rows))
}

/// The servers on a multi-thread runtime with 2 workers, the client on a thread of its own.
fn two_workers(plan: Plan) -> Result<Vec<Row>, Error> {
    let server = Side::multi_thread("server-2w", 2);
    let (addrs, _portal, _tartine) = server.run(start_servers())?;
    let rows = runtime().block_on(async {
        let mut rows = latency(addrs, plan).await?;
        rows.truncate(1);
        rows.push(pipelined(addrs, plan).await?);
        rows.push(many_clients(addrs, plan).await?);
        Ok::<_, Error>(rows)
    })?;
    Ok(in_setup("server on 2 workers", rows))
}

/// 1,000 connections with 8 calls in flight each, client and server on one multi-thread
/// runtime with 2 workers: the spread of the call latencies, tartine's and the raw echo's
/// (whose frames come back in order, each timed from its send). Measured twice: with tokio's
/// defaults, then with the I/O driver polled every [`FAN_IN_EVENT_INTERVAL`] tasks instead of
/// every 61.
fn fan_in(plan: Plan) -> Result<Vec<Row>, Error> {
    let round = plan.round * 2;
    let mut rows = Vec::new();
    for event_interval in [None, Some(FAN_IN_EVENT_INTERVAL)] {
        let side = |name: &str| {
            Side::multi_thread_with(name, 2, |builder| {
                if let Some(interval) = event_interval {
                    builder.event_interval(interval);
                }
            })
        };
        let mut tartine = side("fan-in").run(tartine_fan_in(round))?;
        let mut raw = side("fan-in raw").run(raw_fan_in(round))?;
        let (p50, p99) = (quantile(&mut tartine, 0.5), quantile(&mut tartine, 0.99));
        let (raw_p50, raw_p99) = (quantile(&mut raw, 0.5), quantile(&mut raw, 0.99));
        let spread = |p99: Duration, p50: Duration| p99.as_secs_f64() / p50.as_secs_f64().max(1e-9);
        let runtime = match event_interval {
            None => "one runtime with 2 workers".to_owned(),
            Some(interval) => format!("the same, tokio's event_interval({interval})"),
        };
        let what = format!(
            "1000 connections x 8 in flight, {runtime} (p99 / p50: tartine {:.1}, raw {:.1})",
            spread(p99, p50),
            spread(raw_p99, raw_p50)
        );
        let row = |quantile: &str, tartine: Duration, raw: Duration| Row {
            what: format!("{what}: {quantile}"),
            tartine: tartine.as_secs_f64() * 1e3,
            raw: Some(raw.as_secs_f64() * 1e3),
            tarpc: None,
            unit: "ms",
            higher_is_better: false,
        };
        rows.push(row("p50", p50, raw_p50));
        rows.push(row("p99", p99, raw_p99));
    }
    Ok(rows)
}

/// How many tasks a worker runs between two polls of the I/O driver in the second fan-in
/// measure (tokio's default: 61).
const FAN_IN_EVENT_INTERVAL: u32 = 400;

const FAN_IN_CONNECTIONS: usize = 1_000;
const FAN_IN_WINDOW: usize = 8;

/// The latencies of tartine's calls in the fan-in setup, those started after a warm-up of a
/// quarter round.
async fn tartine_fan_in(round: Duration) -> Result<Vec<Duration>, Error> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let server = Server::bind_with(loopback, Arc::new(BenchService), rpc::load_config()).await?;
    let addr = server.local_addr()?;
    tokio::spawn(server.run());
    let mut services = Vec::with_capacity(FAN_IN_CONNECTIONS);
    for _ in 0..FAN_IN_CONNECTIONS {
        let connection = tartine::connect(addr).await?;
        services.push((connection.root::<BenchService>()?, connection));
    }
    // One run: calls are timed once the warm-up is over, and none is started after the end,
    // so the load is the same throughout (no drain between warm-up and measure).
    let measured_from = Instant::now() + round / 4;
    let deadline = measured_from + round;
    let tasks: Vec<_> = services
        .iter()
        .map(|(service, _)| {
            let service = service.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let call = |n: u64| {
                    let service = service.clone();
                    async move {
                        let start = Instant::now();
                        service.echo(n).await.map(|_| (start, start.elapsed()))
                    }
                };
                let mut in_flight: FuturesUnordered<_> =
                    (0..FAN_IN_WINDOW as u64).map(call).collect();
                let mut n = FAN_IN_WINDOW as u64;
                while let Some(timed) = in_flight.next().await {
                    let (start, latency) = timed?;
                    if start >= measured_from {
                        latencies.push(latency);
                    }
                    if Instant::now() < deadline {
                        n += 1;
                        in_flight.push(call(n));
                    }
                }
                Ok::<_, tartine::CallError>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

/// The latencies of the raw echo's frames in the fan-in setup, after the same warm-up.
async fn raw_fan_in(round: Duration) -> Result<Vec<Duration>, Error> {
    use futures_util::SinkExt;
    use std::collections::VecDeque;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(raw::serve(listener));
    let mut streams = Vec::with_capacity(FAN_IN_CONNECTIONS);
    for _ in 0..FAN_IN_CONNECTIONS {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        streams.push(tokio_util::codec::Framed::new(stream, raw::codec()));
    }
    let payload = Bytes::copy_from_slice(&7u64.to_le_bytes());
    let measured_from = Instant::now() + round / 4;
    let deadline = measured_from + round;
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|mut framed| {
            let payload = payload.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut sent = VecDeque::with_capacity(FAN_IN_WINDOW);
                for _ in 0..FAN_IN_WINDOW {
                    sent.push_back(Instant::now());
                    framed.send(payload.clone()).await?;
                }
                while let Some(start) = sent.pop_front() {
                    match framed.next().await {
                        Some(frame) => {
                            frame?;
                        }
                        None => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                    }
                    if start >= measured_from {
                        latencies.push(start.elapsed());
                    }
                    if Instant::now() < deadline {
                        sent.push_back(Instant::now());
                        framed.send(payload.clone()).await?;
                    }
                }
                Ok::<_, std::io::Error>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

/// A method that computes for 200 µs, 16 calls in flight on one connection to a server on 2
/// workers: in the connection's reader, then `#[tartine(spawn)]`.
fn cpu_bound(plan: Plan) -> Result<Vec<Row>, Error> {
    const MICROS: u64 = 200;
    const WINDOW: u64 = 16;
    let server = Side::multi_thread("server-cpu", 2);
    let addr = server.run(async {
        let loopback: SocketAddr = "127.0.0.1:0".parse()?;
        let server =
            Server::bind_with(loopback, Arc::new(BenchService), rpc::load_config()).await?;
        let addr = server.local_addr()?;
        tokio::spawn(server.run());
        Ok::<_, Error>(addr)
    })?;
    let (inline, spawned) = runtime().block_on(async {
        let connection = tartine::connect(addr).await?;
        let service: Remote<BenchService> = connection.root()?;
        let (mut inline, mut spawned) = (Vec::new(), Vec::new());
        for round in 0..=plan.rounds {
            for spawn in [false, true] {
                let start = Instant::now();
                let call = |service: Remote<BenchService>| async move {
                    if spawn {
                        service.burn_spawned(MICROS).await
                    } else {
                        service.burn(MICROS).await
                    }
                };
                let mut in_flight: FuturesUnordered<_> =
                    (0..WINDOW).map(|_| call(service.clone())).collect();
                let mut calls = 0u64;
                while let Some(result) = in_flight.next().await {
                    result?;
                    calls += 1;
                    if start.elapsed() < plan.round {
                        in_flight.push(call(service.clone()));
                    }
                }
                if round > 0 {
                    let rates = if spawn { &mut spawned } else { &mut inline };
                    rates.push(rate(calls, start.elapsed()));
                }
            }
        }
        Ok::<_, Error>((median(&mut inline), median(&mut spawned)))
    })?;
    Ok(vec![
        Row {
            what:
                "200 µs method, 16 in flight on one connection, server on 2 workers: in the reader"
                    .into(),
            tartine: inline,
            raw: None,
            tarpc: None,
            unit: "calls/s",
            higher_is_better: true,
        },
        Row {
            what: format!(
                "200 µs method, 16 in flight on one connection, server on 2 workers: #[tartine(spawn)], {:.2}x the reader",
                spawned / inline
            ),
            tartine: spawned,
            raw: None,
            tarpc: None,
            unit: "calls/s",
            higher_is_better: true,
        },
    ])
}

/// Opens `plan.connections` logged-in connections from a child process and measures this
/// (server) process's memory per connection.
fn idle_connections(addrs: Addrs, plan: Plan, portal: &ServerHandle) -> Result<Vec<Row>, Error> {
    std::thread::sleep(Duration::from_millis(200));
    let heap_before = live_bytes();
    let rss_before = rss_bytes().unwrap_or(0);
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--idle-client",
            &addrs.portal.to_string(),
            &plan.connections.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    if line.trim() != "ready" {
        return Err(format!("the idle client failed: {line}").into());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while portal.stats().logins < plan.connections && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Idle for two seconds: the connections let their read buffers go.
    std::thread::sleep(Duration::from_millis(2_500));
    let stats = portal.stats();
    let heap = live_bytes().saturating_sub(heap_before) as f64 / stats.connections.max(1) as f64;
    let rss = rss_bytes().unwrap_or(0).saturating_sub(rss_before) as f64
        / stats.connections.max(1) as f64;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"done\n");
    }
    let _ = child.wait();
    Ok(vec![
        Row {
            what: format!(
                "{} idle logged-in connections: heap each",
                stats.connections
            ),
            tartine: heap / 1024.0,
            raw: None,
            tarpc: None,
            unit: "KiB",
            higher_is_better: false,
        },
        Row {
            what: format!("{} idle logged-in connections: RSS each", stats.connections),
            tartine: rss / 1024.0,
            raw: None,
            tarpc: None,
            unit: "KiB",
            higher_is_better: false,
        },
    ])
}

/// Child mode: opens `count` connections to `addr`, logs each in anonymously, says "ready",
/// and holds them until its standard input says anything.
fn idle_client(addr: SocketAddr, count: usize) -> Result<(), Error> {
    raise_fd_limit();
    let runtime = runtime();
    let connections = runtime.block_on(async {
        let mut connections = Vec::with_capacity(count);
        let mut pending = FuturesUnordered::new();
        let mut started = 0;
        while connections.len() < count {
            while started < count && pending.len() < 128 {
                started += 1;
                pending.push(async move {
                    let connection = tartine::connect(addr).await?;
                    let member: Remote<Member> =
                        connection.login(LoginCredentials::anonymous()).await?;
                    Ok::<_, Error>((connection, member))
                });
            }
            match pending.next().await {
                Some(result) => connections.push(result?),
                None => break,
            }
        }
        Ok::<_, Error>(connections)
    })?;
    println!("ready");
    std::io::stdout().flush()?;
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(connections);
    Ok(())
}

/// Tartine over TLS and over a Unix socket, against tartine over plain TCP, in the same
/// rounds: the small call and a 1 MiB echo. The servers on their own thread, as in the main
/// table.
fn transports(plan: Plan) -> Result<Vec<Row>, Error> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?.self_signed(&key)?;
    let mut server_config = rpc::load_config();
    server_config.tls_server = Some(tartine::TlsServerConfig::from_pem(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
    )?);
    let socket = std::env::temp_dir().join(format!("tartine-compare-{}.sock", std::process::id()));
    let server = Side::start("server");
    let (tcp, tls, unix) = server.run(async move {
        let tcp =
            Server::bind_with("127.0.0.1:0", Arc::new(BenchService), rpc::load_config()).await?;
        let tls =
            Server::bind_with("tls://127.0.0.1:0", Arc::new(BenchService), server_config).await?;
        let unix = Server::bind_with(
            tartine::Endpoint::Unix(socket),
            Arc::new(BenchService),
            rpc::load_config(),
        )
        .await?;
        let endpoints = (
            tcp.local_endpoint()?,
            tls.local_addr()?.port(),
            unix.local_endpoint()?,
        );
        tokio::spawn(tcp.run());
        tokio::spawn(tls.run());
        tokio::spawn(unix.run());
        Ok::<_, Error>(endpoints)
    })?;
    let mut client_config = tartine::Config::default();
    client_config.tls_client = Some(tartine::TlsClientConfig::pinned_pem(cert.pem().as_bytes())?);
    let client = runtime();
    client.block_on(async move {
        let tcp_connection = tartine::connect(&tcp).await?;
        let tls_connection =
            tartine::connect_with(format!("tls://localhost:{tls}"), client_config).await?;
        let unix_connection = tartine::connect(&unix).await?;
        let over_tcp: Remote<BenchService> = tcp_connection.root()?;
        let over_tls: Remote<BenchService> = tls_connection.root()?;
        let over_unix: Remote<BenchService> = unix_connection.root()?;
        let small = |remote: Remote<BenchService>, samples: usize| async move {
            let mut times = Vec::with_capacity(samples);
            for i in 0..samples as u64 {
                let start = Instant::now();
                remote.echo(i).await?;
                times.push(start.elapsed());
            }
            Ok::<_, Error>(times)
        };
        let payload = tartine::Bytes::from(vec![0x5au8; 1024 * 1024]);
        let bulk = |remote: Remote<BenchService>, payload: tartine::Bytes, round: Duration| async move {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < round {
                remote.echo_bytes(payload.clone()).await?;
                n += 1;
            }
            Ok::<_, Error>(rate(n * 1024 * 1024, start.elapsed()) / (1024.0 * 1024.0))
        };
        let (mut tcp_small, mut tls_small, mut unix_small) = (Vec::new(), Vec::new(), Vec::new());
        let (mut tcp_bulk, mut tls_bulk) = (Vec::new(), Vec::new());
        for round in 0..=plan.rounds {
            let keep = round > 0; // round 0 warms up
            let t = small(over_tcp.clone(), plan.latency_samples).await?;
            let s = small(over_tls.clone(), plan.latency_samples).await?;
            let u = small(over_unix.clone(), plan.latency_samples).await?;
            let tb = bulk(over_tcp.clone(), payload.clone(), plan.round).await?;
            let sb = bulk(over_tls.clone(), payload.clone(), plan.round).await?;
            if keep {
                tcp_small.extend(t);
                tls_small.extend(s);
                unix_small.extend(u);
                tcp_bulk.push(tb);
                tls_bulk.push(sb);
            }
        }
        let micros = |samples: &mut Vec<Duration>| quantile(samples, 0.5).as_secs_f64() * 1e6;
        Ok(vec![
            Row {
                what: "over TLS (raw column: tartine over plain TCP): small call median".into(),
                tartine: micros(&mut tls_small),
                raw: Some(micros(&mut tcp_small)),
                tarpc: None,
                unit: "µs",
                higher_is_better: false,
            },
            Row {
                what: "over TLS (raw column: tartine over plain TCP): bulk echo_bytes, 1024 KiB"
                    .into(),
                tartine: median(&mut tls_bulk),
                raw: Some(median(&mut tcp_bulk)),
                tarpc: None,
                unit: "MiB/s",
                higher_is_better: true,
            },
            Row {
                what: "over a Unix socket (raw column: tartine over TCP): small call median".into(),
                tartine: micros(&mut unix_small),
                raw: Some(micros(&mut tcp_small)),
                tarpc: None,
                unit: "µs",
                higher_is_better: false,
            },
        ])
    })
}

/// Raises the soft limit on open files to the hard limit.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls with a valid, exclusively borrowed struct.
    #[allow(unsafe_code)]
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| measure | tartine | raw | tarpc | tartine / raw | tartine / tarpc |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let show = |value: f64, unit: &str| {
        if value.abs() >= 100.0 {
            format!("{value:.0} {unit}")
        } else {
            format!("{value:.2} {unit}")
        }
    };
    for row in rows {
        let ratio = |other: Option<f64>| {
            other.map_or_else(
                || "".to_owned(),
                |other| format!("{:.2}x", row.tartine / other),
            )
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.what,
            show(row.tartine, row.unit),
            row.raw.map_or_else(String::new, |v| show(v, row.unit)),
            row.tarpc.map_or_else(String::new, |v| show(v, row.unit)),
            ratio(row.raw),
            ratio(row.tarpc),
        );
        let _ = row.higher_is_better;
    }
}
