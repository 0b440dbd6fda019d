//! The notification log: for each group, receiver and integration, which alerts the last
//! delivered notification said were firing and resolved, and when, so a flush that changes
//! nothing is not sent again before `repeat_interval`. Also the record of every delivery
//! attempt, newest last, bounded.

use std::collections::{BTreeSet, HashMap, VecDeque};

use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::state::{StateEvent, StateLog};

/// Whose notification an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogKey {
    /// The group key.
    pub group_key: String,
    /// The receiver.
    pub receiver: String,
    /// The integration (`webhook[0]`).
    pub integration: String,
}

/// What the last delivered notification said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Fingerprints of the alerts it said fire.
    pub firing: BTreeSet<u64>,
    /// Fingerprints of the alerts it said resolved.
    pub resolved: BTreeSet<u64>,
    /// When it was delivered (ms).
    pub at_ms: i64,
}

impl LogEntry {
    /// Whether a flush with `firing` and `resolved` now should be sent, as Alertmanager's
    /// dedup stage decides.
    pub fn needs_update(
        entry: Option<&LogEntry>,
        firing: &BTreeSet<u64>,
        resolved: &BTreeSet<u64>,
        send_resolved: bool,
        repeat_ms: i64,
        now_ms: i64,
    ) -> bool {
        let Some(entry) = entry else {
            return !firing.is_empty();
        };
        // Something fires that the last notification did not say.
        if !firing.is_subset(&entry.firing) {
            return true;
        }
        if firing.is_empty() {
            // All resolved: tell receivers that heard of any firing; otherwise the alerts
            // came and went within one interval and nobody needs to hear of them.
            return !entry.firing.is_empty();
        }
        if send_resolved && !resolved.is_subset(&entry.resolved) {
            return true;
        }
        entry.at_ms + repeat_ms <= now_ms
    }
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// When it was made (ms).
    pub at_ms: i64,
    /// The receiver.
    pub receiver: String,
    /// The integration.
    pub integration: String,
    /// The group key.
    pub group_key: String,
    /// How many alerts it carried.
    pub alerts: usize,
    /// Its number for this flush, from 1.
    pub attempt: u32,
    /// The peer's status, when it answered.
    pub status: Option<u16>,
    /// Why it failed; `None` when delivered.
    pub error: Option<String>,
    /// How long it took (ms).
    pub duration_ms: u64,
}

/// The log and the attempts.
#[derive(Debug)]
pub struct NotificationLog {
    entries: Mutex<HashMap<LogKey, LogEntry>>,
    attempts: Mutex<VecDeque<Attempt>>,
    max_attempts: usize,
    state: Option<Arc<StateLog>>,
    /// Where delivered entries go for the other replicas, when there are any.
    outbox: std::sync::OnceLock<tokio::sync::mpsc::Sender<StateEvent>>,
}

