//! Silences: matchers and a time range during which matching alerts are not notified, as
//! Alertmanager keeps them (pending, active, expired; an update that changes the matchers
//! of a started silence expires it and creates a new one). Expired silences are kept for the
//! retention and then forgotten.

use std::collections::HashMap;

use parking_lot::RwLock;
use serde::Serialize;

use crate::matcher::{all_match, Matcher};
use crate::model::LabelSet;

/// Where a silence is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// In force.
    Active,
    /// Starts later.
    Pending,
    /// Ended.
    Expired,
}

/// One silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    /// Its id (a UUID).
    pub id: String,
    /// What it mutes.
    pub matchers: Vec<Matcher>,
    /// From (ms).
    pub starts_at_ms: i64,
    /// Until (ms).
    pub ends_at_ms: i64,
    /// Last changed (ms).
    pub updated_at_ms: i64,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

impl Silence {
    /// Its state at `now_ms`.
    pub fn state(&self, now_ms: i64) -> SilenceState {
        if now_ms < self.starts_at_ms {
            SilenceState::Pending
        } else if now_ms < self.ends_at_ms {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }
}

/// Why a silence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// The silence is malformed.
    #[error("{0}")]
    Invalid(String),
    /// No silence has this id.
    #[error("silence {0} not found")]
    NotFound(String),
    /// It has already ended.
    #[error("silence {0} already expired")]
    AlreadyExpired(String),
    /// The store holds its maximum.
    #[error("the alerter holds its maximum of {0} silences")]
    Full(usize),
}

/// Every silence.
#[derive(Debug)]
pub struct Silences {
    by_id: RwLock<HashMap<String, Silence>>,
    capacity: usize,
}

