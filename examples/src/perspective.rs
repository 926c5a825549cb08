//! The avatar and realm of the PB howto's first login examples: each login gets a
//! `MyPerspective` named after its user, with one method, `foo`.

use std::sync::{Arc, Mutex};
use tartine::Remote;
use tartine::cred::{
    AllowAnonymous, AvatarId, InMemoryPasswords, LoggedIn, LoginError, NoMind, Portal, Realm,
};

/// The avatar: a user's perspective on the server.
#[derive(Debug)]
pub struct MyPerspective {
    id: AvatarId,
    calls: Arc<Mutex<Vec<String>>>,
}

#[tartine::avatar]
impl MyPerspective {
    /// Prints who it is and what it was called with; returns the same line.
    pub fn foo(&self, arg: u64) -> String {
        let line = format!("I am {}. foo({arg}) called.", self.id);
        println!("server: {line}");
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(line.clone());
        }
        line
    }
}

/// Makes a new perspective for every login.
#[derive(Debug, Default)]
pub struct MyRealm {
    /// Every `foo` call the server saw, in order.
    pub calls: Arc<Mutex<Vec<String>>>,
}

impl Realm for MyRealm {
    type Avatar = MyPerspective;
    type Mind = NoMind;

    async fn request_avatar(
        &self,
        id: AvatarId,
        _mind: Option<Remote<NoMind>>,
    ) -> Result<LoggedIn<MyPerspective>, LoginError> {
        Ok(LoggedIn::new(MyPerspective {
            id,
            calls: Arc::clone(&self.calls),
        }))
    }
}

/// A portal with `user1`/`pass1` and `user2`/`pass2`, and anonymous access if asked for.
///
/// # Errors
/// If the operating system gives no randomness for the passwords' salts.
pub fn portal(realm: MyRealm, anonymous: bool) -> std::io::Result<Portal> {
    let users = InMemoryPasswords::new()
        .with_user("user1", "pass1")?
        .with_user("user2", "pass2")?;
    let portal = Portal::new(realm).with_checker(users);
    Ok(if anonymous {
        portal.with_checker(AllowAnonymous)
    } else {
        portal
    })
}
