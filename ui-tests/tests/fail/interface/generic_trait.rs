#[tartine::referenceable]
pub trait Store<T> { //~ ERROR cannot be generic
    fn len(&self) -> u64;
}

fn main() {}
