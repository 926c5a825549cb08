//! A TCP relay between a client and a server that can stop passing the server's bytes on, so
//! that a real client becomes, to the server, a peer that never reads.
#![allow(dead_code)]

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A relay listening on its own port, forwarding to one server.
pub struct StallProxy {
    pub addr: SocketAddr,
    stall: watch::Sender<bool>,
}

impl StallProxy {
    /// Relays every connection made to `addr` to `server`.
    pub async fn start(server: SocketAddr) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stall, stalled) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = TcpStream::connect(server).await.unwrap();
                tokio::spawn(relay(client, upstream, stalled.clone()));
            }
        });
        StallProxy { addr, stall }
    }

    /// From now on, nothing more is read from the server: its writes pile up.
    pub fn stall(&self) {
        self.stall.send_replace(true);
    }
}

async fn relay(client: TcpStream, upstream: TcpStream, mut stalled: watch::Receiver<bool>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = upstream.into_split();
    let to_server = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        while let Ok(n) = client_read.read(&mut buffer).await {
            if n == 0 || server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    };
    let to_client = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            if *stalled.borrow_and_update() {
                // Keep the socket open and unread for as long as the test runs.
                std::future::pending::<()>().await;
            }
            tokio::select! {
                read = server_read.read(&mut buffer) => match read {
                    Ok(n) if n > 0 => {
                        if client_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                    _ => break,
                },
                _ = stalled.changed() => {}
            }
        }
    };
    tokio::join!(to_server, to_client);
}
