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
    pub fn send(&self, message: String, from: &User) -> bool { //~ ERROR avatar as first parameter
        let _ = (message, from);
        true
    }
}

fn main() {}
