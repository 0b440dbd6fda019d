//! `taishan-template`: Go's text/template language as Prometheus and Alertmanager use it.
//!
//! Alert templates: the part of Go's text/template language Prometheus documents for
//! alert labels and annotations (`{{ $labels.instance }}`, `{{ $value | humanize }}`,
//! `{{ printf "%.2f" $value }}`, `if`/`range`/`with`, `query`), parsed when a rule file is
//! loaded so mistakes are reported with the file, and expanded per alert.
//!
//! As in Prometheus, `$labels`, `$externalLabels`, `$externalURL` and `$value` are defined,
//! a missing label reads as the empty string, and an expansion error becomes the text
//! `<error expanding template: ...>` rather than failing the rule.
//!
//! The same engine runs notification templates ([`TemplateSet`]): there, template files
//! `{{define}}` named templates and notification fields call them with `{{template}}` (or
//! `{{block}}`), as Alertmanager's templates do; alert templates keep refusing both.
//!
//! The rule engine and the alerter use it as siblings; [`paths`] reads the globs both give
//! for their files.
#![forbid(unsafe_code)]

mod alert;
mod collections;
mod errors;
mod exec;
mod functions;
pub mod go_fmt;
pub mod go_time;
mod humanize;
mod lex;
mod parse;
pub mod paths;
mod set;
mod value;

pub use alert::{AlertData, Expansion, Template, TemplateQuery};
pub use errors::{ExpansionError, TemplateError, TemplateQueryError};
pub use go_time::GoTime;
pub use set::{SetText, TemplateSet};
pub use value::{QuerySample, Value};

#[cfg(test)]
mod tests;
