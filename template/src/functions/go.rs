//! Go's text/template built-ins that make sense in alert text.

use std::cmp::Ordering;

use super::text::{compare, go_sprint, html_escape, js_escape, query_escape};
use super::{Call, Value};
use crate::go_fmt::sprintf;

/// The first false argument, else the last.
pub(super) fn and(c: Call<'_, '_>) -> Result<Value, String> {
    let last = c.args.last().ok_or("and: missing arguments")?;
    Ok(c.args.iter().find(|a| !a.truthy()).unwrap_or(last).clone())
}

/// The first true argument, else the last.
pub(super) fn or(c: Call<'_, '_>) -> Result<Value, String> {
    let last = c.args.last().ok_or("or: missing arguments")?;
    Ok(c.args.iter().find(|a| a.truthy()).unwrap_or(last).clone())
}

pub(super) fn not(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(1)?;
    Ok(Value::Bool(!c.args[0].truthy()))
}

pub(super) fn len(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(1)?;
    let n = match &c.args[0] {
        Value::Str(s) | Value::Html(s) => s.len(),
        Value::StrMap(m) => m.len(),
        Value::Map(m) => m.len(),
        Value::Samples(v) => v.len(),
        other => match crate::collections::len(other) {
            Some(n) => n,
            None => return Err(format!("len of type {}", other.go_type())),
        },
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

pub(super) fn index(c: Call<'_, '_>) -> Result<Value, String> {
    super::text::index(c.args)
}

pub(super) fn print(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(go_sprint(&c.args)))
}

pub(super) fn println(c: Call<'_, '_>) -> Result<Value, String> {
    let parts: Vec<String> = c.args.iter().map(Value::print).collect();
    Ok(Value::Str(format!("{}\n", parts.join(" "))))
}

pub(super) fn printf(c: Call<'_, '_>) -> Result<Value, String> {
    if c.args.is_empty() {
        return Err("wrong number of args for printf: want at least 1 got 0".into());
    }
    Ok(Value::Str(sprintf(&c.str(0)?, &c.args[1..])))
}

/// Whether the first argument equals any of the others.
pub(super) fn eq(c: Call<'_, '_>) -> Result<Value, String> {
    if c.args.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    let mut any = false;
    for other in &c.args[1..] {
        any |= compare(&c.args[0], other)? == Ordering::Equal;
    }
    Ok(Value::Bool(any))
}

/// A comparison of two arguments; booleans only compare for (in)equality.
fn ordered(
    c: &Call<'_, '_>,
    ordered_only: bool,
    holds: fn(Ordering) -> bool,
) -> Result<Value, String> {
    c.arity(2)?;
    if ordered_only && matches!(c.args[0], Value::Bool(_)) {
        return Err("invalid type for comparison".into());
    }
    Ok(Value::Bool(holds(compare(&c.args[0], &c.args[1])?)))
}

pub(super) fn ne(c: Call<'_, '_>) -> Result<Value, String> {
    ordered(&c, false, |o| o != Ordering::Equal)
}

pub(super) fn lt(c: Call<'_, '_>) -> Result<Value, String> {
    ordered(&c, true, |o| o == Ordering::Less)
}

pub(super) fn le(c: Call<'_, '_>) -> Result<Value, String> {
    ordered(&c, true, |o| o != Ordering::Greater)
}

pub(super) fn gt(c: Call<'_, '_>) -> Result<Value, String> {
    ordered(&c, true, |o| o == Ordering::Greater)
}

pub(super) fn ge(c: Call<'_, '_>) -> Result<Value, String> {
    ordered(&c, true, |o| o != Ordering::Less)
}

pub(super) fn urlquery(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(query_escape(&go_sprint(&c.args))))
}

pub(super) fn html(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(html_escape(&go_sprint(&c.args))))
}

pub(super) fn js(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(js_escape(&go_sprint(&c.args))))
}
