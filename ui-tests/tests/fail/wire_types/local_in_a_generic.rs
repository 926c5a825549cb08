use tartine::Local;

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
    pub fn seat(&self, game: Either<Local<Game>, u8>) -> bool { //~ ERROR hold a `Ref<..>`
        matches!(game, Either::Right(_))
    }
}

fn main() {}
