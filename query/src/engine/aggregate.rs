//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, ...) with
//! `by` and `without`, step by step, as Prometheus computes them (Kahan-compensated sums,
//! its NaN rules, its heap order for `topk`/`bottomk`).

use std::collections::HashMap;

use promql_parser::parser::token;
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};
use taishan_core::{Labels, METRIC_NAME};

use super::eval::Evaluator;
use super::functions::stats::{kahan_inc, quantile};
use super::selection::{select_k, Selection};
use super::steps::{by_step, Assembler};
use super::value::{labelset, Series, Value};
use super::QueryError;

/// How output groups are formed.
pub struct Grouping {
    without: bool,
    names: Vec<String>,
}

impl Grouping {
    fn of(modifier: &Option<LabelModifier>) -> Self {
        match modifier {
            Some(LabelModifier::Include(l)) => Self {
                without: false,
                names: l.labels.clone(),
            },
            Some(LabelModifier::Exclude(l)) => Self {
                without: true,
                names: l.labels.clone(),
            },
            None => Self {
                without: false,
                names: Vec::new(),
            },
        }
    }

    /// The output labels of the group `labels` falls in.
    pub fn labels(&self, labels: &Labels) -> Labels {
        if self.without {
            Labels::from_sorted_unchecked(
                labels
                    .iter()
                    .filter(|l| l.name != METRIC_NAME && !self.names.iter().any(|n| n == l.name))
                    .map(|l| (l.name, l.value)),
            )
        } else {
            labelset::keep(labels, &self.names)
        }
    }

    /// Group number of every series, and the groups' labels in order of first appearance.
    pub fn assign(&self, series: &[Series]) -> (Vec<u32>, Vec<Labels>) {
        let mut index: HashMap<Labels, u32> = HashMap::new();
        let mut groups = Vec::new();
        let of_series = series
            .iter()
            .map(|s| {
                let g = self.labels(&s.labels);
                let next = groups.len() as u32;
                *index.entry(g.clone()).or_insert_with(|| {
                    groups.push(g);
                    next
                })
            })
            .collect();
        (of_series, groups)
    }
}

/// Evaluates an aggregation.
pub fn eval(ev: &Evaluator, e: &AggregateExpr) -> Result<Value, QueryError> {
    let grouping = Grouping::of(&e.modifier);
    let op = e.op.id();
    if op == token::T_COUNT_VALUES {
        let label = match e.param.as_deref().map(unwrap_parens) {
            Some(Expr::StringLiteral(s)) => s.val.clone(),
            _ => {
                return Err(QueryError::BadData(
                    "count_values needs a label name as its first argument".into(),
                ))
            }
        };
        let input = ev.eval_vector(&e.expr)?;
        return count_values(ev, &grouping, &label, &input).map(Value::Vector);
    }
    let param = match &e.param {
        Some(p) => Some(ev.eval_scalar(p)?),
        None => None,
    };
    let input = ev.eval_vector(&e.expr)?;
    let param = param.unwrap_or_default();
    let selection = match op {
        token::T_TOPK => Some(Selection::Top),
        token::T_BOTTOMK => Some(Selection::Bottom),
        token::T_LIMITK => Some(Selection::First),
        token::T_LIMIT_RATIO => Some(Selection::Ratio),
        _ => None,
    };
    if let Some(kind) = selection {
        return select_k(ev, kind, &grouping, &param, input).map(Value::Vector);
    }
    let kind = Reducer::of(op)?;
    if kind == Reducer::Quantile {
        for &q in &param {
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                ev.ctx.budget.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    super::value::format_float(q)
                ));
            }
        }
    }
    reduce(ev, kind, &grouping, &param, &input).map(Value::Vector)
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reducer {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Quantile,
}

