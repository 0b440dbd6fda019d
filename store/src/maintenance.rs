//! Background upkeep: cutting blocks from the head, compacting blocks, and retention.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;
use std::sync::Arc;

use taishan_core::TenantId;

use crate::block::{write_block, Block, BlockSeriesInput};
use crate::chunk::{encode_for_block, Chunk, EncodedChunk};
use crate::db::Tsdb;
use crate::error::StoreError;
use crate::interned::SeriesLabels;
use crate::writer::Command;

/// One series to merge: its owner, identity, and (block, series) positions holding it.
type MergeGroup = (TenantId, SeriesLabels, Vec<(usize, usize)>);

/// What one maintenance pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Blocks cut from the head.
    pub blocks_cut: usize,
    /// Compactions.
    pub compactions: usize,
    /// Blocks deleted by retention.
    pub blocks_deleted: usize,
}

/// Opens every block under `dir`, oldest first. Leftovers of a crash are cleaned: unfinished
/// `*.tmp` directories, and blocks already merged into a compacted block.
pub(crate) fn open_blocks(dir: &Path) -> Result<Vec<Arc<Block>>, StoreError> {
    let mut blocks = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".tmp") {
            tracing::warn!(dir = %path.display(), "removing unfinished block left by a crash");
            fs::remove_dir_all(&path).map_err(|e| StoreError::io(&path, e))?;
            continue;
        }
        if !path.is_dir() || name.ends_with(".corrupt") {
            continue;
        }
        match Block::open(&path) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e) => {
                // Keep the data for inspection, out of the way of queries.
                let aside = path.with_file_name(format!("{name}.corrupt"));
                tracing::error!(error = %e, moved_to = %aside.display(), "block does not open; set aside");
                fs::rename(&path, &aside).map_err(|e| StoreError::io(&path, e))?;
            }
        }
    }
    let merged: HashSet<String> = blocks
        .iter()
        .flat_map(|b| b.meta().sources.iter().cloned())
        .collect();
    let (superseded, mut live): (Vec<_>, Vec<_>) = blocks
        .into_iter()
        .partition(|b| merged.contains(&b.meta().id));
    for b in superseded {
        tracing::info!(block = %b.meta().id, "removing block already merged by compaction");
        fs::remove_dir_all(b.dir()).map_err(|e| StoreError::io(b.dir(), e))?;
    }
    live.sort_by_key(|b| b.meta().min_t);
    Ok(live)
}

impl Tsdb {
    /// One pass of upkeep: cut what the head has ready, compact, apply retention. Blocking.
    pub fn maintain(&self) -> Result<MaintenanceReport, StoreError> {
        Ok(MaintenanceReport {
            blocks_cut: self.cut_blocks(false)?,
            compactions: self.compact(false)?,
            blocks_deleted: self.apply_retention()?,
        })
    }

    /// Persists head data into blocks. Normally only ranges the head has moved well past
    /// (1.5 block durations) are cut; `force` persists everything now (used by the admin API
    /// and tests), after which samples older than the newest persisted one are refused.
    pub fn cut_blocks(&self, force: bool) -> Result<usize, StoreError> {
        let _guard = self.shared.maintenance.lock();
        let d = i64::try_from(self.shared.config.block_duration.as_millis()).unwrap_or(i64::MAX);
        let mut cut = 0;
        loop {
            let head = &self.shared.head;
            let Some((lo, hi)) = head.time_range() else {
                break;
            };
            let lo = lo.max(head.min_valid_time());
            if lo > hi {
                break;
            }
            let start = lo.div_euclid(d) * d;
            let end = if force {
                (start + d).min(hi + 1)
            } else {
                if hi < start + d + d / 2 {
                    break;
                }
                start + d
            };
            self.control(|done| Command::RaiseMinValid(end, done))?;
            let block = self.persist_head_range(lo, end)?;
            if let Some(block) = block {
                tracing::info!(block = %block.meta().id, series = block.meta().stats.series, samples = block.meta().stats.samples, "cut block from head");
                let mut blocks = self.shared.blocks.write();
                blocks.push(Arc::new(block));
                blocks.sort_by_key(|b| b.meta().min_t);
            }
            let removed = self
                .control(|done| Command::Truncate(end, done))?
                .map_err(|e| StoreError::io(self.shared.dir.join("wal"), e))?;
            tracing::debug!(segments_removed = removed, "log truncated after block cut");
            self.shared.metrics.block_cuts.inc();
            self.shared.update_block_gauges();
            cut += 1;
        }
        Ok(cut)
    }

