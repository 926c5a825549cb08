//! A hand-driven client that speaks the wire protocol frame by frame, for hostile tests.
#![allow(dead_code)]

use super::TestServer;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;
use tartine::wire::{Failure, FrameCodec, IdList, Message, Outgoing, PREAMBLE, decode_message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// A hand-driven client speaking the protocol frame by frame.
pub struct Raw {
    pub root: Option<String>,
    pub framed: Framed<TcpStream, FrameCodec>,
    next_call: u64,
}

/// What the server answered to a raw call.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Return { exports: Vec<u64>, payload: Vec<u8> },
    Raised(Vec<u8>),
    Failed(Failure),
}

impl Raw {
    pub async fn connect(server: &TestServer) -> Raw {
        Self::connect_to(server.addr).await
    }

    pub async fn connect_to(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.unwrap();
        Self::handshake(stream).await
    }

    /// Connects from `local` (any address of 127.0.0.0/8 is loopback on Linux), so that a
    /// test can be another peer address.
    pub async fn connect_from(local: std::net::IpAddr, addr: SocketAddr) -> Raw {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        Self::handshake(stream).await
    }

    async fn handshake(mut stream: TcpStream) -> Raw {
        stream.write_all(&PREAMBLE).await.unwrap();
        let mut theirs = [0; 8];
        stream.read_exact(&mut theirs).await.unwrap();
        assert_eq!(theirs, PREAMBLE);
        let mut framed = Framed::new(stream, FrameCodec::new(1 << 20));
        framed
            .send(frame(
                Message::Hello {
                    root: None,
                    max_frame: 1 << 20,
                    max_refs: 16_384,
                },
                &[],
            ))
            .await
            .unwrap();
        let hello = framed.next().await.unwrap().unwrap();
        let root = match decode_message(&hello).unwrap().0 {
            Message::Hello { root, .. } => root.map(str::to_owned),
            other => panic!("expected a hello, got {other:?}"),
        };
        Raw {
            root,
            framed,
            next_call: 1,
        }
    }

    pub async fn call_raw(&mut self, target: u64, method: &str, payload: &[u8]) -> Answer {
        let call = self.next_call;
        self.next_call += 1;
        let message = Message::Call {
            call,
            target,
            method,
            exports: IdList::EMPTY,
        };
        self.framed.send(frame(message, payload)).await.unwrap();
        loop {
            let reply = tokio::time::timeout(Duration::from_secs(5), self.framed.next())
                .await
                .expect("an answer")
                .expect("the connection stays open")
                .unwrap();
            let (message, offset) = decode_message(&reply).unwrap();
            match message {
                Message::Return { call: c, exports } if c == call => {
                    return Answer::Return {
                        exports: exports.decode(usize::MAX).unwrap(),
                        payload: reply[offset..].to_vec(),
                    };
                }
                Message::Raised { call: c, .. } if c == call => {
                    return Answer::Raised(reply[offset..].to_vec());
                }
                Message::Failed { call: c, failure } if c == call => {
                    return Answer::Failed(failure);
                }
                _ => continue,
            }
        }
    }

    pub async fn call<A: Serialize>(&mut self, target: u64, method: &str, args: &A) -> Answer {
        let payload = postcard::to_stdvec(args).unwrap();
        self.call_raw(target, method, &payload).await
    }

    /// Calls `Echo::counter(start)` and returns the new counter's id.
    pub async fn new_counter(&mut self, start: u64) -> u64 {
        match self.call(0, "counter", &(start,)).await {
            Answer::Return { exports, .. } => exports[0],
            other => panic!("{other:?}"),
        }
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.framed.get_mut().write_all(bytes).await.unwrap();
    }

    /// Waits for the server to close the connection.
    pub async fn expect_closed(&mut self) {
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match self.framed.next().await {
                    None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                }
            }
        })
        .await;
        assert!(end.is_ok(), "the server should close the connection");
    }
}

pub fn frame(message: Message<'_>, payload: &[u8]) -> Outgoing {
    Outgoing::new(message.encode().unwrap(), Bytes::copy_from_slice(payload))
}

/// `RefTag::Receiver(id)` as postcard encodes it: variant 1, then the id.
pub fn receiver_ref(id: u64) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend(postcard::to_stdvec(&id).unwrap());
    out
}
