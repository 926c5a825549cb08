pub struct Store;

#[tartine::referenceable]
impl Store {
    pub fn put<T: serde::Serialize>(&self, value: T) -> bool { //~ ERROR exposed methods cannot be generic
        let _ = value;
        true
    }
}

fn main() {}
