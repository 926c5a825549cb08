//! Generated code names everything by absolute path: it builds without the prelude and with a
//! renamed `std` item in scope.
#![no_implicit_prelude]

extern crate std;
extern crate tartine;

pub struct Result;

pub struct Echo;

#[tartine::referenceable]
impl Echo {
    pub fn echo(&self, text: std::string::String) -> std::string::String {
        text
    }

    pub async fn maybe(&self, n: u64) -> std::result::Result<u64, std::string::String> {
        std::result::Result::Ok(n)
    }
}

fn main() {}
