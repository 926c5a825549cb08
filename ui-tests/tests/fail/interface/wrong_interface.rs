#[tartine::referenceable]
pub trait Counter {
    fn get(&self) -> u64;
}

#[tartine::referenceable]
pub trait Clock {
    fn now(&self) -> u64;
}

fn count(_: tartine::Remote<dyn Counter>) {}

fn confuse(clock: tartine::Remote<dyn Clock>) {
    count(clock); //~ ERROR mismatched types
}

fn main() {}
