//! Generated code is immune to the user's names: a local `tartine` module, `__private`,
//! `Result`, `Box` and `Option` change nothing.

#[allow(dead_code)]
mod tartine {
    pub struct Remote;
}

#[allow(dead_code)]
mod __private {}

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
enum Option {
    Nothing,
}

pub struct Echo;

#[::tartine::referenceable]
impl Echo {
    pub fn echo(&self, text: String) -> String {
        text
    }

    pub fn check(&self, n: u64) -> std::result::Result<u64, String> {
        std::result::Result::Ok(n)
    }
}

fn main() {}
