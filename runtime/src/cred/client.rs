//! Provides the client side of a login: credentials, and `Connection::login` / `logout`.

use super::error::LoginError;
use super::scram::{self, Key, MAX_SALT_LEN, MIN_SALT_LEN, Nonce};
use super::service::{ChallengeMessage, GrantIn, PORTAL_INTERFACE, method};
use crate::codec::Postcard;
use crate::config::Config;
use crate::connection::handle::Connection;
use crate::dispatch::Referenceable;
use crate::error::CallError;
use crate::interface::{AvatarInterface, Interface};
use crate::refs::handle::{AnyRemote, MethodTimeout, RemoteRef};
use crate::refs::local::Local;
use crate::refs::remote::Remote;
use futures_util::future::BoxFuture;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What a client logs in with.
#[derive(Clone)]
#[non_exhaustive]
pub enum LoginCredentials {
    /// An anonymous login.
    Anonymous,
    /// A username and password; the password never leaves the client.
    Password {
        /// The user.
        username: String,
        /// The password.
        password: String,
    },
    /// The client certificate this connection's TLS handshake showed
    /// (`TlsClientConfig::with_client_certificate`): nothing more is sent.
    Certificate,
    /// A user name and a token another server issued for this one (a central authentication
    /// server's ticket). The token crosses the wire: use TLS.
    Token {
        /// The user.
        username: String,
        /// The token.
        token: Vec<u8>,
    },
}

impl fmt::Debug for LoginCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginCredentials::Anonymous => f.write_str("Anonymous"),
            LoginCredentials::Certificate => f.write_str("Certificate"),
            LoginCredentials::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .finish_non_exhaustive(),
            LoginCredentials::Token { username, .. } => f
                .debug_struct("Token")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

impl LoginCredentials {
    /// Anonymous credentials.
    pub fn anonymous() -> Self {
        LoginCredentials::Anonymous
    }

    /// The client certificate of the connection's TLS handshake: a service logs in
    /// without a password.
    pub fn certificate() -> Self {
        LoginCredentials::Certificate
    }

    /// A user name and a token another server issued for this one.
    pub fn token(username: impl Into<String>, token: impl Into<Vec<u8>>) -> Self {
        LoginCredentials::Token {
            username: username.into(),
            token: token.into(),
        }
    }

    /// A username and a password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        LoginCredentials::Password {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl Connection {
    /// Logs in with `credentials` and returns a reference to the avatar.
    ///
    /// # Errors
    /// [`LoginError::Unauthorized`] for an unknown user or a wrong password,
    /// [`LoginError::NoChecker`] if the server accepts no such credentials,
    /// [`LoginError::WrongAvatarType`] if the avatar is not an `A`, and the others of
    /// [`LoginError`].
    pub fn login<A: AvatarInterface + ?Sized>(&self, credentials: LoginCredentials) -> Login<A> {
        Login::new(
            self.clone()
                .login_inner::<super::NoMind>(credentials, None, A::NAME),
        )
    }

    /// Logs in with `credentials`, passing `mind` (one of our objects) for the server to call
    /// back; returns a reference to the avatar.
    ///
    /// # Errors
    /// As [`login`](Self::login).
    pub fn login_with_mind<A: AvatarInterface + ?Sized, M: Referenceable>(
        &self,
        credentials: LoginCredentials,
        mind: impl Into<Local<M>>,
    ) -> Login<A> {
        Login::new(
            self.clone()
                .login_inner::<M>(credentials, Some(mind.into()), A::NAME),
        )
    }

    /// Ends the login that yielded `avatar`: its logout action runs, and every reference
    /// handed out through it stops working.
    ///
    /// # Errors
    /// [`LoginError::NotLoggedIn`] if `avatar` is no (longer a) login's avatar.
    pub async fn logout<A: AvatarInterface + ?Sized>(
        &self,
        avatar: &Remote<A>,
    ) -> Result<(), LoginError> {
        logout_through(&self.portal()?, &AnyRemote(avatar.reference().clone())).await
    }

    fn portal(&self) -> Result<RemoteRef, LoginError> {
        if self.shared.peer_root.as_deref() != Some(PORTAL_INTERFACE) {
            return Err(LoginError::NoPortal);
        }
        self.root_reference()
            .ok_or(LoginError::Call(CallError::ConnectionLost))
    }

