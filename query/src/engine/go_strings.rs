//! PromQL strings are Go strings: byte strings that need not be UTF-8 (`"a\xc5z"`), and
//! label names must be valid UTF-8. Rust strings cannot hold such bytes, so before parsing,
//! byte escapes that do not form UTF-8 become private-use marker characters; label-name
//! checks refuse them and messages print them back as `\xNN`.

use std::borrow::Cow;

/// First marker character: byte `b` is `MARKER_BASE + b`.
const MARKER_BASE: u32 = 0x10_FF00;

fn marker(b: u8) -> char {
    char::from_u32(MARKER_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn marked_byte(c: char) -> Option<u8> {
    let v = c as u32;
    (MARKER_BASE..MARKER_BASE + 0x100)
        .contains(&v)
        .then(|| (v - MARKER_BASE) as u8)
}

/// Rewrites byte escapes (`\xNN`, `\NNN`) in quoted literals: runs that decode as UTF-8
/// become the characters; other bytes become markers.
pub fn prepare(query: &str) -> Cow<'_, str> {
    if !query.contains('\\') {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len());
    let mut chars = query.char_indices().peekable();
    let mut quote: Option<char> = None;
    let mut changed = false;
    while let Some((i, c)) = chars.next() {
        match quote {
            None => {
                if c == '"' || c == '\'' || c == '`' {
                    quote = Some(c);
                }
                out.push(c);
            }
            Some('`') => {
                if c == '`' {
                    quote = None;
                }
                out.push(c);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                    out.push(c);
                    continue;
                }
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                // Collect a run of byte escapes.
                let mut bytes = Vec::new();
                let mut end = i;
                let mut rest = &query[i..];
                while let Some((b, len)) = byte_escape(rest) {
                    bytes.push(b);
                    end += len;
                    rest = &query[end..];
                }
                if bytes.iter().all(u8::is_ascii) {
                    // Nothing to do: keep the escape for the parser.
                    out.push(c);
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                    continue;
                }
                changed = true;
                push_decoded(&bytes, &mut out);
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(query)
    }
}

/// A `\xNN` or octal `\NNN` escape at the start of `s`: the byte and the escape's length.
fn byte_escape(s: &str) -> Option<(u8, usize)> {
    let b = s.as_bytes();
    if b.len() >= 4 && b[0] == b'\\' && b[1] == b'x' {
        let v = u8::from_str_radix(s.get(2..4)?, 16).ok()?;
        return Some((v, 4));
    }
    if b.len() >= 4 && b[0] == b'\\' && (b'0'..=b'3').contains(&b[1]) {
        let v = u8::from_str_radix(s.get(1..4)?, 8).ok()?;
        return Some((v, 4));
    }
    None
}

fn push_decoded(mut bytes: &[u8], out: &mut String) {
    while !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                push_escaped(s, out);
                return;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                push_escaped(std::str::from_utf8(valid).unwrap_or_default(), out);
                let bad = e.error_len().unwrap_or(rest.len()).max(1);
                for &b in &rest[..bad] {
                    out.push(marker(b));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

/// Characters as they may appear inside a PromQL string literal.
fn push_escaped(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// Whether `name` is a label name Prometheus accepts: non-empty, valid UTF-8.
pub fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| marked_byte(c).is_some())
}

/// `name` quoted as Go's `%q` would, bytes that are not UTF-8 as `\xNN`.
pub fn go_quote(name: &str) -> String {
    let mut out = String::from("\"");
    for c in name.chars() {
        match marked_byte(c) {
            Some(b) => out.push_str(&format!("\\x{b:02x}")),
            None => out.extend(c.escape_debug()),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_become_markers_and_valid_runs_characters() {
        let q = prepare(r#"count_values("a\xc5z", x)"#);
        let name = q.split('"').nth(1).unwrap().to_string();
        assert!(!is_valid_label_name(&name));
        assert_eq!(go_quote(&name), r#""a\xc5z""#);
        assert_eq!(prepare(r#"x{a="\xc3\xa9"}"#), r#"x{a="é"}"#);
        assert_eq!(prepare(r#"x{a="\n\x41"}"#), r#"x{a="\n\x41"}"#);
        assert!(matches!(prepare("up"), Cow::Borrowed(_)));
    }
}
