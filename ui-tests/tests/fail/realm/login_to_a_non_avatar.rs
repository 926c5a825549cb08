pub struct Group;

#[tartine::referenceable]
impl Group {
    pub fn name(&self) -> String {
        String::new()
    }
}

async fn enter(connection: tartine::Connection) {
    let _ = connection
        .login::<Group>(tartine::cred::LoginCredentials::anonymous()) //~ ERROR is not an avatar
        .await;
}

fn main() {}
