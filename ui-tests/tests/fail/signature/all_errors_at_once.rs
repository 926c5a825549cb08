// Every broken rule of a block is reported in one go, each at its own tokens.
pub struct Messy;

#[tartine::referenceable]
impl Messy {
    pub fn one(&mut self) {} //~ ERROR `&mut self`

    pub fn two<T>(&self, value: T) { //~ ERROR cannot be generic
        let _ = value;
    }

    pub fn three(&self, text: &String) { //~ ERROR arrive by value
        let _ = text;
    }
}

fn main() {}
