//! The audit log: every decision, release, refusal and reported change of every guard, one
//! JSON line each, synced before it counts. Replayed at start-up, it also restores which
//! decisions are in force, so an operator's pin survives a restart.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use taishan_core::{GuardCommand, GuardDecision, GuardTarget};
use taishan_guard::GuardState;

/// What happened.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A decision was made (by a rule or an operator) and is now in force, or waits behind
    /// an operator's.
    Decided {
        /// The decision.
        decision: GuardDecision,
        /// Whether it is in force now (false: an operator's decision overrides it).
        in_force: bool,
    },
    /// A service carried out (or could not carry out) what is in force.
    Applied {
        /// The guard.
        target: GuardTarget,
        /// The command carried out.
        command: GuardCommand,
        /// Why it could not be carried out, if it could not.
        error: Option<String>,
    },
    /// A service reported its guard in a new state.
    Reported {
        /// The guard.
        target: GuardTarget,
        /// The state before; `"unknown"` in the file when this is its first report.
        #[serde(with = "unknown_or_state")]
        from: Option<GuardState>,
        /// The state now.
        to: GuardState,
    },
}

/// A state that may not be known yet, written `"unknown"` as audit files always have.
mod unknown_or_state {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use taishan_guard::GuardState;

    const UNKNOWN: &str = "unknown";

    pub(super) fn serialize<S: Serializer>(
        state: &Option<GuardState>,
        out: S,
    ) -> Result<S::Ok, S::Error> {
        match state {
            Some(s) => s.serialize(out),
            None => out.serialize_str(UNKNOWN),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        input: D,
    ) -> Result<Option<GuardState>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            State(GuardState),
            Unknown(String),
        }
        match Written::deserialize(input)? {
            Written::State(s) => Ok(Some(s)),
            Written::Unknown(s) if s == UNKNOWN => Ok(None),
            Written::Unknown(other) => Err(serde::de::Error::custom(format!(
                "unknown guard state {other:?}"
            ))),
        }
    }
}

/// One line of the log.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// What.
    #[serde(flatten)]
    pub event: AuditEvent,
}

impl AuditEntry {
    /// The guard the entry is about.
    pub fn target(&self) -> &GuardTarget {
        match &self.event {
            AuditEvent::Decided { decision, .. } => &decision.target,
            AuditEvent::Applied { target, .. } | AuditEvent::Reported { target, .. } => target,
        }
    }
}

/// Why the log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading or writing the file failed.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// The append-only log file, with the entries kept in memory for the API.
#[derive(Debug)]
pub struct AuditLog {
    path: Option<PathBuf>,
    file: Option<File>,
    entries: Vec<AuditEntry>,
    /// Most entries kept in memory; older ones stay in the file.
    keep: usize,
    /// Bytes in the current file, and the size at which it is rotated.
    written: u64,
    rotate_at: u64,
}

/// Size at which the log file is rotated (`audit.jsonl` → `audit.jsonl.1`, replacing the
/// previous one): bounded on disk, and quick to replay at start-up.
pub const ROTATE_AT: u64 = 64 << 20;

/// Entries the API can show without reading the file.
const KEPT_IN_MEMORY: usize = 10_000;

impl AuditLog {
    /// A log that is not written anywhere (tests, one-shot tools).
    pub fn in_memory() -> Self {
        Self {
            path: None,
            file: None,
            entries: Vec::new(),
            keep: KEPT_IN_MEMORY,
            written: 0,
            rotate_at: ROTATE_AT,
        }
    }

