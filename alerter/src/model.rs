//! Alerts as Alertmanager holds them: a label set identified by its fingerprint, with
//! annotations and an activity range, merged when the same alert is posted again.

use std::collections::BTreeMap;
use std::fmt;

/// Label name to value, sorted by name (Alertmanager's `model.LabelSet`).
pub type LabelSet = BTreeMap<String, String>;

/// The 64-bit identity of a label set: FNV-1a over each name and value followed by a 0xff
/// separator, in name order, as Prometheus's `model.LabelSet.Fingerprint` computes it, so
/// fingerprints in notifications and the API equal Alertmanager's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;
const SEPARATOR: u8 = 0xff;

impl Fingerprint {
    /// The fingerprint of `labels`.
    pub fn of(labels: &LabelSet) -> Self {
        let mut hash = FNV_OFFSET;
        let mut add = |bytes: &[u8]| {
            for b in bytes.iter().chain(std::iter::once(&SEPARATOR)) {
                hash ^= u64::from(*b);
                hash = hash.wrapping_mul(FNV_PRIME);
            }
        };
        for (name, value) in labels {
            add(name.as_bytes());
            add(value.as_bytes());
        }
        Fingerprint(hash)
    }
}

/// As the API writes it: 16 hex digits.
impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// `{a="1", b="2"}`: a label set as Alertmanager prints it in group keys (Go's `%q` for
/// values, names in order, `", "` between pairs).
pub fn label_set_string(labels: &LabelSet) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A string as Go's `strconv.Quote` writes it: printable characters kept, the rest escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An alert in the alerter: what a client posted, with the times the alerter keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Its identity.
    pub labels: LabelSet,
    /// What it says.
    pub annotations: LabelSet,
    /// When it started (ms since the epoch).
    pub starts_at_ms: i64,
    /// When it ends or ended (ms); for an alert posted without an end, the time it resolves
    /// unless posted again (`resolve_timeout` after it was received).
    pub ends_at_ms: i64,
    /// Where it came from (a rule's page).
    pub generator_url: String,
    /// When the alerter last received it (ms).
    pub updated_at_ms: i64,
    /// Whether `ends_at_ms` is the alerter's guess rather than the client's.
    pub timeout: bool,
}

impl Alert {
    /// Its fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.labels)
    }

    /// `alertname`, or "".
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    /// Whether it has ended by `now_ms`.
    pub fn resolved_at(&self, now_ms: i64) -> bool {
        self.ends_at_ms != 0 && self.ends_at_ms <= now_ms
    }

    /// Merges a newer report of the same alert into this one, as Alertmanager does: the
    /// younger report wins, the earliest start is kept, and an explicit end is not replaced
    /// by a guessed one.
    pub fn merge(&self, other: &Alert) -> Alert {
        let (older, younger) = if other.updated_at_ms < self.updated_at_ms {
            (other, self)
        } else {
            (self, other)
        };
        let mut merged = younger.clone();
        merged.starts_at_ms = older.starts_at_ms.min(younger.starts_at_ms);
        let younger_resolved =
            younger.ends_at_ms != 0 && younger.ends_at_ms <= younger.updated_at_ms;
        let older_resolved = older.ends_at_ms != 0 && older.ends_at_ms <= older.updated_at_ms;
        if younger_resolved {
            if older_resolved && older.ends_at_ms > younger.ends_at_ms {
                merged.ends_at_ms = older.ends_at_ms;
            }
        } else if older.ends_at_ms > younger.ends_at_ms && !older.timeout {
            merged.ends_at_ms = older.ends_at_ms;
        }
        merged
    }

    /// Whether a new report's activity range overlaps this one's, so the two are the same
    /// occurrence and merge (otherwise the new one replaces it).
    pub fn overlaps(&self, new: &Alert) -> bool {
        (new.ends_at_ms > self.starts_at_ms && new.ends_at_ms < self.ends_at_ms)
            || (new.starts_at_ms > self.starts_at_ms && new.starts_at_ms < self.ends_at_ms)
    }
}

/// Firing or resolved, as notifications say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Active.
    Firing,
    /// Ended.
    Resolved,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_are_prometheus_model_fingerprints() {
        // FNV-1a 64 of "name\xffvalue\xff", computed independently; the differential test
        // compares fingerprints with Alertmanager's own.
        assert_eq!(
            Fingerprint::of(&LabelSet::new()).0,
            14_695_981_039_346_656_037
        );
        let one = Fingerprint::of(&labels(&[("name", "value")]));
        assert_eq!(one.0, 4_216_782_014_070_994_021);
        assert_eq!(one.to_string(), "3a8504e67bf53465");
    }

    #[test]
    fn group_keys_quote_like_go() {
        let l = labels(&[("b", "x\"y"), ("a", "1\n")]);
        assert_eq!(label_set_string(&l), r#"{a="1\n", b="x\"y"}"#);
        assert_eq!(label_set_string(&LabelSet::new()), "{}");
    }

    #[test]
    fn a_guessed_end_does_not_replace_an_explicit_one() {
        let first = Alert {
            labels: labels(&[("alertname", "A")]),
            annotations: LabelSet::new(),
            starts_at_ms: 1_000,
            ends_at_ms: 10_000,
            generator_url: String::new(),
            updated_at_ms: 1_000,
            timeout: false,
        };
        let again = Alert {
            starts_at_ms: 2_000,
            ends_at_ms: 5_000,
            updated_at_ms: 2_000,
            timeout: true,
            ..first.clone()
        };
        let merged = first.merge(&again);
        assert_eq!(merged.starts_at_ms, 1_000);
        assert_eq!(merged.ends_at_ms, 10_000);
        assert_eq!(merged.updated_at_ms, 2_000);
    }
}
