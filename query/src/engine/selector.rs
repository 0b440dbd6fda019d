//! From a parsed vector selector to store matchers and time adjustments.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp as PMatchOp, Matcher as PMatcher};
use promql_parser::parser::{AtModifier, Offset, VectorSelector};
use taishan_store::{MatchOp, Matcher};

use taishan_core::{is_stale_marker, Sample};

use super::value::{Grid, Series};
use super::QueryError;

/// A selector ready to run: alternative matcher sets (a series matching any set is selected)
/// and how to shift evaluation time.
#[derive(Debug, Clone)]
pub struct SelectorPlan {
    /// Each inner list is ANDed; the lists are ORed.
    pub matcher_sets: Vec<Vec<Matcher>>,
    /// `offset` in ms (positive looks back).
    pub offset_ms: i64,
    /// `@` pinned evaluation time in ms, resolved against the query's start and end.
    pub at_ms: Option<i64>,
}

impl SelectorPlan {
    /// Plans `vs` for a query spanning `[start_ms, end_ms]`.
    pub fn new(vs: &VectorSelector, start_ms: i64, end_ms: i64) -> Result<Self, QueryError> {
        let base: Vec<Matcher> = vs
            .matchers
            .matchers
            .iter()
            .map(convert)
            .collect::<Result<_, _>>()?;
        let mut sets = if vs.matchers.or_matchers.is_empty() {
            vec![base]
        } else {
            vs.matchers
                .or_matchers
                .iter()
                .map(|alt| {
                    let mut set = base.clone();
                    for m in alt {
                        set.push(convert(m)?);
                    }
                    Ok(set)
                })
                .collect::<Result<Vec<_>, QueryError>>()?
        };
        if let Some(name) = &vs.name {
            for set in &mut sets {
                if !set
                    .iter()
                    .any(|m| m.name == "__name__" && m.op == MatchOp::Equal && m.value == *name)
                {
                    set.push(Matcher::equal("__name__", name.clone()));
                }
            }
        }
        for set in &sets {
            if set.iter().all(|m| m.matches_empty()) {
                return Err(QueryError::BadData(
                    "vector selector must contain at least one non-empty matcher".into(),
                ));
            }
        }
        let offset_ms = match &vs.offset {
            None => 0,
            Some(Offset::Pos(d)) => duration_ms(*d),
            Some(Offset::Neg(d)) => -duration_ms(*d),
        };
        let at_ms = match &vs.at {
            None => None,
            Some(AtModifier::Start) => Some(start_ms),
            Some(AtModifier::End) => Some(end_ms),
            Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
        };
        Ok(Self {
            matcher_sets: sets,
            offset_ms,
            at_ms,
        })
    }

    /// Whether a series with `labels` is selected.
    pub fn matches(&self, labels: &taishan_core::Labels) -> bool {
        self.matcher_sets.iter().any(|set| {
            set.iter()
                .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
        })
    }

    /// The time whose data answers evaluation at `t`.
    pub fn data_time(&self, t: i64) -> i64 {
        self.at_ms.unwrap_or(t) - self.offset_ms
    }
}

fn convert(m: &PMatcher) -> Result<Matcher, QueryError> {
    let op = match m.op {
        PMatchOp::Equal => MatchOp::Equal,
        PMatchOp::NotEqual => MatchOp::NotEqual,
        PMatchOp::Re(_) => MatchOp::Regex,
        PMatchOp::NotRe(_) => MatchOp::NotRegex,
    };
    Matcher::new(m.name.clone(), op, m.value.clone())
        .map_err(|e| QueryError::BadData(e.to_string()))
}

/// The points an instant selector yields on `grid` from one series' `samples`: at each step,
/// the newest sample in `(data_t - lookback, data_t]` unless it is a staleness marker. With
/// `as_timestamp`, the value is the sample's own time in seconds (for `timestamp()`).
pub fn instant_points(
    samples: &[Sample],
    plan: &SelectorPlan,
    grid: &Grid,
    lookback_ms: i64,
    as_timestamp: bool,
) -> Vec<Sample> {
    let mut out = Vec::with_capacity(grid.len());
    let mut next = 0; // samples[..next] are at or before the current data time
    for ts in grid.times() {
        let data_t = plan.data_time(ts);
        if next > 0 && samples[next - 1].timestamp_ms > data_t {
            // Data time went backwards (cannot happen on a grid, but stay correct).
            next = 0;
        }
        while next < samples.len() && samples[next].timestamp_ms <= data_t {
            next += 1;
        }
        let Some(s) = next.checked_sub(1).map(|i| samples[i]) else {
            continue;
        };
        if s.timestamp_ms > data_t - lookback_ms && !is_stale_marker(s.value) {
            let v = if as_timestamp {
                s.timestamp_ms as f64 / 1000.0
            } else {
                s.value
            };
            out.push(Sample::new(ts, v));
        }
    }
    out
}

/// A range vector ready for functions: each series' samples (no staleness markers) and
/// how to find the window for an evaluation time.
#[derive(Debug, Clone)]
pub struct RangeInput {
    /// Series with every sample any window can need.
    pub series: Vec<Series>,
    /// Window length (ms).
    pub range_ms: i64,
    /// `offset` (ms).
    pub offset_ms: i64,
    /// `@` time (ms), when pinned.
    pub at_ms: Option<i64>,
}

impl RangeInput {
    /// The end of the window for evaluation time `ts`; the window is `(end - range, end]`.
    pub fn window_end(&self, ts: i64) -> i64 {
        self.at_ms.unwrap_or(ts) - self.offset_ms
    }
}

/// Index bounds of the samples in `(end - range, end]`, moving forward from `prev`.
pub fn window(samples: &[Sample], end: i64, range_ms: i64, prev: (usize, usize)) -> (usize, usize) {
    let (mut lo, mut hi) = prev;
    if lo > 0 && samples[lo - 1].timestamp_ms > end - range_ms
        || hi > 0 && samples[hi - 1].timestamp_ms > end
    {
        (lo, hi) = (0, 0);
    }
    while lo < samples.len() && samples[lo].timestamp_ms <= end - range_ms {
        lo += 1;
    }
    hi = hi.max(lo);
    while hi < samples.len() && samples[hi].timestamp_ms <= end {
        hi += 1;
    }
    (lo, hi)
}

/// The farthest any time or duration reaches from the epoch, in ms (about 36 million
/// years). Times a caller gives and durations a query writes are clamped to it, so the
/// engine's sums of a time and a few durations (offset, range, lookback, `@`) cannot
/// overflow, whatever the text says.
pub const MAX_SPAN_MS: i64 = i64::MAX / 8;

/// `t` (ms) within `±MAX_SPAN_MS`.
pub fn clamp_time_ms(t: i64) -> i64 {
    t.clamp(-MAX_SPAN_MS, MAX_SPAN_MS)
}

/// A duration in whole milliseconds, at most [`MAX_SPAN_MS`].
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).map_or(MAX_SPAN_MS, |ms| ms.min(MAX_SPAN_MS))
}

pub fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_ms(d),
        Err(e) => -duration_ms(e.duration()),
    }
}
