//! `storage:` the embedded time-series store.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use taishan_core::config::{ByteSize, FieldError, Section};

/// The metrics store.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// How long samples are kept. Default `15d`.
    #[serde(default = "default_retention", with = "humantime_serde")]
    pub retention: Duration,
    /// Largest size of the persisted blocks; the oldest go first. `0` (default) means no limit.
    #[serde(default)]
    pub retention_size: ByteSize,
    /// Time range of a block cut from the in-memory head. Default `2h`.
    #[serde(default = "default_block_duration", with = "humantime_serde")]
    pub block_duration: Duration,
    /// The write-ahead log.
    #[serde(default)]
    pub wal: WalConfig,
    /// Limits that protect the process.
    #[serde(default)]
    pub limits: StorageLimits,
}

fn default_retention() -> Duration {
    Duration::from_secs(15 * 24 * 3600)
}

fn default_block_duration() -> Duration {
    Duration::from_secs(2 * 3600)
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            retention: default_retention(),
            retention_size: ByteSize::default(),
            block_duration: default_block_duration(),
            wal: WalConfig::default(),
            limits: StorageLimits::default(),
        }
    }
}

/// When the write-ahead log is forced to disk.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum WalSync {
    /// fsync before any write is acknowledged (group commit). Survives power loss.
    #[default]
    Always,
    /// Write to the OS at once, fsync every `sync_interval`. Survives `kill -9` of Taishan, but
    /// a power loss or kernel crash can lose up to `sync_interval` of acknowledged writes.
    Interval,
}

/// The write-ahead log.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WalConfig {
    /// `always` (default) or `interval`.
    #[serde(default)]
    pub sync: WalSync,
    /// fsync period when `sync: interval`. Default `1s`.
    #[serde(default = "default_sync_interval", with = "humantime_serde")]
    pub sync_interval: Duration,
    /// Size at which a new segment file is started. Default `128MiB`.
    #[serde(default = "default_segment_size")]
    pub segment_size: ByteSize,
}

fn default_sync_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_segment_size() -> ByteSize {
    ByteSize::mib(128)
}

impl Default for WalConfig {
    fn default() -> Self {
        Self {
            sync: WalSync::default(),
            sync_interval: default_sync_interval(),
            segment_size: default_segment_size(),
        }
    }
}

/// Limits on the in-memory head.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StorageLimits {
    /// Most active series across all tenants; new series beyond it are refused. Default 2000000.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// Most active series of one tenant, so one tenant cannot fill the head for all;
    /// `0` means only `max_series` applies. Default 500000.
    #[serde(default = "default_max_series_per_tenant")]
    pub max_series_per_tenant: usize,
    /// Most memory the head may use (estimated); new series beyond it are refused. Default `4GiB`.
    #[serde(default = "default_max_head_memory")]
    pub max_head_memory: ByteSize,
}

fn default_max_series() -> usize {
    2_000_000
}

fn default_max_series_per_tenant() -> usize {
    500_000
}

fn default_max_head_memory() -> ByteSize {
    ByteSize::gib(4)
}

impl Default for StorageLimits {
    fn default() -> Self {
        Self {
            max_series: default_max_series(),
            max_series_per_tenant: default_max_series_per_tenant(),
            max_head_memory: default_max_head_memory(),
        }
    }
}

impl Section for StorageConfig {
    const NAME: &'static str = "storage";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.block_duration < Duration::from_secs(60) {
            errors.push(FieldError::new(
                "storage.block_duration",
                "must be at least 1m",
            ));
        }
        if self.retention < self.block_duration {
            errors.push(FieldError::new(
                "storage.retention",
                format!(
                    "must be at least storage.block_duration ({})",
                    humantime::format_duration(self.block_duration)
                ),
            ));
        }
        if self.wal.sync == WalSync::Interval && self.wal.sync_interval.is_zero() {
            errors.push(FieldError::new(
                "storage.wal.sync_interval",
                "must be above 0 when sync is `interval`",
            ));
        }
        if self.wal.segment_size < ByteSize::mib(1) {
            errors.push(FieldError::new(
                "storage.wal.segment_size",
                "must be at least 1MiB",
            ));
        }
        if self.limits.max_series == 0 {
            errors.push(FieldError::new(
                "storage.limits.max_series",
                "must be above 0",
            ));
        }
        if self.limits.max_head_memory < ByteSize::mib(16) {
            errors.push(FieldError::new(
                "storage.limits.max_head_memory",
                "must be at least 16MiB",
            ));
        }
    }
}
