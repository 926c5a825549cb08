//! Provides the bound on text a peer sends in errors: a method name it asked for, a reason a
//! login was refused. Such text ends up in `Display` output, logs and events that a program
//! keeps, so it is cut to [`MAX_PEER_TEXT`] bytes when decoded, however large its frame.

use serde::{Deserialize, Deserializer};

/// The most bytes of a peer's error text kept; longer text is cut there and ends with `…`.
pub const MAX_PEER_TEXT: usize = 1024;

/// Decodes a string and cuts it to [`MAX_PEER_TEXT`] bytes (on a character boundary).
///
/// # Errors
/// The deserializer's, if the input is not a string.
pub(crate) fn bounded<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let mut text = String::deserialize(deserializer)?;
    if let Some(end) = cut_at(&text) {
        text.truncate(end);
        text.push('…');
        text.shrink_to_fit();
    }
    Ok(text)
}

/// `text` as kept from a peer: whole up to [`MAX_PEER_TEXT`] bytes, else cut within them and
/// marked with `…`.
pub(crate) fn peer_text(text: &str) -> String {
    match cut_at(text) {
        None => text.to_owned(),
        Some(end) => format!("{}…", &text[..end]),
    }
}

/// Where `text` is cut if it is longer than [`MAX_PEER_TEXT`]: the bytes kept before the `…`.
fn cut_at(text: &str) -> Option<usize> {
    (text.len() > MAX_PEER_TEXT).then(|| prefix(text, MAX_PEER_TEXT - '…'.len_utf8()).len())
}

/// The longest start of `text` of at most `limit` bytes that ends on a character boundary.
pub(crate) fn prefix(text: &str, limit: usize) -> &str {
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_marked() {
        for filler in ["a", "é", "€", "😀"] {
            let text = peer_text(&filler.repeat(5000));
            assert!(text.len() <= MAX_PEER_TEXT, "{}", text.len());
            assert!(text.ends_with('…'));
            assert!(text.len() > MAX_PEER_TEXT - 8);
        }
        let short = "x".repeat(MAX_PEER_TEXT);
        assert_eq!(peer_text(&short), short, "text at the bound is kept whole");
        assert_eq!(prefix("éé", 3), "é");
        assert_eq!(prefix("ab", 10), "ab");
    }
}
