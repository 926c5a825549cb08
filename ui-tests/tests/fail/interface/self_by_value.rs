#[tartine::referenceable]
pub trait Store {
    fn close(self); //~ ERROR not `self`
}

fn main() {}
