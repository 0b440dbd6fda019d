//! What may add annotations to a firing alert on its way from the rule engine to the
//! alerter: the analyzer's root-cause ranking, written on the alert so the API, the pages
//! and the page sent all carry it.

use crate::model::LabelSet;

/// Adds annotations to firing alerts before the alerter takes them.
pub trait AlertAnnotator: Send + Sync + std::fmt::Debug {
    /// Adds what it knows of the alert with `labels` that began at `began_ms` (its pending
    /// start) to `annotations`.
    fn annotate(&self, labels: &LabelSet, began_ms: i64, annotations: &mut LabelSet);
}
