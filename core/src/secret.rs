//! A value that must not leave the process in answers or logs: a password, a token, a
//! credential-bearing header. It prints and serializes as `<secret>`, as Alertmanager
//! shows its secrets; only [`Secret::expose`] gives the value, where it is sent.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What Taishan shows in place of a secret.
pub const MASK: &str = "<secret>";

/// A secret string.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for where it is sent (a header, a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Larger than any secret or key file Taishan reads.
pub const LARGEST_SECRET_FILE: u64 = 4 << 20;

/// The bytes of the file at `path`, at most `limit` of them; a `private` file (a key, a
/// shared secret) must be non-empty and readable by its owner only, as `ssh` asks of a key.
/// The reason names the path.
pub fn read_file_checked(path: &Path, limit: u64, private: bool) -> Result<Vec<u8>, String> {
    let at = |reason: String| format!("{}: {reason}", path.display());
    let file = std::fs::File::open(path).map_err(|e| at(e.to_string()))?;
    let meta = file.metadata().map_err(|e| at(e.to_string()))?;
    if private {
        only_its_owner_reads(&meta).map_err(at)?;
    }
    if meta.len() > limit {
        return Err(at(format!(
            "{} bytes is more than such a file needs ({limit})",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| at(e.to_string()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(at("is empty".into()));
    }
    Ok(bytes)
}

/// A shared secret kept in a file (its surrounding whitespace trimmed), checked as
/// [`read_file_checked`] checks a private file.
pub fn secret_from_file(path: &Path) -> Result<Secret, String> {
    let bytes = read_file_checked(path, LARGEST_SECRET_FILE, true)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    Ok(Secret::new(text.trim()))
}

#[cfg(unix)]
fn only_its_owner_reads(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    match mode & 0o077 {
        0 => Ok(()),
        _ => Err(format!(
            "mode {mode:04o} lets others read it; make it 0600 (chmod 600)"
        )),
    }
}

#[cfg(not(unix))]
fn only_its_owner_reads(_meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_must_be_private_and_not_empty() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peer.secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let why = secret_from_file(&path).unwrap_err();
        assert!(
            why.contains("mode 0640") && why.contains("chmod 600"),
            "{why}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(secret_from_file(&path).unwrap().expose(), "s3cret");
        std::fs::write(&path, " \n").unwrap();
        assert!(secret_from_file(&path).unwrap_err().ends_with("is empty"));
    }

    #[test]
    fn a_secret_never_prints_or_serializes_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<secret> <secret>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<secret>\"");
        assert_eq!(s.expose(), "hunter2");
        let read: Secret = serde_yaml_ng::from_str("hunter2").unwrap();
        assert_eq!(read.expose(), "hunter2");
    }
}
