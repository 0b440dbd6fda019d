//! `taishan-rules`: the rule engine.
//!
//! Rule files in Prometheus's format ([`file`]) with alert templates ([`template`]),
//! evaluated group by group on their interval.
#![forbid(unsafe_code)]

pub mod duration;
pub mod file;
pub mod template;
