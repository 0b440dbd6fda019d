//! The store as a whole: opening (blocks, log replay), the write queue, and queries that
//! merge persisted blocks with the head.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::StorageConfig;
use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use taishan_core::{
    AppendError, AppendOutcome, Clock, Labels, MetricBatch, MetricSink, Sample, TenantId,
};
use tokio::sync::oneshot;

use crate::block::Block;
use crate::error::StoreError;
use crate::head::{Head, HeadLimits, MemSeries};
use crate::index::Matcher;
use crate::interned::{to_labels, SeriesLabels, Sym};
use crate::metrics::StoreMetrics;
use crate::wal::{self, Record, Wal};
use crate::writer::{self, Command};

/// How to open a store.
pub struct TsdbOptions {
    /// Data directory (holds `wal/` and `blocks/`).
    pub dir: PathBuf,
    /// Storage settings.
    pub config: StorageConfig,
    /// Batches that may wait for the writer before appends are refused.
    pub queue_capacity: usize,
    /// Delay suggested to refused clients.
    pub retry_after: Duration,
    /// Time source for retention.
    pub clock: Arc<dyn Clock>,
    /// Where the store's metrics go.
    pub metrics: StoreMetrics,
}

impl TsdbOptions {
    /// A store for one-off work (test scripts, rule unit tests): default settings, a clock
    /// stopped at 0 (nothing ages out), metrics kept to itself.
    pub fn scratch(dir: PathBuf) -> Self {
        Self {
            dir,
            config: StorageConfig::default(),
            queue_capacity: 16,
            retry_after: Duration::from_secs(1),
            clock: Arc::new(taishan_core::ManualClock::at(0)),
            metrics: StoreMetrics::unregistered(),
        }
    }
}

/// One series' samples in a query answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    /// Identity.
    pub labels: Labels,
    /// Samples in time order, no two with the same timestamp.
    pub samples: Vec<Sample>,
}

/// What start-up found.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// Blocks opened.
    pub blocks: usize,
    /// Log records replayed.
    pub wal_records: u64,
    /// Series in the head after replay.
    pub head_series: usize,
    /// Log damage repaired, if any.
    pub wal_corruption: Option<wal::Corruption>,
}

/// State shared by the handle, the writer thread and maintenance.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) config: StorageConfig,
    pub(crate) head: Head,
    pub(crate) blocks: RwLock<Vec<Arc<Block>>>,
    pub(crate) metrics: StoreMetrics,
    pub(crate) clock: Arc<dyn Clock>,
    /// Set when the log cannot be written: the store then refuses writes rather than
    /// acknowledge what it cannot keep.
    pub(crate) failed: Mutex<Option<String>>,
    /// One maintenance run at a time.
    pub(crate) maintenance: Mutex<()>,
}

impl Shared {
    pub(crate) fn fail(&self, why: String) {
        tracing::error!(reason = %why, "storage stops accepting writes");
        *self.failed.lock() = Some(why);
    }

    pub(crate) fn update_head_gauges(&self) {
        self.metrics
            .head_series
            .set(self.head.series_count() as i64);
        self.metrics.head_bytes.set(self.head.bytes() as i64);
    }

    pub(crate) fn update_block_gauges(&self) {
        let blocks = self.blocks.read();
        self.metrics.blocks.set(blocks.len() as i64);
        self.metrics
            .blocks_bytes
            .set(blocks.iter().map(|b| b.size_bytes()).sum::<u64>() as i64);
    }
}

/// The embedded time-series database.
pub struct Tsdb {
    pub(crate) shared: Arc<Shared>,
    tx: SyncSender<Command>,
    writer: Mutex<Option<JoinHandle<()>>>,
    retry_after: Duration,
    report: OpenReport,
}

impl std::fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsdb")
            .field("dir", &self.shared.dir)
            .finish()
    }
}

