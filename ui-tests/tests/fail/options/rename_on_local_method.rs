pub struct Api;

#[tartine::referenceable]
impl Api {
    #[tartine(rename = "helper")] //~ ERROR `rename` applies to exposed methods only
    fn helper(&self) -> u64 {
        1
    }
}

fn main() {}
