pub struct Api;

#[tartine::referenceable]
impl Api {
    #[tartine(timeout = "5s")] //~ ERROR `timeout` applies to exposed methods only
    fn helper(&self) -> u64 {
        1
    }
}

fn main() {}
