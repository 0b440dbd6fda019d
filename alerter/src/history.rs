//! The alert history: every alert's firing and resolution, every notification and page,
//! escalations and acknowledgements, one row per alert concerned, kept in SQLite
//! (`<data>/alerter/history.sqlite`) for `alerter.history_retention` and queried by alert,
//! service, team, person, kind and time. It is what `taishan alerts history` shows and what
//! `taishan alerts replay` runs through a new config.
//!
//! Rows are written by one thread in batches, from a bounded queue: recording never waits
//! on the disk, and a queue that is full drops rows and counts them
//! (`taishan_alerter_history_dropped_total`) instead of growing.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{params_from_iter, Connection};
use serde::{Deserialize, Serialize};

use crate::model::LabelSet;

/// What a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The alert began firing (at its `startsAt`).
    Firing,
    /// It resolved (at its `endsAt`).
    Resolved,
    /// A notification with it was delivered to a receiver's integration.
    Notified,
    /// A notification with it could not be delivered.
    Failed,
    /// An on-call member was paged with it.
    Paged,
    /// Its incident climbed to a next level.
    Escalated,
    /// It was acknowledged.
    Acknowledged,
    /// It was resolved by hand.
    ResolvedByHand,
}

impl EventKind {
    const ALL: [EventKind; 8] = [
        EventKind::Firing,
        EventKind::Resolved,
        EventKind::Notified,
        EventKind::Failed,
        EventKind::Paged,
        EventKind::Escalated,
        EventKind::Acknowledged,
        EventKind::ResolvedByHand,
    ];

    /// Its name in rows and queries.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Firing => "firing",
            EventKind::Resolved => "resolved",
            EventKind::Notified => "notified",
            EventKind::Failed => "failed",
            EventKind::Paged => "paged",
            EventKind::Escalated => "escalated",
            EventKind::Acknowledged => "acknowledged",
            EventKind::ResolvedByHand => "resolved_by_hand",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When (Unix ms).
    pub at_ms: i64,
    /// What.
    pub kind: EventKind,
    /// The alert's fingerprint (16 hex digits).
    pub fingerprint: String,
    /// Its `alertname`.
    pub alertname: String,
    /// Its `service` label.
    pub service: String,
    /// The on-call team concerned, if any.
    pub team: String,
    /// The person concerned (paged, acknowledging), if any.
    pub person: String,
    /// The receiver concerned, if any.
    pub receiver: String,
    /// The alert's labels.
    pub labels: LabelSet,
    /// What else is known (integration, error, incident, level, comment).
    pub detail: serde_json::Value,
}

impl Event {
    /// A row of `kind` about an alert with `labels` at `at_ms`.
    pub fn about(kind: EventKind, labels: &LabelSet, at_ms: i64) -> Self {
        let label = |n: &str| labels.get(n).cloned().unwrap_or_default();
        Self {
            at_ms,
            kind,
            fingerprint: crate::model::Fingerprint::of(labels).to_string(),
            alertname: label("alertname"),
            service: label("service"),
            team: String::new(),
            person: String::new(),
            receiver: String::new(),
            labels: labels.clone(),
            detail: serde_json::Value::Null,
        }
    }
}

/// What to look for; empty fields match everything.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryQuery {
    /// An alert's fingerprint or its alertname.
    pub alert: Option<String>,
    /// The `service` label.
    pub service: Option<String>,
    /// The team.
    pub team: Option<String>,
    /// The person.
    pub person: Option<String>,
    /// The kind.
    pub kind: Option<EventKind>,
    /// From (Unix ms, inclusive).
    pub since_ms: Option<i64>,
    /// Until (Unix ms, exclusive).
    pub until_ms: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// Why the history could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[error("alert history {path}: {source}")]
pub struct HistoryError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

enum Command {
    Write(Box<Event>),
    Expire(i64),
    /// Answered once everything sent before it is committed.
    Barrier(SyncSender<()>),
}

/// The history: a writer thread and a reading connection.
pub struct History {
    path: String,
    queue: SyncSender<Command>,
    reader: Mutex<Connection>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("path", &self.path).finish()
    }
}

/// Rows waiting for the writer at most.
const QUEUE: usize = 100_000;
/// Rows per transaction at most.
const BATCH: usize = 2_000;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    service TEXT NOT NULL,
    team TEXT NOT NULL,
    person TEXT NOT NULL,
    receiver TEXT NOT NULL,
    labels TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at_ms);
