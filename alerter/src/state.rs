//! What the alerter must not forget across a restart: the notification log (so what was
//! sent is not sent again) and the silences. One append-only file of JSON lines under the
//! data directory, replayed at start (a torn last line from a crash is skipped) and
//! rewritten compactly when it has grown to several times what it holds.
//!
//! Every line is written to the file before the change it records counts, so a killed
//! process loses nothing; a silence is also synced to disk at once, while notification log
//! lines are synced in groups ([`StateLog::sync`], every second): a power loss can at worst
//! make the last second's notifications be sent again, never lose one, and a notification
//! does not wait for a disk flush.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::matcher::{parse_matcher, Matcher};
use crate::notify::nflog::{LogEntry, LogKey};
use crate::silences::Silence;

/// A silence as stored: its matchers in Alertmanager's text form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSilence {
    id: String,
    matchers: Vec<String>,
    starts_at_ms: i64,
    ends_at_ms: i64,
    updated_at_ms: i64,
    created_by: String,
    comment: String,
}

impl From<&Silence> for StoredSilence {
    fn from(s: &Silence) -> Self {
        Self {
            id: s.id.clone(),
            matchers: s.matchers.iter().map(Matcher::to_string).collect(),
            starts_at_ms: s.starts_at_ms,
            ends_at_ms: s.ends_at_ms,
            updated_at_ms: s.updated_at_ms,
            created_by: s.created_by.clone(),
            comment: s.comment.clone(),
        }
    }
}

