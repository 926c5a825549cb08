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
    cut(&mut text);
    Ok(text)
}

/// Cuts `text` to [`MAX_PEER_TEXT`] bytes, marking the cut with `…`.
fn cut(text: &mut String) {
    if text.len() <= MAX_PEER_TEXT {
        return;
    }
    let mut end = MAX_PEER_TEXT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text.shrink_to_fit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_marked() {
        for filler in ["a", "é", "€", "😀"] {
            let mut text = filler.repeat(5000);
            cut(&mut text);
            assert!(text.len() <= MAX_PEER_TEXT, "{}", text.len());
            assert!(text.ends_with('…'));
            assert!(text.len() > MAX_PEER_TEXT - 8);
        }
        let mut short = "x".repeat(MAX_PEER_TEXT);
        cut(&mut short);
        assert_eq!(
            short.len(),
            MAX_PEER_TEXT,
            "text at the bound is kept whole"
        );
    }
}
