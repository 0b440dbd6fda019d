//! Moving between series-major and step-major views of an instant vector.
//!
//! Series hold their points in time order; operators that combine series (binary
//! operators, aggregations, some functions) need, at each step, the vector of values
//! present then. [`by_step`] transposes once; [`Assembler`] gathers per-step outputs back
//! into series, refusing two outputs with one label set at one step as Prometheus does.

use std::collections::HashMap;

use taishan_core::{Labels, Sample};

use super::value::{Grid, Series};
use super::QueryError;

/// At each step, the `(series index, value)` pairs present.
pub type StepVectors = Vec<Vec<(u32, f64)>>;

/// Transposes `series` (points on `grid` times) into per-step vectors.
pub fn by_step(series: &[Series], grid: &Grid) -> StepVectors {
    // Count first so every step's vector is allocated once, at its size.
    let mut sizes = vec![0usize; grid.len()];
    for s in series {
        for p in &s.points {
            sizes[grid.index_of(p.timestamp_ms)] += 1;
        }
    }
    let mut steps: StepVectors = sizes.into_iter().map(Vec::with_capacity).collect();
    for (i, s) in series.iter().enumerate() {
        for p in &s.points {
            steps[grid.index_of(p.timestamp_ms)].push((i as u32, p.value));
        }
    }
    steps
}

/// Error for two results with one label set at one step.
pub fn duplicate_labelset() -> QueryError {
    QueryError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Collects per-step outputs into series keyed by label set.
#[derive(Debug, Default)]
pub struct Assembler {
    index: HashMap<Labels, u32>,
    out: Vec<Series>,
}

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// The output slot for `labels`, created on first use.
    pub fn slot(&mut self, labels: &Labels, drop_name: bool) -> u32 {
        if let Some(&i) = self.index.get(labels) {
            return i;
        }
        let i = self.out.len() as u32;
        self.index.insert(labels.clone(), i);
        self.out.push(Series::new(labels.clone(), drop_name));
        i
    }

    /// Appends a point to `slot`; a second point at the same time is a duplicate label set.
    pub fn push(&mut self, slot: u32, t: i64, v: f64) -> Result<(), QueryError> {
        let s = &mut self.out[slot as usize];
        if s.points.last().is_some_and(|p| p.timestamp_ms == t) {
            return Err(duplicate_labelset());
        }
        s.points.push(Sample::new(t, v));
        Ok(())
    }

    /// Appends a point to the series labelled `labels`.
    pub fn push_labels(
        &mut self,
        labels: &Labels,
        drop_name: bool,
        t: i64,
        v: f64,
    ) -> Result<(), QueryError> {
        let slot = self.slot(labels, drop_name);
        self.push(slot, t, v)
    }

    /// The series with at least one point, in the order they were first seen.
    pub fn finish(self) -> Vec<Series> {
        self.out
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .collect()
    }
}

/// Merges series that share a label set (after relabelling or dropping names); two points
/// at one time are a duplicate label set.
pub fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>, QueryError> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    let mut merged = false;
    for s in series {
        match index.get(&s.labels) {
            Some(&i) => {
                out[i].points.extend(s.points);
                merged = true;
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    if merged {
        for s in &mut out {
            s.points.sort_by_key(|p| p.timestamp_ms);
            if s.points
                .windows(2)
                .any(|w| w[0].timestamp_ms == w[1].timestamp_ms)
            {
                return Err(duplicate_labelset());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, points: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::from_pairs([("__name__", name)]).unwrap(),
            points: points.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
            drop_name: false,
        }
    }

    #[test]
    fn transposes_and_reassembles() {
        let grid = Grid {
            start: 0,
            end: 20,
            interval: 10,
        };
        let input = vec![
            series("a", &[(0, 1.0), (20, 3.0)]),
            series("b", &[(10, 2.0)]),
        ];
        let steps = by_step(&input, &grid);
        assert_eq!(steps, vec![vec![(0, 1.0)], vec![(1, 2.0)], vec![(0, 3.0)]]);

        let mut asm = Assembler::new();
        for (i, vec) in steps.iter().enumerate() {
            for &(s, v) in vec {
                asm.push_labels(&input[s as usize].labels, false, grid.ts(i), v)
                    .unwrap();
            }
        }
        assert_eq!(asm.finish(), input);
    }

    #[test]
    fn two_points_at_one_step_are_refused() {
        let mut asm = Assembler::new();
        let l = Labels::default();
        asm.push_labels(&l, false, 5, 1.0).unwrap();
        assert!(asm.push_labels(&l, false, 5, 2.0).is_err());
    }
}
