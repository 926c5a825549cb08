pub struct Wrapper<T>(T);

#[tartine::referenceable]
impl<T: Send + Sync + 'static> Wrapper<T> { //~ ERROR does not support generic types
    pub fn get(&self) -> u64 {
        1
    }
}

fn main() {}
