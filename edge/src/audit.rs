//! One audit trail of every state change an operator or admin makes through any listener:
//! guards, faults, drills, silences, acknowledgements and resolutions, reloads, TSDB admin,
//! logins and failed logins, and the refusals of such requests. The edge records them,
//! so no route can forget to; the `who` is the authenticated identity.
//!
//! Each kind has its own file (`<data>/audit/<kind>.jsonl`, mode 0600, in a 0700
//! directory, rotated to `.1` past [`FILE_LIMIT`]) and its own [`KEPT`] newest records in
//! memory, so a flood of one kind (failed logins, say) cannot push the others out. Read
//! with `GET /api/v1/audit` (admin) or `taishan audit`.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;
use taishan_core::Clock;

/// Newest records kept in memory per kind (and read back at start).
pub const KEPT: usize = 1000;

/// Size past which a kind's file is rotated.
const FILE_LIMIT: u64 = 8 << 20;

/// Longest `why` kept.
const WHY_LIMIT: usize = 500;

/// One state change, or one refused attempt at one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditRecord {
    /// When (Unix ms).
    pub at_ms: i64,
    /// What kind of change (`guards`, `faults`, `drills`, `silences`, `incidents`,
    /// `reloads`, `tsdb`, `logins`, `refused`, `other`).
    pub kind: String,
    /// The authenticated identity (`anonymous` with authentication off; the name typed
    /// at a failed login).
    pub who: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// The tenant the request acted on.
    pub tenant: String,
    /// The client's address.
    pub source: String,
    /// `METHOD /path`.
    pub what: String,
    /// The answer's status.
    pub status: u16,
    /// The reason or comment the request gave, if any.
    pub why: String,
}

impl AuditRecord {
    /// `why`, cut to its limit on a character boundary.
    pub fn with_why(mut self, why: &str) -> Self {
        self.why = why.chars().take(WHY_LIMIT).collect();
        self
    }
}

/// The kind of change a request to `path` makes.
pub fn kind_of(path: &str) -> &'static str {
    let rules: [(&str, &str); 11] = [
        ("/api/v1/guards", "guards"),
        ("/api/v1/chaos/faults", "faults"),
        ("/api/v1/chaos/abort", "faults"),
        ("/api/v1/chaos/drills", "drills"),
        ("/api/v1/chaos/reports", "drills"),
        ("/api/v2/silence", "silences"),
        ("/api/taishan/v1/", "incidents"),
        ("/-/reload", "reloads"),
        ("/api/v1/admin/", "tsdb"),
        ("/login", "logins"),
        ("/logout", "logins"),
    ];
    let path = path.strip_prefix("/alerter").unwrap_or(path);
    rules
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or("other", |(_, kind)| kind)
}

/// The trail: files per kind and the newest records in memory.
#[derive(Clone)]
pub struct AuditLog {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    kinds: Arc<Mutex<BTreeMap<String, VecDeque<AuditRecord>>>>,
}

impl AuditLog {
    /// Opens the trail under `dir` (made 0700), reading back each kind's newest records.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        private_dir(dir)?;
        let mut kinds = BTreeMap::new();
        for entry in std::fs::read_dir(dir)?.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let records: VecDeque<AuditRecord> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            let skip = records.len().saturating_sub(KEPT);
            if let Some(kind) = path.file_stem().and_then(|s| s.to_str()) {
                kinds.insert(kind.to_string(), records.into_iter().skip(skip).collect());
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            clock,
            kinds: Arc::new(Mutex::new(kinds)),
        })
    }

    /// Now, by the trail's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Appends `record` to its kind's file and memory. A write that fails is logged: the
    /// change itself has happened and is not undone.
    pub fn append(&self, record: AuditRecord) {
        let line = match serde_json::to_string(&record) {
            Ok(l) => l,
            Err(e) => return tracing::error!(error = %e, "audit record not serialized"),
        };
        let mut kinds = self.kinds.lock();
        if let Err(e) = self.write_line(&record.kind, &line) {
            tracing::error!(error = %e, kind = %record.kind, "audit record not written to disk");
        }
        let kept = kinds.entry(record.kind.clone()).or_default();
        if kept.len() >= KEPT {
            kept.pop_front();
        }
        kept.push_back(record);
    }

    fn write_line(&self, kind: &str, line: &str) -> std::io::Result<()> {
        let path = self.dir.join(format!("{kind}.jsonl"));
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > FILE_LIMIT) {
            std::fs::rename(&path, self.dir.join(format!("{kind}.jsonl.1")))?;
        }
        let mut file = private_file(&path)?;
        writeln!(file, "{line}")
    }

    /// The newest `limit` records of `kind` (every kind when `None`), newest first.
    pub fn newest(&self, kind: Option<&str>, limit: usize) -> Vec<AuditRecord> {
        let kinds = self.kinds.lock();
        let mut out: Vec<AuditRecord> = kinds
            .iter()
            .filter(|(k, _)| kind.is_none_or(|want| want == k.as_str()))
            .flat_map(|(_, records)| records.iter().cloned())
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.at_ms));
        out.truncate(limit);
        out
    }
}

/// A directory only its owner reads.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A file opened for appending that only its owner reads.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[derive(Deserialize)]
struct AuditQuery {
    kind: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/audit?kind=&limit=` (admin).
pub fn routes(log: AuditLog) -> Router {
    Router::new()
        .route("/api/v1/audit", get(list))
        .with_state(log)
}

async fn list(State(log): State<AuditLog>, Query(q): Query<AuditQuery>) -> Response {
    let limit = q.limit.unwrap_or(100).min(KEPT * 16);
    let records = log.newest(q.kind.as_deref(), limit);
    Json(json!({"status": "success", "data": records})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::ManualClock;

    fn record(kind: &str, at_ms: i64) -> AuditRecord {
        AuditRecord {
            at_ms,
            kind: kind.into(),
            who: "alice".into(),
            roles: vec!["operator".into()],
            tenant: "default".into(),
            source: "127.0.0.1:5000".into(),
            what: "POST /api/v1/guards/payment/bank-a".into(),
            status: 200,
            why: String::new(),
        }
    }

    #[test]
    fn a_flood_of_one_kind_keeps_the_others_and_the_trail_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at(0));
        let log = AuditLog::open(&dir.path().join("audit"), clock.clone()).unwrap();
        log.append(record("guards", 1).with_why(&"x".repeat(2000)));
        for i in 0..(KEPT as i64 + 50) {
            log.append(record("logins", 10 + i));
        }
        assert_eq!(log.newest(Some("guards"), 10).len(), 1);
        assert_eq!(log.newest(Some("guards"), 10)[0].why.len(), WHY_LIMIT);
        assert_eq!(log.newest(Some("logins"), usize::MAX).len(), KEPT);
        let again = AuditLog::open(&dir.path().join("audit"), clock).unwrap();
        assert_eq!(again.newest(Some("guards"), 10).len(), 1);
        assert_eq!(again.newest(None, 1)[0].kind, "logins");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("audit")), 0o700);
            assert_eq!(mode(&dir.path().join("audit/guards.jsonl")), 0o600);
        }
    }

    #[test]
    fn each_route_changes_its_kind() {
        assert_eq!(kind_of("/api/v1/guards/payment/bank-a"), "guards");
        assert_eq!(kind_of("/alerter/api/v2/silences"), "silences");
        assert_eq!(kind_of("/api/taishan/v1/incidents/7/ack"), "incidents");
        assert_eq!(kind_of("/api/v1/admin/tsdb/flush"), "tsdb");
        assert_eq!(kind_of("/elsewhere"), "other");
    }
}
