pub struct Stranger;

pub struct Group;

#[tartine::viewable]
impl Group {
    pub fn send(&self, from: &Stranger, message: String) -> bool { //~ ERROR `Stranger` is not an avatar
        let _ = (from, message);
        true
    }
}

fn main() {}
