//! Label matchers: `=`, `!=`, `=~`, `!~`, as PromQL selectors and Alertmanager's routes,
//! silences and inhibitions use them. Regexes are anchored at both ends, and an absent
//! label reads as the empty string, so a matcher that matches `""` also selects what lacks
//! the label. The one matcher of Taishan: the store selects series with it, the alerter
//! routes, silences and inhibits alerts with it (each reads its own syntax into it).

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MatchOp {
    /// `=`
    #[serde(rename = "=")]
    Equal,
    /// `!=`
    #[serde(rename = "!=")]
    NotEqual,
    /// `=~`
    #[serde(rename = "=~")]
    Regex,
    /// `!~`
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    /// Its operator text.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }

    /// Whether it is a regex operator.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchOp::Regex | MatchOp::NotRegex)
    }

    /// Whether it is a negative operator.
    pub fn is_negative(self) -> bool {
        matches!(self, MatchOp::NotEqual | MatchOp::NotRegex)
    }
}

/// A regex matcher whose pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?} for label {name:?}: {reason}")]
pub struct InvalidMatcher {
    /// The label.
    pub name: String,
    /// The pattern as given.
    pub pattern: String,
    /// The regex engine's reason, in one line.
    pub reason: String,
}

/// One compiled label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or pattern as written.
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// A matcher; a regex operator compiles `value`, anchored.
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Self, InvalidMatcher> {
        let (name, value) = (name.into(), value.into());
        let regex = match op.is_regex() {
            true => Some(
                Regex::new(&format!("^(?s:{value})$")).map_err(|e| InvalidMatcher {
                    reason: regex_reason(&e),
                    name: name.clone(),
                    pattern: value.clone(),
                })?,
            ),
            false => None,
        };
        Ok(Self {
            name,
            op,
            value,
            regex,
        })
    }

    /// `name="value"`, which cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// Whether a label's value (`""` when the label is absent) satisfies it.
    pub fn matches(&self, value: &str) -> bool {
        match (&self.regex, self.op) {
            (Some(re), MatchOp::Regex) => re.is_match(value),
            (Some(re), _) => !re.is_match(value),
            (None, MatchOp::Equal) => value == self.value,
            (None, _) => value != self.value,
        }
    }

    /// Whether what lacks the label is selected.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// Alertmanager's order of matchers in a route: name, then value, then operator.
    pub fn sort_key(&self) -> (&str, &str, MatchOp) {
        (&self.name, &self.value, self.op)
    }
}

impl fmt::Display for Matcher {
    /// `name="value"`, the value quoted and escaped as PromQL and Alertmanager print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escaped = self
            .value
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('"', "\\\"");
        write!(f, "{}{}\"{escaped}\"", self.name, self.op.as_str())
    }
}

/// The regex engine's reason in one line (its message also draws the anchored pattern).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(&text);
    last.trim().trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored_and_absent_reads_as_empty() {
        let m = Matcher::new("team", MatchOp::Regex, "data.*").unwrap();
        assert!(m.matches("database"));
        assert!(!Matcher::new("team", MatchOp::Regex, "data")
            .unwrap()
            .matches("database"));
        assert!(Matcher::new("team", MatchOp::Regex, "a|b")
            .unwrap()
            .matches("b"));
        assert!(Matcher::new("env", MatchOp::NotRegex, ".+")
            .unwrap()
            .matches_empty());
        assert!(!Matcher::equal("env", "prod").matches_empty());
        assert!(Matcher::new("env", MatchOp::NotEqual, "prod")
            .unwrap()
            .matches("staging"));
        // (?s): a dot crosses newlines, as Go's RE2 flags in Prometheus.
        assert!(Matcher::new("msg", MatchOp::Regex, "a.b")
            .unwrap()
            .matches("a\nb"));
    }

    #[test]
    fn a_bad_regex_names_label_pattern_and_reason_on_one_line() {
        let e = Matcher::new("team", MatchOp::Regex, "(x").unwrap_err();
        assert_eq!((e.name.as_str(), e.pattern.as_str()), ("team", "(x"));
        let text = e.to_string();
        assert!(
            text.starts_with("invalid regular expression \"(x\" for label \"team\": "),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn prints_quoted_and_escaped() {
        let m = Matcher::new("q", MatchOp::NotEqual, "say \"hi\"\n").unwrap();
        assert_eq!(m.to_string(), r#"q!="say \"hi\"\n""#);
    }
}
