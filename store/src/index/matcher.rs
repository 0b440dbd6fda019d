//! Label matchers: `=`, `!=`, `=~`, `!~`, with Prometheus's semantics (regexes are fully
//! anchored; a matcher that matches the empty string also selects series without the label).

use regex::Regex;

/// The four matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

/// A compiled matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// The value or pattern as written.
    pub value: String,
    regex: Option<Regex>,
}

/// A regex that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression {pattern:?} for label {name:?}: {reason}")]
pub struct InvalidMatcher {
    /// Label name.
    pub name: String,
    /// The pattern.
    pub pattern: String,
    /// The compiler's reason.
    pub reason: String,
}

impl Matcher {
    /// Builds a matcher, compiling regexes anchored at both ends.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, InvalidMatcher> {
        let name = name.into();
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?s:{value})$")).map_err(|e| InvalidMatcher {
                    name: name.clone(),
                    pattern: value.clone(),
                    reason: e.to_string(),
                })?,
            ),
            _ => None,
        };
        Ok(Self {
            name,
            op,
            value,
            regex,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// Whether a label value (empty for an absent label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether series lacking the label are selected.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}
