pub struct Store;

#[tartine::referenceable]
impl Store {
    pub fn put(&self, value: impl serde::Serialize) -> bool { //~ ERROR cannot take `impl Trait`
        let _ = value;
        true
    }
}

fn main() {}
