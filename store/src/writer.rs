//! The single writer: drains queued batches, checks them against the head, frames them into
//! the log, syncs once for the whole group (group commit), applies them and acknowledges.
//!
//! One thread owns every mutation of the head and the log, so ordering checks, series
//! creation and truncation never race.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::WalSync;
use taishan_core::{AppendError, AppendOutcome, MetricBatch, RejectReason, Rejection};
use tokio::sync::oneshot;

use crate::db::Shared;
use crate::head::{AppendCheck, MemSeries};
use crate::interned::{key_of_labels, SeriesKey};
use crate::wal::record::{encode_samples, encode_series};
use crate::wal::{SampleRecord, SeriesRecord, Wal};

/// Where a batch's result goes.
type Ack = oneshot::Sender<Result<AppendOutcome, AppendError>>;

/// Batches framed but not yet answered.
type Pending = Vec<(Result<AppendOutcome, AppendError>, Ack)>;

/// A batch entry looked up in the head before queueing, off the writer thread.
pub(crate) struct Resolved {
    /// Fingerprint of tenant and labels.
    pub key: SeriesKey,
    /// The series, if the head had it then.
    pub series: Option<Arc<MemSeries>>,
}

/// Looks up every series of `batch` (read locks only; runs on the caller's thread so that
/// the single writer spends its time appending, not hashing and comparing labels).
pub(crate) fn resolve(head: &crate::head::Head, batch: &MetricBatch) -> Vec<Resolved> {
    let keys: Vec<SeriesKey> = batch
        .series
        .iter()
        .map(|s| key_of_labels(&batch.tenant, &s.labels))
        .collect();
    let found = head.get_many(&keys);
    keys.into_iter()
        .zip(found)
        .map(|(key, series)| Resolved { key, series })
        .collect()
}

/// Batches taken from the queue per log write.
const MAX_GROUP: usize = 256;

/// Work for the writer thread.
pub(crate) enum Command {
    /// Make a batch durable; the series already found in the head by the caller come along.
    Append(Arc<MetricBatch>, Vec<Resolved>, Ack),
    /// Refuse samples before this time from now on.
    RaiseMinValid(i64, Sender<()>),
    /// Drop head data before this time and the log segments that only hold such data.
    Truncate(i64, Sender<std::io::Result<usize>>),
    /// Sync and stop.
    Close(Sender<()>),
}

/// Framed records and waiting clients of one group commit.
struct Group {
    frames: Vec<u8>,
    /// Newest sample timestamp in `frames`.
    max_t: Option<i64>,
    pending: Pending,
}

