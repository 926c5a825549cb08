#[tartine::referenceable]
pub trait Cart {
    async fn add(&self, item: String) -> usize;
    async fn total(&self) -> u64;
}

pub struct MyCart;

#[tartine::referenceable]
impl Cart for MyCart {
    #[tartine(spawn)] //~ ERROR belong to the interface
    async fn add(&self, _item: String) -> usize {
        1
    }

    #[tartine(timeout = "5s")] //~ ERROR belong to the interface
    async fn total(&self) -> u64 {
        0
    }
}

fn main() {}
