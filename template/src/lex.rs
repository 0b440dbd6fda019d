//! Splitting a template into text and the tokens of its `{{ actions }}`, as Go's
//! text/template lexer does (trim markers `{{- ` and ` -}}`, comments `{{/* */}}`).

use super::TemplateError;

/// One token inside an action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A function name or keyword (`if`, `humanize`, ...).
    Ident(String),
    /// `$name`, or `$` alone.
    Variable(String),
    /// `.Field` (the name without the dot); a lone `.` is [`Token::Dot`].
    Field(String),
    /// `.` alone: the current data.
    Dot,
    /// A quoted or raw string, unescaped.
    Str(String),
    /// A number as written; the parser decides int or float.
    Number(String),
    /// `true`, `false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `|`
    Pipe,
    /// `(`
    Open,
    /// `)`
    Close,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    /// `,`
    Comma,
}

/// A piece of the template: literal text or one action's tokens.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Text copied to the output.
    Text(String),
    /// The tokens of one `{{ ... }}`, with the byte offset where it starts.
    Action { at: usize, tokens: Vec<Token> },
}

/// Splits `src` into pieces.
pub(crate) fn lex(src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = 0;
    let mut trim_next_text = false;
    while rest < src.len() {
        let Some(open) = src[rest..].find("{{").map(|i| i + rest) else {
            push_text(&mut pieces, &src[rest..], trim_next_text, false);
            break;
        };
        let inner_start = open + 2;
        let trim_left = src[inner_start..].starts_with("- ")
            || src[inner_start..].starts_with("-\t")
            || src[inner_start..].starts_with("-\n");
        push_text(&mut pieces, &src[rest..open], trim_next_text, trim_left);
        let body_start = if trim_left {
            inner_start + 1
        } else {
            inner_start
        };
        let Some(close) = find_close(src, body_start) else {
            return Err(TemplateError::at(src, open, "unclosed action"));
        };
        let mut body_end = close;
        trim_next_text = false;
        let before_close = &src[body_start..close];
        if before_close.ends_with(" -")
            || before_close.ends_with("\t-")
            || before_close.ends_with("\n-")
        {
            trim_next_text = true;
            body_end = close - 1;
        }
        let body = &src[body_start..body_end];
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(TemplateError::at(src, open, "unclosed comment"));
            }
        } else {
            let tokens = tokenize(src, body_start, body)?;
            if tokens.is_empty() {
                return Err(TemplateError::at(src, open, "missing value for command"));
            }
            pieces.push(Piece::Action { at: open, tokens });
        }
        rest = close + 2;
    }
    Ok(pieces)
}

fn push_text(pieces: &mut Vec<Piece>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start();
    }
    if trim_end {
        t = t.trim_end();
    }
    if !t.is_empty() {
        pieces.push(Piece::Text(t.to_string()));
    }
}

