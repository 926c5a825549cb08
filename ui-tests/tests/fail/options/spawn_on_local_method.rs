pub struct Api;

#[tartine::referenceable]
impl Api {
    #[tartine(spawn)] //~ ERROR `spawn` applies to exposed methods only
    fn helper(&self) -> u64 {
        1
    }
}

fn main() {}
