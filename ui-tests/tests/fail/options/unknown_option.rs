pub struct Api;

#[tartine::referenceable]
impl Api {
    #[tartine(hidden)] //~ ERROR unknown tartine option
    pub fn get(&self) -> u64 {
        1
    }
}

fn main() {}