    fn persist_head_range(&self, start: i64, end: i64) -> Result<Option<Block>, StoreError> {
        let mut all = self.shared.head.all_series();
        // The block writer takes series in (tenant, labels) order.
        all.sort_by(|a, b| (&a.tenant, &a.labels).cmp(&(&b.tenant, &b.labels)));
        let inputs = all.into_iter().map(|s| {
            Ok(BlockSeriesInput {
                tenant: s.tenant.clone(),
                labels: s.labels.clone(),
                chunks: encode_range(s.chunks_in(start, end - 1), start, end),
            })
        });
        let dir = self.shared.dir.join("blocks");
        Ok(write_block(&dir, start, end, 0, Vec::new(), inputs)?)
    }

    /// Merges adjacent blocks into larger ones (ranges of 3, 9, 27... block durations, at most
    /// a tenth of the retention). Only windows the head has moved past are merged unless
    /// `force`. Returns the number of merges.
    pub fn compact(&self, force: bool) -> Result<usize, StoreError> {
        let _guard = self.shared.maintenance.lock();
        let mut merges = 0;
        while let Some(group) = self.plan_compaction(force) {
            self.merge(&group)?;
            merges += 1;
        }
        Ok(merges)
    }

    fn compaction_ranges(&self) -> Vec<i64> {
        let d = i64::try_from(self.shared.config.block_duration.as_millis()).unwrap_or(i64::MAX);
        let cap = i64::try_from(self.shared.config.retention.as_millis() / 10)
            .unwrap_or(i64::MAX)
            .max(d * 3);
        let mut ranges = Vec::new();
        let mut r = d.saturating_mul(3);
        while r <= cap && ranges.len() < 8 {
            ranges.push(r);
            r = r.saturating_mul(3);
        }
        ranges
    }

    fn plan_compaction(&self, force: bool) -> Option<Vec<Arc<Block>>> {
        let blocks = self.shared.blocks.read().clone();
        let newest = blocks.iter().map(|b| b.meta().max_t).max()?;
        let head_start = self.shared.head.min_valid_time().max(newest);
        for range in self.compaction_ranges() {
            let mut windows: BTreeMap<i64, Vec<Arc<Block>>> = BTreeMap::new();
            for b in &blocks {
                let w = b.meta().min_t.div_euclid(range);
                if (b.meta().max_t - 1).div_euclid(range) == w {
                    windows.entry(w).or_default().push(b.clone());
                }
            }
            for (w, group) in windows {
                let closed = (w + 1) * range <= head_start;
                if group.len() >= 2 && (closed || force) {
                    return Some(group);
                }
            }
        }
        None
    }

