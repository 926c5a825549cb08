pub struct Echo;

#[tartine::referenceable]
impl Echo {
    pub fn echo(&self, text: &str) -> String { //~ ERROR parameters of exposed methods arrive by value
        text.to_owned()
    }
}

fn main() {}
