//! Every way a value or a reference crosses: by value, returned referenceables (`T`, `Arc<T>`,
//! `Local<T>`, in `Option`, `Vec` and `Result`), references nested in values, a mind passed in,
//! the runtime's `&CallContext`, and viewables taking the avatar as `&A` or `Arc<A>`.

use std::sync::Arc;
use tartine::{CallContext, CallError, Local, Remote, RemoteError};

pub struct Item;

#[tartine::referenceable]
impl Item {
    pub fn id(&self) -> u64 {
        1
    }
}

pub struct Listener;

#[tartine::referenceable]
impl Listener {
    pub fn hear(&self, text: String) {
        let _ = text;
    }
}

pub struct User;

#[tartine::avatar]
impl User {
    pub fn item(&self) -> Item {
        Item
    }
    pub fn shared(&self) -> Arc<Item> {
        Arc::new(Item)
    }
    pub fn local(&self) -> Local<Item> {
        Local::new(Item)
    }
    pub fn maybe(&self) -> Option<Item> {
        None
    }
    pub fn many(&self) -> Vec<Arc<Item>> {
        Vec::new()
    }
    pub fn checked(&self) -> Result<Item, String> {
        Ok(Item)
    }
    pub fn pairs(&self) -> Vec<(String, Local<Item>)> {
        Vec::new()
    }
    pub fn count(&self, items: Vec<Local<Item>>) -> usize {
        items.len()
    }
    pub async fn subscribe(&self, listener: Remote<Listener>) -> bool {
        listener.hear("hi".into()).await.is_ok()
    }
    pub fn whereami(&self, cx: &CallContext) -> String {
        format!("{:?}", cx.peer_addr())
    }
    pub fn bytes(&self, data: tartine::Bytes) -> tartine::Bytes {
        data
    }
}

pub struct Room;

#[tartine::viewable]
impl Room {
    pub fn enter(&self, who: &User) -> bool {
        let _ = who;
        true
    }
    pub async fn leave(&self, who: Arc<User>, reason: String) -> Result<(), String> {
        let _ = (who, reason);
        Ok(())
    }
}

#[allow(clippy::type_complexity)]
async fn client(user: Remote<User>, room: Remote<Room>) -> Result<(), CallError> {
    let _: Remote<Item> = user.item().await?;
    let _: Remote<Item> = user.shared().await?;
    let _: Remote<Item> = user.local().await?;
    let _: Option<Remote<Item>> = user.maybe().await?;
    let _: Vec<Remote<Item>> = user.many().await?;
    let checked: Result<Remote<Item>, RemoteError<String>> = user.checked().await;
    let item = checked.map_err(|_| CallError::NoSuchObject)?;
    let _: Vec<(String, Remote<Item>)> = user.pairs().await?;
    let _: usize = user.count(vec![item.clone()]).await?;
    let _: bool = user.subscribe(Listener).await?;
    let _: bool = user.subscribe(Arc::new(Listener)).await?;
    let _: String = user.whereami().await?;
    let _: tartine::Bytes = user.bytes(tartine::Bytes::new()).await?;
    let _: bool = room.enter().await?;
    let _: Result<(), RemoteError<String>> = room.leave("bye".into()).await;
    Ok(())
}

fn main() {
    let _ = client;
}
