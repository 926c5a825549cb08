pub struct Plain;

#[tartine::referenceable]
pub trait Store {
    fn put(&self, value: Plain); //~ ERROR cannot cross the wire as an argument
}

fn main() {}
