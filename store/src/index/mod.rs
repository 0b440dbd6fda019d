//! Series selection: matchers and the postings they are evaluated against.

pub mod matcher;
pub mod postings;

pub use matcher::{InvalidMatcher, MatchOp, Matcher};
pub use postings::Postings;
