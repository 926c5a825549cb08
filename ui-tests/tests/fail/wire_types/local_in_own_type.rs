use tartine::Local;

pub struct Game;

#[tartine::referenceable]
impl Game {
    pub fn name(&self) -> String {
        String::new()
    }
}

// A `Local<Game>` is the server's; decoded by the client, this value would have to hold the
// client's `Remote<Game>`. One type serves both sides: `tartine::Ref<Game>`.
#[derive(serde::Serialize, serde::Deserialize)]
pub enum Seat {
    Playing(Local<Game>), //~ ERROR cannot be decoded inside a value
}

fn main() {}
