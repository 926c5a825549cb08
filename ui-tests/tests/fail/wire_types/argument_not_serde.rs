pub struct Secret(u64);

pub struct Store;

#[tartine::referenceable]
impl Store {
    pub fn put(&self, secret: Secret) -> bool { //~ ERROR `Secret` cannot cross the wire as an argument
        let _ = secret;
        true
    }
}

fn main() {}
