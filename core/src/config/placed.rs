//! Reading a YAML file whose every problem is reported at its place: a syntax error at the
//! parser's position, and each error a check returns at a field path at that field's line
//! and column. Shared by the files Taishan reads beside its own config (`alertmanager.yml`,
//! the on-call file, dashboards).

use std::path::Path;

use super::{ConfigDiagnostic, FieldError, FieldPositions, Position};

/// Reads the file at `path` for [`parse_placed`]: its name as diagnostics show it and its
/// text, or the one diagnostic saying why it cannot be read.
pub fn read_text(path: &Path) -> Result<(String, String), Vec<ConfigDiagnostic>> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((file, text)),
        Err(e) => Err(vec![ConfigDiagnostic {
            file,
            position: None,
            path: String::new(),
            message: format!("cannot be read: {e}"),
        }]),
    }
}

/// Reads YAML `text` of `file` and gives its root to `check`; a syntax error, or each error
/// `check` returns, becomes a diagnostic with the file, line and column.
pub fn parse_placed<T>(
    file: &str,
    text: &str,
    check: impl FnOnce(serde_yaml_ng::Value) -> Result<T, Vec<FieldError>>,
) -> Result<T, Vec<ConfigDiagnostic>> {
    let diag = |position: Option<Position>, path: String, message: String| ConfigDiagnostic {
        file: file.to_string(),
        position,
        path,
        message,
    };
    let positions = FieldPositions::index(text)
        .map_err(|e| vec![diag(Some(e.position), String::new(), e.message)])?;
    let root: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let pos = e.location().map(|l| Position {
            line: l.line(),
            column: l.column(),
        });
        vec![diag(pos, String::new(), e.to_string())]
    })?;
    check(root).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| diag(positions.find(&e.path), e.path, e.message))
            .collect()
    })
}