    /// Logs in, expecting an avatar of the interface named `expected`.
    pub(crate) async fn login_inner<M: Referenceable>(
        self,
        credentials: LoginCredentials,
        mind: Option<Local<M>>,
        expected: &'static str,
    ) -> Result<RemoteRef, LoginError> {
        let portal = self.portal()?;
        let grant = match credentials {
            LoginCredentials::Password { username, password } => {
                password_login(&portal, &self.shared.config, username, password, mind).await?
            }
            LoginCredentials::Token { username, token } => portal
                .call_result::<Postcard, _, GrantIn, LoginError>(
                    method::TOKEN,
                    MethodTimeout::DEFAULT,
                    &(username, token, mind),
                )
                .await
                .map_err(LoginError::from)?,
            // Nothing to prove in the call: the server checks what it knows of the connection.
            LoginCredentials::Anonymous | LoginCredentials::Certificate => {
                let method = if matches!(credentials, LoginCredentials::Anonymous) {
                    method::ANONYMOUS
                } else {
                    method::CERTIFICATE
                };
                portal
                    .call_result::<Postcard, _, GrantIn, LoginError>(
                        method,
                        MethodTimeout::DEFAULT,
                        &(mind,),
                    )
                    .await
                    .map_err(LoginError::from)?
            }
        };
        if grant.interface != expected {
            let _ = logout_through(&portal, &grant.avatar).await;
            return Err(LoginError::WrongAvatarType {
                expected: expected.to_owned(),
                found: grant.interface,
            });
        }
        Ok(grant.avatar.0)
    }
}

/// A login under way: resolves to a reference to the avatar, once awaited. Returned by
/// [`Connection::login`] and [`Connection::login_with_mind`].
#[must_use = "a login does nothing unless awaited"]
pub struct Login<A: ?Sized> {
    future: BoxFuture<'static, Result<RemoteRef, LoginError>>,
    avatar: PhantomData<fn() -> Box<A>>,
}

impl<A: ?Sized> Login<A> {
    fn new(future: impl Future<Output = Result<RemoteRef, LoginError>> + Send + 'static) -> Self {
        Login {
            future: Box::pin(future),
            avatar: PhantomData,
        }
    }
}

impl<A: ?Sized> fmt::Debug for Login<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").finish_non_exhaustive()
    }
}

impl<A: Interface + ?Sized> Future for Login<A> {
    type Output = Result<Remote<A>, LoginError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future
            .as_mut()
            .poll(cx)
            .map(|granted| granted.map(Remote::from_ref))
    }
}

/// Ends the login whose avatar `avatar` refers to.
async fn logout_through(portal: &RemoteRef, avatar: &AnyRemote) -> Result<(), LoginError> {
    portal
        .call_result::<Postcard, _, (), LoginError>(
            method::LOGOUT,
            MethodTimeout::DEFAULT,
            &(avatar,),
        )
        .await
        .map_err(LoginError::from)
}

async fn password_login<M: Referenceable>(
    portal: &RemoteRef,
    config: &Config,
    username: String,
    password: String,
    mind: Option<Local<M>>,
) -> Result<GrantIn, LoginError> {
    let binding = portal.inner.shared.channel_binding().copied();
    let mut exchange = PasswordExchange::new(username, password, binding)?;
    let challenge: ChallengeMessage = portal
        .call_result::<Postcard, _, ChallengeMessage, LoginError>(
            method::PASSWORD_BEGIN,
            MethodTimeout::DEFAULT,
            &exchange.begin_args(),
        )
        .await
        .map_err(LoginError::from)?;
    exchange.check(config, &challenge)?;
    // The key derivation is the slow part: off the runtime's workers.
    let (exchange, proof) = tokio::task::spawn_blocking(move || {
        exchange.prove(&challenge).map(|proof| (exchange, proof))
    })
    .await
    .map_err(|error| LoginError::Internal(error.to_string()))??;
    let prove = portal.call_result::<Postcard, _, Key, LoginError>(
        method::PASSWORD_PROVE,
        MethodTimeout::DEFAULT,
        &proof,
    );
    tokio::pin!(prove);
    if mind.is_none() {
        // Nothing to keep from a server that cannot prove itself: `finish` goes right behind
        // the proof, one round trip sooner; it is given up on (and its avatar never reaches
        // the caller) unless the server proves itself.
        let finish_args = (proof.0, None::<Local<M>>);
        let finish = portal.call_result::<Postcard, _, GrantIn, LoginError>(
            method::PASSWORD_FINISH,
            MethodTimeout::DEFAULT,
            &finish_args,
        );
        tokio::pin!(finish);
        // Polled once each, in order: both calls leave, the proof first.
        let proved = std::future::poll_fn(|cx| Poll::Ready(prove.as_mut().poll(cx))).await;
        let finished = std::future::poll_fn(|cx| Poll::Ready(finish.as_mut().poll(cx))).await;
        let signature = match proved {
            Poll::Ready(signature) => signature,
            Poll::Pending => prove.await,
        }
        .map_err(LoginError::from)?;
        exchange.verify_server(&signature)?;
        return match finished {
            Poll::Ready(grant) => grant,
            Poll::Pending => finish.await,
        }
        .map_err(LoginError::from);
    }
    let signature: Key = prove.await.map_err(LoginError::from)?;
    // The server proves it holds the verifier before it gets the mind.
    let challenge = exchange.verify_server(&signature)?;
    portal
        .call_result::<Postcard, _, GrantIn, LoginError>(
            method::PASSWORD_FINISH,
            MethodTimeout::DEFAULT,
            &(challenge, mind),
        )
        .await
        .map_err(LoginError::from)
}

