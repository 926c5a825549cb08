pub struct User;

#[tartine::avatar]
impl User {
    pub fn name(&self) -> String {
        "alice".into()
    }
}

pub struct Group;

#[tartine::referenceable]
impl Group {
    pub fn kick(&self, user: tartine::Local<User>) -> bool {
        let _ = user;
        true
    }
}

async fn confuse(group: tartine::Remote<Group>) {
    let _ = group.kick(&group).await; //~ ERROR mismatched types
}

fn main() {
    let _ = confuse;
}
