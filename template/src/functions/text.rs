//! Text helpers of the template functions: Go's printing, indexing and comparison rules,
//! escapes, and host and URL handling.

use super::Value;

/// `fmt.Sprint`: a space between operands when neither is a string.
pub(super) fn go_sprint(args: &[Value]) -> String {
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

pub(super) fn index(args: Vec<Value>) -> Result<Value, String> {
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

pub(super) fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
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
pub(super) fn title(s: &str) -> String {
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

pub(super) fn strip_port(s: &str) -> String {
    split_host_port(s).map_or_else(|| s.to_string(), |(h, _)| h)
}

pub(super) fn strip_domain(s: &str) -> String {
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
pub(super) fn query_escape(s: &str) -> String {
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

pub(crate) fn html_escape(s: &str) -> String {
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

pub(super) fn js_escape(s: &str) -> String {
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
pub(super) fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map(|i| after_scheme[i..].to_string())
        .unwrap_or_default()
}

/// Alertmanager's `join`: `strings.Join` with the separator first, for pipelines
/// (`{{ .Values | join " " }}`).
pub(super) fn join(c: super::Call<'_, '_>) -> Result<Value, String> {
    c.arity(2)?;
    let sep = c.args[0].to_str("join")?;
    let Value::List(items) = &c.args[1] else {
        return Err(format!(
            "wrong type for value; expected []string; got {}",
            c.args[1].go_type()
        ));
    };
    let parts: Result<Vec<String>, String> = items.iter().map(|v| v.to_str("join")).collect();
    Ok(Value::Str(parts?.join(&sep)))
}

/// Alertmanager's `stringSlice`: its arguments as a list.
pub(super) fn string_slice(c: super::Call<'_, '_>) -> Result<Value, String> {
    let items: Result<Vec<Value>, String> = c
        .args
        .iter()
        .map(|v| v.to_str("stringSlice").map(Value::Str))
        .collect();
    Ok(Value::List(std::sync::Arc::new(items?)))
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
