//! The YAML configuration's primitives: every part owns its section ([`Section`]: struct,
//! defaults, checks) in its own crate, and the binary composes the file from the parts'
//! sections ([`SectionedConfig`]).
//!
//! Loading never stops at the first problem: each top-level section is deserialized on its
//! own and every section is validated, so `taishan check` can print all errors at once, each
//! as `file:line:column: field.path: what is wrong`. The same reader places the problems of
//! the other files Taishan reads ([`parse_placed`]).

mod placed;
mod positions;
mod sections;
mod size;

use std::fmt;

use serde::de::DeserializeOwned;

pub use placed::{parse_placed, read_text};
pub use positions::{FieldPositions, Position, YamlSyntaxError};
pub use sections::{load_file, load_section, load_str, Section, SectionSlot, SectionedConfig};
pub use size::ByteSize;

/// A problem with one field, before it is placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `scrape.jobs[0].timeout`.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl FieldError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A problem placed in a file: what `taishan check` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDiagnostic {
    /// The file as given.
    pub file: String,
    /// Where in it, when known.
    pub position: Option<Position>,
    /// The field path (empty for syntax errors).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.column)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Deserializes one top-level section `name` of a YAML file into `slot` (left at its default
/// when the section is empty), an error placed at the offending field's path. Shared by every
/// file read section by section, so one bad section does not hide the others' errors.
pub fn read_section<T: DeserializeOwned + Default>(
    name: &str,
    value: serde_yaml_ng::Value,
    errors: &mut Vec<FieldError>,
    slot: &mut T,
) {
    if value.is_null() {
        *slot = T::default();
        return;
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => *slot = v,
        Err(e) => {
            let inner = e.path().to_string();
            // serde_path_to_error's path already ends at the offending field (unknown ones too).
            let path = if inner == "." {
                name.to_string()
            } else if inner.starts_with('[') {
                format!("{name}{inner}")
            } else {
                format!("{name}.{inner}")
            };
            let message = e.into_inner().to_string();
            errors.push(FieldError::new(path, message));
        }
    }
}