CREATE INDEX IF NOT EXISTS events_fingerprint ON events (fingerprint, at_ms);
CREATE INDEX IF NOT EXISTS events_alertname ON events (alertname, at_ms);
CREATE INDEX IF NOT EXISTS events_team ON events (team, at_ms);
CREATE INDEX IF NOT EXISTS events_person ON events (person, at_ms);
CREATE INDEX IF NOT EXISTS events_service ON events (service, at_ms);
";

impl History {
    /// Opens (or creates) the history in `dir/history.sqlite`.
    pub fn open(dir: &Path) -> Result<Self, HistoryError> {
        let path = dir.join("history.sqlite").display().to_string();
        Self::open_at(&path)
    }

    /// A history kept in memory only (no data directory).
    pub fn in_memory() -> Result<Self, HistoryError> {
        let name = format!(
            "file:taishan-history-{:016x}?mode=memory&cache=shared",
            rand::random::<u64>()
        );
        Self::open_at(&name)
    }

    fn open_at(path: &str) -> Result<Self, HistoryError> {
        let err = |source| HistoryError {
            path: path.to_string(),
            source,
        };
        let open = || {
            Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                    | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )
        };
        let writer = open().map_err(err)?;
        writer.execute_batch(SCHEMA).map_err(err)?;
        let reader = open().map_err(err)?;
        let (queue, rx) = sync_channel(QUEUE);
        let label = path.to_string();
        std::thread::Builder::new()
            .name("alert-history".into())
            .spawn(move || write_loop(writer, rx, &label))
            .map_err(|e| err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        Ok(Self {
            path: path.to_string(),
            queue,
            reader: Mutex::new(reader),
            dropped: AtomicU64::new(0),
        })
    }

