//! Recording rules: the expression's result written back as new series.

use crate::eval_error::RuleEvalError;
use taishan_core::{Labels, Sample, METRIC_NAME};

use crate::file::LabelTemplate;
use crate::labelset::LabelEdit;

/// A recording rule.
#[derive(Debug, Clone)]
pub struct RecordingRule {
    record: String,
    labels: Vec<(String, LabelTemplate)>,
}

impl RecordingRule {
    /// Records as `record`, adding `labels` (used as written: no templates).
    pub fn new(record: String, labels: Vec<(String, LabelTemplate)>) -> Self {
        Self { record, labels }
    }

    /// The metric name written.
    pub fn record(&self) -> &str {
        &self.record
    }

    /// The series to write for the result at `sample_ms`; refused whole when labels collide
    /// or the result holds more than `limit` series (0: no limit), as in Prometheus.
    pub fn eval(
        &self,
        sample_ms: i64,
        result: Vec<(Labels, f64)>,
        limit: usize,
    ) -> Result<Vec<(Labels, Sample)>, RuleEvalError> {
        let mut out = Vec::with_capacity(result.len());
        for (metric, value) in result {
            let mut edit = LabelEdit::from(&metric);
            edit.set(METRIC_NAME, self.record.clone());
            for (name, text) in &self.labels {
                edit.set(name, text.text.clone());
            }
            out.push((edit.build(), Sample::new(sample_ms, value)));
        }
        let mut names: Vec<&Labels> = out.iter().map(|(l, _)| l).collect();
        names.sort();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(RuleEvalError::DuplicateLabelset("rule"));
        }
        if limit > 0 && out.len() > limit {
            return Err(RuleEvalError::LimitExceeded {
                limit,
                count: out.len(),
                what: "series",
            });
        }
        Ok(out)
    }
}