impl StoredSilence {
    /// The silence; `None` when a matcher no longer parses.
    pub fn to_silence(&self) -> Option<Silence> {
        let matchers = self
            .matchers
            .iter()
            .map(|m| parse_matcher(m).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Silence {
            id: self.id.clone(),
            matchers,
            starts_at_ms: self.starts_at_ms,
            ends_at_ms: self.ends_at_ms,
            updated_at_ms: self.updated_at_ms,
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
        })
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StateEvent {
    /// A notification was delivered.
    Notified {
        /// Whose.
        key: LogKey,
        /// What it said.
        entry: LogEntry,
    },
    /// A silence was set or changed.
    Silence {
        /// As it is now.
        silence: StoredSilence,
    },
    /// An alert was acknowledged (held until it resolves).
    Acknowledged {
        /// The alert's fingerprint, 16 hex digits.
        fingerprint: String,
        /// By whom, when, why.
        by: String,
        /// Unix ms.
        at_ms: i64,
        /// The comment.
        #[serde(default)]
        comment: String,
    },
}

/// Why the state could not be kept.
#[derive(Debug, thiserror::Error)]
#[error("alerter state {path}: {source}")]
pub struct StateError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl StateError {
    /// `source` happened to the file at `path`.
    pub fn new(path: PathBuf, source: std::io::Error) -> Self {
        Self { path, source }
    }
}

/// The state file.
#[derive(Debug)]
pub struct StateLog {
    path: PathBuf,
    file: Mutex<(File, usize)>,
    /// A second handle on the same file, so a sync does not hold up appends meanwhile.
    syncer: Mutex<File>,
}

impl StateLog {
    /// Opens (creating) `dir/alerter.jsonl`; the events it holds, oldest first.
    pub fn open(dir: &Path) -> Result<(Self, Vec<StateEvent>), StateError> {
        let path = dir.join("alerter.jsonl");
        let err = |source| StateError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let mut events = Vec::new();
        if let Ok(f) = File::open(&path) {
            for (n, line) in BufReader::new(f).lines().enumerate() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<StateEvent>(&line) {
                    Ok(e) => events.push(e),
                    Err(e) => {
                        tracing::warn!(file = %path.display(), line = n + 1, error = %e, "skipping an unreadable alerter state line")
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(err)?;
        let lines = events.len();
        let syncer = file.try_clone().map_err(err)?;
        Ok((
            Self {
                path,
                file: Mutex::new((file, lines)),
                syncer: Mutex::new(syncer),
            },
            events,
        ))
    }

    /// Appends `event` and syncs it.
    pub fn append(&self, event: &StateEvent) -> Result<(), StateError> {
        self.write(event, true)
    }

    /// Appends `event`, leaving the sync to the next [`StateLog::sync`].
    pub fn append_unsynced(&self, event: &StateEvent) -> Result<(), StateError> {
        self.write(event, false)
    }

    /// Syncs what was appended unsynced.
    pub fn sync(&self) -> Result<(), StateError> {
        let syncer = self.syncer.lock();
        syncer.sync_data().map_err(|source| StateError {
            path: self.path.clone(),
            source,
        })
    }

    fn write(&self, event: &StateEvent, sync: bool) -> Result<(), StateError> {
        let err = |source| StateError {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(event).map_err(|e| err(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut guard = self.file.lock();
        guard.0.write_all(&line).map_err(err)?;
        if sync {
            guard.0.sync_data().map_err(err)?;
        }
        guard.1 += 1;
        Ok(())
    }

    /// Lines written since the file was last compacted.
    pub fn lines(&self) -> usize {
        self.file.lock().1
    }

    /// Rewrites the file as `live`: a new file synced, then renamed over the old one.
    pub fn compact(&self, live: &[StateEvent]) -> Result<(), StateError> {
        let err = |source| StateError {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut out = File::create(&tmp).map_err(err)?;
        for e in live {
            let mut line = serde_json::to_vec(e).map_err(|e| err(std::io::Error::other(e)))?;
            line.push(b'\n');
            out.write_all(&line).map_err(err)?;
        }
        out.sync_all().map_err(err)?;
        let mut guard = self.file.lock();
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(err)?;
        *self.syncer.lock() = file.try_clone().map_err(err)?;
        *guard = (file, live.len());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn notified(group: &str, at: i64) -> StateEvent {
        StateEvent::Notified {
            key: LogKey {
                group_key: group.into(),
                receiver: "r".into(),
                integration: "webhook[0]".into(),
            },
            entry: LogEntry {
                firing: BTreeSet::from([1, 2]),
                resolved: BTreeSet::new(),
                at_ms: at,
            },
        }
    }

    #[test]
    fn events_survive_a_reopen_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let (log, events) = StateLog::open(dir.path()).unwrap();
        assert!(events.is_empty());
        log.append(&notified("{}:{a=\"1\"}", 10)).unwrap();
        log.append(&notified("{}:{a=\"2\"}", 20)).unwrap();
        drop(log);
        // A crash in the middle of a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("alerter.jsonl"))
            .unwrap();
        f.write_all(b"{\"event\":\"notif").unwrap();
        let (log, events) = StateLog::open(dir.path()).unwrap();
        assert_eq!(
            events,
            [notified("{}:{a=\"1\"}", 10), notified("{}:{a=\"2\"}", 20)]
        );
        log.compact(&events[1..]).unwrap();
        assert_eq!(log.lines(), 1);
        log.append(&notified("{}:{a=\"3\"}", 30)).unwrap();
        let (_, events) = StateLog::open(dir.path()).unwrap();
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn silences_round_trip_through_their_text_matchers() {
        let s = Silence {
            id: "x".into(),
            matchers: crate::matcher::parse_matchers(r#"{service=~"pay.*", env!="dev"}"#).unwrap(),
            starts_at_ms: 1,
            ends_at_ms: 2,
            updated_at_ms: 1,
            created_by: "alice".into(),
            comment: "c".into(),
        };
        let stored = StoredSilence::from(&s);
        let json = serde_json::to_string(&StateEvent::Silence {
            silence: stored.clone(),
        })
        .unwrap();
        let back: StateEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back,
            StateEvent::Silence {
                silence: stored.clone()
            }
        );
        assert_eq!(stored.to_silence().unwrap(), s);
    }
}
