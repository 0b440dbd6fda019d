//! The stores' sections of the config file: `storage:` (the metric TSDB and its WAL),
//! `traces:` and `logs:` (segmented stores with retention).

mod logs;
mod segmented;
mod storage;
mod traces;

pub use logs::LogsConfig;
pub use storage::{StorageConfig, StorageLimits, WalConfig, WalSync};
pub use traces::TracesConfig;
