pub struct Secret(u64);

pub struct Store;

#[tartine::referenceable]
impl Store {
    pub fn get(&self) -> Secret { //~ ERROR `Secret` cannot cross the wire
        Secret(7)
    }
}

fn main() {}
