//! Calls in both directions: a client passes its own object and the server calls it back.

mod common;

use common::*;
use std::sync::Arc;
use tartine::Local;

#[tokio::test]
async fn the_server_calls_back_an_object_the_client_passed() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let listener = Arc::new(Listener {
        heard: Default::default(),
    });
    assert_eq!(
        echo.notify(Local::from_arc(listener.clone()), "one".into())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        echo.notify(listener.clone(), "two".into()).await.unwrap(),
        2
    );
    assert_eq!(*listener.heard.lock().unwrap(), ["one", "two"]);
    // The server dropped its reference when each call ended: the client's table is back to
    // empty (nothing of ours is exported).
    eventually("the server released the listener", || {
        connection.stats().exports == 0
    })
    .await;
}

#[tokio::test]
async fn an_object_passed_by_value_is_exported_and_freed() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let heard = echo
        .notify(
            Listener {
                heard: Default::default(),
            },
            "hello".into(),
        )
        .await
        .unwrap();
    assert_eq!(heard, 1);
    eventually("the listener was released", || {
        connection.stats().exports == 0
    })
    .await;
}
