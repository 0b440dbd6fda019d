//! The functions an alert template may call: Go's text/template built-ins and the ones
//! Prometheus documents for alert templates. Anything else is refused when the rule file
//! is loaded, naming what is allowed.

use std::collections::BTreeMap;

use super::go_fmt::{format_g, sprintf};
use super::humanize::{float_to_time, go_time_string, humanize, humanize1024, humanize_duration};
use super::value::Value;
use super::Expansion;

/// Go's text/template built-ins that make sense in alert text.
const GO_BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "print", "printf", "println", "eq", "ne", "lt", "le", "gt",
    "ge", "urlquery", "html", "js",
];

/// Prometheus's template functions (its "Template reference").
const PROMETHEUS_FUNCTIONS: &[&str] = &[
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "title",
    "toUpper",
    "toLower",
    "stripPort",
    "stripDomain",
    "match",
    "reReplaceAll",
    "graphLink",
    "tableLink",
    "parseDuration",
    "args",
    "safeHtml",
    "externalURL",
    "pathPrefix",
];

/// Whether templates may call `name`.
pub(crate) fn is_known(name: &str) -> bool {
    GO_BUILTINS.contains(&name) || PROMETHEUS_FUNCTIONS.contains(&name)
}

/// The error for a call of an unknown function, listing the known ones.
pub(crate) fn unknown_function_message(name: &str) -> String {
    format!(
        "function {name:?} not defined; alert templates may call {} and Go's {}",
        PROMETHEUS_FUNCTIONS.join(", "),
        GO_BUILTINS.join(", ")
    )
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

fn float_arg(name: &str, args: &[Value]) -> Result<f64, String> {
    arity(name, args, 1)?;
    args[0].to_float()
}

/// Calls `name` with already evaluated arguments.
pub(crate) fn call(name: &str, args: Vec<Value>, ctx: &Expansion<'_>) -> Result<Value, String> {
    let s = |i: usize| -> Result<String, String> {
        args.get(i)
            .ok_or_else(|| {
                format!(
                    "wrong number of args for {name}: want {} got {}",
                    i + 1,
                    args.len()
                )
            })?
            .to_str(name)
    };
    // Functions of one string: exactly one argument, as Go checks.
    if matches!(
        name,
        "title" | "toUpper" | "toLower" | "stripPort" | "stripDomain" | "safeHtml"
    ) {
        arity(name, &args, 1)?;
    }
    Ok(match name {
        "and" => {
            let last = args.len().checked_sub(1).ok_or("and: missing arguments")?;
            args.iter()
                .find(|a| !a.truthy())
                .cloned()
                .unwrap_or_else(|| args[last].clone())
        }
        "or" => {
            let last = args.len().checked_sub(1).ok_or("or: missing arguments")?;
            args.iter()
                .find(|a| a.truthy())
                .cloned()
                .unwrap_or_else(|| args[last].clone())
        }
        "not" => {
            arity(name, &args, 1)?;
            Value::Bool(!args[0].truthy())
        }
        "len" => {
            arity(name, &args, 1)?;
            Value::Int(match &args[0] {
                Value::Str(s) | Value::Html(s) => s.len(),
                Value::StrMap(m) => m.len(),
                Value::Map(m) => m.len(),
                Value::Samples(v) => v.len(),
                other => return Err(format!("len of type {}", other.go_type())),
            } as i64)
        }
        "index" => index(args)?,
        "print" => Value::Str(go_sprint(&args)),
        "println" => {
            let parts: Vec<String> = args.iter().map(Value::print).collect();
            Value::Str(format!("{}\n", parts.join(" ")))
        }
        "printf" => {
            if args.is_empty() {
                return Err("wrong number of args for printf: want at least 1 got 0".into());
            }
            Value::Str(sprintf(&s(0)?, &args[1..]))
        }
        "eq" => {
            if args.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            let mut any = false;
            for other in &args[1..] {
                any |= compare(&args[0], other)? == std::cmp::Ordering::Equal;
            }
            Value::Bool(any)
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            if name != "ne" && matches!(args[0], Value::Bool(_)) {
                return Err("invalid type for comparison".into());
            }
            let o = compare(&args[0], &args[1])?;
            use std::cmp::Ordering::*;
            Value::Bool(match name {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            })
        }
        "urlquery" => Value::Str(query_escape(&go_sprint(&args))),
        "html" => Value::Str(html_escape(&go_sprint(&args))),
        "js" => Value::Str(js_escape(&go_sprint(&args))),
        "query" => {
            arity(name, &args, 1)?;
            let q = s(0)?;
            Value::Samples(ctx.run_query(&q)?)
        }
        "first" => {
            arity(name, &args, 1)?;
            match &args[0] {
                Value::Samples(v) => match v.first() {
                    Some(x) => Value::Sample(Box::new(x.clone())),
                    None => return Err("first() called on vector with no elements".into()),
                },
                other => return Err(format!("first of type {}", other.go_type())),
            }
        }
        "label" => {
            arity(name, &args, 2)?;
            let label = s(0)?;
            match &args[1] {
                Value::Sample(x) => Value::Str(x.labels.get(&label).cloned().unwrap_or_default()),
                other => return Err(format!("label of type {}", other.go_type())),
            }
        }
        "value" | "strvalue" => {
            arity(name, &args, 1)?;
            match &args[0] {
                Value::Sample(x) if name == "value" => Value::Float(x.value),
                Value::Sample(x) => {
                    Value::Str(x.labels.get("__value__").cloned().unwrap_or_default())
                }
                other => return Err(format!("{name} of type {}", other.go_type())),
            }
        }
        "sortByLabel" => {
            arity(name, &args, 2)?;
            let label = s(0)?;
            match &args[1] {
                Value::Samples(v) => {
                    let mut v = v.clone();
                    v.sort_by(|a, b| a.labels.get(&label).cmp(&b.labels.get(&label)));
                    Value::Samples(v)
                }
                other => return Err(format!("sortByLabel of type {}", other.go_type())),
            }
        }
        "humanize" => Value::Str(humanize(float_arg(name, &args)?)),
        "humanize1024" => Value::Str(humanize1024(float_arg(name, &args)?)),
        "humanizeDuration" => Value::Str(humanize_duration(float_arg(name, &args)?)),
        "humanizePercentage" => Value::Str(format!(
            "{}%",
            format_g(float_arg(name, &args)? * 100.0, Some(4))
        )),
        "humanizeTimestamp" => {
            let v = float_arg(name, &args)?;
            match float_to_time(v)? {
                Some(ns) => Value::Str(go_time_string(ns)),
                None => Value::Str(format_g(v, Some(4))),
            }
        }
        "toTime" => {
            let v = float_arg(name, &args)?;
            match float_to_time(v)? {
                Some(ns) => Value::Time(ns),
                None => return Err("error calling toTime: value is NaN or Inf".into()),
            }
        }
        "title" => Value::Str(title(&s(0)?)),
        "toUpper" => Value::Str(s(0)?.to_uppercase()),
        "toLower" => Value::Str(s(0)?.to_lowercase()),
        "stripPort" => Value::Str(strip_port(&s(0)?)),
        "stripDomain" => Value::Str(strip_domain(&s(0)?)),
        "match" => {
            arity(name, &args, 2)?;
            let re = regex::Regex::new(&s(0)?).map_err(|e| e.to_string())?;
            Value::Bool(re.is_match(&s(1)?))
        }
        "reReplaceAll" => {
            arity(name, &args, 3)?;
            let re = regex::Regex::new(&s(0)?).map_err(|e| e.to_string())?;
            Value::Str(re.replace_all(&s(2)?, s(1)?.as_str()).into_owned())
        }
        "graphLink" | "tableLink" => {
            arity(name, &args, 1)?;
            let tab = if name == "graphLink" { 0 } else { 1 };
            Value::Str(format!(
                "/graph?g0.expr={}&g0.tab={tab}",
                query_escape(&s(0)?)
            ))
        }
        "parseDuration" => {
            arity(name, &args, 1)?;
            let d = crate::duration::parse_prometheus(&s(0)?)?;
            Value::Float(d.as_secs_f64())
        }
        "args" => Value::Map(
            args.into_iter()
                .enumerate()
                .map(|(i, a)| (format!("arg{i}"), a))
                .collect::<BTreeMap<_, _>>(),
        ),
        "safeHtml" => Value::Html(s(0)?),
        "externalURL" => Value::Str(ctx.external_url.to_string()),
        "pathPrefix" => Value::Str(url_path(ctx.external_url)),
        other => return Err(unknown_function_message(other)),
    })
}

/// `fmt.Sprint`: a space between operands when neither is a string.
fn go_sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = |v: &Value| matches!(v, Value::Str(_) | Value::Html(_));
        if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&a.print());
    }
    out
}

