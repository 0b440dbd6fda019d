//! Persisted, immutable blocks: a time range of every series, cut from the head or merged
//! by compaction.
//!
//! A block is a directory `<data>/blocks/<id>/` with `chunks` (XOR chunks back to back,
//! memory-mapped), `index` (see [`format`]) and `meta.json`. It is written under
//! `<id>.tmp` and renamed into place, so a crash never leaves half a block.

pub mod format;
mod writer;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use std::os::unix::fs::FileExt;
use taishan_core::{Sample, TenantId};

pub use format::{ChunkRef, IndexedSeries};
pub use writer::{write_block, BlockSeriesInput};

use crate::chunk;
use crate::index::{Matcher, Postings};
use crate::interned::SeriesLabels;

/// What `meta.json` says of a block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockMeta {
    /// Format version.
    pub version: u32,
    /// Directory name.
    pub id: String,
    /// First timestamp covered (inclusive).
    pub min_t: i64,
    /// End of the range covered (exclusive).
    pub max_t: i64,
    /// 0 for blocks cut from the head, one more per compaction.
    pub level: u32,
    /// Counts.
    pub stats: BlockStats,
    /// Blocks merged into this one.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Counts recorded in the meta.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockStats {
    /// Series.
    pub series: u64,
    /// Samples.
    pub samples: u64,
    /// Chunks.
    pub chunks: u64,
}

/// Why a block could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// I/O.
    #[error("block {dir}: {source}")]
    Io {
        /// The block directory.
        dir: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A file does not decode.
    #[error("block {dir}: {what}")]
    Corrupt {
        /// The block directory.
        dir: PathBuf,
        /// What is wrong.
        what: String,
    },
}

struct TenantSeries {
    series: Vec<IndexedSeries>,
    postings: Postings,
}

/// An open block.
pub struct Block {
    meta: BlockMeta,
    dir: PathBuf,
    chunks: File,
    chunks_len: u64,
    tenants: HashMap<TenantId, TenantSeries>,
    size_bytes: u64,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block").field("meta", &self.meta).finish()
    }
}

/// A series of a block selected by a query.
pub struct BlockSeries<'a> {
    /// Identity.
    pub labels: &'a SeriesLabels,
    /// Its chunks.
    pub chunks: &'a [ChunkRef],
}

impl Block {
    /// Opens the block in `dir`, checking its index.
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let io_err = |source| BlockError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        let corrupt = |what: String| BlockError::Corrupt {
            dir: dir.to_path_buf(),
            what,
        };
        let meta: BlockMeta =
            serde_json::from_slice(&fs::read(dir.join("meta.json")).map_err(io_err)?)
                .map_err(|e| corrupt(format!("meta.json: {e}")))?;
        let index_bytes = fs::read(dir.join("index")).map_err(io_err)?;
        let index = format::decode(&index_bytes).map_err(|e| corrupt(format!("index: {e}")))?;
        let chunks_file = File::open(dir.join("chunks")).map_err(io_err)?;
        let chunks_len = chunks_file.metadata().map_err(io_err)?.len();
        let mut tenants = HashMap::new();
        for (tenant, series) in index {
            let tenant =
                TenantId::new(&tenant).map_err(|e| corrupt(format!("index: tenant: {e}")))?;
            for s in &series {
                for c in &s.chunks {
                    if c.offset + u64::from(c.len) > chunks_len {
                        return Err(corrupt(
                            "index: chunk reference beyond the chunks file".into(),
                        ));
                    }
                }
            }
            let mut postings = Postings::default();
            for (i, s) in series.iter().enumerate() {
                postings.add(i as u32, &s.labels);
            }
            tenants.insert(tenant, TenantSeries { series, postings });
        }
        let size_bytes = index_bytes.len() as u64 + chunks_len;
        Ok(Self {
            meta,
            dir: dir.to_path_buf(),
            chunks: chunks_file,
            chunks_len,
            tenants,
            size_bytes,
        })
    }

    /// The meta.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk (index and chunks).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Whether the block covers any of `[min_t, max_t]`.
    pub fn overlaps(&self, min_t: i64, max_t: i64) -> bool {
        self.meta.min_t <= max_t && self.meta.max_t > min_t
    }

    /// Tenants with data in the block.
    pub fn tenants(&self) -> impl Iterator<Item = &TenantId> {
        self.tenants.keys()
    }

    /// Series of `tenant` selected by `matchers`.
    pub fn select(&self, tenant: &TenantId, matchers: &[Matcher]) -> Vec<BlockSeries<'_>> {
        let Some(t) = self.tenants.get(tenant) else {
            return Vec::new();
        };
        t.postings
            .select(matchers)
            .iter()
            .filter_map(|i| t.series.get(i as usize))
            .map(|s| BlockSeries {
                labels: &s.labels,
                chunks: &s.chunks,
            })
            .collect()
    }

    /// Every series of `tenant`, in label order.
    pub fn all_series(&self, tenant: &TenantId) -> &[IndexedSeries] {
        self.tenants
            .get(tenant)
            .map(|t| t.series.as_slice())
            .unwrap_or(&[])
    }

    /// Label names of `tenant`'s series selected by `matchers`.
    pub fn label_names(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
    ) -> Vec<crate::interned::Sym> {
        match self.tenants.get(tenant) {
            Some(t) => t.postings.label_names(&t.postings.select(matchers)),
            None => Vec::new(),
        }
    }

    /// Values of `name` among `tenant`'s series selected by `matchers`.
    pub fn label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        matchers: &[Matcher],
    ) -> Vec<crate::interned::Sym> {
        match self.tenants.get(tenant) {
            Some(t) => t.postings.label_values(name, &t.postings.select(matchers)),
            None => Vec::new(),
        }
    }

    /// Appends the samples of `chunks` (one series' list) within `[min_t, max_t]` to `out`.
    /// The series' chunks are contiguous in the file, so this is a single read.
    pub fn read_samples(
        &self,
        chunks: &[ChunkRef],
        min_t: i64,
        max_t: i64,
        out: &mut Vec<Sample>,
    ) -> io::Result<()> {
        let wanted: Vec<&ChunkRef> = chunks
            .iter()
            .filter(|c| c.max_t >= min_t && c.min_t <= max_t)
            .collect();
        let (Some(first), Some(last)) = (wanted.first(), wanted.last()) else {
            return Ok(());
        };
        let start = first.offset;
        let end = last.offset + u64::from(last.len);
        if end > self.chunks_len || end < start {
            return Err(io::Error::other(format!(
                "block {}: chunk reference out of range",
                self.meta.id
            )));
        }
        let mut buf = vec![0u8; (end - start) as usize];
        self.chunks.read_exact_at(&mut buf, start)?;
        out.reserve(wanted.iter().map(|c| c.count as usize).sum());
        for c in wanted {
            let from = (c.offset - start) as usize;
            let bytes = buf.get(from..from + c.len as usize).unwrap_or(&[]);
            match chunk::decode_in_range(c.encoding, bytes, c.count, min_t, max_t, out) {
                Ok(()) => {}
                Err(e) => {
                    return Err(io::Error::other(format!(
                        "block {}: chunk at offset {}: {e}",
                        self.meta.id, c.offset
                    )))
                }
            }
        }
        Ok(())
    }

    /// Every sample of `chunks` (for compaction).
    pub fn all_samples(&self, chunks: &[ChunkRef]) -> io::Result<Vec<Sample>> {
        let mut out = Vec::new();
        self.read_samples(chunks, i64::MIN, i64::MAX, &mut out)?;
        Ok(out)
    }
}
