pub struct Api;

#[tartine::referenceable(label = "api")] //~ ERROR unknown argument
impl Api {
    pub fn get(&self) -> u64 {
        1
    }
}

pub struct Spaced;

#[tartine::referenceable(name = "my api")] //~ ERROR printable ASCII without spaces
impl Spaced {
    pub fn get(&self) -> u64 {
        1
    }
}

fn main() {}
