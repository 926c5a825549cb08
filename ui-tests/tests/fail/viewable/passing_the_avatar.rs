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
    pub fn send(&self, from: &User, message: String) -> bool {
        let _ = (from, message);
        true
    }
}

async fn spoof(group: tartine::Remote<Group>, bob: tartine::Remote<User>) {
    // The runtime supplies the sender; the proxy has no such parameter.
    let _ = group.send(bob, "i like pork".to_owned()).await; //~ ERROR this method takes 1 argument
}

fn main() {
    let _ = spoof;
}
