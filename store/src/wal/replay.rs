//! Reading the log back after a restart, repairing a damaged tail.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::record::{decode_frame, FrameError, Record};
use super::{checkpoint_name, latest_checkpoint, list_segments, segment_name};

/// Damage found and repaired during replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// Segment where the damage starts.
    pub segment: u64,
    /// Byte offset in it.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
    /// Bytes cut from that segment.
    pub bytes_discarded: u64,
    /// Later segments deleted because they follow the damage.
    pub segments_discarded: usize,
}

/// What replay found.
#[derive(Debug, Default, Clone)]
pub struct ReplayReport {
    /// Records applied.
    pub records: u64,
    /// Newest segment read (0 when none).
    pub last_segment: u64,
    /// Newest sample timestamp in each remaining segment.
    pub segment_max_t: BTreeMap<u64, i64>,
    /// Damage repaired, if any.
    pub corruption: Option<Corruption>,
}

/// Replays the checkpoint and segments in `dir` in order, handing each record to `apply`.
/// A torn or corrupt record ends replay: its segment is truncated there and later segments
/// are removed (they could refer to series the lost records created), with the damage
/// reported rather than a panic.
pub fn replay(dir: &Path, mut apply: impl FnMut(Record)) -> io::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    if !dir.exists() {
        return Ok(report);
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().ends_with(".tmp") {
            fs::remove_file(entry.path())?;
        }
    }
    let checkpoint = latest_checkpoint(dir)?;
    if let Some(seq) = checkpoint {
        let data = fs::read(dir.join(checkpoint_name(seq)))?;
        let mut at = 0;
        while at < data.len() {
            match decode_frame(&data[at..]) {
                Ok((rec, n)) => {
                    apply(rec);
                    report.records += 1;
                    at += n;
                }
                Err(e) => {
                    // Checkpoints are written whole and renamed into place: damage here is
                    // disk trouble. Keep what decoded and say so loudly.
                    tracing::error!(checkpoint = seq, offset = at, error = %e, "damaged WAL checkpoint; series after this point are lost");
                    break;
                }
            }
        }
        report.last_segment = seq;
    }
    let segments: Vec<u64> = list_segments(dir)?
        .into_iter()
        .filter(|s| checkpoint.is_none_or(|c| *s > c))
        .collect();
    for (i, &seq) in segments.iter().enumerate() {
        let path = dir.join(segment_name(seq));
        let data = fs::read(&path)?;
        let mut at = 0usize;
        let mut max_t = None;
        let mut damage = None;
        while at < data.len() {
            match decode_frame(&data[at..]) {
                Ok((rec, n)) => {
                    if let Record::Samples(s) = &rec {
                        if let Some(t) = s.iter().map(|s| s.t).max() {
                            max_t = Some(max_t.map_or(t, |m: i64| m.max(t)));
                        }
                    }
                    apply(rec);
                    report.records += 1;
                    at += n;
                }
                Err(e) => {
                    damage = Some(e);
                    break;
                }
            }
        }
        if let Some(t) = max_t {
            report.segment_max_t.insert(seq, t);
        }
        report.last_segment = report.last_segment.max(seq);
        if let Some(e) = damage {
            let later = &segments[i + 1..];
            for s in later {
                fs::remove_file(dir.join(segment_name(*s)))?;
            }
            let file = OpenOptions::new().write(true).open(&path)?;
            file.set_len(at as u64)?;
            file.sync_all()?;
            let c = Corruption {
                segment: seq,
                offset: at as u64,
                reason: match e {
                    FrameError::Truncated => "torn write at the end of the log".to_string(),
                    other => other.to_string(),
                },
                bytes_discarded: (data.len() - at) as u64,
                segments_discarded: later.len(),
            };
            if later.is_empty() {
                tracing::warn!(segment = seq, offset = at, discarded_bytes = c.bytes_discarded, reason = %c.reason, "WAL tail damaged (usually a crash during a write); truncated it");
            } else {
                tracing::error!(segment = seq, offset = at, discarded_bytes = c.bytes_discarded, discarded_segments = later.len(), reason = %c.reason, "WAL damaged before its end; truncated there and dropped later segments");
            }
            if let Some(last) = later.last() {
                report.last_segment = report.last_segment.max(*last);
            }
            report.corruption = Some(c);
            break;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::record::{encode_samples, SampleRecord};
    use super::super::Wal;
    use super::*;

    fn samples(n: i64) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_samples(
            &mut buf,
            &[SampleRecord {
                id: 1,
                t: n,
                v: n as f64,
            }],
        );
        buf
    }

    #[test]
    fn torn_tail_is_truncated_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 0, 1 << 20, BTreeMap::new()).unwrap();
        for i in 0..10 {
            wal.write(&samples(i), Some(i)).unwrap();
        }
        wal.sync().unwrap();
        let seg = dir.path().join(segment_name(wal.current_segment()));
        let full = fs::metadata(&seg).unwrap().len();
        drop(wal);
        // A crash in the middle of the last record.
        let f = OpenOptions::new().write(true).open(&seg).unwrap();
        f.set_len(full - 3).unwrap();
        let mut seen = 0;
        let report = replay(dir.path(), |_| seen += 1).unwrap();
        assert_eq!(seen, 9);
        let c = report.corruption.unwrap();
        assert_eq!(c.segments_discarded, 0);
        assert!(c.reason.contains("torn"), "{}", c.reason);
        // The repair is durable: a second replay is clean.
        let again = replay(dir.path(), |_| {}).unwrap();
        assert!(again.corruption.is_none());
        assert_eq!(again.records, 9);
    }

    #[test]
    fn flipped_bits_mid_log_drop_what_follows() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 0, 1 << 20, BTreeMap::new()).unwrap();
        for i in 0..4 {
            wal.write(&samples(i), Some(i)).unwrap();
        }
        wal.rotate().unwrap();
        wal.write(&samples(99), Some(99)).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let first = dir.path().join(segment_name(1));
        let mut data = fs::read(&first).unwrap();
        let one = samples(0).len();
        data[one + 12] ^= 0xff;
        fs::write(&first, &data).unwrap();
        let mut seen = 0;
        let report = replay(dir.path(), |_| seen += 1).unwrap();
        assert_eq!(seen, 1);
        let c = report.corruption.unwrap();
        assert_eq!(
            (c.segment, c.offset, c.segments_discarded),
            (1, one as u64, 1)
        );
        assert!(c.reason.contains("checksum"));
    }

    #[test]
    fn truncation_keeps_live_series_in_a_checkpoint() {
        use super::super::record::SeriesRecord;
        use taishan_core::{Labels, TenantId};
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(dir.path(), 0, 1 << 20, BTreeMap::new()).unwrap();
        wal.write(&samples(10), Some(10)).unwrap();
        wal.rotate().unwrap();
        wal.write(&samples(500), Some(500)).unwrap();
        let live = vec![SeriesRecord {
            id: 1,
            tenant: TenantId::default(),
            labels: Labels::from_pairs([("__name__", "up")]).unwrap(),
        }];
        let removed = wal.truncate(100, &live).unwrap();
        assert_eq!(removed, 1);
        wal.sync().unwrap();
        let mut records = Vec::new();
        let report = replay(dir.path(), |r| records.push(r)).unwrap();
        assert!(report.corruption.is_none());
        assert!(matches!(records[0], Record::Series(_)));
        assert_eq!(records.len(), 2);
    }
}
