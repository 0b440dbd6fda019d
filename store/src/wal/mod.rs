//! The write-ahead log: every accepted write is framed, appended and (by default) fsynced
//! before it is acknowledged, so it survives `kill -9` and power loss.
//!
//! Files in `<data>/wal/`: numbered segments (`00000001`, ...) and at most one
//! `checkpoint.NNNNNNNN` holding the series still alive when segments up to `NNNNNNNN` were
//! dropped. Replay reads the checkpoint, then the later segments in order.

pub mod record;
mod replay;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use record::{Record, SampleRecord, SeriesRecord};
pub use replay::{replay, Corruption, ReplayReport};

/// The write side of the log.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    seq: u64,
    written: u64,
    segment_size: u64,
    /// Newest sample timestamp per segment, to know when a segment is wholly persisted.
    max_t: BTreeMap<u64, i64>,
    unsynced: bool,
}

pub(crate) fn segment_name(seq: u64) -> String {
    format!("{seq:08}")
}

pub(crate) fn checkpoint_name(seq: u64) -> String {
    format!("checkpoint.{seq:08}")
}

/// Segments present, in order.
pub(crate) fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(seq) = name.to_str().and_then(|n| n.parse::<u64>().ok()) {
            out.push(seq);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The newest checkpoint, if any.
pub(crate) fn latest_checkpoint(dir: &Path) -> io::Result<Option<u64>> {
    let mut best = None;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_prefix("checkpoint."))
            .and_then(|n| n.parse::<u64>().ok())
        {
            best = best.max(Some(seq));
        }
    }
    Ok(best)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Wal {
    /// Opens the log for writing in a fresh segment after `last_seq` (the newest replayed).
    /// `max_t` carries what replay learned about older segments.
    pub fn create(
        dir: &Path,
        last_seq: u64,
        segment_size: u64,
        max_t: BTreeMap<u64, i64>,
    ) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let seq = last_seq + 1;
        let file = open_segment(dir, seq)?;
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
            seq,
            written: 0,
            segment_size,
            max_t,
            unsynced: false,
        })
    }

    /// Appends framed records whose newest sample is `max_t` (not yet synced).
    pub fn write(&mut self, frames: &[u8], max_t: Option<i64>) -> io::Result<()> {
        if self.written > 0 && self.written + frames.len() as u64 > self.segment_size {
            self.rotate()?;
        }
        self.file.write_all(frames)?;
        self.written += frames.len() as u64;
        if let Some(t) = max_t {
            let e = self.max_t.entry(self.seq).or_insert(t);
            *e = (*e).max(t);
        }
        self.unsynced = true;
        Ok(())
    }

    /// Forces written frames to disk; returns how long it took (None if nothing to sync).
    pub fn sync(&mut self) -> io::Result<Option<Duration>> {
        if !self.unsynced {
            return Ok(None);
        }
        let start = Instant::now();
        self.file.sync_data()?;
        self.unsynced = false;
        Ok(Some(start.elapsed()))
    }

    /// Starts a new segment.
    pub fn rotate(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.seq += 1;
        self.file = open_segment(&self.dir, self.seq)?;
        sync_dir(&self.dir)?;
        self.written = 0;
        self.unsynced = false;
        Ok(())
    }

    /// Drops the segments whose samples are all before `persisted_before` (they are in
    /// blocks now), first writing a checkpoint with `live_series` so later segments' samples
    /// still resolve. Returns the number of segments removed.
    pub fn truncate(
        &mut self,
        persisted_before: i64,
        live_series: &[SeriesRecord],
    ) -> io::Result<usize> {
        // Start a new segment so the current one becomes eligible too.
        self.rotate()?;
        let mut last_dropped = None;
        for seq in list_segments(&self.dir)? {
            if seq >= self.seq {
                break;
            }
            match self.max_t.get(&seq) {
                Some(t) if *t >= persisted_before => break,
                _ => last_dropped = Some(seq),
            }
        }
        let Some(upto) = last_dropped else {
            return Ok(0);
        };
        let mut buf = Vec::new();
        for chunk in live_series.chunks(10_000) {
            record::encode_series(&mut buf, chunk);
        }
        let tmp = self.dir.join(format!("{}.tmp", checkpoint_name(upto)));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, self.dir.join(checkpoint_name(upto)))?;
        sync_dir(&self.dir)?;
        let mut removed = 0;
        for seq in list_segments(&self.dir)? {
            if seq <= upto {
                fs::remove_file(self.dir.join(segment_name(seq)))?;
                self.max_t.remove(&seq);
                removed += 1;
            }
        }
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(seq) = name
                .strip_prefix("checkpoint.")
                .and_then(|n| n.parse::<u64>().ok())
            {
                if seq < upto {
                    fs::remove_file(self.dir.join(name))?;
                }
            }
        }
        sync_dir(&self.dir)?;
        Ok(removed)
    }

    /// Number of the segment being written.
    pub fn current_segment(&self) -> u64 {
        self.seq
    }
}

fn open_segment(dir: &Path, seq: u64) -> io::Result<File> {
    OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(dir.join(segment_name(seq)))
}
