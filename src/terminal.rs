//! Untrusted text (payloads, object keys, broker and AWS messages) shown on a
//! terminal: control characters are escaped so that they cannot move the
//! cursor, retitle the window or hide what came before. Piped output is left
//! byte for byte as it came.

use std::borrow::Cow;

/// `text` with every control character escaped (`\u{1b}`).
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_except(text, &[])
}

/// `text` with control characters escaped, line breaks and tabs kept.
pub fn escape_keeping_lines(text: &str) -> Cow<'_, str> {
    escape_except(text, &['\n', '\t'])
}

fn escape_except<'t>(text: &'t str, kept: &[char]) -> Cow<'t, str> {
    let escaped = |c: &char| c.is_control() && !kept.contains(c);
    if !text.chars().any(|c| escaped(&c)) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(&c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\x1b]0;x\x07b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape_keeping_lines("a\nb\x1b[2J"), "a\nb\\u{1b}[2J");
    }
}
