//! The values expressions evaluate to, across the steps of a query.

use taishan_core::{Labels, Sample, METRIC_NAME};

/// The evaluation times of a query: `start`, `start + interval`, ... up to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// First evaluation time (ms).
    pub start: i64,
    /// Last evaluation time (ms), inclusive; equal to `start` for an instant query.
    pub end: i64,
    /// Distance between evaluation times (ms), at least 1.
    pub interval: i64,
}

impl Grid {
    /// One evaluation at `t`.
    pub fn instant(t: i64) -> Self {
        Self {
            start: t,
            end: t,
            interval: 1,
        }
    }

    /// How many evaluation times.
    pub fn len(&self) -> usize {
        if self.end < self.start {
            return 0;
        }
        ((self.end - self.start) / self.interval) as usize + 1
    }

    /// Whether there is no evaluation time (end before start).
    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }

    /// Whether this is a single evaluation.
    pub fn is_instant(&self) -> bool {
        self.start == self.end
    }

    /// The `i`-th evaluation time.
    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    /// The evaluation times.
    pub fn times(&self) -> impl Iterator<Item = i64> + Clone {
        let g = *self;
        (0..g.len()).map(move |i| g.ts(i))
    }

    /// The index of evaluation time `t`, which must lie on the grid.
    pub fn index_of(&self, t: i64) -> usize {
        ((t - self.start) / self.interval) as usize
    }
}

/// One series of an instant-vector result across the steps, or of a range vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Identity.
    pub labels: Labels,
    /// Points in time order, at grid times for instant vectors.
    pub points: Vec<Sample>,
    /// The metric name is to be dropped when the query finishes (Prometheus's delayed name
    /// removal, so `label_replace` and friends still see it).
    pub drop_name: bool,
}

impl Series {
    /// A series with no points yet.
    pub fn new(labels: Labels, drop_name: bool) -> Self {
        Self {
            labels,
            points: Vec::new(),
            drop_name,
        }
    }
}

/// A value while evaluating, over all steps of the grid.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number per step.
    Scalar(Vec<f64>),
    /// An instant vector per step, as series with a point at each step they are present.
    Vector(Vec<Series>),
    /// A range vector (only at a single evaluation time).
    Matrix(Vec<Series>),
    /// A string.
    String(String),
}

impl Value {
    /// The name of the type, as Prometheus's errors spell it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::Vector(_) => "instant vector",
            Value::Matrix(_) => "range vector",
            Value::String(_) => "string",
        }
    }
}

/// A number as Prometheus prints it in labels and messages (Go's `FormatFloat(f, 'f', -1)`):
/// shortest round-trip decimal, `NaN`, `+Inf`, `-Inf`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Builds label sets from others: keep, drop, set.
pub mod labelset {
    use super::*;

    /// `labels` without the metric name.
    pub fn without_name(labels: &Labels) -> Labels {
        if labels.get(METRIC_NAME).is_none() {
            return labels.clone();
        }
        Labels::from_sorted_unchecked(
            labels
                .iter()
                .filter(|l| l.name != METRIC_NAME)
                .map(|l| (l.name, l.value)),
        )
    }

    /// Only the labels named in `names`.
    pub fn keep(labels: &Labels, names: &[String]) -> Labels {
        Labels::from_sorted_unchecked(
            labels
                .iter()
                .filter(|l| names.iter().any(|n| n == l.name))
                .map(|l| (l.name, l.value)),
        )
    }

    /// All labels except those named in `names`.
    pub fn drop(labels: &Labels, names: &[String]) -> Labels {
        Labels::from_sorted_unchecked(
            labels
                .iter()
                .filter(|l| !names.iter().any(|n| n == l.name))
                .map(|l| (l.name, l.value)),
        )
    }

    /// `labels` with `name` set to `value` (removed when `value` is empty).
    pub fn set(labels: &Labels, name: &str, value: &str) -> Labels {
        let mut pairs: Vec<(&str, &str)> = labels
            .iter()
            .filter(|l| l.name != name)
            .map(|l| (l.name, l.value))
            .collect();
        if !value.is_empty() {
            let at = pairs.partition_point(|(n, _)| *n < name);
            pairs.insert(at, (name, value));
        }
        Labels::from_sorted_unchecked(pairs.into_iter())
    }

    /// Prometheus's rendering of a label set in error messages: `{__name__="x", a="b"}`.
    pub fn prometheus_string(labels: &Labels) -> String {
        let inner: Vec<String> = labels
            .iter()
            .map(|l| format!("{}={:?}", l.name, l.value))
            .collect();
        format!("{{{}}}", inner.join(", "))
    }

    /// Prometheus's `labels.Hash()`: xxHash64 over `name 0xff value 0xff ...`. Used where a
    /// result depends on the hash itself (`limit_ratio`'s deterministic sampling).
    pub fn prometheus_hash(labels: &Labels) -> u64 {
        let mut h = xxhash_rust::xxh64::Xxh64::new(0);
        for l in labels.iter() {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_counts_inclusive_steps() {
        let g = Grid {
            start: 0,
            end: 60_000,
            interval: 15_000,
        };
        assert_eq!(g.len(), 5);
        assert_eq!(g.times().last(), Some(60_000));
        assert_eq!(g.index_of(30_000), 2);
        assert_eq!(Grid::instant(7).len(), 1);
    }

    #[test]
    fn labelset_edits_keep_order() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a"), ("zone", "z")]).unwrap();
        assert_eq!(
            labelset::without_name(&l).to_string(),
            "{job=\"a\", zone=\"z\"}"
        );
        assert_eq!(
            labelset::set(&l, "le", "1").to_string(),
            "up{job=\"a\", le=\"1\", zone=\"z\"}"
        );
        assert_eq!(labelset::set(&l, "job", "").to_string(), "up{zone=\"z\"}");
        assert_eq!(
            labelset::keep(&l, &["job".into()]).to_string(),
            "{job=\"a\"}"
        );
        assert_eq!(
            labelset::drop(&l, &["job".into()]).to_string(),
            "up{zone=\"z\"}"
        );
    }
}
