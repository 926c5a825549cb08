//! Criterion benchmarks of tartine over loopback TCP: the small call, 64 calls in flight, a
//! 64 KiB payload, a short-lived reference, and logins.
//!
//! Run with `cargo bench -p tartine-benches`. For ratios against a raw echo and tarpc measured
//! in the same run, use the comparison harness (`benches/README.md`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::hint::black_box;
use tartine::cred::LoginCredentials;
use tartine::{Bytes, Remote, Server};
use tartine_benches::rpc::{self, BenchService, Member};
use tartine_benches::threads::{Side, runtime};

fn benches(c: &mut Criterion) {
    let server_side = Side::start("server");
    let (addr, portal_addr) = server_side.run(async {
        let server = Server::bind("127.0.0.1:0", BenchService)
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        tokio::spawn(server.run());
        let portal = Server::bind_portal(
            "127.0.0.1:0",
            rpc::portal(4096).expect("randomness for the salts"),
        )
        .await
        .expect("bind");
        let portal_addr = portal.local_addr().expect("addr");
        tokio::spawn(portal.run());
        (addr, portal_addr)
    });
    let client = runtime();
    let (connection, service) = client.block_on(async {
        let connection = tartine::connect(addr).await.expect("connect");
        let service: Remote<BenchService> = connection.root().expect("root");
        (connection, service)
    });

    c.bench_function("small_call", |b| {
        b.to_async(&client)
            .iter(|| async { black_box(service.echo(black_box(7)).await.expect("echo")) });
    });

    let mut group = c.benchmark_group("pipelined");
    group.throughput(Throughput::Elements(64));
    group.bench_function("64_in_flight", |b| {
        b.to_async(&client).iter(|| async {
            let mut calls: FuturesUnordered<_> = (0..64).map(|i| service.echo(i)).collect();
            while let Some(result) = calls.next().await {
                black_box(result.expect("echo"));
            }
        });
    });
    group.finish();

    let payload = Bytes::from(vec![7u8; 64 * 1024]);
    let mut group = c.benchmark_group("bulk");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function("echo_bytes_64k", |b| {
        b.to_async(&client)
            .iter(|| async { black_box(service.echo_bytes(payload.clone()).await.expect("echo")) });
    });
    group.finish();

    c.bench_function("reference_export_call_release", |b| {
        b.to_async(&client).iter(|| async {
            let token = service.token(3).await.expect("token");
            black_box(token.get().await.expect("get"))
        });
    });

    let portal_connection = client
        .block_on(tartine::connect(portal_addr))
        .expect("connect");
    let mut group = c.benchmark_group("login");
    group.sample_size(20);
    group.bench_function("anonymous", |b| {
        b.to_async(&client).iter(|| async {
            let member: Remote<Member> = portal_connection
                .login(LoginCredentials::anonymous())
                .await
                .expect("login");
            portal_connection.logout(&member).await.expect("logout");
        });
    });
    group.bench_function("password_4096_iterations", |b| {
        b.to_async(&client).iter(|| async {
            let member: Remote<Member> = portal_connection
                .login(LoginCredentials::password("bench", "bench"))
                .await
                .expect("login");
            portal_connection.logout(&member).await.expect("logout");
        });
    });
    group.finish();
    drop((service, connection, portal_connection));
}

criterion_group!(calls, benches);
criterion_main!(calls);
