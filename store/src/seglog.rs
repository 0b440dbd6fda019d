//! An append-only log of opaque records in numbered segment files: the durable home of
//! spans and log records (where the record itself is the data, not a prelude to a block).
//!
//! Frame: `length: u32 LE | crc32: u32 LE | time: i64 LE | payload`; the checksum covers time
//! and payload. `time` is the newest timestamp in the record (ms), so whole segments can be
//! dropped by age without reading them. A torn tail is cut off at open, like the WAL's.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes before each payload.
pub const FRAME_HEADER: usize = 16;

/// Where a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// Segment number.
    pub segment: u64,
    /// Byte offset of the frame in the segment.
    pub offset: u64,
    /// Length of the payload.
    pub len: u32,
}

/// What a segment holds, for retention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Bytes in the file.
    pub bytes: u64,
    /// Newest record time (ms); `i64::MIN` when empty.
    pub max_t: i64,
}

/// What opening found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Records read back.
    pub records: u64,
    /// A torn or corrupt tail that was cut off: segment and the offset it was cut at.
    pub repaired: Option<(u64, u64)>,
}

/// The log.
#[derive(Debug)]
pub struct SegmentLog {
    dir: PathBuf,
    max_segment_bytes: u64,
    segments: BTreeMap<u64, SegmentInfo>,
    current: File,
    current_id: u64,
    /// Open readers of sealed segments, by number.
    readers: BTreeMap<u64, File>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:08}.seg"))
}

fn frame(out: &mut Vec<u8>, t: i64, payload: &[u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&t.to_le_bytes());
    h.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&t.to_le_bytes());
    out.extend_from_slice(payload);
}

/// The frame at the start of `data`: (time, payload, bytes used), or why not.
fn unframe(data: &[u8]) -> Result<(i64, &[u8], usize), &'static str> {
    if data.len() < FRAME_HEADER {
        return Err("torn frame header");
    }
    let len = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let crc = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
    let t = i64::from_le_bytes(data[8..16].try_into().map_err(|_| "frame header")?);
    let end = FRAME_HEADER + len;
    if data.len() < end {
        return Err("torn frame");
    }
    let payload = &data[FRAME_HEADER..end];
    let mut h = crc32fast::Hasher::new();
    h.update(&data[8..16]);
    h.update(payload);
    if h.finalize() != crc {
        return Err("checksum mismatch");
    }
    Ok((t, payload, end))
}

impl SegmentLog {
    /// Opens (or creates) the log in `dir`, handing every intact record to `replay` in
    /// order, and cutting off a torn or corrupt tail of the last segment.
    pub fn open(
        dir: &Path,
        max_segment_bytes: u64,
        mut replay: impl FnMut(Position, i64, &[u8]),
    ) -> io::Result<(Self, OpenReport)> {
        fs::create_dir_all(dir)?;
        let mut ids: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        ids.sort_unstable();
        let mut report = OpenReport::default();
        let mut segments = BTreeMap::new();
        for (n, &id) in ids.iter().enumerate() {
            let path = segment_path(dir, id);
            let mut data = Vec::new();
            File::open(&path)?.read_to_end(&mut data)?;
            let mut info = SegmentInfo {
                bytes: 0,
                max_t: i64::MIN,
            };
            let mut at = 0usize;
            while at < data.len() {
                match unframe(&data[at..]) {
                    Ok((t, payload, used)) => {
                        replay(
                            Position {
                                segment: id,
                                offset: at as u64,
                                len: payload.len() as u32,
                            },
                            t,
                            payload,
                        );
                        report.records += 1;
                        info.max_t = info.max_t.max(t);
                        at += used;
                    }
                    Err(why) => {
                        // Only the newest segment can end in a torn write; cut it there.
                        tracing::warn!(segment = id, offset = at, reason = why, dir = %dir.display(), "cutting off the unreadable tail of a log segment");
                        let f = OpenOptions::new().write(true).open(&path)?;
                        f.set_len(at as u64)?;
                        f.sync_all()?;
                        report.repaired = Some((id, at as u64));
                        if n + 1 != ids.len() {
                            tracing::warn!(segment = id, "the damaged segment was not the newest");
                        }
                        break;
                    }
                }
            }
            info.bytes = at as u64;
            segments.insert(id, info);
        }
        let current_id = segments.keys().next_back().map_or(1, |id| id + 1);
        let current = Self::create_segment(dir, current_id)?;
        segments.insert(
            current_id,
            SegmentInfo {
                bytes: 0,
                max_t: i64::MIN,
            },
        );
        Ok((
            Self {
                dir: dir.to_path_buf(),
                max_segment_bytes,
                segments,
                current,
                current_id,
                readers: BTreeMap::new(),
            },
            report,
        ))
    }

    fn create_segment(dir: &Path, id: u64) -> io::Result<File> {
        let f = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(segment_path(dir, id))?;
        // The new file's name must survive a crash too.
        File::open(dir)?.sync_all()?;
        Ok(f)
    }

    /// Appends records (newest time, payload), not yet synced; returns their positions.
    pub fn append(&mut self, records: &[(i64, &[u8])]) -> io::Result<Vec<Position>> {
        if self
            .segments
            .get(&self.current_id)
            .is_some_and(|s| s.bytes >= self.max_segment_bytes)
        {
            self.rotate()?;
        }
        let mut buf = Vec::with_capacity(records.iter().map(|r| r.1.len() + FRAME_HEADER).sum());
        let info = self.segments.entry(self.current_id).or_default();
        let mut positions = Vec::with_capacity(records.len());
        for &(t, payload) in records {
            positions.push(Position {
                segment: self.current_id,
                offset: info.bytes + buf.len() as u64,
                len: payload.len() as u32,
            });
            frame(&mut buf, t, payload);
            info.max_t = info.max_t.max(t);
        }
        self.current.write_all(&buf)?;
        info.bytes += buf.len() as u64;
        Ok(positions)
    }