impl Silences {
    /// An empty set holding at most `capacity` silences.
    pub fn new(capacity: usize) -> Self {
        Self {
            by_id: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// Creates `silence` (its id is ignored and a new one made), or, when `silence.id` names
    /// a silence not yet expired, updates it: in place when its matchers are the same or it
    /// has not started, otherwise by expiring it and creating a new one. The id in force.
    pub fn upsert(
        &self,
        mut silence: Silence,
        now_ms: i64,
        new_id: impl FnOnce() -> String,
    ) -> Result<String, SilenceError> {
        validate(&silence, now_ms)?;
        silence.updated_at_ms = now_ms;
        let mut by_id = self.by_id.write();
        if !silence.id.is_empty() {
            let Some(old) = by_id.get_mut(&silence.id) else {
                return Err(SilenceError::NotFound(silence.id));
            };
            let state = old.state(now_ms);
            let in_place = state == SilenceState::Pending
                || (state == SilenceState::Active
                    && old.matchers == silence.matchers
                    && silence.starts_at_ms <= now_ms);
            if in_place {
                if state == SilenceState::Active {
                    silence.starts_at_ms = old.starts_at_ms;
                }
                *old = silence.clone();
                return Ok(silence.id);
            }
            if state != SilenceState::Expired {
                old.ends_at_ms = now_ms;
                old.updated_at_ms = now_ms;
            }
        }
        if by_id.len() >= self.capacity {
            return Err(SilenceError::Full(self.capacity));
        }
        silence.id = new_id();
        if silence.starts_at_ms < now_ms {
            silence.starts_at_ms = now_ms;
        }
        by_id.insert(silence.id.clone(), silence.clone());
        Ok(silence.id)
    }

    /// Ends a silence now.
    pub fn expire(&self, id: &str, now_ms: i64) -> Result<(), SilenceError> {
        let mut by_id = self.by_id.write();
        let Some(s) = by_id.get_mut(id) else {
            return Err(SilenceError::NotFound(id.to_string()));
        };
        match s.state(now_ms) {
            SilenceState::Expired => return Err(SilenceError::AlreadyExpired(id.to_string())),
            SilenceState::Pending => s.starts_at_ms = now_ms,
            SilenceState::Active => {}
        }
        s.ends_at_ms = now_ms;
        s.updated_at_ms = now_ms;
        Ok(())
    }

    /// One silence.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.by_id.read().get(id).cloned()
    }

    /// Every silence.
    pub fn list(&self) -> Vec<Silence> {
        self.by_id.read().values().cloned().collect()
    }

    /// The ids of the active silences that mute `labels`, sorted.
    pub fn muting(&self, labels: &LabelSet, now_ms: i64) -> Vec<String> {
        let mut ids: Vec<String> = self
            .by_id
            .read()
            .values()
            .filter(|s| s.state(now_ms) == SilenceState::Active && all_match(&s.matchers, labels))
            .map(|s| s.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Forgets silences that expired before `before_ms`; how many.
    pub fn collect_expired(&self, before_ms: i64) -> usize {
        let mut by_id = self.by_id.write();
        let n = by_id.len();
        by_id.retain(|_, s| s.ends_at_ms >= before_ms);
        n - by_id.len()
    }

    /// Takes a silence another replica holds, unless the one held here changed later;
    /// whether it was taken.
    pub fn merge(&self, s: Silence) -> Result<bool, SilenceError> {
        well_formed(&s)?;
        let mut by_id = self.by_id.write();
        if by_id
            .get(&s.id)
            .is_some_and(|h| h.updated_at_ms >= s.updated_at_ms)
        {
            return Ok(false);
        }
        by_id.insert(s.id.clone(), s);
        Ok(true)
    }

    /// Puts silences back as they were (from the data directory), replacing any held.
    pub fn restore(&self, silences: Vec<Silence>) {
        let mut by_id = self.by_id.write();
        by_id.clear();
        by_id.extend(silences.into_iter().map(|s| (s.id.clone(), s)));
    }
}

fn validate(s: &Silence, now_ms: i64) -> Result<(), SilenceError> {
    well_formed(s)?;
    if s.ends_at_ms <= now_ms {
        return Err(SilenceError::Invalid(
            "end time can't be in the past".into(),
        ));
    }
    Ok(())
}

/// What every silence must be, posted here or merged from a peer (whose expired ones may
/// end in the past).
fn well_formed(s: &Silence) -> Result<(), SilenceError> {
    let invalid = |m: &str| Err(SilenceError::Invalid(m.to_string()));
    if s.matchers.is_empty() {
        return invalid("at least one matcher required");
    }
    if s.matchers.iter().all(|m| m.matches_empty()) {
        return invalid("at least one matcher must not match the empty string");
    }
    if s.ends_at_ms < s.starts_at_ms {
        return invalid("end time must not be before start time");
    }
    if s.created_by.trim().is_empty() {
        return invalid("creator information required (createdBy)");
    }
    if s.comment.trim().is_empty() {
        return invalid("comment required");
    }
    Ok(())
}

/// A random version 4 UUID, as Alertmanager names silences.
pub fn new_silence_id() -> String {
    use rand::{Rng, SeedableRng};
    let mut b: [u8; 16] = rand::rngs::StdRng::from_os_rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::parse_matchers;

    fn silence(id: &str, matchers: &str, starts: i64, ends: i64) -> Silence {
        Silence {
            id: id.into(),
            matchers: parse_matchers(matchers).unwrap(),
            starts_at_ms: starts,
            ends_at_ms: ends,
            updated_at_ms: 0,
            created_by: "alice".into(),
            comment: "maintenance".into(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_silence_mutes_while_active_and_can_be_expired() {
        let s = Silences::new(10);
        let id = s
            .upsert(silence("", "service=payment", 1_000, 10_000), 1_000, || {
                "s1".into()
            })
            .unwrap();
        let l = labels(&[("service", "payment"), ("alertname", "Down")]);
        assert_eq!(s.muting(&l, 5_000), ["s1"]);
        assert!(s.muting(&labels(&[("service", "risk")]), 5_000).is_empty());
        assert!(s.muting(&l, 10_000).is_empty(), "ended");
        s.expire(&id, 2_000).unwrap();
        assert!(s.muting(&l, 2_000).is_empty());
        assert_eq!(
            s.expire(&id, 3_000),
            Err(SilenceError::AlreadyExpired("s1".into()))
        );
        assert_eq!(
            s.expire("nope", 3_000),
            Err(SilenceError::NotFound("nope".into()))
        );
    }

    #[test]
    fn updating_the_matchers_of_a_started_silence_makes_a_new_one() {
        let s = Silences::new(10);
        s.upsert(silence("", "service=payment", 1_000, 10_000), 1_000, || {
            "s1".into()
        })
        .unwrap();
        // Same matchers, later end: in place.
        let same = s
            .upsert(
                silence("s1", "service=payment", 1_000, 20_000),
                2_000,
                || "s2".into(),
            )
            .unwrap();
        assert_eq!(same, "s1");
        assert_eq!(s.get("s1").unwrap().ends_at_ms, 20_000);
        // Other matchers: the old one expires, a new one starts.
        let other = s
            .upsert(silence("s1", "service=risk", 1_000, 20_000), 3_000, || {
                "s3".into()
            })
            .unwrap();
        assert_eq!(other, "s3");
        assert_eq!(s.get("s1").unwrap().state(3_000), SilenceState::Expired);
        assert_eq!(s.get("s3").unwrap().starts_at_ms, 3_000);
    }

    #[test]
    fn malformed_silences_say_why() {
        let s = Silences::new(1);
        let err = |sil: Silence| s.upsert(sil, 1_000, || "x".into()).unwrap_err().to_string();
        assert_eq!(
            err(silence("", "service=~.*", 1_000, 5_000)),
            "at least one matcher must not match the empty string"
        );
        assert_eq!(
            err(silence("", "a=b", 5_000, 2_000)),
            "end time must not be before start time"
        );
        assert_eq!(
            err(silence("", "a=b", 0, 500)),
            "end time can't be in the past"
        );
        assert_eq!(
            err(Silence {
                comment: " ".into(),
                ..silence("", "a=b", 0, 5_000)
            }),
            "comment required"
        );
        assert_eq!(
            err(silence("ghost", "a=b", 0, 5_000)),
            "silence ghost not found"
        );
        s.upsert(silence("", "a=b", 0, 5_000), 1_000, || "one".into())
            .unwrap();
        assert_eq!(
            err(silence("", "c=d", 0, 5_000)),
            "the alerter holds its maximum of 1 silences"
        );
        let id = new_silence_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