impl Reducer {
    fn of(op: u16) -> Result<Self, QueryError> {
        Ok(match op {
            token::T_SUM => Reducer::Sum,
            token::T_AVG => Reducer::Avg,
            token::T_COUNT => Reducer::Count,
            token::T_MIN => Reducer::Min,
            token::T_MAX => Reducer::Max,
            token::T_GROUP => Reducer::Group,
            token::T_STDDEV => Reducer::Stddev,
            token::T_STDVAR => Reducer::Stdvar,
            token::T_QUANTILE => Reducer::Quantile,
            _ => {
                return Err(QueryError::BadData(format!(
                    "aggregation {} is not supported",
                    token::TokenType::new(op)
                )))
            }
        })
    }
}

/// One group's running state at one step.
#[derive(Debug, Clone, Default)]
struct Accumulator {
    seen: bool,
    value: f64,
    mean: f64,
    kahan_c: f64,
    count: f64,
    incremental_mean: bool,
    values: Vec<f64>,
}

impl Accumulator {
    fn first(&mut self, kind: Reducer, f: f64) {
        self.seen = true;
        self.value = f;
        self.mean = f;
        self.kahan_c = 0.0;
        self.count = 1.0;
        self.incremental_mean = false;
        match kind {
            Reducer::Stddev | Reducer::Stdvar => {
                self.value = if f.is_nan() || f.is_infinite() {
                    f64::NAN
                } else {
                    0.0
                };
            }
            Reducer::Quantile => {
                self.values.clear();
                self.values.push(f);
            }
            Reducer::Group => self.value = 1.0,
            _ => {}
        }
    }

    fn add(&mut self, kind: Reducer, f: f64) {
        match kind {
            Reducer::Sum => (self.value, self.kahan_c) = kahan_inc(f, self.value, self.kahan_c),
            Reducer::Avg => {
                self.count += 1.0;
                if !self.incremental_mean {
                    let (v, c) = kahan_inc(f, self.value, self.kahan_c);
                    if !v.is_infinite() {
                        (self.value, self.kahan_c) = (v, c);
                        return;
                    }
                    // The plain sum would overflow: switch to an incremental mean.
                    self.incremental_mean = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.kahan_c /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.kahan_c) =
                    kahan_inc(f / self.count, q * self.mean, q * self.kahan_c);
            }
            Reducer::Count => self.count += 1.0,
            Reducer::Group => {}
            Reducer::Max => {
                if self.value < f || self.value.is_nan() {
                    self.value = f;
                }
            }
            Reducer::Min => {
                if self.value > f || self.value.is_nan() {
                    self.value = f;
                }
            }
            Reducer::Stddev | Reducer::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            Reducer::Quantile => self.values.push(f),
        }
    }

    fn result(&mut self, kind: Reducer, q: f64) -> f64 {
        match kind {
            Reducer::Sum => self.value + self.kahan_c,
            Reducer::Avg => {
                if self.incremental_mean {
                    self.mean + self.kahan_c
                } else {
                    self.value / self.count + self.kahan_c / self.count
                }
            }
            Reducer::Count => self.count,
            Reducer::Stdvar => self.value / self.count,
            Reducer::Stddev => (self.value / self.count).sqrt(),
            Reducer::Quantile => quantile(q, &mut self.values),
            Reducer::Min | Reducer::Max | Reducer::Group => self.value,
        }
    }
}

/// Most accumulators the series-major path may allocate (groups × steps).
const DENSE_LIMIT: usize = 1 << 19;