/// The `}}` closing the action whose body starts at `from`, skipping quoted strings.
fn find_close(src: &str, from: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = from;
    // A comment runs to its `*/` whatever it says (quotes included), as in Go.
    let start = from + (src[from..].len() - src[from..].trim_start().len());
    if src[start..].starts_with("/*") {
        let end = src[start + 2..].find("*/")? + start + 4;
        return src[end..].find("}}").map(|k| end + k);
    }
    while i + 1 < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_quoted(bytes, i, b'"')?,
            b'`' => i = skip_quoted(bytes, i, b'`')?,
            b'\'' => i = skip_quoted(bytes, i, b'\'')?,
            b'}' if bytes[i + 1] == b'}' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The index after the closing quote of a string starting at `start`.
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn tokenize(src: &str, offset: usize, body: &str) -> Result<Vec<Token>, TemplateError> {
    let err = |i: usize, msg: String| TemplateError::at(src, offset + i, msg);
    let bytes = body.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b':' if bytes.get(i + 1) == Some(&b'=') => {
                tokens.push(Token::Declare);
                i += 2
            }
            b'|' | b'(' | b')' | b',' | b'=' => {
                tokens.push(match c {
                    b'|' => Token::Pipe,
                    b'(' => Token::Open,
                    b')' => Token::Close,
                    b',' => Token::Comma,
                    _ => Token::Assign,
                });
                i += 1;
                if c == b')' {
                    // `(pipeline).Field`: the chain belongs to the parenthesis.
                    i = push_fields(body, i, &mut tokens);
                }
            }
            b'"' => {
                let end = skip_quoted(bytes, i, b'"')
                    .ok_or_else(|| err(i, "unterminated quoted string".into()))?;
                let s = unquote(&body[i + 1..end - 1]).map_err(|m| err(i, m))?;
                tokens.push(Token::Str(s));
                i = end;
            }
            b'`' => {
                let end = skip_quoted(bytes, i, b'`')
                    .ok_or_else(|| err(i, "unterminated raw quoted string".into()))?;
                tokens.push(Token::Str(body[i + 1..end - 1].to_string()));
                i = end;
            }
            b'\'' => {
                let end = skip_quoted(bytes, i, b'\'')
                    .ok_or_else(|| err(i, "unterminated character constant".into()))?;
                let s = unquote(&body[i + 1..end - 1]).map_err(|m| err(i, m))?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(ch), None) => tokens.push(Token::Number((ch as u32).to_string())),
                    _ => return Err(err(i, "malformed character constant".into())),
                }
                i = end;
            }
            b'$' => {
                let end = word_end(bytes, i + 1);
                tokens.push(Token::Variable(body[i + 1..end].to_string()));
                i = end;
                i = push_fields(body, i, &mut tokens);
            }
            b'.' if bytes.get(i + 1).is_some_and(|b| is_word_start(*b)) => {
                // `.A.B` standing alone (not right after a term) starts from the data: a
                // `Dot` first, so `len .Alerts` is not read as `len.Alerts`.
                tokens.push(Token::Dot);
                i = push_fields(body, i, &mut tokens);
            }
            b'.' => {
                tokens.push(Token::Dot);
                i += 1
            }
            b'0'..=b'9' | b'+' | b'-' => {
                let end = number_end(bytes, i);
                if end == i || (end == i + 1 && matches!(c, b'+' | b'-')) {
                    return Err(err(i, format!("bad character {:?}", c as char)));
                }
                tokens.push(Token::Number(body[i..end].to_string()));
                i = end;
            }
            c if is_word_start(c) => {
                let end = word_end(bytes, i);
                let word = &body[i..end];
                tokens.push(match word {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    "nil" => Token::Nil,
                    _ => Token::Ident(word.to_string()),
                });
                i = end;
                i = push_fields(body, i, &mut tokens);
            }
            _ => {
                let ch = body[i..].chars().next().unwrap_or('?');
                return Err(err(i, format!("bad character {ch:?}")));
            }
        }
    }
    Ok(tokens)
}

/// Reads `.A.B` chains right after a term, each as a field token.
fn push_fields(body: &str, mut i: usize, tokens: &mut Vec<Token>) -> usize {
    let bytes = body.as_bytes();
    while i < bytes.len() && bytes[i] == b'.' && bytes.get(i + 1).is_some_and(|b| is_word_start(*b))
    {
        let end = word_end(bytes, i + 1);
        tokens.push(Token::Field(body[i + 1..end].to_string()));
        i = end;
    }
    i
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
    {
        i += 1;
    }
    i
}

fn number_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    if i < bytes.len() && matches!(bytes[i], b'+' | b'-') {
        i += 1;
    }
    while i < bytes.len() {
        let b = bytes[i];
        let exponent_sign =
            matches!(b, b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E' | b'p' | b'P');
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Go's escapes inside a double-quoted string.
fn unquote(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let v =
                    u8::from_str_radix(&hex, 16).map_err(|_| format!("invalid escape \\x{hex}"))?;
                out.push(char::from(v));
            }
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let hex: String = chars.by_ref().take(n).collect();
                let v = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("invalid escape \\{u}{hex}"))?;
                out.push(v);
            }
            Some(other) => return Err(format!("invalid syntax: unknown escape \\{other}")),
            None => return Err("invalid syntax: trailing backslash".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_actions() {
        let p = lex("a {{ $labels.instance }} b").expect("lexes");
        assert_eq!(
            p,
            vec![
                Piece::Text("a ".into()),
                Piece::Action {
                    at: 2,
                    tokens: vec![
                        Token::Variable("labels".into()),
                        Token::Field("instance".into())
                    ]
                },
                Piece::Text(" b".into())
            ]
        );
    }

    #[test]
    fn trims_and_comments() {
        let p = lex("a  {{- /* c */ -}}  b {{ \"x}}\" | printf \"%s\" }}").expect("lexes");
        assert_eq!(p[0], Piece::Text("a".into()));
        assert_eq!(p[1], Piece::Text("b ".into()));
        match &p[2] {
            Piece::Action { tokens, .. } => {
                assert_eq!(tokens[0], Token::Str("x}}".into()));
                assert_eq!(tokens[1], Token::Pipe);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_unclosed_actions() {
        let e = lex("x {{ .Value ").expect_err("unclosed");
        assert!(e.to_string().contains("unclosed action"), "{e}");
    }
}
