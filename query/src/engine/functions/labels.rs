//! Functions over label sets: `label_replace`, `label_join`, `sort_by_label(_desc)`.

use std::cmp::Ordering;

use promql_parser::parser::Call;
use regex::Regex;
use taishan_core::METRIC_NAME;

use super::{arg, string_arg, QueryError};
use crate::engine::eval::Evaluator;
use crate::engine::steps::merge_same_labels;
use crate::engine::value::{labelset, Value};

use crate::engine::go_strings::is_valid_label_name as valid_label_name;

/// `label_replace(v, dst, replacement, src, regex)`: where `regex` matches all of `src`'s
/// value, sets `dst` to `replacement` with `$1`, `${name}` expanded.
pub fn label_replace(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let dst = string_arg(call, 1)?;
    let replacement = string_arg(call, 2)?;
    let src = string_arg(call, 3)?;
    let pattern = string_arg(call, 4)?;
    let regex = Regex::new(&format!("^(?s:{pattern})$")).map_err(|_| {
        QueryError::Execution(format!(
            "invalid regular expression in label_replace(): {pattern}"
        ))
    })?;
    if !valid_label_name(&dst) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut series = ev.eval_vector(arg(call, 0)?)?;
    for s in &mut series {
        let value = s.labels.get(&src).unwrap_or("");
        if let Some(caps) = regex.captures(value) {
            let mut out = String::new();
            caps.expand(&replacement, &mut out);
            s.labels = labelset::set(&s.labels, &dst, &out);
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    Ok(Value::Vector(merge_same_labels(series)?))
}

/// `label_join(v, dst, separator, src...)`: sets `dst` to the `src` values joined.
pub fn label_join(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let dst = string_arg(call, 1)?;
    let sep = string_arg(call, 2)?;
    let sources = (3..call.args.args.len())
        .map(|i| string_arg(call, i))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(bad) = sources.iter().find(|s| !valid_label_name(s)) {
        return Err(QueryError::Execution(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if !valid_label_name(&dst) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut series = ev.eval_vector(arg(call, 0)?)?;
    for s in &mut series {
        let joined = sources
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&sep);
        s.labels = labelset::set(&s.labels, &dst, &joined);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(Value::Vector(merge_same_labels(series)?))
}

/// `sort_by_label(v, label...)`: ascending by the labels' values in natural order.
pub fn sort_by_label(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    sorted_by_label(ev, call, false)
}

/// `sort_by_label_desc(v, label...)`: descending by the labels' values in natural order.
pub fn sort_by_label_desc(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    sorted_by_label(ev, call, true)
}

fn sorted_by_label(ev: &Evaluator, call: &Call, desc: bool) -> Result<Value, QueryError> {
    let names = (1..call.args.args.len())
        .map(|i| string_arg(call, i))
        .collect::<Result<Vec<_>, _>>()?;
    super::vector::warn_sort_in_range_query(ev);
    let mut series = ev.eval_vector(arg(call, 0)?)?;
    series.sort_by(|a, b| {
        let by_labels = names
            .iter()
            .map(|n| {
                let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
                if x == y {
                    Ordering::Equal
                } else if natural_less(x, y) {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or_else(|| a.labels.cmp(&b.labels));
        if desc {
            by_labels.reverse()
        } else {
            by_labels
        }
    });
    Ok(Value::Vector(series))
}

/// Natural order: runs of digits compare as numbers, the rest as text.
fn natural_less(a: &str, b: &str) -> bool {
    let (ca, cb) = (chunks(a), chunks(b));
    for (i, x) in ca.iter().enumerate() {
        let Some(y) = cb.get(i) else {
            return false;
        };
        let last_a = i == ca.len() - 1;
        let last_b = i == cb.len() - 1;
        let numeric = match (x.parse::<i64>(), y.parse::<i64>()) {
            (Ok(p), Ok(q)) => Some((p, q)),
            _ => None,
        };
        let equal = match numeric {
            Some((p, q)) if p != q => return p < q,
            Some(_) => true,
            None => x == y,
        };
        if !equal {
            return x < y;
        }
        if last_a {
            return true;
        }
        if last_b {
            return false;
        }
    }
    false
}

fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    for i in 1..=bytes.len() {
        if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
            out.push(&s[start..i]);
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        assert!(natural_less("cpu2", "cpu10"));
        assert!(!natural_less("cpu10", "cpu2"));
        assert!(natural_less("a", "b"));
        assert_eq!(chunks("ab12c"), vec!["ab", "12", "c"]);
    }
}
