#[tartine::referenceable]
pub trait Store {
    async fn len(&self) -> u64 { //~ ERROR has no default body
        0
    }
}

fn main() {}
