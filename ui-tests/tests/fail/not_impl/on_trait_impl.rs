pub struct Echo;

// Only the trait of a protocol crate, marked `#[referenceable]`, is an interface.
#[tartine::referenceable] //~ ERROR is not an interface peers can call
impl Clone for Echo {
    fn clone(&self) -> Self {
        Echo
    }
}

fn main() {}
