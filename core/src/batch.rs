//! What a receiver hands to storage: one tenant's series with their new samples.

use crate::labels::Labels;
use crate::sample::Sample;
use crate::tenant::TenantId;

/// Samples of one series in a batch: usually one (a scrape or a remote-write send), kept
/// inline so the common case allocates nothing.
pub type SampleList = smallvec::SmallVec<[Sample; 1]>;

/// The samples of one series within a batch, in timestamp order as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    /// The series identity.
    pub labels: Labels,
    /// Its new samples.
    pub samples: SampleList,
}

/// A unit of ingest: all or none of it is written to the log (rejections of single samples,
/// such as out-of-order ones, are reported back in the outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricBatch {
    /// Whose data this is.
    pub tenant: TenantId,
    /// The series and their samples.
    pub series: Vec<SeriesSamples>,
}

impl MetricBatch {
    /// A batch for `tenant`.
    pub fn new(tenant: TenantId, series: Vec<SeriesSamples>) -> Self {
        Self { tenant, series }
    }

    /// A batch of one sample per series, as rule evaluation and other internal writers
    /// produce them.
    pub fn from_samples(tenant: TenantId, samples: Vec<(Labels, Sample)>) -> Self {
        Self::new(
            tenant,
            samples
                .into_iter()
                .map(|(labels, s)| SeriesSamples {
                    labels,
                    samples: std::iter::once(s).collect(),
                })
                .collect(),
        )
    }

    /// Total number of samples.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}
