//! Compressed chunks of samples: the unit the head closes and blocks persist.

pub mod bits;
pub mod xor;

use std::sync::Arc;

pub use xor::{CorruptChunk, XorAppender, XorIter};

/// Samples per chunk before the head closes it (Prometheus uses the same figure: about
/// 30 minutes of 15-second scrapes, a good balance of compression and read granularity).
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// A closed, immutable chunk and the range it covers.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// First sample's timestamp.
    pub min_t: i64,
    /// Last sample's timestamp.
    pub max_t: i64,
    /// Number of samples.
    pub count: u16,
    /// XOR-encoded samples.
    pub data: Arc<[u8]>,
}

impl Chunk {
    /// Closes an appender into a chunk (None when it holds no sample).
    pub fn from_appender(min_t: i64, appender: XorAppender) -> Option<Self> {
        if appender.count() == 0 {
            return None;
        }
        let count = appender.count();
        let max_t = appender.last_timestamp();
        Some(Self {
            min_t,
            max_t,
            count,
            data: Arc::from(appender.finish()),
        })
    }

    /// Decodes the samples.
    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(&self.data, self.count)
    }
}