fn index(args: Vec<Value>) -> Result<Value, String> {
    let mut it = args.into_iter();
    let mut current = it.next().ok_or("index of untyped nil")?;
    for key in it {
        current = match (&current, &key) {
            (Value::StrMap(m), Value::Str(k)) => Value::Str(m.get(k).cloned().unwrap_or_default()),
            (Value::Map(m), Value::Str(k)) => m.get(k).cloned().unwrap_or(Value::Nil),
            (Value::Samples(v), Value::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| v.get(i))
                .map(|s| Value::Sample(Box::new(s.clone())))
                .ok_or_else(|| format!("error calling index: index out of range: {i}"))?,
            (c, k) => {
                return Err(format!(
                    "can't index item of type {} with {}",
                    c.go_type(),
                    k.go_type()
                ))
            }
        };
    }
    Ok(current)
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    use Value::*;
    match (a, b) {
        (Bool(x), Bool(y)) => Ok(x.cmp(y)),
        (Int(x), Int(y)) => Ok(x.cmp(y)),
        (Float(x), Float(y)) => Ok(x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Less)),
        (Str(x) | Html(x), Str(y) | Html(y)) => Ok(x.cmp(y)),
        (Nil, _) | (_, Nil) => Err("invalid type for comparison".into()),
        (Int(_) | Float(_) | Str(_) | Bool(_), Int(_) | Float(_) | Str(_) | Bool(_)) => {
            Err("incompatible types for comparison".into())
        }
        _ => Err("invalid type for comparison".into()),
    }
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_separator = true;
    for c in s.chars() {
        if prev_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_separator = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return (!port.contains(':')).then(|| (host.to_string(), port.to_string()));
    }
    let (host, port) = s.rsplit_once(':')?;
    (!host.contains(':')).then(|| (host.to_string(), port.to_string()))
}

fn strip_port(s: &str) -> String {
    split_host_port(s).map_or_else(|| s.to_string(), |(h, _)| h)
}

fn strip_domain(s: &str) -> String {
    let (host, port) = split_host_port(s).unwrap_or_else(|| (s.to_string(), String::new()));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return s.to_string();
    }
    let short = host.split('.').next().unwrap_or_default().to_string();
    if port.is_empty() {
        short
    } else if short.contains(':') {
        format!("[{short}]:{port}")
    } else {
        format!("{short}:{port}")
    }
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The path of an external URL such as `https://host:9090/prometheus`.
fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map(|i| after_scheme[i..].to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_titles() {
        assert_eq!(strip_port("foo.example.com:12345"), "foo.example.com");
        assert_eq!(strip_port("[2001:0DB8::1]:12345"), "2001:0DB8::1");
        assert_eq!(strip_domain("foo.example.com:12345"), "foo:12345");
        assert_eq!(strip_domain("192.0.2.1:12345"), "192.0.2.1:12345");
        assert_eq!(
            title("payment success_rate low"),
            "Payment Success_rate Low"
        );
        assert_eq!(query_escape("rate(x[5m]) > 0"), "rate%28x%5B5m%5D%29+%3E+0");
    }
}
