//! Raw identifiers as method and parameter names.

pub struct Keywords;

#[tartine::referenceable]
impl Keywords {
    pub fn r#type(&self, r#match: u64) -> u64 {
        r#match
    }
}

async fn call(remote: tartine::Remote<Keywords>) -> Result<u64, tartine::CallError> {
    remote.r#type(3).await
}

fn main() {
    let _ = call;
    assert!(<Keywords as tartine::Interface>::METHODS.contains(&"type"));
}
