//! Provides [`Reconnecting`], a client that keeps a connection to one endpoint: when the
//! connection is lost it reconnects with capped, jittered backoff, logs in again with the same
//! credentials (and mind), and tells the application through [`ReconnectEvent`]s.
//!
//! Nothing is retried behind a caller's back: a reference belongs to one connection, so a
//! call through a reference of a lost connection fails at once
//! ([`CallError::ConnectionLost`](crate::CallError::ConnectionLost)), and while the client is
//! down, [`Reconnecting::avatar`] and [`Reconnecting::root`] fail with
//! [`ReconnectError::Disconnected`]. After a [`ReconnectEvent::Connected`], take the avatar
//! (or root) again: it is the new connection's.

use crate::client::connect_with;
use crate::config::Config;
use crate::connection::handle::Connection;
use crate::cred::{LoginCredentials, LoginError, NoMind};
use crate::dispatch::Referenceable;
use crate::endpoint::{Endpoint, EndpointError, ToEndpoint};
use crate::error::{CloseReason, ConnectError, RootError};
use crate::interface::{AvatarInterface, Interface};
use crate::refs::handle::RemoteRef;
use crate::refs::local::Local;
use crate::refs::remote::Remote;
use futures_util::future::BoxFuture;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// How long a [`Reconnecting`] client waits between attempts: `initial` after the first
/// failure, doubling up to `max`, each wait drawn at random between half and all of it (so
/// that clients cut off together do not come back together).
///
/// A connection that lasted less than `max` does not start the count again: the attempts
/// after its loss go on doubling from where the ones before it stopped. A server that lets
/// clients in and drops them at once (crashing after each login, say) is then tried about
/// once per `max` (half of it to all of it), not every `initial`; so is one whose network
/// fails more often than every `max`. A wait is never shorter than a millisecond, whatever
/// `initial` and `max` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// The wait after a connection that lasted is lost, before the first attempt.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 100 ms, doubling up to 30 s.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// A backoff from `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max }
    }

    /// The wait before attempt `attempt` (1 for the first after a loss), jittered.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let full = self
            .initial
            .max(MIN_DELAY)
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max);
        jittered(full, attempt).max(MIN_DELAY)
    }

    /// Whether a connection that lasted `lived` counts as a failed attempt: one shorter than
    /// the longest wait does.
    pub(crate) fn short_lived(&self, lived: Duration) -> bool {
        lived < self.max
    }

    /// The longest wait, jittered: what a refused login waits.
    pub(crate) fn longest(&self, attempt: u32) -> Duration {
        jittered(self.max, attempt).max(MIN_DELAY)
    }
}

/// The shortest wait between attempts: a backoff of zero would retry in a hot loop.
const MIN_DELAY: Duration = Duration::from_millis(1);

/// Between half and all of `full`; std's per-process random keys make the draw.
fn jittered(full: Duration, attempt: u32) -> Duration {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    let fraction = (hasher.finish() % 1_000) as u32;
    full / 2 + (full / 2) * fraction / 1_000
}

/// What happened to a [`Reconnecting`] client's connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReconnectEvent {
    /// Connected (and logged in, if a login was asked for): take the avatar or root again.
    /// `attempt` counts the attempts since the connection was lost (0: the first connection),
    /// and goes on counting across connections that each lasted less than the backoff's `max`.
    #[non_exhaustive]
    Connected {
        /// Attempts since the last loss of a connection that lasted.
        attempt: u32,
    },
    /// The connection was lost; reconnecting starts.
    #[non_exhaustive]
    Disconnected {
        /// Why it ended.
        reason: CloseReason,
    },
    /// An attempt failed; the next comes after `delay`.
    #[non_exhaustive]
    Retrying {
        /// The failed attempt's number since the loss (counting on across connections that
        /// each lasted less than the backoff's `max`).
        attempt: u32,
        /// The wait before the next.
        delay: Duration,
        /// Why it failed.
        error: String,
        /// Whether the server refused the credentials ([`LoginError::Unauthorized`]): they
        /// changed, or the server throttles logins to this user (it answers both alike).
        refused: bool,
    },
    /// The client stopped for good: it was closed, or the server refused its credentials and
    /// the client was built to [stop then](ReconnectBuilder::stop_when_refused).
    #[non_exhaustive]
    Stopped {
        /// Why, if it did not stop on request.
        error: Option<String>,
    },
}

