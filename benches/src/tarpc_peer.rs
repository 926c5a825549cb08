//! tarpc with the same methods, over its TCP serde transport with bincode.

use bytes::Bytes;
use futures_util::StreamExt;
use std::io;
use std::net::SocketAddr;
use tarpc::server::{BaseChannel, Channel};
use tarpc::tokio_serde::formats::Bincode;

/// The benchmark service, as tarpc declares it.
#[tarpc::service]
pub trait Bench {
    /// Returns `value`.
    async fn echo(value: u64) -> u64;
    /// Returns `data`.
    async fn echo_bytes(data: Bytes) -> Bytes;
}

/// The server's implementation.
#[derive(Debug, Clone, Copy)]
pub struct BenchServer;

impl Bench for BenchServer {
    async fn echo(self, _: tarpc::context::Context, value: u64) -> u64 {
        value
    }

    async fn echo_bytes(self, _: tarpc::context::Context, data: Bytes) -> Bytes {
        data
    }
}

/// Binds a tarpc server on `addr`; returns its address and the future that serves it.
///
/// # Errors
/// When the address cannot be bound.
pub async fn bind(
    addr: SocketAddr,
) -> io::Result<(SocketAddr, impl std::future::Future<Output = ()> + Send)> {
    let mut incoming = tarpc::serde_transport::tcp::listen(addr, Bincode::default).await?;
    incoming.config_mut().max_frame_length(64 << 20);
    let local = incoming.local_addr();
    let serve = async move {
        incoming
            .filter_map(|transport| async move { transport.ok() })
            .for_each(|transport| async move {
                let _ = transport.get_ref().set_nodelay(true);
                let channel = BaseChannel::with_defaults(transport);
                tokio::spawn(channel.execute(BenchServer.serve()).for_each(
                    |response| async move {
                        tokio::spawn(response);
                    },
                ));
            })
            .await;
    };
    Ok((local, serve))
}

/// Connects a tarpc client.
///
/// # Errors
/// When the connection fails.
pub async fn connect(addr: SocketAddr) -> io::Result<BenchClient> {
    let mut connect = tarpc::serde_transport::tcp::connect(addr, Bincode::default);
    connect.config_mut().max_frame_length(64 << 20);
    let transport = connect.await?;
    let _ = transport.get_ref().set_nodelay(true);
    Ok(BenchClient::new(tarpc::client::Config::default(), transport).spawn())
}
