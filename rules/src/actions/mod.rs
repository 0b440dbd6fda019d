//! Taishan's extension to alerting rules: actions on the services' guards. An action file
//! ([`file`]) binds an alert to a command on a named guard of a named service; the
//! [`engine`] runs after every group evaluation and turns firing alerts into decisions for
//! the guard control plane, with hysteresis, a maximum duration and an optional probe before
//! release, each decision carrying the rule, the alert's labels and value, and the time.

pub mod engine;
pub mod file;

pub use engine::ActionEngine;
pub use file::{ActionFile, ActionSpec};

#[cfg(test)]
mod tests;
