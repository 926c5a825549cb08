//! Provides the text form of a verifier, which the password file and the SQL stores keep:
//! RFC 5803's `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, each binary part
//! in standard base64. PostgreSQL keeps its own SCRAM verifiers in this form.

use super::super::scram::{KEY_LEN, Key, MAX_SALT_LEN, MIN_SALT_LEN, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const SCHEME: &str = "SCRAM-SHA-256$";

/// The text form of `verifier`.
pub fn verifier_text(verifier: &PasswordVerifier) -> String {
    format!(
        "{SCHEME}{}:{}${}:{}",
        verifier.iterations(),
        STANDARD.encode(verifier.salt()),
        STANDARD.encode(verifier.stored_key()),
        STANDARD.encode(verifier.server_key()),
    )
}

/// Parses the text form of a verifier.
///
/// # Errors
/// What is wrong with it, in words that hold none of its parts.
pub fn parse_verifier(text: &str) -> Result<PasswordVerifier, String> {
    let rest = text
        .strip_prefix(SCHEME)
        .ok_or_else(|| format!("does not start with `{SCHEME}`"))?;
    let (work, keys) = rest
        .split_once('$')
        .ok_or("expected `iterations:salt$StoredKey:ServerKey`")?;
    let (iterations, salt) = work
        .split_once(':')
        .ok_or("expected `iterations:salt` before the `$`")?;
    let (stored_key, server_key) = keys
        .split_once(':')
        .ok_or("expected `StoredKey:ServerKey` after the `$`")?;
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| "the iteration count is not a number".to_owned())?;
    if iterations == 0 {
        return Err("the iteration count is 0".to_owned());
    }
    let salt = STANDARD
        .decode(salt)
        .map_err(|_| "the salt is not base64".to_owned())?;
    if !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&salt.len()) {
        return Err(format!(
            "the salt is {} bytes, not {MIN_SALT_LEN} to {MAX_SALT_LEN}",
            salt.len()
        ));
    }
    Ok(PasswordVerifier::from_parts(
        salt,
        iterations,
        key(stored_key, "StoredKey")?,
        key(server_key, "ServerKey")?,
    ))
}

fn key(text: &str, name: &str) -> Result<Key, String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| format!("{name} is not base64"))?;
    <Key>::try_from(bytes.as_slice()).map_err(|_| format!("{name} is not {KEY_LEN} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_survives_its_text_form() {
        let verifier = PasswordVerifier::with_salt("pw", b"0123456789abcdef".to_vec(), 4096);
        let text = verifier_text(&verifier);
        assert!(text.starts_with("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"));
        let back = parse_verifier(&text).expect("parses");
        assert_eq!(back.salt(), verifier.salt());
        assert_eq!(back.iterations(), 4096);
        assert_eq!(back.stored_key(), verifier.stored_key());
        assert_eq!(back.server_key(), verifier.server_key());
    }

    #[test]
    fn broken_forms_say_what_is_wrong_without_echoing_the_keys() {
        let good = verifier_text(&PasswordVerifier::with_salt("pw", vec![7; 16], 4096));
        let cases = [
            ("MD5$abc".to_owned(), "does not start"),
            ("SCRAM-SHA-256$4096".to_owned(), "expected"),
            (good.replace("4096", "many"), "not a number"),
            (good.replace("4096", "0"), "is 0"),
            (
                "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA".to_owned(),
                "salt is 3 bytes",
            ),
            (format!("{}!", good), "ServerKey is not base64"),
        ];
        for (text, expected) in cases {
            let error = parse_verifier(&text).err().unwrap_or_default();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains(&good[20..]), "{error}");
        }
    }
}
