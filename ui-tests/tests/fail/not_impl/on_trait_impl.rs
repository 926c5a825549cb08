pub struct Echo;

#[tartine::referenceable]
impl Clone for Echo { //~ ERROR not on a trait impl
    fn clone(&self) -> Self {
        Echo
    }
}

fn main() {}
