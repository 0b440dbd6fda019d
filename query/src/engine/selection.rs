//! Aggregations that pick series rather than combine them: `topk`, `bottomk`, `limitk`
//! and `limit_ratio`. Their outputs keep the input series' labels.
//!
//! `topk`/`bottomk` keep a binary heap per group exactly as Prometheus does (Go's
//! `container/heap`), so that ties and NaNs resolve to the same series.

use super::aggregate::Grouping;
use super::eval::Evaluator;
use super::steps::{by_step, Assembler};
use super::value::{labelset, Series};
use super::QueryError;

/// Which series an aggregation keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The `k` largest.
    Top,
    /// The `k` smallest.
    Bottom,
    /// The first `k` met.
    First,
    /// A deterministic share of the series, by label hash.
    Ratio,
}

/// Evaluates `topk`, `bottomk`, `limitk` or `limit_ratio` with its parameter per step.
pub fn select_k(
    ev: &Evaluator,
    kind: Selection,
    grouping: &Grouping,
    param: &[f64],
    input: Vec<Series>,
) -> Result<Vec<Series>, QueryError> {
    let max = param.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = param.iter().copied().fold(f64::INFINITY, f64::min);
    let any_nan = param.iter().any(|p| p.is_nan());
    if kind == Selection::Ratio {
        if any_nan {
            return Err(QueryError::Execution("Ratio value is NaN".into()));
        }
        if max == 0.0 && min == 0.0 {
            return Ok(Vec::new());
        }
        if max > 1.0 {
            ev.ctx.budget.warn(format!(
                "PromQL warning: ratio value should be between -1 and 1, got {}, capping to 1",
                super::value::format_float(max)
            ));
        }
        if min < -1.0 {
            ev.ctx.budget.warn(format!(
                "PromQL warning: ratio value should be between -1 and 1, got {}, capping to -1",
                super::value::format_float(min)
            ));
        }
    } else {
        if any_nan {
            return Err(QueryError::Execution("Parameter value is NaN".into()));
        }
        if max < 1.0 {
            return Ok(Vec::new());
        }
        if min <= i64::MIN as f64 {
            return Err(QueryError::Execution(format!(
                "Scalar value {} underflows int64",
                super::value::format_float(min)
            )));
        }
        if max >= i64::MAX as f64 {
            return Err(QueryError::Execution(format!(
                "Scalar value {} overflows int64",
                super::value::format_float(max)
            )));
        }
    }
    let grid = ev.grid;
    let (group_of, groups) = grouping.assign(&input);
    let offsets: Vec<f64> = if kind == Selection::Ratio {
        input
            .iter()
            .map(|s| labelset::prometheus_hash(&s.labels) as f64 / u64::MAX as f64)
            .collect()
    } else {
        Vec::new()
    };
    let mut heaps: Vec<Vec<(u32, f64)>> = vec![Vec::new(); groups.len()];
    let mut out = Assembler::new();
    for (i, vector) in by_step(&input, &grid).iter().enumerate() {
        let p = param.get(i).copied().unwrap_or(0.0);
        let k = (p as i64).min(input.len() as i64);
        let ratio = p.clamp(-1.0, 1.0);
        if kind != Selection::Ratio && k < 1 || kind == Selection::Ratio && p == 0.0 {
            continue;
        }
        heaps.iter_mut().for_each(Vec::clear);
        for &(s, f) in vector {
            let heap = &mut heaps[group_of[s as usize] as usize];
            match kind {
                Selection::Top => offer(heap, (s, f), k as usize, true),
                Selection::Bottom => offer(heap, (s, f), k as usize, false),
                Selection::First => {
                    if (heap.len() as i64) < k {
                        heap.push((s, f));
                    }
                }
                Selection::Ratio => {
                    let offset = offsets[s as usize];
                    if ratio >= 0.0 && offset < ratio || ratio < 0.0 && offset >= 1.0 + ratio {
                        heap.push((s, f));
                    }
                }
            }
        }
        for heap in &mut heaps {
            match kind {
                // Largest first, NaN last (the heap reversed).
                Selection::Top => heap.sort_by(|a, b| order(top_less, a, b)),
                Selection::Bottom => heap.sort_by(|a, b| order(bottom_less, a, b)),
                _ => {}
            }
            for &(s, f) in heap.iter() {
                let src = &input[s as usize];
                out.push_labels(&src.labels, src.drop_name, grid.ts(i), f)?;
            }
        }
    }
    Ok(out.finish())
}

type Less = fn(f64, f64) -> bool;

/// Heap order of `topk`: the smallest (NaN smallest of all) on top, to be replaced first.
fn top_less(a: f64, b: f64) -> bool {
    a.is_nan() || a < b
}

/// Heap order of `bottomk`: the largest (NaN first) on top.
fn bottom_less(a: f64, b: f64) -> bool {
    a.is_nan() || a > b
}

/// Sorting in the reverse of the heap order, stably.
fn order(less: Less, a: &(u32, f64), b: &(u32, f64)) -> std::cmp::Ordering {
    if less(b.1, a.1) {
        std::cmp::Ordering::Less
    } else if less(a.1, b.1) {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// Offers a candidate to a heap of at most `k`.
fn offer(heap: &mut Vec<(u32, f64)>, s: (u32, f64), k: usize, largest: bool) {
    let less: Less = if largest { top_less } else { bottom_less };
    if heap.len() < k {
        heap.push(s);
        let n = heap.len() - 1;
        up(heap, n, less);
        return;
    }
    let top = heap[0].1;
    // Replace the top when the candidate beats it (a number always beats a NaN).
    let beats = if largest { top < s.1 } else { top > s.1 };
    if beats || top.is_nan() && !s.1.is_nan() {
        heap[0] = s;
        if k > 1 {
            down(heap, 0, less);
        }
    }
}

fn up(h: &mut [(u32, f64)], mut j: usize, less: Less) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !less(h[j].1, h[i].1) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

fn down(h: &mut [(u32, f64)], mut i: usize, less: Less) {
    let n = h.len();
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && less(h[j1 + 1].1, h[j1].1) {
            j = j1 + 1;
        }
        if !less(h[j].1, h[i].1) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_keeps_the_k_largest_and_prefers_numbers_to_nan() {
        let mut h = Vec::new();
        for (i, v) in [3.0, f64::NAN, 1.0, 5.0, 4.0].into_iter().enumerate() {
            offer(&mut h, (i as u32, v), 2, true);
        }
        h.sort_by(|a, b| order(top_less, a, b));
        assert_eq!(h.iter().map(|x| x.1).collect::<Vec<_>>(), vec![5.0, 4.0]);
    }
}
