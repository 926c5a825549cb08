//! Provides the salted challenge-response of the login (SCRAM-SHA-256 family): verifiers the
//! server stores, the client's proof, and the constant-time check.
//!
//! The exchange, for implementations in other languages:
//!
//! 1. The client calls `tartine.login.password.begin(username, client_nonce)` on the root.
//! 2. The server answers `(challenge, salt, iterations, server_nonce)`; for an unknown user it
//!    answers alike, with a salt derived from a secret so it does not change between attempts,
//!    and the checker's work factor. The client refuses an iteration count outside its
//!    configured bounds, or a salt outside [`MIN_SALT_LEN`]..=[`MAX_SALT_LEN`], before it
//!    derives anything from the password.
//! 3. Both build [`auth_message`], which ends with the channel binding: over TLS, the
//!    session's `tls-exporter` value (RFC 9266: label `EXPORTER-Channel-Binding`, no
//!    context, 32 bytes), as SCRAM-SHA-256-PLUS does; empty over a plain stream. Each side
//!    takes it from its own end of its own channel, so a man in the middle who ends TLS with a
//!    certificate the client trusts holds two sessions with two values, and the proof fails.
//!    The client derives `SaltedPassword = PBKDF2-HMAC-SHA-256(
//!    password, salt, iterations)`, `ClientKey = HMAC(SaltedPassword, "Client Key")`,
//!    `StoredKey = SHA-256(ClientKey)`, and sends `ClientKey XOR HMAC(StoredKey, auth_message)`
//!    ([`client_proof`]) with `tartine.login.password.prove(challenge, proof)`.
//! 4. The server recovers `ClientKey` and checks `SHA-256(ClientKey) == StoredKey` in constant
//!    time (throttled attempts fail unchecked). It answers `HMAC(ServerKey, auth_message)`,
//!    which the client checks: only a server holding the verifier can produce it.
//! 5. Only then does the client call `tartine.login.password.finish(challenge, mind)`, and
//!    get its avatar: a server that cannot prove itself never sees the client's mind. Each
//!    challenge is proved once and finished once.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// The default work factor: PBKDF2-HMAC-SHA-256 iterations (RFC 7677's minimum).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// The shortest salt a client accepts from a server, in bytes.
pub const MIN_SALT_LEN: usize = 8;

/// The longest salt a client accepts from a server, in bytes.
pub const MAX_SALT_LEN: usize = 256;

/// Length of nonces, in bytes.
pub const NONCE_LEN: usize = 18;

/// Length of keys, proofs and signatures, in bytes.
pub const KEY_LEN: usize = 32;

/// A key, proof or signature.
pub type Key = [u8; KEY_LEN];

/// A nonce.
pub type Nonce = [u8; NONCE_LEN];

/// What the server stores for a password: salt, work factor, and two keys derived from the
/// password (`StoredKey`, `ServerKey`). The password cannot be recovered from it, and the
/// server never sees the password.
#[derive(Clone)]
pub struct PasswordVerifier {
    salt: Vec<u8>,
    iterations: u32,
    stored_key: Key,
    server_key: Key,
}

impl fmt::Debug for PasswordVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl PasswordVerifier {
    /// Derives a verifier for `password` with a fresh random salt.
    ///
    /// # Errors
    /// If the operating system cannot supply random bytes.
    pub fn new(password: &str, iterations: u32) -> Result<Self, std::io::Error> {
        let mut salt = vec![0u8; 16];
        getrandom::fill(&mut salt).map_err(std::io::Error::other)?;
        Ok(Self::with_salt(password, salt, iterations))
    }