/// Why a [`Reconnecting`] client cannot give what was asked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReconnectError {
    /// The client is not connected now (it is reconnecting, or stopped).
    #[error("disconnected: the client is reconnecting, or stopped")]
    Disconnected,
    /// The endpoint does not parse.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The first connection failed.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The first login failed.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// No login was asked for, so there is no avatar.
    #[error("no login was asked for: this client has no avatar")]
    NoLogin,
    /// The avatar (or root) is of another interface.
    #[error("the peer's object is `{found}`, not `{expected}`")]
    WrongType {
        /// The interface asked for.
        expected: &'static str,
        /// The interface the server handed out.
        found: String,
    },
    /// The root could not be had.
    #[error(transparent)]
    Root(#[from] RootError),
}

impl From<ConnectError> for ReconnectError {
    fn from(error: ConnectError) -> Self {
        ReconnectError::Connect(error.to_string())
    }
}

/// Logs in on a fresh connection; returns the avatar, untyped.
type LoginFn =
    Arc<dyn Fn(Connection) -> BoxFuture<'static, Result<RemoteRef, LoginError>> + Send + Sync>;

/// How a [`Reconnecting`] client logs in on each connection.
struct LoginPlan {
    login: LoginFn,
    /// The interface of the avatar.
    interface: &'static str,
}

/// The connection a [`Reconnecting`] client has now, and its avatar.
#[derive(Clone)]
struct Current {
    connection: Connection,
    avatar: Option<RemoteRef>,
}

/// Sets up a [`Reconnecting`] client; [`start`](Self::start) makes the first connection.
pub struct ReconnectBuilder {
    endpoint: Endpoint,
    config: Config,
    backoff: Backoff,
    login: Option<LoginPlan>,
    stop_when_refused: bool,
}

impl fmt::Debug for ReconnectBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectBuilder")
            .field("endpoint", &self.endpoint)
            .field("backoff", &self.backoff)
            .field("login", &self.login.as_ref().map(|plan| plan.interface))
            .field("stop_when_refused", &self.stop_when_refused)
            .finish_non_exhaustive()
    }
}

impl ReconnectBuilder {
    /// Each connection's settings (default: `Config::default()`).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The waits between attempts (default: [`Backoff::default`]).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Stops for good when the server refuses the credentials on a reconnect, instead of
    /// retrying (off by default).
    ///
    /// By default a refused login is retried after the longest wait ([`Backoff::max`],
    /// jittered), and reported as [`ReconnectEvent::Retrying`] with `refused` set. The
    /// credentials were accepted before, and a server throttling failed logins to a user answers
    /// a throttled attempt exactly as a wrong password: a client that stopped on that answer
    /// could be cut off for good by anyone who keeps guessing the user's password. The longest
    /// wait keeps a client whose password changed from filling the user's throttle itself. Stop
    /// only where no such throttle applies, or watch the events and
    /// [`close`](Reconnecting::close) on your terms.
    pub fn stop_when_refused(mut self) -> Self {
        self.stop_when_refused = true;
        self
    }

