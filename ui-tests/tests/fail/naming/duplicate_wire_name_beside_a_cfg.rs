pub struct Api;

#[tartine::referenceable]
impl Api {
    pub fn get(&self) -> u64 {
        1
    }

    // In a debug build, both would answer `get`.
    #[cfg(debug_assertions)]
    #[tartine(rename = "get")] //~ ERROR share the wire name `get`
    pub fn get_v2(&self) -> u64 {
        2
    }

    #[cfg(unix)]
    pub fn put(&self) -> u64 {
        3
    }

    #[cfg(unix)]
    #[tartine(rename = "put")] //~ ERROR share the wire name `put`
    pub fn put_v2(&self) -> u64 {
        4
    }
}

fn main() {}
