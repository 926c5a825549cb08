pub struct Api;

#[tartine::referenceable]
impl Api {
    pub fn get(&self) -> u64 {
        1
    }

    #[tartine(rename = "get")] //~ ERROR share the wire name `get`
    pub fn get_v2(&self) -> u64 {
        2
    }
}

fn main() {}