    /// Opens (or creates) the log at `path` and reads back what it holds. A torn last line
    /// (a crash mid-write) is dropped with a warning; nothing before it is lost.
    pub fn open(path: &Path) -> Result<(Self, Vec<AuditEntry>), AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut all = Vec::new();
        let mut good_len = 0u64;
        // Only a regular file holds history (a device such as /dev/null is written only).
        let replayable = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        if let Some(f) = replayable.then(|| File::open(path).ok()).flatten() {
            let mut reader = BufReader::new(f);
            let mut line = String::new();
            loop {
                line.clear();
                let n = reader.read_line(&mut line).map_err(io)?;
                if n == 0 {
                    break;
                }
                match serde_json::from_str::<AuditEntry>(line.trim_end()) {
                    Ok(e) if line.ends_with('\n') => {
                        good_len += n as u64;
                        all.push(e);
                    }
                    _ => {
                        tracing::warn!(path = %path.display(), offset = good_len, "dropping a torn or unreadable line at the end of the guard audit log");
                        break;
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // A torn tail is cut off, so the next entry starts on a line of its own.
        if replayable && file.metadata().map_err(io)?.len() != good_len {
            file.set_len(good_len).map_err(io)?;
        }
        let keep_from = all.len().saturating_sub(KEPT_IN_MEMORY);
        let log = Self {
            path: Some(path.to_path_buf()),
            file: Some(file),
            entries: all[keep_from..].to_vec(),
            keep: KEPT_IN_MEMORY,
            written: good_len,
            rotate_at: ROTATE_AT,
        };
        Ok((log, all))
    }

    /// Appends `event` at `at_ms`, synced to disk before it returns.
    pub fn append(&mut self, at_ms: i64, event: AuditEvent) -> Result<AuditEntry, AuditError> {
        let entry = AuditEntry {
            seq: self.entries.last().map_or(1, |e| e.seq + 1),
            at_ms,
            event,
        };
        if let (Some(file), Some(path)) = (self.file.as_mut(), self.path.as_ref()) {
            let io = |source| AuditError::Io {
                path: path.clone(),
                source,
            };
            let mut line = serde_json::to_vec(&entry).map_err(|e| io(e.into()))?;
            line.push(b'\n');
            if let Err(e) = file.write_all(&line).and_then(|()| file.sync_data()) {
                // Cut a partly written line off, so the entries after it still replay.
                let _ = file.set_len(self.written);
                return Err(io(e));
            }
            self.written += line.len() as u64;
        }
        self.entries.push(entry.clone());
        if self.entries.len() > self.keep {
            let drop = self.entries.len() - self.keep;
            self.entries.drain(..drop);
        }
        Ok(entry)
    }

    /// Rotates at `bytes` instead of [`ROTATE_AT`] (tests).
    pub fn rotate_at(&mut self, bytes: u64) {
        self.rotate_at = bytes;
    }

    /// Whether the file has grown past its rotation size.
    pub fn wants_rotation(&self) -> bool {
        self.file.is_some() && self.written >= self.rotate_at
    }

    /// Moves the file aside (replacing the previous one) and starts a new one with `carried`:
    /// the decisions in force, so a replay of the new file alone restores them.
    pub fn rotate(&mut self, at_ms: i64, carried: Vec<AuditEvent>) -> Result<(), AuditError> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let io = |source| AuditError::Io {
            path: path.clone(),
            source,
        };
        let mut aside = path.clone().into_os_string();
        aside.push(".1");
        std::fs::rename(&path, &aside).map_err(io)?;
        self.file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io)?,
        );
        self.written = 0;
        for event in carried {
            self.append(at_ms, event)?;
        }
        tracing::info!(path = %path.display(), "guard audit log rotated; the decisions in force carried over");
        Ok(())
    }

    /// Entries newest first, those about `service` (and `guard`) when given, at most `limit`.
    pub fn recent(
        &self,
        service: Option<&str>,
        guard: Option<&str>,
        limit: usize,
    ) -> Vec<AuditEntry> {
        self.entries
            .iter()
            .rev()
            .filter(|e| service.is_none_or(|s| e.target().service == s))
            .filter(|e| guard.is_none_or(|g| e.target().guard == g))
            .take(limit)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as earlier versions wrote them, states and kinds as plain strings.
    const OLD_LINES: &str = concat!(
        r#"{"seq":1,"at_ms":5,"event":"decided","decision":{"target":{"service":"payment","guard":"bank-a"},"command":{"command":"open_breaker"},"source":{"kind":"operator","who":"alice"},"reason":"bank maintenance","at_ms":5},"in_force":true}"#,
        "\n",
        r#"{"seq":2,"at_ms":6,"event":"applied","target":{"service":"payment","guard":"bank-a"},"command":{"command":"open_breaker"},"error":null}"#,
        "\n",
        r#"{"seq":3,"at_ms":7,"event":"reported","target":{"service":"payment","guard":"bank-a"},"from":"unknown","to":"closed"}"#,
        "\n",
        r#"{"seq":4,"at_ms":8,"event":"reported","target":{"service":"payment","guard":"bank-a"},"from":"closed","to":"open"}"#,
        "\n",
    );

    #[test]
    fn files_of_earlier_versions_replay_typed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, OLD_LINES).expect("write");
        let (_, history) = AuditLog::open(&path).expect("opens");
        assert_eq!(history.len(), 4);
        assert_eq!(
            history[2].event,
            AuditEvent::Reported {
                target: history[2].target().clone(),
                from: None,
                to: GuardState::Closed,
            }
        );
        assert!(matches!(
            history[3].event,
            AuditEvent::Reported {
                from: Some(GuardState::Closed),
                to: GuardState::Open,
                ..
            }
        ));
        // Written back the same way.
        let line = serde_json::to_string(&history[2]).expect("encodes");
        assert!(line.contains(r#""from":"unknown","to":"closed""#), "{line}");
        let bad = r#"{"seq":1,"at_ms":7,"event":"reported","target":{"service":"p","guard":"g"},"from":"ajar","to":"closed"}"#;
        assert!(serde_json::from_str::<AuditEntry>(bad).is_err());
    }

    #[test]
    fn a_write_that_fails_is_an_error_not_a_silent_loss() {
        let (mut log, history) = AuditLog::open(Path::new("/dev/full")).expect("opens");
        assert!(history.is_empty());
        let event = AuditEvent::Reported {
            target: GuardTarget {
                service: "payment".into(),
                guard: "bank-a".into(),
            },
            from: None,
            to: GuardState::Open,
        };
        let e = log.append(1, event).expect_err("the device is full");
        assert!(e.to_string().contains("/dev/full"), "{e}");
        assert!(log.recent(None, None, 10).is_empty());
    }
}