    /// Logs in with `credentials` on each connection, expecting an avatar of interface `A`.
    pub fn login<A: AvatarInterface + ?Sized + 'static>(
        self,
        credentials: LoginCredentials,
    ) -> Self {
        self.plan::<A, NoMind>(credentials, None)
    }

    /// As [`login`](Self::login), passing `mind` (one of our objects, the same on every
    /// connection) for the server to call back.
    pub fn login_with_mind<A: AvatarInterface + ?Sized + 'static, M: Referenceable>(
        self,
        credentials: LoginCredentials,
        mind: impl Into<Local<M>>,
    ) -> Self {
        self.plan::<A, M>(credentials, Some(mind.into()))
    }

    fn plan<A: AvatarInterface + ?Sized + 'static, M: Referenceable>(
        mut self,
        credentials: LoginCredentials,
        mind: Option<Local<M>>,
    ) -> Self {
        let login: LoginFn = Arc::new(move |connection: Connection| {
            Box::pin(connection.login_inner::<M>(credentials.clone(), mind.clone(), A::NAME))
        });
        self.login = Some(LoginPlan {
            login,
            interface: A::NAME,
        });
        self
    }

    /// Connects (and logs in) once, then keeps the connection: from here on, a lost
    /// connection is made again in the background. Needs a tokio runtime.
    ///
    /// # Errors
    /// When the first connection or login fails; nothing runs in the background then.
    pub async fn start(self) -> Result<Reconnecting, ReconnectError> {
        let plan = Arc::new(Attempt {
            endpoint: self.endpoint,
            config: self.config,
            login: self.login,
        });
        let first = plan.make().await?;
        let (current, _) = watch::channel(Some(first.clone()));
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let stop = CancellationToken::new();
        let interface = plan.login.as_ref().map(|plan| plan.interface);
        let supervisor = Supervisor {
            plan,
            backoff: self.backoff,
            stop_when_refused: self.stop_when_refused,
            current: current.clone(),
            events: events.clone(),
            stop: stop.clone(),
        };
        tokio::spawn(supervisor.run(first.connection));
        Ok(Reconnecting {
            inner: Arc::new(Inner {
                current,
                events,
                stop,
                interface,
            }),
        })
    }
}

/// Events kept for a subscriber that lags; older ones are skipped.
const EVENT_BACKLOG: usize = 64;

/// What each attempt does.
struct Attempt {
    endpoint: Endpoint,
    config: Config,
    login: Option<LoginPlan>,
}

impl Attempt {
    async fn make(&self) -> Result<Current, ReconnectError> {
        let connection = connect_with(&self.endpoint, self.config.clone()).await?;
        let avatar = match &self.login {
            None => None,
            Some(plan) => Some((plan.login)(connection.clone()).await?),
        };
        Ok(Current { connection, avatar })
    }
}

/// The background task of a [`Reconnecting`] client.
struct Supervisor {
    plan: Arc<Attempt>,
    backoff: Backoff,
    /// Whether a refused login stops the client (see [`ReconnectBuilder::stop_when_refused`]).
    stop_when_refused: bool,
    current: watch::Sender<Option<Current>>,
    events: broadcast::Sender<ReconnectEvent>,
    stop: CancellationToken,
}

impl Supervisor {
    async fn run(self, mut connection: Connection) {
        let _ = self.events.send(ReconnectEvent::Connected { attempt: 0 });
        // The attempt that made the connection, and when.
        let (mut made_by, mut made_at) = (0u32, tokio::time::Instant::now());
        let error = loop {
            let reason = tokio::select! {
                () = self.stop.cancelled() => break None,
                reason = connection.closed() => reason,
            };
            self.current.send_replace(None);
            let _ = self.events.send(ReconnectEvent::Disconnected { reason });
            // A connection lost soon after it was made counts as one more failed attempt.
            let first = if self.backoff.short_lived(made_at.elapsed()) {
                made_by.saturating_add(1)
            } else {
                1
            };
            match self.reconnect(first).await {
                Ok(Some((next, attempt))) => {
                    (connection, made_by, made_at) = (next, attempt, tokio::time::Instant::now());
                }
                Ok(None) => break None,
                Err(error) => break Some(error),
            }
        };
        // Stopped for good, whatever the reason: waiters of `connected` give up.
        self.stop.cancel();
        if let Some(current) = self.current.send_replace(None) {
            current.connection.close();
        }
        let _ = self.events.send(ReconnectEvent::Stopped { error });
    }

