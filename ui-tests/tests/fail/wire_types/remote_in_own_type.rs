use tartine::Remote;

pub struct Game;

#[tartine::referenceable]
impl Game {
    pub fn name(&self) -> String {
        String::new()
    }
}

// A `Remote<Game>` is the peer's object; encoded in this value, the peer would have to decode
// it as its own `Local<Game>`. One type serves both sides: `tartine::Ref<Game>`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Seat {
    pub game: Remote<Game>, //~ ERROR cannot be encoded inside a value
}

fn main() {}
