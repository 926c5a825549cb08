//! `Self` in the signatures of an exposed `impl` block means the exposed type, on the proxy as
//! on the server: a method returning `Self` reaches the caller as a `Remote` of that type.

use std::sync::Arc;
use tartine::{CallError, Local, Remote};

pub struct Counter(u64);

#[tartine::referenceable]
impl Counter {
    pub fn fork(&self) -> Self {
        Counter(self.0)
    }
    pub fn same(&self, other: Local<Self>) -> bool {
        other.0 == self.0
    }
    pub fn forks(&self) -> Vec<Arc<Self>> {
        Vec::new()
    }
    pub fn maybe(&self) -> Result<Option<Self>, String> {
        Ok(None)
    }
}

async fn client(counter: Remote<Counter>) -> Result<(), CallError> {
    let forked: Remote<Counter> = counter.fork().await?;
    let _: bool = counter.same(&forked).await?;
    let _: Vec<Remote<Counter>> = counter.forks().await?;
    let _ = counter.maybe().await;
    Ok(())
}

fn main() {
    let _ = client;
}
