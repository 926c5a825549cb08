// One type has one interface: its exposed methods go in one `#[referenceable]` block (a
// second interface takes a wrapper type).
pub struct Shop;

#[tartine::referenceable]
impl Shop {
    pub fn open(&self) -> bool {
        true
    }
}

#[tartine::referenceable] //~ ERROR conflicting implementations
impl Shop {
    pub fn close(&self) -> bool {
        false
    }
}

fn main() {}