impl Tsdb {
    /// Opens (or creates) the store in `opts.dir`: opens blocks, replays the log, starts the
    /// writer. Blocking: call it before serving, or from a blocking task.
    pub fn open(opts: TsdbOptions) -> Result<Self, StoreError> {
        let blocks_dir = opts.dir.join("blocks");
        let wal_dir = opts.dir.join("wal");
        for d in [&blocks_dir, &wal_dir] {
            std::fs::create_dir_all(d).map_err(|e| StoreError::io(d, e))?;
        }
        let blocks = crate::maintenance::open_blocks(&blocks_dir)?;
        let head = Head::new(HeadLimits::from(&opts.config.limits));
        if let Some(max_t) = blocks.iter().map(|b| b.meta().max_t).max() {
            head.raise_min_valid_time(max_t);
        }
        let min_valid = head.min_valid_time();
        let mut by_id: HashMap<u32, Arc<MemSeries>> = HashMap::new();
        let replay = wal::replay(&wal_dir, |rec| match rec {
            Record::Series(list) => {
                for s in list {
                    by_id
                        .entry(s.id)
                        .or_insert_with(|| head.create(&s.tenant, &s.labels, Some(s.id)));
                }
            }
            Record::Samples(list) => {
                for s in list {
                    if s.t < min_valid {
                        continue;
                    }
                    if let Some(series) = by_id.get(&s.id) {
                        // Repeats (a checkpoint overlapping a segment) are skipped by the check.
                        head.try_append(series, s.t, s.v);
                    }
                }
            }
        })
        .map_err(|e| StoreError::io(&wal_dir, e))?;
        drop(by_id);
        if min_valid > i64::MIN {
            // Series whose every sample is already in a block are not active.
            head.truncate_before(min_valid);
        }
        if replay.corruption.is_some() {
            opts.metrics.wal_corruptions.inc();
        }
        let wal = Wal::create(
            &wal_dir,
            replay.last_segment,
            opts.config.wal.segment_size.bytes(),
            replay.segment_max_t.clone(),
        )
        .map_err(|e| StoreError::io(&wal_dir, e))?;
        let report = OpenReport {
            blocks: blocks.len(),
            wal_records: replay.records,
            head_series: head.series_count(),
            wal_corruption: replay.corruption.clone(),
        };
        let shared = Arc::new(Shared {
            dir: opts.dir.clone(),
            config: opts.config,
            head,
            blocks: RwLock::new(blocks),
            metrics: opts.metrics,
            clock: opts.clock,
            failed: Mutex::new(None),
            maintenance: Mutex::new(()),
        });
        shared.update_head_gauges();
        shared.update_block_gauges();
        let (tx, rx) = mpsc::sync_channel(opts.queue_capacity.max(1));
        let writer_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("tsdb-writer".into())
            .spawn(move || writer::run(writer_shared, wal, rx))
            .map_err(|e| StoreError::io(&opts.dir, e))?;
        tracing::info!(
            dir = %opts.dir.display(),
            blocks = report.blocks,
            wal_records = report.wal_records,
            head_series = report.head_series,
            "storage opened"
        );
        Ok(Self {
            shared,
            tx,
            writer: Mutex::new(Some(writer)),
            retry_after: opts.retry_after,
            report,
        })
    }

