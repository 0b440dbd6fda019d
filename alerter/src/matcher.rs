//! Label matchers in Alertmanager's syntax: `name="value"`, `!=`, `=~`, `!~`, alone or as a
//! `{a="1", b=~"x|y"}` list, with values quoted or bare, read into the matchers of
//! `taishan-core` (anchored regexes, absent labels as `""`, as in Alertmanager and PromQL).

pub use taishan_core::matcher::{InvalidMatcher, MatchOp, Matcher};

use crate::model::LabelSet;

/// Why a matcher could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MatcherError {
    /// Not `name op value`.
    #[error("bad matcher format: {0}")]
    Format(String),
    /// A quote in the middle of the value, or a missing closing quote.
    #[error("matcher value contains unescaped double quote: {0}")]
    Quote(String),
    /// The regex does not compile.
    #[error(transparent)]
    Regex(#[from] InvalidMatcher),
}

/// Whether every matcher holds for `labels`.
pub fn all_match(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).map_or("", String::as_str)))
}

/// `{a="1",b=~"x"}`: matchers as Alertmanager prints them in route keys.
pub fn matchers_string(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers.iter().map(Matcher::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

/// Reads a matcher list, with or without braces: `{a="1", b!~"x,y"}` or `a=1`.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let inner = text.trim();
    let inner = inner.strip_prefix('{').unwrap_or(inner);
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    split_outside_quotes(inner)
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| parse_matcher(&t))
        .collect()
}

fn split_outside_quotes(s: &str) -> Vec<String> {
    let (mut tokens, mut token) = (Vec::new(), String::new());
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !quoted => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        if c == '"' {
            escaped = false;
        }
        token.push(c);
    }
    tokens.push(token);
    tokens
}

/// Reads one matcher: `name op value`, the value bare or in double quotes.
pub fn parse_matcher(text: &str) -> Result<Matcher, MatcherError> {
    let s = text.trim();
    let name_end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    let name = &s[..name_end];
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if !valid_name {
        return Err(MatcherError::Format(text.to_string()));
    }
    let rest = s[name_end..].trim_start();
    let (op, raw) = [
        ("=~", MatchOp::Regex),
        ("!=", MatchOp::NotEqual),
        ("!~", MatchOp::NotRegex),
        ("=", MatchOp::Equal),
    ]
    .iter()
    .find_map(|(text, op)| rest.strip_prefix(text).map(|r| (*op, r.trim())))
    .ok_or_else(|| MatcherError::Format(text.to_string()))?;
    Ok(Matcher::new(name, op, unquote(raw)?)?)
}

fn unquote(raw: &str) -> Result<String, MatcherError> {
    let (body, quoted) = match raw.strip_prefix('"') {
        Some(b) => (b, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    let mut closed = !quoted;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if chars.peek().is_some() => {
                let (_, next) = chars.next().unwrap_or((i, '\\'));
                match next {
                    'n' => value.push('\n'),
                    '"' | '\\' => value.push(next),
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                }
            }
            '"' if quoted && chars.peek().is_none() => closed = true,
            '"' => return Err(MatcherError::Quote(raw.to_string())),
            c => value.push(c),
        }
    }
    if closed {
        Ok(value)
    } else {
        Err(MatcherError::Quote(raw.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn both_syntaxes_read_and_print_back() {
        let ms = parse_matchers(r#"{severity="critical", team=~"db|web", env!=staging}"#).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms[0].to_string(), r#"severity="critical""#);
        assert_eq!(ms[1].op, MatchOp::Regex);
        assert_eq!(ms[2].to_string(), r#"env!="staging""#);
        let comma = parse_matchers(r#"msg="a,b""#).unwrap();
        assert_eq!(comma[0].value, "a,b");
        let escaped = parse_matcher(r#"q="say \"hi\"\n""#).unwrap();
        assert_eq!(escaped.value, "say \"hi\"\n");
        assert_eq!(escaped.to_string(), r#"q="say \"hi\"\n""#);
    }

    #[test]
    fn matching_treats_absent_labels_as_empty_and_anchors_regexes() {
        let l = set(&[("team", "database")]);
        assert!(all_match(&[parse_matcher("team=~data.*").unwrap()], &l));
        assert!(!all_match(&[parse_matcher("team=~data").unwrap()], &l));
        assert!(all_match(&[parse_matcher("env=\"\"").unwrap()], &l));
        assert!(all_match(&[parse_matcher("env!~.+").unwrap()], &l));
        assert!(!all_match(&[parse_matcher("team!=database").unwrap()], &l));
    }

    #[test]
    fn bad_matchers_say_what_is_wrong() {
        assert!(matches!(parse_matcher("=x"), Err(MatcherError::Format(_))));
        assert!(matches!(parse_matcher("a~x"), Err(MatcherError::Format(_))));
        assert!(matches!(
            parse_matcher(r#"a="x"y""#),
            Err(MatcherError::Quote(_))
        ));
        assert!(matches!(
            parse_matcher(r#"a="x"#),
            Err(MatcherError::Quote(_))
        ));
        let bad_regex = parse_matcher("a=~(x").unwrap_err();
        assert!(
            bad_regex.to_string().contains("invalid regular expression"),
            "{bad_regex}"
        );
    }
}
