//! A bound on how deep a query's expression tree can nest, read from its text before it is
//! parsed: parsing, evaluating and dropping the tree all recurse, so a query of ten thousand
//! `+1` terms would overflow the stack and abort the whole process.

/// The most levels a query's tree may have, as [`depth_bound`] counts them. Far above what
/// people and dashboards write (a sum of a hundred terms counts a hundred).
pub const MAX_DEPTH: usize = 300;

/// The keywords that are binary operators.
const WORD_OPERATORS: [&str; 4] = ["and", "or", "unless", "atan2"];

/// An upper bound on the depth of `query`'s expression tree: the deepest nesting of brackets
/// plus every operator outside label matchers, each of which may add a level. Quoted strings
/// and comments are skipped.
pub fn depth_bound(query: &str) -> usize {
    let mut chars = query.chars().peekable();
    let (mut open, mut deepest, mut operators, mut in_braces) = (0usize, 0usize, 0usize, 0usize);
    let mut word = String::new();
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        if in_braces == 0 && WORD_OPERATORS.contains(&word.to_ascii_lowercase().as_str()) {
            operators += 1;
        }
        word.clear();
        match c {
            '"' | '\'' | '`' => skip_quoted(&mut chars, c),
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => {
                open += 1;
                deepest = deepest.max(open);
                in_braces += usize::from(c == '{');
            }
            ')' | ']' | '}' => {
                open = open.saturating_sub(1);
                if c == '}' {
                    in_braces = in_braces.saturating_sub(1);
                }
            }
            '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '=' | '!' if in_braces == 0 => {
                operators += 1;
            }
            _ => {}
        }
    }
    if WORD_OPERATORS.contains(&word.to_ascii_lowercase().as_str()) {
        operators += 1;
    }
    deepest.saturating_add(operators)
}

/// Skips to the end of a literal opened by `quote` (backslash escapes, except in backticks).
fn skip_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) {
    while let Some(c) = chars.next() {
        if c == quote {
            return;
        }
        if c == '\\' && quote != '`' {
            chars.next();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_brackets_count_and_strings_matchers_and_comments_do_not() {
        assert_eq!(depth_bound("1"), 0);
        assert_eq!(depth_bound("1 + 1 + 1"), 2);
        assert_eq!(depth_bound("((1))"), 2);
        assert_eq!(depth_bound("sum(rate(x[5m]))"), 3);
        assert_eq!(depth_bound(r#"x{a="+-*/(((", b!~"or"} or y"#), 2);
        assert_eq!(depth_bound("a and b unless c # + + + ((("), 2);
        assert_eq!(depth_bound("order_total or atan2"), 2, "whole words only");
        let chain = format!("1{}", "+1".repeat(10_000));
        assert_eq!(depth_bound(&chain), 10_000);
    }
}
