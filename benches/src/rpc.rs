//! The tartine side: the service every benchmark calls, and a portal for the login benches.

use std::sync::Arc;
use tartine::cred::{
    AllowAnonymous, AvatarId, InMemoryPasswords, LoggedIn, LoginError, NoMind, Portal, Realm,
};
use tartine::{Bytes, Remote, avatar, referenceable};

/// The root object of the benchmark server.
#[derive(Debug, Clone, Copy, Default)]
pub struct BenchService;

#[referenceable]
impl BenchService {
    /// Returns `value`: the small call.
    pub fn echo(&self, value: u64) -> u64 {
        value
    }

    /// Returns `data`: the bulk call.
    pub fn echo_bytes(&self, data: Bytes) -> Bytes {
        data
    }

    /// Computes for `micros` microseconds in the connection's reader: a CPU-bound method.
    pub fn burn(&self, micros: u64) -> u64 {
        spin(micros)
    }

    /// The same method, each call a task of its own.
    #[tartine(spawn)]
    pub fn burn_spawned(&self, micros: u64) -> u64 {
        spin(micros)
    }

    /// A new short-lived object: the caller gets a `Remote<Token>`.
    pub fn token(&self, value: u64) -> Token {
        Token { value }
    }

    /// The same small call, behind a protocol trait: the caller gets a
    /// `Remote<dyn EchoProtocol>`.
    pub fn protocol(&self) -> tartine::Ref<dyn EchoProtocol> {
        tartine::Ref::new(TraitEcho)
    }
}

/// The small call as a protocol crate declares it.
#[referenceable(name = "bench.Echo")]
pub trait EchoProtocol {
    /// Returns `value`.
    fn echo(&self, value: u64) -> u64;
}

/// Implements [`EchoProtocol`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TraitEcho;

#[referenceable]
impl EchoProtocol for TraitEcho {
    fn echo(&self, value: u64) -> u64 {
        value
    }
}

/// Keeps the thread busy for `micros` microseconds; returns how many rounds it spun.
fn spin(micros: u64) -> u64 {
    let until = std::time::Instant::now() + std::time::Duration::from_micros(micros);
    let mut rounds = 0u64;
    while std::time::Instant::now() < until {
        rounds = std::hint::black_box(rounds + 1);
    }
    rounds
}

/// A short-lived referenceable.
#[derive(Debug)]
pub struct Token {
    value: u64,
}

#[referenceable]
impl Token {
    /// The token's value.
    pub fn get(&self) -> u64 {
        self.value
    }
}

/// The avatar of the login benches.
#[derive(Debug)]
pub struct Member {
    id: AvatarId,
}

#[avatar]
impl Member {
    /// Answers `true` for the anonymous member.
    pub fn anonymous(&self) -> bool {
        self.id == AvatarId::Anonymous
    }
}

/// Makes a `Member` per login.
#[derive(Debug, Default)]
pub struct Club;

impl Realm for Club {
    type Avatar = Member;
    type Mind = NoMind;

    async fn request_avatar(
        &self,
        id: AvatarId,
        _mind: Option<Remote<NoMind>>,
    ) -> Result<LoggedIn<Member>, LoginError> {
        Ok(LoggedIn::new(Arc::new(Member { id })))
    }
}

/// The login benches' portal: user `bench` with password `bench` at `iterations`, and
/// anonymous access.
///
/// # Errors
/// If the operating system gives no randomness for the salt.
pub fn portal(iterations: u32) -> std::io::Result<Portal> {
    let users = InMemoryPasswords::with_iterations(iterations).with_user("bench", "bench")?;
    Ok(Portal::new(Club)
        .with_checker(users)
        .with_checker(AllowAnonymous))
}

/// The defaults, but for the per-address limits: a load generator on loopback is one address
/// with thousands of connections, which the defaults would take for an attack.
pub fn load_config() -> tartine::Config {
    let mut config = tartine::Config::default();
    config.max_connections_per_address = usize::MAX;
    config.max_pending_per_address = usize::MAX;
    config.max_pending_connections = 100_000;
    config
}
