pub struct User;

#[tartine::avatar]
impl User {
    pub fn name(&self) -> String {
        "alice".into()
    }
}

pub struct Group;

#[tartine::viewable]
impl Group {
    pub fn send(&self) -> bool { //~ ERROR take the caller's avatar as first parameter
        true
    }
}

fn main() {}
