#[tartine::referenceable] //~ ERROR goes on an `impl` block
pub struct Echo;

fn main() {}