/// The client's side of a password login, step by step, apart from the calls that carry it:
/// what it sends, and what it makes of each answer of the server.
pub(crate) struct PasswordExchange {
    username: String,
    password: String,
    client_nonce: Nonce,
    /// The connection's channel binding (its TLS session's `tls-exporter` value), if on TLS.
    channel_binding: Option<[u8; 32]>,
    /// The challenge being answered, and the server signature expected back.
    proved: Option<(u64, Key)>,
}

impl PasswordExchange {
    /// A login of `username` with `password`, with a fresh nonce, over a connection whose
    /// channel binding is `channel_binding`.
    pub(crate) fn new(
        username: String,
        password: String,
        channel_binding: Option<[u8; 32]>,
    ) -> Result<Self, LoginError> {
        let client_nonce =
            scram::nonce().map_err(|error| LoginError::Internal(error.to_string()))?;
        Ok(PasswordExchange {
            username,
            password,
            client_nonce,
            channel_binding,
            proved: None,
        })
    }

    /// The arguments of `begin`.
    pub(crate) fn begin_args(&self) -> (&str, Nonce) {
        (&self.username, self.client_nonce)
    }

    /// Refuses a challenge whose parameters would weaken the login or make the client spin,
    /// before anything is derived from the password.
    pub(crate) fn check(
        &self,
        config: &Config,
        challenge: &ChallengeMessage,
    ) -> Result<(), LoginError> {
        let (min, max) = (config.min_login_iterations, config.max_login_iterations);
        if !(min..=max).contains(&challenge.iterations) {
            return Err(LoginError::UnsafeChallenge(format!(
                "{} PBKDF2 iterations, outside the {min}..={max} this client accepts",
                challenge.iterations
            )));
        }
        if !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&challenge.salt.len()) {
            return Err(LoginError::UnsafeChallenge(format!(
                "a salt of {} bytes, outside the {MIN_SALT_LEN}..={MAX_SALT_LEN} this client accepts",
                challenge.salt.len()
            )));
        }
        Ok(())
    }

    /// The arguments of `prove` for a [`check`](Self::check)ed challenge: derives the keys.
    pub(crate) fn prove(&mut self, challenge: &ChallengeMessage) -> Result<(u64, Key), LoginError> {
        if self.proved.is_some() {
            return Err(LoginError::Internal(
                "the challenge is answered already".into(),
            ));
        }
        let auth_message = scram::auth_message(
            &self.username,
            &self.client_nonce,
            &challenge.server_nonce,
            &challenge.salt,
            challenge.iterations,
            self.channel_binding
                .as_ref()
                .map_or(&[][..], |binding| &binding[..]),
        );
        let (proof, expected) = scram::client_proof(
            &self.password,
            &challenge.salt,
            challenge.iterations,
            &auth_message,
        );
        self.proved = Some((challenge.challenge, expected));
        Ok((challenge.challenge, proof))
    }

    /// Checks the server's answer to the proof; returns the challenge to finish.
    pub(crate) fn verify_server(&self, signature: &Key) -> Result<u64, LoginError> {
        match &self.proved {
            Some((challenge, expected)) if scram::same_signature(signature, expected) => {
                Ok(*challenge)
            }
            _ => Err(LoginError::ServerNotVerified),
        }
    }
}

impl fmt::Debug for PasswordExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordExchange")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}
