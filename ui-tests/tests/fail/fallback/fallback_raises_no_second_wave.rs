// After an error in the block, uses of the type elsewhere still resolve: the only error is the
// one in the block.
pub struct Echo;

#[tartine::referenceable]
impl Echo {
    pub fn echo(&mut self, text: String) -> String { //~ ERROR `&mut self`
        text
    }
}

fn takes(echo: tartine::Remote<Echo>) -> tartine::Remote<Echo> {
    echo.clone()
}

fn main() {
    let _ = takes;
}
