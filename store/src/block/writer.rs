//! Writing a block: chunks back to back, the index, the meta, then an atomic rename.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use taishan_core::TenantId;

use super::format::{self, ChunkRef, IndexedSeries};
use super::{Block, BlockError, BlockMeta, BlockStats};
use crate::chunk::EncodedChunk;
use crate::interned::SeriesLabels;

/// One series to persist: its owner, identity and encoded chunks in time order.
pub struct BlockSeriesInput {
    /// Owner.
    pub tenant: TenantId,
    /// Identity.
    pub labels: SeriesLabels,
    /// Its chunks, in time order.
    pub chunks: Vec<EncodedChunk>,
}

/// Writes a block covering `[min_t, max_t)` into `blocks_dir` and opens it; None when
/// `series` yields nothing. `series` must come in (tenant, labels) order; chunks are written
/// as they arrive, so only the index is held in memory, never the samples of every series.
pub fn write_block(
    blocks_dir: &Path,
    min_t: i64,
    max_t: i64,
    level: u32,
    sources: Vec<String>,
    series: impl Iterator<Item = Result<BlockSeriesInput, BlockError>>,
) -> Result<Option<Block>, BlockError> {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let id = format!("{min_t:014}-{max_t:014}-l{level}-{nonce:08x}");
    let tmp = blocks_dir.join(format!("{id}.tmp"));
    let dir = blocks_dir.join(&id);
    let io_err = |source| BlockError::Io {
        dir: tmp.clone(),
        source,
    };
    fs::create_dir_all(&tmp).map_err(io_err)?;
    let mut stats = BlockStats::default();
    let mut tenants: Vec<(String, Vec<IndexedSeries>)> = Vec::new();
    let mut previous: Option<(TenantId, SeriesLabels)> = None;
    {
        let mut out =
            BufWriter::with_capacity(1 << 20, File::create(tmp.join("chunks")).map_err(io_err)?);
        let mut offset = 0u64;
        for s in series {
            let s = s?;
            if s.chunks.is_empty() {
                continue;
            }
            let key = (s.tenant.clone(), s.labels.clone());
            if previous.as_ref().is_some_and(|p| *p >= key) {
                let _ = fs::remove_dir_all(&tmp);
                return Err(BlockError::Corrupt {
                    dir: tmp.clone(),
                    what: "series handed to the block writer out of (tenant, labels) order".into(),
                });
            }
            previous = Some(key);
            if tenants.last().is_none_or(|(t, _)| t != s.tenant.as_str()) {
                tenants.push((s.tenant.as_str().to_string(), Vec::new()));
            }
            let mut refs = Vec::with_capacity(s.chunks.len());
            for c in &s.chunks {
                out.write_all(&c.data).map_err(io_err)?;
                refs.push(ChunkRef {
                    min_t: c.min_t,
                    max_t: c.max_t,
                    count: c.count,
                    offset,
                    len: c.data.len() as u32,
                    encoding: c.encoding,
                });
                offset += c.data.len() as u64;
                stats.samples += u64::from(c.count);
                stats.chunks += 1;
            }
            stats.series += 1;
            if let Some((_, list)) = tenants.last_mut() {
                list.push(IndexedSeries {
                    labels: s.labels,
                    chunks: refs,
                });
            }
        }
        let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
    }
    if stats.series == 0 {
        fs::remove_dir_all(&tmp).map_err(io_err)?;
        return Ok(None);
    }
    write_synced(&tmp.join("index"), &format::encode(&tenants)).map_err(io_err)?;
    let meta = BlockMeta {
        version: 1,
        id: id.clone(),
        min_t,
        max_t,
        level,
        stats,
        sources,
    };
    let meta_json = serde_json::to_vec_pretty(&meta).map_err(|e| io_err(io::Error::other(e)))?;
    write_synced(&tmp.join("meta.json"), &meta_json).map_err(io_err)?;
    File::open(&tmp)
        .and_then(|d| d.sync_all())
        .map_err(io_err)?;
    fs::rename(&tmp, &dir).map_err(io_err)?;
    File::open(blocks_dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err)?;
    Block::open(&dir).map(Some)
}

fn write_synced(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}
