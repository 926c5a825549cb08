//! A small realm for the login tests: players, a shared table (a viewable), a screen (the
//! client's mind).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tartine::cred::{
    AllowAnonymous, AvatarId, LoggedIn, LoginCredentials, LoginError, Portal, Realm,
};
use tartine::{Config, Local, Remote, Server, ServerHandle, avatar, referenceable, viewable};

pub type Log = Arc<Mutex<Vec<String>>>;

pub struct Player {
    pub id: AvatarId,
    pub table: Arc<Table>,
    pub panel: Arc<AdminPanel>,
    pub mind: Option<Remote<Screen>>,
}

#[avatar]
impl Player {
    pub fn foo(&self, arg: u64) -> String {
        format!("I am {}, foo({arg})", self.id)
    }

    pub fn name(&self) -> String {
        self.id.to_string()
    }

    pub fn is_anonymous(&self) -> bool {
        self.id == AvatarId::Anonymous
    }

    /// Calls the client back through its mind.
    pub async fn shout(&self, text: String) -> usize {
        match &self.mind {
            Some(mind) => mind.show(format!("{}: {text}", self.id)).await.unwrap_or(0),
            None => 0,
        }
    }

    pub fn table(&self) -> Arc<Table> {
        self.table.clone()
    }

    pub fn panel(&self) -> Arc<AdminPanel> {
        self.panel.clone()
    }

    /// Greets another player handed back by the caller.
    pub fn greet(&self, other: Local<Player>) -> String {
        format!("{} greets {}", self.id, other.id)
    }
}

/// Shared by every player; each call learns who sits.
pub struct Table {
    pub seated: Mutex<Vec<String>>,
}

#[viewable]
impl Table {
    pub fn sit(&self, who: &Player) -> String {
        self.seated.lock().unwrap().push(who.name());
        who.name()
    }

    pub fn seated(&self, _who: Arc<Player>) -> Vec<String> {
        self.seated.lock().unwrap().clone()
    }
}

pub struct Admin;

#[avatar]
impl Admin {
    pub fn power(&self) -> u64 {
        9000
    }
}

/// Only for admins.
pub struct AdminPanel;

#[viewable]
impl AdminPanel {
    pub fn shutdown(&self, _admin: &Admin) -> bool {
        true
    }
}

/// The client's mind.
pub struct Screen {
    pub lines: Mutex<Vec<String>>,
}

#[referenceable]
impl Screen {
    pub fn show(&self, line: String) -> usize {
        let mut lines = self.lines.lock().unwrap();
        lines.push(line);
        lines.len()
    }
}

pub struct Club {
    pub log: Log,
    pub table: Arc<Table>,
    pub panel: Arc<AdminPanel>,
}

impl Club {
    pub fn new() -> Self {
        Club {
            log: Log::default(),
            table: Arc::new(Table {
                seated: Mutex::new(Vec::new()),
            }),
            panel: Arc::new(AdminPanel),
        }
    }
}

impl Realm for Club {
    type Avatar = Player;
    type Mind = Screen;

    async fn request_avatar(
        &self,
        id: AvatarId,
        mind: Option<Remote<Screen>>,
    ) -> Result<LoggedIn<Player>, LoginError> {
        if id == AvatarId::User("banned".into()) {
            return Err(LoginError::Refused("banned".into()));
        }
        let log = self.log.clone();
        log.lock().unwrap().push(format!("login {id}"));
        let name = id.to_string();
        let player = Player {
            id,
            table: self.table.clone(),
            panel: self.panel.clone(),
            mind,
        };
        Ok(LoggedIn::new(player).on_logout(move || {
            log.lock().unwrap().push(format!("logout {name}"));
        }))
    }
}

/// Serves `portal` with `config` on a loopback port.
pub async fn serve_portal(portal: Portal, config: Config) -> (SocketAddr, ServerHandle) {
    let server = Server::bind_portal_with("127.0.0.1:0", portal, config)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.handle();
    tokio::spawn(server.run());
    (addr, handle)
}

/// A club that lets anyone in anonymously, served with `config`.
pub async fn anonymous_club(config: Config) -> (SocketAddr, ServerHandle) {
    serve_portal(
        Portal::new(Club::new()).with_checker(AllowAnonymous),
        config,
    )
    .await
}

/// Connects to `addr` and logs in anonymously; whether it worked.
pub async fn anonymous_login_works(addr: SocketAddr) -> bool {
    let connection = tartine::connect(addr).await.unwrap();
    connection
        .login::<Player>(LoginCredentials::anonymous())
        .await
        .is_ok()
}
