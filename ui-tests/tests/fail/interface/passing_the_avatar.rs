#[tartine::viewable]
pub trait Room {
    type Member;
    fn say(&self, from: &Self::Member, text: String) -> usize;
}

async fn spoof(room: tartine::Remote<dyn Room>) {
    let _ = room.say("bob".to_owned(), "hi".to_owned()).await; //~ ERROR takes 1 argument
}

fn main() {}