    /// What start-up found.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// Queues a batch and waits until it is durable. A full queue refuses at once.
    pub async fn append(&self, batch: MetricBatch) -> Result<AppendOutcome, AppendError> {
        let (ack, done) = oneshot::channel();
        let resolved = writer::resolve(&self.shared.head, &batch);
        // The writer borrows the batch; this task keeps the last reference, so the many
        // label strings are freed here rather than on the single writer thread.
        let batch = Arc::new(batch);
        match self
            .tx
            .try_send(Command::Append(batch.clone(), resolved, ack))
        {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(AppendError::Overloaded {
                    retry_after: self.retry_after,
                })
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppendError::Unavailable("storage is shut down".into()))
            }
        }
        let result = done
            .await
            .unwrap_or_else(|_| Err(AppendError::Unavailable("storage writer stopped".into())));
        drop(batch);
        result
    }

    pub(crate) fn control<T>(
        &self,
        make: impl FnOnce(mpsc::Sender<T>) -> Command,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(make(tx))
            .map_err(|_| StoreError::WriterStopped("shut down".into()))?;
        rx.recv()
            .map_err(|_| StoreError::WriterStopped("writer exited".into()))
    }

    /// Syncs the log and stops the writer; later appends are refused. Blocking.
    pub fn close(&self) {
        let _ = self.control(Command::Close);
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
        tracing::info!(dir = %self.shared.dir.display(), "storage closed; log synced");
    }

    /// Samples of `tenant`'s series selected by `matchers` within `[min_t, max_t]`.
    pub fn select(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<SeriesData>, StoreError> {
        let mut out = Vec::new();
        self.select_each(tenant, matchers, min_t, max_t, |labels, samples| {
            out.push(SeriesData {
                labels,
                samples: std::mem::take(samples),
            });
        })?;
        Ok(out)
    }

    /// Like [`Tsdb::select`], but hands each series to `f` in label order as soon as its
    /// samples are read, so only one series' samples are held at a time. `f` may take the
    /// samples out of the vector it is given.
    pub fn select_each(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
        mut f: impl FnMut(Labels, &mut Vec<Sample>),
    ) -> Result<(), StoreError> {
        // First where each series' samples are (cheap: chunk references and handles), then
        // series by series, the samples themselves.
        struct Sources<'b> {
            blocks: Vec<(usize, &'b [crate::block::ChunkRef])>,
            head: Option<Arc<crate::head::MemSeries>>,
        }
        let blocks: Vec<Arc<Block>> = self.shared.blocks.read().clone();
        let mut located: BTreeMap<SeriesLabels, Sources<'_>> = BTreeMap::new();
        for (b, block) in blocks.iter().enumerate() {
            if !block.overlaps(min_t, max_t) {
                continue;
            }
            for s in block.select(tenant, matchers) {
                located
                    .entry(s.labels.clone())
                    .or_insert_with(|| Sources {
                        blocks: Vec::new(),
                        head: None,
                    })
                    .blocks
                    .push((b, s.chunks));
            }
        }
        for s in self.shared.head.select(tenant, matchers) {
            let labels = s.labels.clone();
            located
                .entry(labels)
                .or_insert_with(|| Sources {
                    blocks: Vec::new(),
                    head: None,
                })
                .head = Some(s);
        }
        let mut samples: Vec<Sample> = Vec::new();
        for (labels, sources) in located {
            samples.clear();
            for (b, chunks) in sources.blocks {
                let block = &blocks[b];
                block
                    .read_samples(chunks, min_t, max_t, &mut samples)
                    .map_err(|e| StoreError::io(block.dir(), e))?;
            }
            if let Some(h) = sources.head {
                h.samples_in(min_t, max_t, &mut samples);
            }
            if samples.is_empty() {
                continue;
            }
            // Blocks and the head may both hold samples around a cut: keep one of each.
            // Most series come from one source, already in order.
            if !samples
                .windows(2)
                .all(|w| w[0].timestamp_ms < w[1].timestamp_ms)
            {
                samples.sort_by_key(|s| s.timestamp_ms);
                samples.dedup_by_key(|s| s.timestamp_ms);
            }
            f(to_labels(&labels), &mut samples);
        }
        Ok(())
    }

    /// Label sets of `tenant`'s series selected by `matchers` with data in `[min_t, max_t]`.
    pub fn series(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Vec<Labels> {
        let mut out: BTreeSet<SeriesLabels> = BTreeSet::new();
        for block in self
            .shared
            .blocks
            .read()
            .iter()
            .filter(|b| b.overlaps(min_t, max_t))
        {
            for s in block.select(tenant, matchers) {
                if s.chunks
                    .iter()
                    .any(|c| c.max_t >= min_t && c.min_t <= max_t)
                {
                    out.insert(s.labels.clone());
                }
            }
        }
        let head_overlaps = self
            .shared
            .head
            .time_range()
            .is_some_and(|(lo, hi)| lo <= max_t && hi >= min_t);
        if head_overlaps {
            for s in self.shared.head.select(tenant, matchers) {
                if s.last().is_some_and(|(t, _)| t >= min_t) {
                    out.insert(s.labels.clone());
                }
            }
        }
        out.iter().map(|l| to_labels(l)).collect()
    }

    /// Label names of `tenant`'s series selected by `matchers`, sorted.
    pub fn label_names(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Vec<String> {
        self.distinct_strings(
            min_t,
            max_t,
            |b| b.label_names(tenant, matchers),
            || self.shared.head.label_names(tenant, matchers),
        )
    }

    /// Values of label `name` among `tenant`'s series selected by `matchers`, sorted.
    pub fn label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Vec<String> {
        self.distinct_strings(
            min_t,
            max_t,
            |b| b.label_values(tenant, name, matchers),
            || self.shared.head.label_values(tenant, name, matchers),
        )
    }

    /// The sorted union of what `from_block` finds in each block overlapping the range and
    /// what `from_head` finds in the head.
    fn distinct_strings(
        &self,
        min_t: i64,
        max_t: i64,
        from_block: impl Fn(&Block) -> Vec<Sym>,
        from_head: impl FnOnce() -> Vec<Sym>,
    ) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        for block in self
            .shared
            .blocks
            .read()
            .iter()
            .filter(|b| b.overlaps(min_t, max_t))
        {
            out.extend(from_block(block).iter().map(|s| s.to_string()));
        }
        out.extend(from_head().iter().map(|s| s.to_string()));
        out.into_iter().collect()
    }

    /// Active series in the head.
    pub fn head_series(&self) -> usize {
        self.shared.head.series_count()
    }

    /// Metadata of the persisted blocks, oldest first.
    pub fn blocks(&self) -> Vec<crate::block::BlockMeta> {
        self.shared
            .blocks
            .read()
            .iter()
            .map(|b| b.meta().clone())
            .collect()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

impl Drop for Tsdb {
    fn drop(&mut self) {
        if self.writer.lock().is_some() {
            self.close();
        }
    }
}

#[async_trait]
impl MetricSink for Tsdb {
    async fn append(&self, batch: MetricBatch) -> Result<AppendOutcome, AppendError> {
        Tsdb::append(self, batch).await
    }
}