fn reduce(
    ev: &Evaluator,
    kind: Reducer,
    grouping: &Grouping,
    param: &[f64],
    input: &[Series],
) -> Result<Vec<Series>, QueryError> {
    let grid = ev.grid;
    let (group_of, groups) = grouping.assign(input);
    if kind != Reducer::Quantile && groups.len().saturating_mul(grid.len()) <= DENSE_LIMIT {
        return reduce_dense(ev, kind, input, &group_of, &groups);
    }
    let mut out = Assembler::new();
    let drop_name: Vec<bool> = {
        let mut d = vec![false; groups.len()];
        for (s, &g) in input.iter().zip(&group_of) {
            d[g as usize] |= s.drop_name;
        }
        d
    };
    let slots: Vec<u32> = groups
        .iter()
        .zip(&drop_name)
        .map(|(g, &d)| out.slot(g, d))
        .collect();
    let mut acc = vec![Accumulator::default(); groups.len()];
    for (i, vector) in by_step(input, &grid).iter().enumerate() {
        if i % 256 == 0 {
            ev.ctx.budget.check_deadline("aggregation")?;
        }
        acc.iter_mut().for_each(|a| a.seen = false);
        for &(s, f) in vector {
            let a = &mut acc[group_of[s as usize] as usize];
            if a.seen {
                a.add(kind, f);
            } else {
                a.first(kind, f);
            }
        }
        let q = param.get(i).copied().unwrap_or(f64::NAN);
        for (g, a) in acc.iter_mut().enumerate() {
            if a.seen {
                let v = a.result(kind, q);
                out.push(slots[g], grid.ts(i), v)?;
            }
        }
    }
    Ok(out.finish())
}

/// Series by series into one accumulator per group and step: no per-step vectors to build.
/// Each (group, step) still sees its series in input order, so the sums are the same.
fn reduce_dense(
    ev: &Evaluator,
    kind: Reducer,
    input: &[Series],
    group_of: &[u32],
    groups: &[Labels],
) -> Result<Vec<Series>, QueryError> {
    let grid = ev.grid;
    let steps = grid.len();
    let mut acc = vec![Accumulator::default(); groups.len() * steps];
    let mut drop_name = vec![false; groups.len()];
    for (n, (s, &g)) in input.iter().zip(group_of).enumerate() {
        if n % 1024 == 0 {
            ev.ctx.budget.check_deadline("aggregation")?;
        }
        drop_name[g as usize] |= s.drop_name;
        let row = &mut acc[g as usize * steps..(g as usize + 1) * steps];
        for p in &s.points {
            let a = &mut row[grid.index_of(p.timestamp_ms)];
            if a.seen {
                a.add(kind, p.value);
            } else {
                a.first(kind, p.value);
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (g, labels) in groups.iter().enumerate() {
        let points: Vec<taishan_core::Sample> = acc[g * steps..(g + 1) * steps]
            .iter_mut()
            .enumerate()
            .filter(|(_, a)| a.seen)
            .map(|(i, a)| taishan_core::Sample::new(grid.ts(i), a.result(kind, f64::NAN)))
            .collect();
        if !points.is_empty() {
            out.push(Series {
                labels: labels.clone(),
                points,
                drop_name: drop_name[g],
            });
        }
    }
    Ok(out)
}

fn count_values(
    ev: &Evaluator,
    grouping: &Grouping,
    label: &str,
    input: &[Series],
) -> Result<Vec<Series>, QueryError> {
    if !super::go_strings::is_valid_label_name(label) {
        return Err(QueryError::Execution(format!(
            "invalid label name {}",
            super::go_strings::go_quote(label)
        )));
    }
    // The value label joins a `by` grouping (a `without` one keeps it anyway).
    let mut names = grouping.names.clone();
    if !grouping.without && !names.iter().any(|n| n == label) {
        names.push(label.to_string());
    }
    let grouping = Grouping {
        without: grouping.without,
        names,
    };
    let grid = ev.grid;
    let mut out = Assembler::new();
    for (i, vector) in by_step(input, &grid).iter().enumerate() {
        let mut counts: Vec<(Labels, f64)> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for &(s, f) in vector {
            let with_value = labelset::set(
                &input[s as usize].labels,
                label,
                &super::value::format_float(f),
            );
            let g = grouping.labels(&with_value);
            match index.get(&g) {
                Some(&k) => counts[k].1 += 1.0,
                None => {
                    index.insert(g.clone(), counts.len());
                    counts.push((g, 1.0));
                }
            }
        }
        for (labels, n) in counts {
            out.push_labels(&labels, false, grid.ts(i), n)?;
        }
    }
    Ok(out.finish())
}
