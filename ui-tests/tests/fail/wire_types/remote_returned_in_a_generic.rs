use tartine::Remote;

#[derive(serde::Serialize, serde::Deserialize)]
pub enum Either<A, B> {
    Left(A),
    Right(B),
}

pub struct Game;

#[tartine::referenceable]
impl Game {
    pub fn name(&self) -> String {
        String::new()
    }
}

pub struct Table;

#[tartine::referenceable]
impl Table {
    // The caller's `Game` goes back to it, but inside a type of the user's the macro cannot
    // swap it for what the caller decodes.
    pub fn seat(&self, game: Remote<Game>) -> Either<Remote<Game>, u8> { //~ ERROR hold a `Ref<..>`
        Either::Left(game)
    }
}

fn main() {}
