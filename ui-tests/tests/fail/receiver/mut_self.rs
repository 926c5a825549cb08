pub struct Counter {
    value: std::sync::atomic::AtomicU64,
}

#[tartine::referenceable]
impl Counter {
    pub fn bump(&mut self) -> u64 { //~ ERROR exposed methods take `&self`, not `&mut self`
        *self.value.get_mut() += 1;
        *self.value.get_mut()
    }
}

fn main() {}
