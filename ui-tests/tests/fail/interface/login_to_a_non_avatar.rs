#[tartine::referenceable]
pub trait Room {
    fn name(&self) -> String;
}

async fn enter(connection: tartine::Connection) {
    let _ = connection
        .login::<dyn Room>(tartine::cred::LoginCredentials::anonymous()) //~ ERROR is not an avatar
        .await;
}

fn main() {}