    /// Derives a verifier for `password` with the given salt.
    pub fn with_salt(password: &str, salt: Vec<u8>, iterations: u32) -> Self {
        let salted = salted_password(password, &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        PasswordVerifier {
            stored_key: sha256(&client_key),
            server_key: hmac(&salted, b"Server Key"),
            salt,
            iterations,
        }
    }

    /// Rebuilds a verifier from its stored parts.
    pub fn from_parts(salt: Vec<u8>, iterations: u32, stored_key: Key, server_key: Key) -> Self {
        PasswordVerifier {
            salt,
            iterations,
            stored_key,
            server_key,
        }
    }

    /// A verifier no proof matches, shaped like a real one, for unknown users.
    pub(crate) fn decoy(secret: &Key, username: &str, iterations: u32) -> Self {
        let salt = hmac(secret, &[b"salt:", username.as_bytes()].concat())[..16].to_vec();
        PasswordVerifier {
            salt,
            iterations,
            stored_key: hmac(secret, &[b"stored:", username.as_bytes()].concat()),
            server_key: hmac(secret, &[b"server:", username.as_bytes()].concat()),
        }
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The work factor (PBKDF2 iterations).
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// `StoredKey`: SHA-256 of the client key.
    pub fn stored_key(&self) -> &Key {
        &self.stored_key
    }

    /// `ServerKey`: proves the server to the client.
    pub fn server_key(&self) -> &Key {
        &self.server_key
    }
}

fn salted_password(password: &str, salt: &[u8], iterations: u32) -> Key {
    let mut out = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations.max(1), &mut out);
    out
}

/// HMAC-SHA-256 under a 32-byte key. HMAC pads a key shorter than its block with zeros, so
/// the key is padded here and the infallible constructor applies.
fn hmac(key: &Key, data: &[u8]) -> Key {
    let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
    block[..KEY_LEN].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn sha256(data: &[u8]) -> Key {
    Sha256::digest(data).into()
}

/// The transcript both sides sign: every field of the exchange, length-prefixed, and the
/// channel binding: on TLS, the session's `tls-exporter` value (RFC 9266), empty otherwise.
pub fn auth_message(
    username: &str,
    client_nonce: &Nonce,
    server_nonce: &Nonce,
    salt: &[u8],
    iterations: u32,
    channel_binding: &[u8],
) -> Vec<u8> {
    let mut out = b"tartine-scram-sha-256/2".to_vec();
    for field in [
        username.as_bytes(),
        &client_nonce[..],
        &server_nonce[..],
        salt,
        &iterations.to_be_bytes(),
        channel_binding,
    ] {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// The client's proof for `auth_message`, and the server signature it expects back.
pub fn client_proof(
    password: &str,
    salt: &[u8],
    iterations: u32,
    auth_message: &[u8],
) -> (Key, Key) {
    // One derivation gives both keys the client needs.
    let salted = salted_password(password, salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = sha256(&client_key);
    let server_key = hmac(&salted, b"Server Key");
    let signature = hmac(&stored_key, auth_message);
    let mut proof = [0u8; KEY_LEN];
    for (out, (key, sig)) in proof
        .iter_mut()
        .zip(client_key.iter().zip(signature.iter()))
    {
        *out = key ^ sig;
    }
    (proof, hmac(&server_key, auth_message))
}

/// Checks `proof` against `verifier` in constant time; returns the server signature if it
/// matches.
pub(crate) fn verify(verifier: &PasswordVerifier, auth_message: &[u8], proof: &Key) -> Option<Key> {
    let signature = hmac(&verifier.stored_key, auth_message);
    let mut client_key = [0u8; KEY_LEN];
    for (out, (p, sig)) in client_key
        .iter_mut()
        .zip(proof.iter().zip(signature.iter()))
    {
        *out = p ^ sig;
    }
    let matches: bool = sha256(&client_key).ct_eq(&verifier.stored_key).into();
    matches.then(|| hmac(&verifier.server_key, auth_message))
}

/// Whether two signatures are equal, in constant time.
pub fn same_signature(a: &Key, b: &Key) -> bool {
    a.ct_eq(b).into()
}

/// A fresh random nonce.
pub fn nonce() -> Result<Nonce, std::io::Error> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(password: &str, verifier: &PasswordVerifier) -> Option<(Key, Key)> {
        let auth = auth_message(
            "alice",
            &[1; NONCE_LEN],
            &[2; NONCE_LEN],
            verifier.salt(),
            verifier.iterations(),
            &[],
        );
        let (proof, expected) =
            client_proof(password, verifier.salt(), verifier.iterations(), &auth);
        verify(verifier, &auth, &proof).map(|signature| (signature, expected))
    }

    #[test]
    fn the_right_password_verifies_and_the_server_signature_matches() {
        let verifier = PasswordVerifier::with_salt("1234", b"salty".to_vec(), 64);
        let (signature, expected) = exchange("1234", &verifier).expect("verifies");
        assert!(same_signature(&signature, &expected));
    }

    #[test]
    fn a_wrong_password_or_a_decoy_fails() {
        let verifier = PasswordVerifier::with_salt("1234", b"salty".to_vec(), 64);
        assert!(exchange("12345", &verifier).is_none());
        let decoy = PasswordVerifier::decoy(&[9; KEY_LEN], "alice", 64);
        assert!(exchange("1234", &decoy).is_none());
        assert_eq!(
            decoy.salt(),
            PasswordVerifier::decoy(&[9; KEY_LEN], "alice", 64).salt()
        );
    }

    #[test]
    fn the_padded_key_gives_the_standard_hmac() {
        let key: Key = std::array::from_fn(|i| i as u8);
        let mut reference = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("any length");
        reference.update(b"data");
        let expected: Key = reference.finalize().into_bytes().into();
        assert_eq!(hmac(&key, b"data"), expected);
    }

    #[test]
    fn a_proof_is_bound_to_its_nonces() {
        let verifier = PasswordVerifier::with_salt("1234", b"salty".to_vec(), 64);
        let first = auth_message("alice", &[1; NONCE_LEN], &[2; NONCE_LEN], b"salty", 64, &[]);
        let replayed = auth_message("alice", &[1; NONCE_LEN], &[3; NONCE_LEN], b"salty", 64, &[]);
        let (proof, _) = client_proof("1234", b"salty", 64, &first);
        assert!(verify(&verifier, &first, &proof).is_some());
        assert!(verify(&verifier, &replayed, &proof).is_none());
    }

    #[test]
    fn a_proof_is_bound_to_its_channel() {
        let verifier = PasswordVerifier::with_salt("1234", b"salty".to_vec(), 64);
        let nonces = ([1; NONCE_LEN], [2; NONCE_LEN]);
        let ours = auth_message("alice", &nonces.0, &nonces.1, b"salty", 64, &[7; 32]);
        let relayed = auth_message("alice", &nonces.0, &nonces.1, b"salty", 64, &[8; 32]);
        let plain = auth_message("alice", &nonces.0, &nonces.1, b"salty", 64, &[]);
        let (proof, _) = client_proof("1234", b"salty", 64, &ours);
        assert!(verify(&verifier, &ours, &proof).is_some());
        assert!(verify(&verifier, &relayed, &proof).is_none());
        assert!(verify(&verifier, &plain, &proof).is_none());
    }
}