    /// Makes everything appended so far durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.current.sync_data()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.current.sync_data()?;
        self.current_id += 1;
        self.current = Self::create_segment(&self.dir, self.current_id)?;
        self.segments.insert(
            self.current_id,
            SegmentInfo {
                bytes: 0,
                max_t: i64::MIN,
            },
        );
        Ok(())
    }

    /// The payload at `pos`, checked against its checksum.
    pub fn read(&mut self, pos: Position) -> io::Result<Vec<u8>> {
        let mut data = vec![0u8; FRAME_HEADER + pos.len as usize];
        if pos.segment == self.current_id {
            self.current.read_exact_at(&mut data, pos.offset)?;
        } else {
            let f = match self.readers.entry(pos.segment) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(File::open(segment_path(&self.dir, pos.segment))?)
                }
            };
            f.read_exact_at(&mut data, pos.offset)?;
        }
        let (_, payload, _) = unframe(&data).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "log record at segment {} offset {}: {why}",
                    pos.segment, pos.offset
                ),
            )
        })?;
        Ok(payload.to_vec())
    }

    /// Deletes sealed segments whose newest record is older than `retention` before
    /// `now_ms`, then the oldest while the total exceeds `max_bytes` (0: no size limit).
    /// Returns the numbers deleted.
    pub fn expire(
        &mut self,
        now_ms: i64,
        retention: std::time::Duration,
        max_bytes: u64,
    ) -> io::Result<Vec<u64>> {
        let keep_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        self.drop_old(now_ms.saturating_sub(keep_ms), max_bytes)
    }

    /// Deletes sealed segments whose newest record is older than `min_t`, and the oldest
    /// sealed segments while the total exceeds `max_bytes` (0: no size limit). Returns the
    /// numbers deleted.
    pub fn drop_old(&mut self, min_t: i64, max_bytes: u64) -> io::Result<Vec<u64>> {
        let mut gone = Vec::new();
        let mut total: u64 = self.segments.values().map(|s| s.bytes).sum();
        let sealed: Vec<(u64, SegmentInfo)> = self
            .segments
            .iter()
            .filter(|(id, _)| **id != self.current_id)
            .map(|(id, s)| (*id, *s))
            .collect();
        for (id, info) in sealed {
            let too_old = info.max_t < min_t;
            let too_big = max_bytes > 0 && total > max_bytes;
            if !too_old && !too_big {
                break;
            }
            self.readers.remove(&id);
            fs::remove_file(segment_path(&self.dir, id))?;
            self.segments.remove(&id);
            total = total.saturating_sub(info.bytes);
            gone.push(id);
        }
        Ok(gone)
    }

    /// Total bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.segments.values().map(|s| s.bytes).sum()
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = (u64, SegmentInfo)> + '_ {
        self.segments.iter().map(|(id, s)| (*id, *s))
    }

    /// Re-reads a whole segment's records (for scans), oldest first.
    pub fn scan(
        &mut self,
        segment: u64,
        mut f: impl FnMut(Position, i64, &[u8]),
    ) -> io::Result<()> {
        let mut data = Vec::new();
        let mut file = File::open(segment_path(&self.dir, segment))?;
        file.seek(SeekFrom::Start(0))?;
        file.read_to_end(&mut data)?;
        let mut at = 0usize;
        while at < data.len() {
            let Ok((t, payload, used)) = unframe(&data[at..]) else {
                break;
            };
            f(
                Position {
                    segment,
                    offset: at as u64,
                    len: payload.len() as u32,
                },
                t,
                payload,
            );
            at += used;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_torn_tails_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = SegmentLog::open(dir.path(), 1 << 20, |_, _, _| {}).unwrap();
        let pos = log
            .append(&[(10, b"alpha".as_slice()), (20, b"beta".as_slice())])
            .unwrap();
        log.sync().unwrap();
        assert_eq!(log.read(pos[1]).unwrap(), b"beta");
        drop(log);
        // A torn write at the end of the newest non-empty segment.
        let seg = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        let mut seen = Vec::new();
        let (mut log, report) =
            SegmentLog::open(dir.path(), 1 << 20, |p, t, d| seen.push((p, t, d.to_vec()))).unwrap();
        assert_eq!(report.records, 2);
        assert!(report.repaired.is_some());
        assert_eq!(seen[0].2, b"alpha");
        assert_eq!(log.read(seen[1].0).unwrap(), b"beta");
    }

    #[test]
    fn old_and_oversized_segments_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = SegmentLog::open(dir.path(), 10, |_, _, _| {}).unwrap();
        for t in [100, 200, 300] {
            log.append(&[(t, b"0123456789".as_slice())]).unwrap();
        }
        log.sync().unwrap();
        assert_eq!(log.segments().count(), 3);
        assert_eq!(log.drop_old(150, 0).unwrap(), vec![1]);
        assert_eq!(
            log.drop_old(0, 10).unwrap().len(),
            1,
            "one more goes for size"
        );
        assert_eq!(
            log.segments().count(),
            1,
            "the current segment always stays"
        );
    }
}
