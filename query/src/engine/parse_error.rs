//! Positions for parse errors, as Prometheus reports them (`1:5: parse error: ...`).
//!
//! The parser crate reports what is wrong but not where. The place is recovered here: for
//! an unclosed parenthesis, the parenthesis; for an unknown or mistyped function, its name;
//! otherwise the first token after which the query can no longer be completed into a valid
//! one (tried with a few typical completions: an operand, closing brackets, a grouping).

use promql_parser::parser;

/// `line:column: parse error: message` for `query`, given the parser's `message`.
pub fn describe(query: &str, message: &str) -> String {
    let offset = locate(query, message);
    let (line, col) = line_col(query, offset);
    // The parser's catch-all says nothing; say what was found there instead.
    let message = if message == "invalid promql query" {
        match tokens(query).into_iter().find(|(s, _)| *s == offset) {
            Some((s, e)) => format!("unexpected {:?}", &query[s..e]),
            None => "unexpected end of input".to_string(),
        }
    } else {
        message.to_string()
    };
    format!("{line}:{col}: parse error: {message}")
}

fn locate(query: &str, message: &str) -> usize {
    if message.starts_with("unclosed left parenthesis") {
        if let Some(p) = unmatched_open(query) {
            return p;
        }
    }
    if message.starts_with("unexpected end of input") || message.starts_with("no expression found")
    {
        return query.trim_end().len();
    }
    for marker in ["unknown function with name '", "in call to function '"] {
        if let Some(name) = message
            .split(marker)
            .nth(1)
            .and_then(|r| r.split('\'').next())
        {
            if let Some(p) = find_call(query, name) {
                return p;
            }
        }
    }
    first_bad_token(query).unwrap_or(query.trim_end().len())
}

/// 1-based line and column of byte `offset`.
fn line_col(query: &str, offset: usize) -> (usize, usize) {
    let before = &query[..offset.min(query.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Byte offsets where each token starts and ends (strings kept whole).
fn tokens(q: &str) -> Vec<(usize, usize)> {
    let b = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'"' || c == b'\'' || c == b'`' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' && c != b'`' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b':' || c == b'.' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || matches!(b[i], b'_' | b':' | b'.')
                    || b[i] >= 0x80)
            {
                i += 1;
            }
        } else if i + 1 < b.len()
            && matches!(&b[i..i + 2], b"==" | b"!=" | b"<=" | b">=" | b"=~" | b"!~")
        {
            i += 2;
        } else {
            i += 1;
        }
        out.push((start, i));
    }
    out
}

/// What closes the brackets still open at the end of `q`.
fn closers(q: &str) -> Option<String> {
    let mut stack = Vec::new();
    for (s, e) in tokens(q) {
        match &q[s..e] {
            "(" => stack.push(')'),
            "[" => stack.push(']'),
            "{" => stack.push('}'),
            ")" | "]" | "}" => {
                stack.pop()?;
            }
            _ => {}
        }
    }
    Some(stack.iter().rev().collect())
}

fn parses(q: &str) -> bool {
    parser::parse(q).is_ok()
}

/// Whether some typical completion turns `prefix` into a valid query.
fn viable(prefix: &str) -> bool {
    const FILLERS: &[&str] = &[
        "", " x", " 1", " 1m", "=\"v\"", " =\"v\"", ") (x)", " x) (x)", " (x)", " (x) (x)", ", x",
        " \"s\"",
    ];
    FILLERS.iter().any(|f| {
        let candidate = format!("{prefix}{f}");
        closers(&candidate).is_some_and(|c| parses(&format!("{candidate}{c}")))
    })
}

/// The start of the first token after which the query cannot be completed.
fn first_bad_token(q: &str) -> Option<usize> {
    let toks = tokens(q);
    toks.iter()
        .find(|(_, end)| !viable(&q[..*end]))
        .map(|(start, _)| *start)
}

fn unmatched_open(q: &str) -> Option<usize> {
    let mut stack = Vec::new();
    for (s, e) in tokens(q) {
        match &q[s..e] {
            "(" => stack.push(s),
            ")" => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.first().copied()
}

fn find_call(q: &str, name: &str) -> Option<usize> {
    let toks = tokens(q);
    toks.windows(2)
        .find(|w| &q[w[0].0..w[0].1] == name && &q[w[1].0..w[1].1] == "(")
        .map(|w| w[0].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(q: &str) -> String {
        let msg = parser::parse(q).expect_err("a bad query");
        describe(q, &msg)
    }

    #[test]
    fn positions_point_at_the_problem() {
        assert_eq!(
            at("sum(rate(x[5m])"),
            "1:4: parse error: unclosed left parenthesis"
        );
        assert!(
            at("foo +").starts_with("1:6: parse error:"),
            "{}",
            at("foo +")
        );
        assert!(at("1 +* 2").starts_with("1:4: "), "{}", at("1 +* 2"));
        assert_eq!(at("foo bar"), "1:5: parse error: unexpected \"bar\"");
        assert_eq!(at("foo +"), "1:6: parse error: unexpected end of input");
        assert!(
            at("sum by (a b) (x)").starts_with("1:11: "),
            "{}",
            at("sum by (a b) (x)")
        );
        assert!(at("x +\n  unknownfn(y)").starts_with("2:3: parse error: unknown function"));
        assert!(at("1 + rate(foo)").starts_with("1:5: parse error: expected type"));
    }
}