    /// Records `event`; never waits (a full queue drops it, counted).
    pub fn record(&self, event: Event) {
        match self.queue.try_send(Command::Write(Box::new(event))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) % 10_000 == 0 {
                    tracing::warn!(path = %self.path, "the alert history cannot keep up; rows are dropped (counted in taishan_alerter_history_dropped_total)");
                }
            }
        }
    }

    /// Rows dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Deletes rows older than `before_ms`.
    pub fn expire(&self, before_ms: i64) {
        let _ = self.queue.try_send(Command::Expire(before_ms));
    }

    /// Waits until every row recorded so far is written (tests, shutdown).
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        if self.queue.send(Command::Barrier(tx)).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(30));
        }
    }

    /// The rows matching `q`, newest first.
    pub fn query(&self, q: &HistoryQuery) -> Result<Vec<Event>, HistoryError> {
        let mut sql = String::from(
            "SELECT at_ms, kind, fingerprint, alertname, service, team, person, receiver, labels, detail FROM events WHERE 1 = 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let equal = [
            (" AND service = ?", q.service.clone()),
            (" AND team = ?", q.team.clone()),
            (" AND person = ?", q.person.clone()),
            (" AND kind = ?", q.kind.map(|k| k.as_str().to_string())),
        ];
        if let Some(a) = &q.alert {
            sql.push_str(" AND (fingerprint = ? OR alertname = ?)");
            args.push(a.clone().into());
            args.push(a.clone().into());
        }
        for (clause, value) in equal {
            if let Some(v) = value {
                sql.push_str(clause);
                args.push(v.into());
            }
        }
        if let Some(t) = q.since_ms {
            sql.push_str(" AND at_ms >= ?");
            args.push(t.into());
        }
        if let Some(t) = q.until_ms {
            sql.push_str(" AND at_ms < ?");
            args.push(t.into());
        }
        sql.push_str(" ORDER BY at_ms DESC, id DESC LIMIT ?");
        args.push(i64::try_from(q.limit.max(1)).unwrap_or(i64::MAX).into());
        let err = |source| HistoryError {
            path: self.path.clone(),
            source,
        };
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(err)?;
        let rows = stmt
            .query_map(params_from_iter(args), |r| {
                let kind: String = r.get(1)?;
                let labels: String = r.get(8)?;
                let detail: String = r.get(9)?;
                Ok(Event {
                    at_ms: r.get(0)?,
                    kind: EventKind::parse(&kind).unwrap_or(EventKind::Notified),
                    fingerprint: r.get(2)?,
                    alertname: r.get(3)?,
                    service: r.get(4)?,
                    team: r.get(5)?,
                    person: r.get(6)?,
                    receiver: r.get(7)?,
                    labels: serde_json::from_str(&labels).unwrap_or_default(),
                    detail: serde_json::from_str(&detail).unwrap_or_default(),
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    /// The last `firing` or `resolved` row of the alert `fingerprint`: whether it was
    /// firing when last recorded.
    pub fn last_state(&self, fingerprint: &str) -> Option<bool> {
        let conn = self.reader.lock();
        conn.query_row(
            "SELECT kind FROM events WHERE fingerprint = ? AND kind IN ('firing', 'resolved') ORDER BY at_ms DESC, id DESC LIMIT 1",
            [fingerprint],
            |r| r.get::<_, String>(0),
        )
        .ok()
        .map(|k| k == "firing")
    }
}

fn write_loop(mut conn: Connection, rx: Receiver<Command>, path: &str) {
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(c) => c,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        if let Err(e) = write_batch(&mut conn, &batch) {
            tracing::error!(%path, error = %e, rows = batch.len(), "alert history rows could not be written");
        }
        for c in batch {
            if let Command::Barrier(done) = c {
                let _ = done.send(());
            }
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[Command]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (at_ms, kind, fingerprint, alertname, service, team, person, receiver, labels, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?;
        for c in batch {
            match c {
                Command::Write(e) => {
                    insert.execute(rusqlite::params![
                        e.at_ms,
                        e.kind.as_str(),
                        e.fingerprint,
                        e.alertname,
                        e.service,
                        e.team,
                        e.person,
                        e.receiver,
                        serde_json::to_string(&e.labels).unwrap_or_default(),
                        e.detail.to_string(),
                    ])?;
                }
                Command::Expire(before) => {
                    tx.execute("DELETE FROM events WHERE at_ms < ?", [before])?;
                }
                Command::Barrier(_) => {}
            }
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(name: &str, service: &str) -> LabelSet {
        LabelSet::from([
            ("alertname".to_string(), name.to_string()),
            ("service".to_string(), service.to_string()),
        ])
    }

    #[test]
    fn rows_are_kept_across_reopening_and_found_by_each_field() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(dir.path()).unwrap();
        h.record(Event::about(
            EventKind::Firing,
            &labels("PaymentsFailing", "payment"),
            1_000,
        ));
        let mut paged = Event::about(
            EventKind::Paged,
            &labels("PaymentsFailing", "payment"),
            2_000,
        );
        paged.team = "payments".into();
        paged.person = "alice".into();
        h.record(paged);
        h.record(Event::about(
            EventKind::Firing,
            &labels("LoanSlow", "loan"),
            3_000,
        ));
        h.flush();
        drop(h);

        let h = History::open(dir.path()).unwrap();
        let all = h
            .query(&HistoryQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            all.iter().map(|e| e.at_ms).collect::<Vec<_>>(),
            [3_000, 2_000, 1_000]
        );
        let q = |q: HistoryQuery| h.query(&HistoryQuery { limit: 10, ..q }).unwrap().len();
        assert_eq!(
            q(HistoryQuery {
                alert: Some("PaymentsFailing".into()),
                ..Default::default()
            }),
            2
        );
        let fp = all[2].fingerprint.clone();
        assert_eq!(
            q(HistoryQuery {
                alert: Some(fp.clone()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            q(HistoryQuery {
                person: Some("alice".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            q(HistoryQuery {
                team: Some("payments".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            q(HistoryQuery {
                service: Some("loan".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            q(HistoryQuery {
                kind: Some(EventKind::Firing),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            q(HistoryQuery {
                since_ms: Some(2_000),
                until_ms: Some(3_000),
                ..Default::default()
            }),
            1
        );
        assert_eq!(h.last_state(&fp), Some(true));
        assert_eq!(all[0].labels["service"], "loan");

        h.expire(2_500);
        h.flush();
        assert_eq!(q(HistoryQuery::default()), 1);
    }

    #[test]
    fn an_in_memory_history_answers_too() {
        let h = History::in_memory().unwrap();
        h.record(Event::about(EventKind::Resolved, &labels("A", "x"), 5));
        h.flush();
        let rows = h
            .query(&HistoryQuery {
                limit: 5,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rows[0].kind, EventKind::Resolved);
        assert_eq!(h.last_state(&rows[0].fingerprint), Some(false));
    }
}
