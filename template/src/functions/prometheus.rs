//! The functions Prometheus documents for alert templates (its "Template reference").

use std::collections::BTreeMap;

use super::text::{
    query_escape, strip_domain as domainless, strip_port as portless, title as titled, url_path,
};
use super::{Call, Value};
use crate::go_fmt::format_g;
use crate::go_time::GoTime;
use crate::humanize as human;

/// The instant vector of a PromQL query at the alert's evaluation time.
pub(super) fn query(c: Call<'_, '_>) -> Result<Value, String> {
    let q = c.only_str()?;
    Ok(Value::Samples(c.ctx.run_query(&q)?))
}

pub(super) fn first(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(1)?;
    match &c.args[0] {
        Value::Samples(v) => v
            .first()
            .map(|x| Value::Sample(Box::new(x.clone())))
            .ok_or_else(|| "first() called on vector with no elements".into()),
        other => Err(format!("first of type {}", other.go_type())),
    }
}

pub(super) fn label(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(2)?;
    let label = c.str(0)?;
    match &c.args[1] {
        Value::Sample(x) => Ok(Value::Str(
            x.labels.get(&label).cloned().unwrap_or_default(),
        )),
        other => Err(format!("label of type {}", other.go_type())),
    }
}

pub(super) fn value(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(1)?;
    match &c.args[0] {
        Value::Sample(x) => Ok(Value::Float(x.value)),
        other => Err(format!("value of type {}", other.go_type())),
    }
}

pub(super) fn strvalue(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(1)?;
    match &c.args[0] {
        Value::Sample(x) => Ok(Value::Str(
            x.labels.get("__value__").cloned().unwrap_or_default(),
        )),
        other => Err(format!("strvalue of type {}", other.go_type())),
    }
}

pub(super) fn sort_by_label(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(2)?;
    let label = c.str(0)?;
    match &c.args[1] {
        Value::Samples(v) => {
            let mut v = v.clone();
            v.sort_by(|a, b| a.labels.get(&label).cmp(&b.labels.get(&label)));
            Ok(Value::Samples(v))
        }
        other => Err(format!("sortByLabel of type {}", other.go_type())),
    }
}

pub(super) fn humanize(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(human::humanize(c.only_float()?)))
}

pub(super) fn humanize1024(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(human::humanize1024(c.only_float()?)))
}

pub(super) fn humanize_duration(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(human::humanize_duration(c.only_float()?)))
}

pub(super) fn humanize_percentage(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(format!(
        "{}%",
        format_g(c.only_float()? * 100.0, Some(4))
    )))
}

pub(super) fn humanize_timestamp(c: Call<'_, '_>) -> Result<Value, String> {
    let v = c.only_float()?;
    Ok(Value::Str(match human::float_to_time(v)? {
        Some(ns) => GoTime::from_unix_nanos(ns).to_string(),
        None => format_g(v, Some(4)),
    }))
}

pub(super) fn to_time(c: Call<'_, '_>) -> Result<Value, String> {
    match human::float_to_time(c.only_float()?)? {
        Some(ns) => Ok(Value::Time(GoTime::from_unix_nanos(ns))),
        None => Err("error calling toTime: value is NaN or Inf".into()),
    }
}

pub(super) fn title(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(titled(&c.only_str()?)))
}

pub(super) fn to_upper(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(c.only_str()?.to_uppercase()))
}

pub(super) fn to_lower(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(c.only_str()?.to_lowercase()))
}

pub(super) fn strip_port(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(portless(&c.only_str()?)))
}

pub(super) fn strip_domain(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(domainless(&c.only_str()?)))
}

/// `match PATTERN TEXT`.
pub(super) fn regex_match(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(2)?;
    let text = c.str(1)?;
    Ok(Value::Bool(c.regex()?.is_match(&text)))
}

/// `reReplaceAll PATTERN REPLACEMENT TEXT`.
pub(super) fn re_replace_all(c: Call<'_, '_>) -> Result<Value, String> {
    c.arity(3)?;
    let (replacement, text) = (c.str(1)?, c.str(2)?);
    let re = c.regex()?;
    Ok(Value::Str(
        re.replace_all(&text, replacement.as_str()).into_owned(),
    ))
}

fn expression_link(c: &Call<'_, '_>, tab: u8) -> Result<Value, String> {
    c.arity(1)?;
    Ok(Value::Str(format!(
        "/graph?g0.expr={}&g0.tab={tab}",
        query_escape(&c.str(0)?)
    )))
}

pub(super) fn graph_link(c: Call<'_, '_>) -> Result<Value, String> {
    expression_link(&c, 0)
}

pub(super) fn table_link(c: Call<'_, '_>) -> Result<Value, String> {
    expression_link(&c, 1)
}

pub(super) fn parse_duration(c: Call<'_, '_>) -> Result<Value, String> {
    let d = taishan_core::duration::parse(&c.only_str()?).map_err(|e| e.to_string())?;
    Ok(Value::Float(d.as_secs_f64()))
}

/// Its arguments as a map `arg0`, `arg1`, ..., for sub-templates.
pub(super) fn args(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Map(
        c.args
            .into_iter()
            .enumerate()
            .map(|(i, a)| (format!("arg{i}"), a))
            .collect::<BTreeMap<_, _>>(),
    ))
}

pub(super) fn safe_html(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Html(c.only_str()?))
}

pub(super) fn external_url(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(c.ctx.external_url.to_string()))
}

pub(super) fn path_prefix(c: Call<'_, '_>) -> Result<Value, String> {
    Ok(Value::Str(url_path(c.ctx.external_url)))
}