    /// Attempts, counting from `first`, until one succeeds (`Some`, with its number), the
    /// client is stopped (`None`), or the server refuses the credentials of a client built to
    /// stop then (`Err`).
    async fn reconnect(&self, first: u32) -> Result<Option<(Connection, u32)>, String> {
        let mut attempt = first;
        let mut delay = self.backoff.delay(attempt);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return Ok(None),
                () = tokio::time::sleep(delay) => {}
            }
            let made = tokio::select! {
                () = self.stop.cancelled() => return Ok(None),
                made = self.plan.make() => made,
            };
            match made {
                Ok(current) => {
                    let connection = current.connection.clone();
                    self.current.send_replace(Some(current));
                    let _ = self.events.send(ReconnectEvent::Connected { attempt });
                    return Ok(Some((connection, attempt)));
                }
                Err(error) => {
                    let refused = matches!(error, ReconnectError::Login(LoginError::Unauthorized));
                    if refused && self.stop_when_refused {
                        return Err(error.to_string());
                    }
                    let next = attempt.saturating_add(1);
                    // A refused login waits the longest: each one the server checks counts
                    // against the user's throttle, which a client retrying at once on a
                    // changed password could keep full for the user herself.
                    delay = if refused {
                        self.backoff.longest(next)
                    } else {
                        self.backoff.delay(next)
                    };
                    let _ = self.events.send(ReconnectEvent::Retrying {
                        attempt,
                        delay,
                        error: error.to_string(),
                        refused,
                    });
                    attempt = next;
                }
            }
        }
    }
}

/// What the handles of one [`Reconnecting`] client share; dropping the last stops it.
struct Inner {
    current: watch::Sender<Option<Current>>,
    events: broadcast::Sender<ReconnectEvent>,
    stop: CancellationToken,
    interface: Option<&'static str>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A client that keeps a connection to one endpoint, logging in again after each loss.
///
/// ```no_run
/// # use tartine::cred::LoginCredentials;
/// # pub struct Player;
/// # #[tartine::avatar] impl Player { pub fn name(&self) -> String { String::new() } }
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tartine::{Backoff, ReconnectEvent, Reconnecting};
/// use std::time::Duration;
///
/// let client = Reconnecting::builder("tcp://chat.example.org:8800")?
///     .backoff(Backoff::new(Duration::from_millis(200), Duration::from_secs(10)))
///     .login::<Player>(LoginCredentials::password("alice", "1234"))
///     .start()
///     .await?;
/// let mut events = client.events();
/// let player = client.avatar::<Player>()?;
/// println!("{}", player.name().await?);
/// while let Some(event) = events.next().await {
///     if let ReconnectEvent::Connected { .. } = event {
///         let player = client.avatar::<Player>()?; // the new connection's
///         println!("back: {}", player.name().await?);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Reconnecting {
    inner: Arc<Inner>,
}

impl fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconnecting")
            .field("connected", &self.inner.current.borrow().is_some())
            .finish_non_exhaustive()
    }
}

impl Reconnecting {
    /// Sets up a client of `endpoint`.
    ///
    /// # Errors
    /// When the endpoint does not parse.
    pub fn builder(endpoint: impl ToEndpoint) -> Result<ReconnectBuilder, ReconnectError> {
        Ok(ReconnectBuilder {
            endpoint: endpoint.to_endpoint()?,
            config: Config::default(),
            backoff: Backoff::default(),
            login: None,
            stop_when_refused: false,
        })
    }

    /// The connection now.
    ///
    /// # Errors
    /// [`ReconnectError::Disconnected`] while reconnecting, or once stopped.
    pub fn connection(&self) -> Result<Connection, ReconnectError> {
        self.inner
            .current
            .borrow()
            .as_ref()
            .map(|current| current.connection.clone())
            .ok_or(ReconnectError::Disconnected)
    }

