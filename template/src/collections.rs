//! Alertmanager's template types, as methods on values: `KV` (`SortedPairs`, `Names`,
//! `Values`, `Remove`), `Pairs` (`Names`, `Values`) and `Alerts` (`Firing`, `Resolved`), and
//! how lists of them are ranged over, measured and indexed.

use std::sync::Arc;

use super::value::Value;

fn strings(items: impl Iterator<Item = String>) -> Value {
    Value::List(Arc::new(items.map(Value::Str).collect()))
}

/// A method without arguments, or (for `KV`) a label, as `.name` reads it; methods first,
/// as Go looks them up before map keys.
pub(crate) fn field(v: &Value, name: &str) -> Result<Value, String> {
    match (v, name) {
        (Value::Kv(m), "SortedPairs") => Ok(Value::Pairs(Arc::new(
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ))),
        (Value::Kv(m), "Names") => Ok(strings(m.keys().cloned())),
        (Value::Kv(m), "Values") => Ok(strings(m.values().cloned())),
        // Alertmanager expands with missingkey=zero: an absent label reads as "".
        (Value::Kv(m), key) => Ok(Value::Str(m.get(key).cloned().unwrap_or_default())),
        (Value::Pairs(p), "Names") => Ok(strings(p.iter().map(|(n, _)| n.clone()))),
        (Value::Pairs(p), "Values") => Ok(strings(p.iter().map(|(_, v)| v.clone()))),
        (Value::Alerts(a), "Firing" | "Resolved") => {
            let want = if name == "Firing" {
                "firing"
            } else {
                "resolved"
            };
            let kept = a
                .iter()
                .filter(|alert| matches!(alert.field("Status"), Ok(Value::Str(s)) if s == want))
                .cloned()
                .collect();
            Ok(Value::Alerts(Arc::new(kept)))
        }
        (other, _) => Err(format!(
            "can't evaluate field {name} in type {}",
            other.go_type()
        )),
    }
}

/// A method called with arguments: `KV.Remove keys`.
pub(crate) fn call_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    match (v, name, args) {
        (Value::Kv(m), "Remove", [Value::List(keys)]) => {
            let mut out = (**m).clone();
            for k in keys.iter() {
                if let Value::Str(k) = k {
                    out.remove(k);
                }
            }
            Ok(Value::Kv(Arc::new(out)))
        }
        (Value::Time(t), "Format", [Value::Str(layout)]) => Ok(Value::Str(t.format(layout))),
        (Value::Time(t), "Add", [d]) => Ok(Value::Time(t.add_nanos(duration_nanos(d)?))),
        (Value::Time(t), "Sub", [Value::Time(u)]) => Ok(Value::Int(t.sub(u))),
        (Value::Time(t), "Before", [Value::Time(u)]) => Ok(Value::Bool(t.before(u))),
        (Value::Time(t), "After", [Value::Time(u)]) => Ok(Value::Bool(u.before(t))),
        (Value::Time(t), "Equal", [Value::Time(u)]) => Ok(Value::Bool(t.sub(u) == 0)),
        (v, name, _) => Err(format!(
            "can't call method {name} with {} arguments on type {}",
            args.len(),
            v.go_type()
        )),
    }
}

/// A Go `time.Duration` argument: nanoseconds, as an integer (or a whole float).
fn duration_nanos(d: &Value) -> Result<i64, String> {
    match d {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        other => Err(format!(
            "wrong type for value; expected time.Duration; got {}",
            other.go_type()
        )),
    }
}

/// The (key, element) pairs `range` walks, for these types.
pub(crate) fn range_items(v: &Value) -> Option<Vec<(Value, Value)>> {
    let indexed = |items: Vec<Value>| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, e)| (Value::Int(i as i64), e))
            .collect()
    };
    match v {
        Value::List(l) | Value::Alerts(l) => Some(indexed(l.to_vec())),
        Value::Pairs(p) => Some(indexed(
            p.iter()
                .map(|(n, v)| {
                    Value::Struct(Arc::new(vec![
                        ("Name", Value::Str(n.clone())),
                        ("Value", Value::Str(v.clone())),
                    ]))
                })
                .collect(),
        )),
        Value::Kv(m) => Some(
            m.iter()
                .map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone())))
                .collect(),
        ),
        _ => None,
    }
}

/// `len` of these types.
pub(crate) fn len(v: &Value) -> Option<usize> {
    match v {
        Value::List(l) | Value::Alerts(l) => Some(l.len()),
        Value::Kv(m) => Some(m.len()),
        Value::Pairs(p) => Some(p.len()),
        _ => None,
    }
}
