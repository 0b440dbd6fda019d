//! Series selection: matchers (`taishan-core`'s, one for the whole platform) and the
//! postings they are evaluated against.

pub mod postings;

pub use postings::Postings;
pub use taishan_core::matcher::{InvalidMatcher, MatchOp, Matcher};
