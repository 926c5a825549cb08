use tartine::Remote;
use tartine::cred::{AvatarId, LoggedIn, LoginError, NoMind, Realm};

pub struct Admin;

#[tartine::referenceable]
impl Admin {
    pub fn power(&self) -> u64 {
        9000
    }
}

pub struct Kingdom;

impl Realm for Kingdom {
    type Avatar = Admin; //~ ERROR `Admin` is not an avatar
    type Mind = NoMind;

    async fn request_avatar(
        &self,
        _id: AvatarId,
        _mind: Option<Remote<NoMind>>,
    ) -> Result<LoggedIn<Admin>, LoginError> {
        Ok(LoggedIn::new(Admin))
    }
}

fn main() {}
