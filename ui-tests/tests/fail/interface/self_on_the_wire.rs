#[tartine::viewable]
pub trait Room {
    type Member;
    fn members(&self, from: &Self::Member) -> Vec<Self::Member>; //~ ERROR cannot name `Self`
}

fn main() {}
