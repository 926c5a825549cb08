#[tartine::referenceable]
pub trait Store {
    fn put<T>(&self, value: T); //~ ERROR cannot be generic
}

fn main() {}
