#[tartine::referenceable]
pub trait Store {
    type Key; //~ ERROR holds methods only
    fn len(&self) -> u64;
}

fn main() {}
