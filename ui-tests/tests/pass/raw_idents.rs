//! Raw identifiers as method, parameter and type names.

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

#[allow(non_camel_case_types)]
pub struct r#struct;

#[tartine::referenceable]
impl r#struct {
    pub fn r#fn(&self) -> u64 {
        1
    }
}

async fn call_struct(remote: tartine::Remote<r#struct>) -> Result<u64, tartine::CallError> {
    remote.r#fn().await
}

fn main() {
    let _ = (call, call_struct);
    assert!(<Keywords as tartine::Interface>::METHODS.contains(&"type"));
}
