pub struct Api;

#[tartine::referenceable(name = "api")] //~ ERROR takes no arguments
impl Api {
    pub fn get(&self) -> u64 {
        1
    }
}

fn main() {}
