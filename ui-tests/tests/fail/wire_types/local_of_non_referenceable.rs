pub struct Plain;

pub struct Store;

// Each mistake is one error, at the type that names `Plain`.
#[tartine::referenceable]
impl Store {
    pub fn inspect(&self, plain: tartine::Local<Plain>) -> bool { //~ ERROR `Plain` is not a referenceable object
        let _ = plain;
        true
    }

    pub fn inspect_all(&self, plain: Vec<tartine::Local<Plain>>) -> usize { //~ ERROR `Plain` is not a referenceable object
        plain.len()
    }
}

fn main() {}
