//! Provides the client side of a login: credentials, and `Connection::login` / `logout`.

use super::error::LoginError;
use super::scram::{self, Key, MAX_SALT_LEN, MIN_SALT_LEN};
use super::service::{ChallengeMessage, GrantIn, PORTAL_INTERFACE, method};
use crate::codec::Postcard;
use crate::config::Config;
use crate::connection::Connection;
use crate::dispatch::{Avatar, Referenceable};
use crate::refs::{Local, MethodTimeout, Remote, RemoteRef};
use std::fmt;

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
}

impl fmt::Debug for LoginCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginCredentials::Anonymous => f.write_str("Anonymous"),
            LoginCredentials::Password { username, .. } => f
                .debug_struct("Password")
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
    pub async fn login<A: Avatar>(
        &self,
        credentials: LoginCredentials,
    ) -> Result<Remote<A>, LoginError> {
        self.login_inner::<A, super::NoMind>(credentials, None)
            .await
    }

    /// Logs in with `credentials`, passing `mind` (one of our objects) for the server to call
    /// back; returns a reference to the avatar.
    ///
    /// # Errors
    /// As [`login`](Self::login).
    pub async fn login_with_mind<A: Avatar, M: Referenceable>(
        &self,
        credentials: LoginCredentials,
        mind: impl Into<Local<M>>,
    ) -> Result<Remote<A>, LoginError> {
        self.login_inner::<A, M>(credentials, Some(mind.into()))
            .await
    }

    /// Ends the login that yielded `avatar`: its logout action runs, and every reference
    /// handed out through it stops working.
    ///
    /// # Errors
    /// [`LoginError::NotLoggedIn`] if `avatar` is no (longer a) login's avatar.
    pub async fn logout<A: Avatar>(&self, avatar: &Remote<A>) -> Result<(), LoginError> {
        logout_through(&self.portal()?, avatar).await
    }

    fn portal(&self) -> Result<RemoteRef, LoginError> {
        if self.shared.peer_root.as_deref() != Some(PORTAL_INTERFACE) {
            return Err(LoginError::NoPortal);
        }
        self.root_reference()
            .ok_or(LoginError::Call(crate::CallError::ConnectionLost))
    }

    async fn login_inner<A: Avatar, M: Referenceable>(
        &self,
        credentials: LoginCredentials,
        mind: Option<Local<M>>,
    ) -> Result<Remote<A>, LoginError> {
        let portal = self.portal()?;
        let grant = match credentials {
            LoginCredentials::Anonymous => portal
                .call_result::<Postcard, _, GrantIn, LoginError>(
                    method::ANONYMOUS,
                    MethodTimeout::DEFAULT,
                    &(mind,),
                )
                .await
                .map_err(LoginError::from)?,
            LoginCredentials::Password { username, password } => {
                password_login(&portal, &self.shared.config, username, password, mind).await?
            }
        };
        if grant.interface != A::INTERFACE {
            let _ = logout_through(&portal, &grant.avatar).await;
            return Err(LoginError::WrongAvatarType {
                expected: A::INTERFACE.to_owned(),
                found: grant.interface,
            });
        }
        Ok(Remote::from_ref(grant.avatar.0))
    }
}

/// Ends the login whose avatar `avatar` refers to.
async fn logout_through<R: serde::Serialize>(
    portal: &RemoteRef,
    avatar: &R,
) -> Result<(), LoginError> {
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
    let client_nonce = scram::nonce().map_err(|error| LoginError::Internal(error.to_string()))?;
    let challenge: ChallengeMessage = portal
        .call_result::<Postcard, _, ChallengeMessage, LoginError>(
            method::PASSWORD_BEGIN,
            MethodTimeout::DEFAULT,
            &(&username, client_nonce),
        )
        .await
        .map_err(LoginError::from)?;
    check_challenge(config, &challenge)?;
    let auth_message = scram::auth_message(
        &username,
        &client_nonce,
        &challenge.server_nonce,
        &challenge.salt,
        challenge.iterations,
    );
    let salt = challenge.salt;
    let iterations = challenge.iterations;
    let (proof, expected) = tokio::task::spawn_blocking(move || {
        scram::client_proof(&password, &salt, iterations, &auth_message)
    })
    .await
    .map_err(|error| LoginError::Internal(error.to_string()))?;
    let signature: Key = portal
        .call_result::<Postcard, _, Key, LoginError>(
            method::PASSWORD_PROVE,
            MethodTimeout::DEFAULT,
            &(challenge.challenge, proof),
        )
        .await
        .map_err(LoginError::from)?;
    // The server proves it holds the verifier before it gets the mind.
    if !scram::same_signature(&signature, &expected) {
        return Err(LoginError::ServerNotVerified);
    }
    portal
        .call_result::<Postcard, _, GrantIn, LoginError>(
            method::PASSWORD_FINISH,
            MethodTimeout::DEFAULT,
            &(challenge.challenge, mind),
        )
        .await
        .map_err(LoginError::from)
}

/// Refuses a challenge whose parameters would weaken the login or make the client spin.
fn check_challenge(config: &Config, challenge: &ChallengeMessage) -> Result<(), LoginError> {
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
