pub struct Counter {
    value: u64,
}

#[tartine::referenceable]
impl Counter {
    pub fn bump(&mut self) -> u64 {
        self.value += 1;
        self.value
    }

    pub fn take(self) -> u64 {
        self.value
    }
}

fn main() {}
