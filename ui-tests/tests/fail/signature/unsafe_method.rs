pub struct Vault;

#[tartine::referenceable]
impl Vault {
    pub unsafe fn open(&self) -> u64 { //~ ERROR exposed methods cannot be `unsafe`
        0
    }
}

fn main() {}
