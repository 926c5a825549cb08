#[tartine::referenceable]
pub trait Store {
    fn get(&self) -> u64;
    #[tartine(rename = "get")]
    fn fetch(&self) -> u64; //~ ERROR share the wire name `get`
}

fn main() {}
