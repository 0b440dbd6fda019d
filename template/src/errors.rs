//! What goes wrong with a template: it does not parse ([`TemplateError`], placed by line
//! and column), its expansion fails ([`ExpansionError`]), or its `query` does
//! ([`TemplateQueryError`]).

use std::fmt;

/// A template that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Line within the template text, from 1.
    pub line: usize,
    /// Column within that line, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl TemplateError {
    pub(crate) fn at(src: &str, offset: usize, message: impl Into<String>) -> Self {
        let before = &src[..offset.min(src.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Why an expansion failed, in Go's words (`error calling humanize: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExpansionError(pub String);

/// Why a template's `query` failed (the PromQL error, as the rule would report it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateQueryError(pub String);
