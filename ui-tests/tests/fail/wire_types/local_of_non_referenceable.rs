pub struct Plain;

pub struct Store;

#[tartine::referenceable]
impl Store {
    pub fn inspect(&self, plain: tartine::Local<Plain>) -> bool { //~ ERROR `Plain` is not a referenceable object
        let _ = plain;
        true
    }
}

fn main() {}