impl NotificationLog {
    /// An empty log keeping the last `max_attempts` attempts.
    pub fn new(max_attempts: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            attempts: Mutex::new(VecDeque::new()),
            max_attempts,
            state: None,
            outbox: std::sync::OnceLock::new(),
        }
    }

    /// The same, writing each delivered notification to `state` before it counts.
    pub fn persisted(max_attempts: usize, state: Arc<StateLog>) -> Self {
        Self {
            state: Some(state),
            ..Self::new(max_attempts)
        }
    }

    /// Puts back an entry read from the state file.
    pub fn restore(&self, key: LogKey, entry: LogEntry) {
        self.entries.lock().insert(key, entry);
    }

    /// Every entry, for compacting the state file.
    pub fn entries(&self) -> Vec<(LogKey, LogEntry)> {
        self.entries
            .lock()
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect()
    }

    /// The entry of `key`.
    pub fn get(&self, key: &LogKey) -> Option<LogEntry> {
        self.entries.lock().get(key).cloned()
    }

    /// Sends each entry delivered from now on to `outbox` too (the other replicas); a
    /// full outbox skips it, and the peers' periodic pull catches up.
    pub fn replicate_to(&self, outbox: tokio::sync::mpsc::Sender<StateEvent>) {
        let _ = self.outbox.set(outbox);
    }

    /// Records a delivered notification.
    pub fn set(&self, key: LogKey, entry: LogEntry) {
        let event = StateEvent::Notified {
            key: key.clone(),
            entry: entry.clone(),
        };
        self.write(&event, &key);
        if let Some(outbox) = self.outbox.get() {
            let _ = outbox.try_send(event);
        }
        self.entries.lock().insert(key, entry);
    }

    /// Takes an entry another replica delivered, unless this log has a newer one; whether
    /// it was taken.
    pub fn merge(&self, key: LogKey, entry: LogEntry) -> bool {
        let mut entries = self.entries.lock();
        if entries.get(&key).is_some_and(|e| e.at_ms >= entry.at_ms) {
            return false;
        }
        let event = StateEvent::Notified {
            key: key.clone(),
            entry: entry.clone(),
        };
        self.write(&event, &key);
        entries.insert(key, entry);
        true
    }

    fn write(&self, event: &StateEvent, key: &LogKey) {
        if let Some(state) = &self.state {
            // Kept in memory regardless: a full disk must not stop notifications; after a
            // restart this one may be sent again.
            if let Err(e) = state.append_unsynced(event) {
                tracing::error!(error = %e, group = %key.group_key, "the notification log could not be written");
            }
        }
    }

    /// Drops entries older than `before_ms`; how many.
    pub fn expire(&self, before_ms: i64) -> usize {
        let mut entries = self.entries.lock();
        let n = entries.len();
        entries.retain(|_, e| e.at_ms >= before_ms);
        n - entries.len()
    }

    /// Records an attempt.
    pub fn record(&self, attempt: Attempt) {
        let mut attempts = self.attempts.lock();
        if attempts.len() == self.max_attempts {
            attempts.pop_front();
        }
        attempts.push_back(attempt);
    }

    /// The attempts kept, oldest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(fps: &[u64]) -> BTreeSet<u64> {
        fps.iter().copied().collect()
    }

    #[test]
    fn dedup_follows_alertmanager() {
        let needs = |entry: Option<&LogEntry>, firing: &[u64], resolved: &[u64], now: i64| {
            LogEntry::needs_update(entry, &set(firing), &set(resolved), true, 3_600_000, now)
        };
        // Nothing sent yet: only when something fires.
        assert!(needs(None, &[1], &[], 0));
        assert!(!needs(None, &[], &[1], 0));
        let sent = LogEntry {
            firing: set(&[1, 2]),
            resolved: set(&[]),
            at_ms: 0,
        };
        // Same alerts: only after the repeat interval.
        assert!(!needs(Some(&sent), &[1, 2], &[], 1_000));
        assert!(needs(Some(&sent), &[1, 2], &[], 3_600_000));
        // A new alert fires, or a firing one resolved: at once.
        assert!(needs(Some(&sent), &[1, 2, 3], &[], 1_000));
        assert!(needs(Some(&sent), &[1], &[2], 1_000));
        // A resolution is not news to a receiver that does not hear of them.
        assert!(!LogEntry::needs_update(
            Some(&sent),
            &set(&[1]),
            &set(&[2]),
            false,
            3_600_000,
            1_000
        ));
        // All resolved: tell who heard them fire.
        assert!(needs(Some(&sent), &[], &[1, 2], 1_000));
        let quiet = LogEntry {
            firing: set(&[]),
            resolved: set(&[1]),
            at_ms: 0,
        };
        assert!(!needs(Some(&quiet), &[], &[1, 2], 1_000));
    }

    #[test]
    fn attempts_are_bounded() {
        let log = NotificationLog::new(2);
        for i in 0..3 {
            log.record(Attempt {
                at_ms: i,
                receiver: "r".into(),
                integration: "webhook[0]".into(),
                group_key: "{}:{}".into(),
                alerts: 1,
                attempt: 1,
                status: Some(200),
                error: None,
                duration_ms: 1,
            });
        }
        let kept: Vec<i64> = log.attempts().iter().map(|a| a.at_ms).collect();
        assert_eq!(kept, [1, 2]);
    }
}
