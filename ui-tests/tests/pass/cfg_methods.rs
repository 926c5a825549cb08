//! `#[cfg]` on exposed methods applies to the dispatch table and the proxy alike.

pub struct Features;

#[tartine::referenceable]
impl Features {
    pub fn always(&self) -> u64 {
        1
    }

    #[cfg(any())]
    pub fn never(&self) -> u64 {
        2
    }
}

async fn call(remote: tartine::Remote<Features>) -> Result<u64, tartine::CallError> {
    remote.always().await
}

fn main() {
    let _ = call;
}