pub(crate) fn run(shared: Arc<Shared>, mut wal: Wal, rx: Receiver<Command>) {
    let sync = shared.config.wal.sync;
    let interval = shared.config.wal.sync_interval;
    let mut last_sync = Instant::now();
    let mut group = Group {
        frames: Vec::with_capacity(1 << 20),
        max_t: None,
        pending: Vec::new(),
    };
    loop {
        let wait = match sync {
            WalSync::Always => Duration::from_secs(3600),
            WalSync::Interval => interval
                .saturating_sub(last_sync.elapsed())
                .max(Duration::from_millis(1)),
        };
        let first = match rx.recv_timeout(wait) {
            Ok(c) => c,
            Err(RecvTimeoutError::Timeout) => {
                sync_now(&shared, &mut wal);
                last_sync = Instant::now();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                sync_now(&shared, &mut wal);
                return;
            }
        };
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(cmd) = next.take() {
            taken += 1;
            match cmd {
                Command::Append(batch, resolved, ack) => {
                    let result = match shared.failed.lock().clone() {
                        Some(why) => Err(AppendError::Unavailable(why)),
                        None => Ok(apply_batch(&shared, batch, resolved, &mut group)),
                    };
                    group.pending.push((result, ack));
                }
                control => {
                    group.commit(&shared, &mut wal, sync);
                    if !handle_control(&shared, &mut wal, control) {
                        return;
                    }
                }
            }
            if taken < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        group.commit(&shared, &mut wal, sync);
        if sync == WalSync::Interval && last_sync.elapsed() >= interval {
            sync_now(&shared, &mut wal);
            last_sync = Instant::now();
        }
    }
}

/// Returns false when the writer should stop.
fn handle_control(shared: &Shared, wal: &mut Wal, cmd: Command) -> bool {
    match cmd {
        Command::Append(..) => true,
        Command::RaiseMinValid(t, done) => {
            shared.head.raise_min_valid_time(t);
            let _ = done.send(());
            true
        }
        Command::Truncate(t, done) => {
            let before = shared.head.series_count();
            let after = shared.head.truncate_before(t);
            shared
                .metrics
                .head_series_removed
                .inc_by(before.saturating_sub(after) as u64);
            let live: Vec<SeriesRecord> = shared
                .head
                .all_series()
                .iter()
                .map(|s| SeriesRecord {
                    id: s.id,
                    tenant: s.tenant.clone(),
                    labels: crate::interned::to_labels(&s.labels),
                })
                .collect();
            let _ = done.send(wal.truncate(t, &live));
            shared.update_head_gauges();
            true
        }
        Command::Close(done) => {
            sync_now(shared, wal);
            let _ = done.send(());
            false
        }
    }
}

fn sync_now(shared: &Shared, wal: &mut Wal) {
    if let Err(why) = timed_sync(shared, wal) {
        shared.fail(why);
    }
}

/// fsyncs the log, recording how long it took.
fn timed_sync(shared: &Shared, wal: &mut Wal) -> Result<(), String> {
    match wal.sync() {
        Ok(Some(took)) => {
            shared.metrics.wal_fsync_seconds.observe(took.as_secs_f64());
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(format!("WAL fsync failed: {e}")),
    }
}

impl Group {
    /// Writes and (in `always` mode) syncs the framed group, then answers every client.
    fn commit(&mut self, shared: &Shared, wal: &mut Wal, sync: WalSync) {
        if self.pending.is_empty() && self.frames.is_empty() {
            return;
        }
        let mut failure = None;
        if !self.frames.is_empty() {
            if let Err(e) = wal.write(&self.frames, self.max_t) {
                failure = Some(format!("WAL write failed: {e}"));
            } else if sync == WalSync::Always {
                failure = timed_sync(shared, wal).err();
            }
        }
        self.frames.clear();
        self.max_t = None;
        if let Some(why) = &failure {
            shared.fail(why.clone());
        }
        for (result, ack) in self.pending.drain(..) {
            let result = match (&failure, result) {
                (Some(why), _) => Err(AppendError::Unavailable(why.clone())),
                (None, r) => r,
            };
            let _ = ack.send(result);
        }
        shared.update_head_gauges();
    }
}

/// A series of the batch, resolved against the head.
enum Target {
    Existing(Arc<MemSeries>),
    /// Index into the batch's new series.
    New(usize),
    Refused(RejectReason),
}

/// Checks a batch, frames what is accepted into `frames` and applies it to the head.
fn apply_batch(
    shared: &Shared,
    batch: Arc<MetricBatch>,
    resolved: Vec<Resolved>,
    group: &mut Group,
) -> AppendOutcome {
    let head = &shared.head;
    let tenant = batch.tenant.clone();
    let min_valid = head.min_valid_time();
    let mut new_index: FxHashMap<SeriesKey, usize> = FxHashMap::default();
    let mut new_labels: Vec<usize> = Vec::new(); // batch entry that defines each new series
    let mut targets = Vec::with_capacity(batch.series.len());
    for (i, r) in resolved.into_iter().enumerate() {
        // A series found before queueing may have been dropped since, or created since.
        let found = match r.series {
            Some(series) if !series.is_removed() => Some(series),
            _ => head.get_by_key(r.key),
        };
        if let Some(existing) = found {
            targets.push(Target::Existing(existing));
            continue;
        }
        let n = *new_index.entry(r.key).or_insert_with(|| {
            new_labels.push(i);
            new_labels.len() - 1
        });
        targets.push(Target::New(n));
    }
    if !new_labels.is_empty() {
        if let Err(reason) = head.admit_new_series(&tenant, new_labels.len(), new_labels.len()) {
            for t in targets.iter_mut() {
                if matches!(t, Target::New(_)) {
                    *t = Target::Refused(reason);
                }
            }
        }
    }

    let mut outcome = AppendOutcome::default();
    let mut rejections: HashMap<RejectReason, Rejection> = HashMap::new();
    let mut reject = |reason: RejectReason, describe: &dyn Fn() -> String| {
        rejections
            .entry(reason)
            .or_insert_with(|| Rejection {
                reason,
                samples: 0,
                example: describe(),
            })
            .samples += 1;
    };
    // One pass: each sample is checked and appended at once (so later samples of the same
    // series in this batch are checked against it), and framed for the log. New series are
    // created at their first accepted sample, and logged before the samples that use them.
    let mut created: Vec<Option<Arc<MemSeries>>> = vec![None; new_labels.len()];
    let mut series_records = Vec::new();
    let mut records = Vec::with_capacity(batch.sample_count());
    for (s, target) in batch.series.iter().zip(&targets) {
        let describe_at = |t: i64| move || format!("{} @ {t}", s.labels);
        let series = match target {
            Target::Refused(reason) => {
                for sample in &s.samples {
                    reject(*reason, &describe_at(sample.timestamp_ms));
                }
                continue;
            }
            Target::Existing(series) => series,
            Target::New(n) => {
                if s.samples.iter().all(|x| x.timestamp_ms < min_valid) {
                    for sample in &s.samples {
                        reject(RejectReason::TooOld, &describe_at(sample.timestamp_ms));
                    }
                    continue;
                }
                created[*n].get_or_insert_with(|| {
                    let created = head.create(&tenant, &s.labels, None);
                    series_records.push(SeriesRecord {
                        id: created.id,
                        tenant: tenant.clone(),
                        labels: s.labels.clone(),
                    });
                    created
                })
            }
        };
        for sample in &s.samples {
            let (t, v) = (sample.timestamp_ms, sample.value);
            if t < min_valid {
                reject(RejectReason::TooOld, &describe_at(t));
                continue;
            }
            match head.try_append(series, t, v) {
                AppendCheck::Append => records.push(SampleRecord {
                    id: series.id,
                    t,
                    v,
                }),
                AppendCheck::AlreadyStored => outcome.accepted += 1,
                AppendCheck::Reject(r) => reject(r, &describe_at(t)),
            }
        }
    }
    if !series_records.is_empty() {
        shared
            .metrics
            .head_series_created
            .inc_by(series_records.len() as u64);
        encode_series(&mut group.frames, &series_records);
    }
    if !records.is_empty() {
        encode_samples(&mut group.frames, &records);
        let max_t = records.iter().map(|r| r.t).max();
        group.max_t = group.max_t.max(max_t);
    }
    outcome.accepted += records.len();
    shared.metrics.samples_appended.inc_by(records.len() as u64);
    for r in rejections.into_values() {
        shared
            .metrics
            .samples_rejected
            .with_label_values(&[r.reason.as_str()])
            .inc_by(r.samples as u64);
        outcome.rejected.push(r);
    }
    outcome.rejected.sort_by_key(|r| r.reason.as_str());
    outcome
}