    /// The avatar of the connection now.
    ///
    /// # Errors
    /// [`ReconnectError::Disconnected`] while reconnecting, [`ReconnectError::NoLogin`]
    /// without a login, [`ReconnectError::WrongType`] if the avatar is not an `A`.
    pub fn avatar<A: AvatarInterface + ?Sized>(&self) -> Result<Remote<A>, ReconnectError> {
        let interface = self.inner.interface.ok_or(ReconnectError::NoLogin)?;
        if interface != A::NAME {
            return Err(ReconnectError::WrongType {
                expected: A::NAME,
                found: interface.to_owned(),
            });
        }
        let current = self.inner.current.borrow();
        let current = current.as_ref().ok_or(ReconnectError::Disconnected)?;
        let avatar = current.avatar.clone().ok_or(ReconnectError::NoLogin)?;
        if current.connection.is_closed() {
            return Err(ReconnectError::Disconnected);
        }
        Ok(Remote::from_ref(avatar))
    }

    /// The root object of the connection now.
    ///
    /// # Errors
    /// [`ReconnectError::Disconnected`] while reconnecting, [`ReconnectError::Root`] if the
    /// root is not a `T`.
    pub fn root<T: Interface + ?Sized>(&self) -> Result<Remote<T>, ReconnectError> {
        match self.connection()?.root::<T>() {
            Err(RootError::ConnectionLost) => Err(ReconnectError::Disconnected),
            root => Ok(root?),
        }
    }

    /// Whether the client is connected now.
    pub fn is_connected(&self) -> bool {
        self.inner
            .current
            .borrow()
            .as_ref()
            .is_some_and(|current| !current.connection.is_closed())
    }

    /// The events from now on.
    pub fn events(&self) -> ReconnectEvents {
        ReconnectEvents {
            receiver: self.inner.events.subscribe(),
        }
    }

    /// Waits until the client is connected (at once if it is).
    ///
    /// # Errors
    /// [`ReconnectError::Disconnected`] if it stopped.
    pub async fn connected(&self) -> Result<(), ReconnectError> {
        let mut current = self.inner.current.subscribe();
        loop {
            if current.borrow_and_update().is_some() {
                return Ok(());
            }
            tokio::select! {
                () = self.inner.stop.cancelled() => return Err(ReconnectError::Disconnected),
                changed = current.changed() => {
                    if changed.is_err() {
                        return Err(ReconnectError::Disconnected);
                    }
                }
            }
        }
    }

    /// Stops the client: its connection closes, and it reconnects no more.
    pub fn close(&self) {
        self.inner.stop.cancel();
        if let Some(current) = self.inner.current.borrow().as_ref() {
            current.connection.close();
        }
    }
}

/// The events of a [`Reconnecting`] client, in order; a subscriber that falls more than 64
/// behind skips the oldest.
#[derive(Debug)]
pub struct ReconnectEvents {
    receiver: broadcast::Receiver<ReconnectEvent>,
}

impl ReconnectEvents {
    /// The next event; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<ReconnectEvent> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waits_double_up_to_the_cap_and_are_jittered_down_to_half() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 1..40 {
            let full = Duration::from_millis(100)
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(Duration::from_secs(1));
            let delay = backoff.delay(attempt);
            assert!(delay <= full && delay >= full / 2, "{attempt}: {delay:?}");
        }
        let draws: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff.delay(30)).collect();
        assert!(draws.len() > 1, "jittered");
    }

    #[test]
    fn a_backoff_of_zero_still_waits_and_doubles() {
        let backoff = Backoff::new(Duration::ZERO, Duration::from_secs(1));
        assert!(backoff.delay(1) >= MIN_DELAY);
        // 1 ms doubled ten times, capped at the 1 s maximum, then jittered down to half.
        assert!(backoff.delay(11) >= Duration::from_millis(500));
        let none = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert!(none.delay(5) >= MIN_DELAY);
        assert!(none.longest(5) >= MIN_DELAY);
    }
}
