//! Why a rule's evaluation failed; shown as the rule's `lastError` and in the logs, as
//! Prometheus words them.

use taishan_query::QueryError;

/// Why one rule produced nothing at one evaluation.
#[derive(Debug, thiserror::Error)]
pub enum RuleEvalError {
    /// Its expression failed.
    #[error("{0}")]
    Query(#[from] QueryError),
    /// Its expression gave neither a vector nor a scalar.
    #[error("rule result is not a vector or scalar")]
    NotAVector,
    /// Two output series ended up with the same labels.
    #[error("vector contains metrics with the same labelset after applying {0} labels")]
    DuplicateLabelset(&'static str),
    /// More series or alerts than the group's `limit`.
    #[error("exceeded limit of {limit} with {count} {what}")]
    LimitExceeded {
        /// The group's limit.
        limit: usize,
        /// What the rule produced.
        count: usize,
        /// `series` or `alerts`.
        what: &'static str,
    },
}