    fn merge(&self, group: &[Arc<Block>]) -> Result<(), StoreError> {
        // Every (tenant, labels) of the group with where each block keeps it, in order. Only
        // this index is held; samples are read, merged and written one series at a time.
        let mut entries: Vec<(TenantId, SeriesLabels, usize, usize)> = Vec::new();
        for (bi, block) in group.iter().enumerate() {
            for tenant in block.tenants() {
                for (si, s) in block.all_series(tenant).iter().enumerate() {
                    entries.push((tenant.clone(), s.labels.clone(), bi, si));
                }
            }
        }
        // Stable: for one series, blocks stay in time order.
        entries.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut groups: Vec<MergeGroup> = Vec::new();
        for (tenant, labels, bi, si) in entries {
            match groups.last_mut() {
                Some((t, l, at)) if *t == tenant && *l == labels => at.push((bi, si)),
                _ => groups.push((tenant, labels, vec![(bi, si)])),
            }
        }
        let inputs = groups.into_iter().map(|(tenant, labels, at)| {
            let mut samples: Vec<(i64, f64)> = Vec::new();
            for (bi, si) in at {
                let block = &group[bi];
                let chunks = &block.all_series(&tenant)[si].chunks;
                let read = block
                    .all_samples(chunks)
                    .map_err(|e| crate::block::BlockError::Io {
                        dir: block.dir().to_path_buf(),
                        source: e,
                    })?;
                samples.extend(read.into_iter().map(|x| (x.timestamp_ms, x.value)));
            }
            samples.sort_by_key(|s| s.0);
            samples.dedup_by_key(|s| s.0);
            // Decoded and re-encoded: merged series pack into fewer, fuller chunks.
            Ok(BlockSeriesInput {
                tenant,
                labels,
                chunks: encode_for_block(&samples),
            })
        });
        let min_t = group.iter().map(|b| b.meta().min_t).min().unwrap_or(0);
        let max_t = group.iter().map(|b| b.meta().max_t).max().unwrap_or(0);
        let level = group.iter().map(|b| b.meta().level).max().unwrap_or(0) + 1;
        let sources = group.iter().map(|b| b.meta().id.clone()).collect();
        let dir = self.shared.dir.join("blocks");
        let Some(merged) = write_block(&dir, min_t, max_t, level, sources, inputs)? else {
            return Ok(());
        };
        tracing::info!(block = %merged.meta().id, sources = group.len(), level, "compacted blocks");
        {
            let mut blocks = self.shared.blocks.write();
            blocks.retain(|b| !group.iter().any(|g| Arc::ptr_eq(b, g)));
            blocks.push(Arc::new(merged));
            blocks.sort_by_key(|b| b.meta().min_t);
        }
        for b in group {
            fs::remove_dir_all(b.dir()).map_err(|e| StoreError::io(b.dir(), e))?;
        }
        self.shared.metrics.compactions.inc();
        self.shared.update_block_gauges();
        Ok(())
    }

    /// Deletes blocks wholly older than the retention period, then the oldest blocks while
    /// their total size exceeds `retention_size`. Returns how many were deleted.
    pub fn apply_retention(&self) -> Result<usize, StoreError> {
        let _guard = self.shared.maintenance.lock();
        let retention = i64::try_from(self.shared.config.retention.as_millis()).unwrap_or(i64::MAX);
        let horizon = self.shared.clock.now_ms().saturating_sub(retention);
        let limit = self.shared.config.retention_size.bytes();
        let doomed: Vec<Arc<Block>> = {
            let blocks = self.shared.blocks.read();
            let mut total: u64 = blocks.iter().map(|b| b.size_bytes()).sum();
            let mut doomed = Vec::new();
            for b in blocks.iter() {
                let too_old = b.meta().max_t <= horizon;
                let too_big = limit > 0 && total > limit;
                if too_old || too_big {
                    total -= b.size_bytes();
                    doomed.push(b.clone());
                } else {
                    break;
                }
            }
            doomed
        };
        if doomed.is_empty() {
            return Ok(0);
        }
        self.shared
            .blocks
            .write()
            .retain(|b| !doomed.iter().any(|d| Arc::ptr_eq(b, d)));
        for b in &doomed {
            tracing::info!(block = %b.meta().id, max_t = b.meta().max_t, "retention deletes block");
            fs::remove_dir_all(b.dir()).map_err(|e| StoreError::io(b.dir(), e))?;
        }
        self.shared
            .metrics
            .retention_deletions
            .inc_by(doomed.len() as u64);
        self.shared.update_block_gauges();
        Ok(doomed.len())
    }
}

/// The samples of head chunks within `[start, end)`, encoded for a block.
fn encode_range(chunks: Vec<Chunk>, start: i64, end: i64) -> Vec<EncodedChunk> {
    let mut samples: Vec<(i64, f64)> = Vec::new();
    for c in chunks {
        match c.samples() {
            Ok(s) => samples.extend(s.into_iter().filter(|(t, _)| *t >= start && *t < end)),
            Err(e) => tracing::error!(error = %e, "undecodable head chunk left out of a block"),
        }
    }
    encode_for_block(&samples)
}
