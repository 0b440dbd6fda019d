//! Binary operators: arithmetic, comparison (with and without `bool`) and set operators,
//! between scalars and vectors, with Prometheus's vector matching (`on`, `ignoring`,
//! `group_left`, `group_right`) and its errors for ambiguous matches.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use taishan_core::{Labels, METRIC_NAME};

use super::eval::{type_error, Evaluator};
use super::steps::{by_step, Assembler};
use super::value::{labelset, Series, Value};
use super::QueryError;

/// Evaluates a binary expression.
pub fn eval(ev: &Evaluator, e: &BinaryExpr) -> Result<Value, QueryError> {
    let op = Op::of(e.op)?;
    if let Some(m) = &e.modifier {
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            // Prometheus's experimental fill modifiers; refused rather than ignored.
            return Err(QueryError::BadData(
                "fill, fill_left and fill_right modifiers are not supported".into(),
            ));
        }
    }
    let return_bool = e.return_bool();
    let lhs = ev.eval(&e.lhs)?;
    let rhs = ev.eval(&e.rhs)?;
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => Ok(Value::Scalar(
            l.iter()
                .zip(&r)
                .map(|(&a, &b)| {
                    let (v, keep) = op.apply(a, b);
                    if op.is_comparison() {
                        f64::from(u8::from(keep))
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Value::Vector(l), Value::Scalar(r)) => Ok(Value::Vector(vector_scalar(
            ev,
            op,
            l,
            &r,
            false,
            return_bool,
        ))),
        (Value::Scalar(l), Value::Vector(r)) => Ok(Value::Vector(vector_scalar(
            ev,
            op,
            r,
            &l,
            true,
            return_bool,
        ))),
        (Value::Vector(l), Value::Vector(r)) => {
            let matching = Matching::of(e);
            let out = if op.is_set() {
                set_operation(ev, op, &matching, &l, &r)?
            } else {
                vector_vector(ev, op, &matching, return_bool, &l, &r)?
            };
            Ok(Value::Vector(out))
        }
        (l, r) => {
            let bad = if matches!(l, Value::Scalar(_) | Value::Vector(_)) {
                r
            } else {
                l
            };
            Err(type_error("scalar or instant vector", &bad))
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn of(t: TokenType) -> Result<Self, QueryError> {
        Ok(match t.id() {
            token::T_ADD => Op::Add,
            token::T_SUB => Op::Sub,
            token::T_MUL => Op::Mul,
            token::T_DIV => Op::Div,
            token::T_MOD => Op::Mod,
            token::T_POW => Op::Pow,
            token::T_ATAN2 => Op::Atan2,
            token::T_EQLC => Op::Eq,
            token::T_NEQ => Op::Ne,
            token::T_GTR => Op::Gt,
            token::T_LSS => Op::Lt,
            token::T_GTE => Op::Ge,
            token::T_LTE => Op::Le,
            token::T_LAND => Op::And,
            token::T_LOR => Op::Or,
            token::T_LUNLESS => Op::Unless,
            _ => {
                return Err(QueryError::BadData(format!(
                    "binary operator {t} is not supported"
                )))
            }
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// Whether the result means something other than the operands (the name goes).
    fn changes_meaning(self) -> bool {
        matches!(
            self,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod | Op::Pow | Op::Atan2
        )
    }

    /// The result of `l op r` and whether it is kept (comparisons filter; their result
    /// is the left value).
    pub fn apply(self, l: f64, r: f64) -> (f64, bool) {
        match self {
            Op::Add => (l + r, true),
            Op::Sub => (l - r, true),
            Op::Mul => (l * r, true),
            Op::Div => (l / r, true),
            Op::Mod => (go_mod(l, r), true),
            Op::Pow => (l.powf(r), true),
            Op::Atan2 => (l.atan2(r), true),
            Op::Eq => (l, l == r),
            Op::Ne => (l, l != r),
            Op::Gt => (l, l > r),
            Op::Lt => (l, l < r),
            Op::Ge => (l, l >= r),
            Op::Le => (l, l <= r),
            Op::And | Op::Or | Op::Unless => (l, true),
        }
    }
}

/// Go's `math.Mod`: the remainder takes the sign of `l`, and is NaN for `r == 0`.
fn go_mod(l: f64, r: f64) -> f64 {
    l % r
}

fn vector_scalar(
    ev: &Evaluator,
    op: Op,
    mut series: Vec<Series>,
    scalar: &[f64],
    scalar_on_left: bool,
    return_bool: bool,
) -> Vec<Series> {
    let grid = ev.grid;
    for s in &mut series {
        s.points.retain_mut(|p| {
            let x = scalar[grid.index_of(p.timestamp_ms)];
            let (l, r) = if scalar_on_left {
                (x, p.value)
            } else {
                (p.value, x)
            };
            let (mut v, keep) = op.apply(l, r);
            if op.is_comparison() {
                // A filter keeps the vector's own value, whichever side it is on.
                v = p.value;
            }
            if return_bool {
                p.value = f64::from(u8::from(keep));
                return true;
            }
            p.value = v;
            keep
        });
        if op.changes_meaning() || return_bool {
            s.drop_name = true;
        }
    }
    series.retain(|s| !s.points.is_empty());
    series
}

/// How two vectors' series are paired.
struct Matching {
    card: VectorMatchCardinality,
    /// `on (...)` when true, else `ignoring (...)` (also the default, with no labels).
    on: bool,
    labels: Vec<String>,
}

impl Matching {
    fn of(e: &BinaryExpr) -> Self {
        let (card, matching) = match &e.modifier {
            Some(m) => (m.card.clone(), m.matching.clone()),
            None => (VectorMatchCardinality::OneToOne, None),
        };
        let card = if Op::of(e.op).is_ok_and(Op::is_set) {
            VectorMatchCardinality::ManyToMany
        } else {
            card
        };
        let (on, labels) = match matching {
            Some(LabelModifier::Include(l)) => (true, l.labels),
            Some(LabelModifier::Exclude(l)) => (false, l.labels),
            None => (false, Vec::new()),
        };
        Self { card, on, labels }
    }

    /// The labels that must agree for two series to match.
    fn signature(&self, labels: &Labels) -> Labels {
        if self.on {
            labelset::keep(labels, &self.labels)
        } else {
            Labels::from_sorted_unchecked(
                labels
                    .iter()
                    .filter(|l| l.name != METRIC_NAME && !self.labels.iter().any(|n| n == l.name))
                    .map(|l| (l.name, l.value)),
            )
        }
    }

    fn include(&self) -> &[String] {
        match &self.card {
            VectorMatchCardinality::ManyToOne(l) | VectorMatchCardinality::OneToMany(l) => {
                &l.labels
            }
            _ => &[],
        }
    }
}

/// Signature ordinals of both sides' series, shared so equal signatures get equal numbers.
fn signatures(m: &Matching, lhs: &[Series], rhs: &[Series]) -> (Vec<u32>, Vec<u32>, Vec<Labels>) {
    let mut index: HashMap<Labels, u32> = HashMap::new();
    let mut names = Vec::new();
    let mut ord = |s: &Series| {
        let sig = m.signature(&s.labels);
        let next = index.len() as u32;
        *index.entry(sig.clone()).or_insert_with(|| {
            names.push(sig);
            next
        })
    };
    let l = lhs.iter().map(&mut ord).collect();
    let r = rhs.iter().map(&mut ord).collect();
    (l, r, names)
}

fn set_operation(
    ev: &Evaluator,
    op: Op,
    m: &Matching,
    lhs: &[Series],
    rhs: &[Series],
) -> Result<Vec<Series>, QueryError> {
    let grid = ev.grid;
    let (lsig, rsig, names) = signatures(m, lhs, rhs);
    let (lsteps, rsteps) = (by_step(lhs, &grid), by_step(rhs, &grid));
    let mut seen = vec![0usize; names.len()]; // step + 1 when a signature is present
    let mut out = Assembler::new();
    for (i, (lv, rv)) in lsteps.iter().zip(&rsteps).enumerate() {
        let t = grid.ts(i);
        let mark = i + 1;
        match op {
            Op::And | Op::Unless => {
                for &(s, _) in rv {
                    seen[rsig[s as usize] as usize] = mark;
                }
                for &(s, v) in lv {
                    let present = seen[lsig[s as usize] as usize] == mark;
                    if present == (op == Op::And) {
                        let l = &lhs[s as usize];
                        out.push_labels(&l.labels, l.drop_name, t, v)?;
                    }
                }
            }
            _ => {
                for &(s, v) in lv {
                    seen[lsig[s as usize] as usize] = mark;
                    let l = &lhs[s as usize];
                    out.push_labels(&l.labels, l.drop_name, t, v)?;
                }
                for &(s, v) in rv {
                    if seen[rsig[s as usize] as usize] != mark {
                        let r = &rhs[s as usize];
                        out.push_labels(&r.labels, r.drop_name, t, v)?;
                    }
                }
            }
        }
    }
    Ok(out.finish())
}

fn vector_vector(
    ev: &Evaluator,
    op: Op,
    m: &Matching,
    return_bool: bool,
    lhs: &[Series],
    rhs: &[Series],
) -> Result<Vec<Series>, QueryError> {
    let grid = ev.grid;
    // With group_right the right side is the "many" side: swap, and swap values back.
    let swapped = matches!(m.card, VectorMatchCardinality::OneToMany(_));
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let (many_sig, one_sig, names) = signatures(m, many, one);
    let (many_steps, one_steps) = (by_step(many, &grid), by_step(one, &grid));
    let one_to_one = matches!(m.card, VectorMatchCardinality::OneToOne);

    // Per signature: the "one" side series present at this step (stamped with step + 1).
    let mut one_at: Vec<(usize, u32, f64)> = vec![(0, 0, 0.0); names.len()];
    let mut matched: Vec<usize> = vec![0; names.len()];
    let mut result_slot: HashMap<(u32, u32), u32> = HashMap::new();
    let mut inserted: HashSet<(u32, u32)> = HashSet::new();
    let mut out = Assembler::new();

    for (i, (mv, ov)) in many_steps.iter().zip(&one_steps).enumerate() {
        let t = grid.ts(i);
        let mark = i + 1;
        for &(s, v) in ov {
            let sig = one_sig[s as usize] as usize;
            if one_at[sig].0 == mark {
                let side = if swapped { "left" } else { "right" };
                let (a, b) = (
                    labelset::prometheus_string(&one[s as usize].labels),
                    labelset::prometheus_string(&one[one_at[sig].1 as usize].labels),
                );
                let (a, b) = if a > b { (b, a) } else { (a, b) };
                return Err(QueryError::Execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side",
                    labelset::prometheus_string(&names[sig])
                )));
            }
            one_at[sig] = (mark, s, v);
        }
        inserted.clear();
        for &(s, v) in mv {
            let sig = many_sig[s as usize] as usize;
            let (stamp, o, ov) = one_at[sig];
            if stamp != mark {
                continue;
            }
            let (l, r) = if swapped { (ov, v) } else { (v, ov) };
            let (mut value, keep) = op.apply(l, r);
            if return_bool {
                value = f64::from(u8::from(keep));
            }
            let slot = match result_slot.get(&(s, o)) {
                Some(&slot) => slot,
                None => {
                    let labels =
                        result_labels(op, m, &many[s as usize].labels, &one[o as usize].labels);
                    let slot = out.slot(&labels, return_bool);
                    result_slot.insert((s, o), slot);
                    slot
                }
            };
            if one_to_one {
                if matched[sig] == mark {
                    return Err(QueryError::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                    ));
                }
                matched[sig] = mark;
            } else if !inserted.insert((sig as u32, slot)) {
                return Err(QueryError::Execution(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                        .into(),
                ));
            }
            if keep || return_bool {
                out.push(slot, t, value)?;
            }
        }
    }
    Ok(out.finish())
}

/// The labels of a matched pair's result: the "many" side's, less the name when the
/// operator changes meaning, narrowed to the matching labels for one-to-one matches, with
/// `group_*` labels copied from the "one" side.
fn result_labels(op: Op, m: &Matching, many: &Labels, one: &Labels) -> Labels {
    let mut labels = if op.changes_meaning() {
        labelset::without_name(many)
    } else {
        many.clone()
    };
    if matches!(m.card, VectorMatchCardinality::OneToOne) {
        labels = if m.on {
            labelset::keep(&labels, &m.labels)
        } else {
            labelset::drop(&labels, &m.labels)
        };
    }
    for name in m.include() {
        labels = labelset::set(&labels, name, one.get(name).unwrap_or(""));
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_filter_and_keep_the_left_value() {
        assert_eq!(Op::Gt.apply(3.0, 2.0), (3.0, true));
        assert!(!Op::Gt.apply(1.0, 2.0).1);
        assert!(go_mod(-7.0, 3.0) == -1.0);
        assert!(go_mod(1.0, 0.0).is_nan());
    }
}
