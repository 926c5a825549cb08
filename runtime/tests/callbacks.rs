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

/// The server hands back the last reference it holds: it sends its release after the reply,
/// and the client applies that release only once the reply is decoded, so the caller gets its
/// own object, and nothing stays exported after.
#[tokio::test]
async fn an_object_handed_back_by_the_server_is_the_callers_own() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let listener = Local::new(Listener {
        heard: Default::default(),
    });
    for round in 0..100 {
        let back: Local<Listener> = echo
            .give_back(listener.clone())
            .await
            .unwrap_or_else(|error| panic!("round {round}: {error:?}"));
        assert!(back.ptr_eq(&listener));
    }
    eventually("the server released the listener", || {
        connection.stats().exports == 0
    })
    .await;
}

/// Objects of the caller that the server sends back inside containers and a `Result` arrive
/// as the caller's own objects, in the same places.
#[tokio::test]
async fn objects_handed_back_inside_containers_are_the_callers_own() {
    let server = start_server().await;
    let (connection, echo) = connect(&server).await;
    let listeners: Vec<Local<Listener>> = (0..3)
        .map(|_| {
            Local::new(Listener {
                heard: Default::default(),
            })
        })
        .collect();
    let (first, rest) = echo
        .give_back_nested(listeners.clone())
        .await
        .expect("the call succeeds");
    let first = first.expect("the first listener comes back");
    assert!(first.ptr_eq(&listeners[0]));
    assert_eq!(rest.len(), 2);
    for ([back], sent) in rest.iter().zip(&listeners[1..]) {
        assert!(back.ptr_eq(sent));
    }
    drop((first, rest));
    eventually("the server released the listeners", || {
        connection.stats().exports == 0
    })
    .await;
}
