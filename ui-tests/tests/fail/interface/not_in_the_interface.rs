#[tartine::referenceable]
pub trait Counter {
    fn get(&self) -> u64;
}

pub struct Memory;

#[tartine::referenceable]
impl Counter for Memory {
    fn get(&self) -> u64 {
        0
    }

    fn reset(&self) {} //~ ERROR not a member of trait `Counter`
}

fn main() {}
