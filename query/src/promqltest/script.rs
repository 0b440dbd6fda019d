//! Reading Prometheus's promqltest scripts: `load`, `clear` and `eval` commands with their
//! `expect` lines and expected results.

use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};
use taishan_core::{Labels, Sample, SampleList, METRIC_NAME};

/// One point of a series description: a number, a staleness marker, or nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Point {
    /// A float value.
    Value(f64),
    /// A staleness marker.
    Stale,
    /// No sample at this position (`_`).
    Omitted,
}

/// A series in a `load` block or an expected result.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesLine {
    /// Its labels.
    pub labels: Labels,
    /// Its points, one per interval.
    pub points: Vec<Point>,
    /// It has native-histogram points (`{{...}}`), which this engine does not store.
    pub has_histograms: bool,
}

impl SeriesLine {
    /// Its samples when its points are `interval_ms` apart from time 0: omitted points
    /// (`_`) are left out, `stale` becomes a staleness marker.
    pub fn samples(&self, interval_ms: i64) -> SampleList {
        self.points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let t = i as i64 * interval_ms;
                match p {
                    Point::Value(v) => Some(Sample::new(t, *v)),
                    Point::Stale => Some(Sample::stale(t)),
                    Point::Omitted => None,
                }
            })
            .collect()
    }
}

/// When an evaluation happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvalAt {
    /// An instant query at this time (ms).
    Instant(i64),
    /// A range query.
    Range {
        /// First time (ms).
        start: i64,
        /// Last time (ms).
        end: i64,
        /// Step (ms).
        step: i64,
    },
}

/// What an evaluation is expected to fail with.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectedFailure {
    /// Any error.
    Any,
    /// This exact message.
    Message(String),
    /// A message matching this regular expression.
    Regex(String),
}

/// An `eval` command.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    /// Line of the command in its file.
    pub line: usize,
    /// The query text.
    pub query: String,
    /// When.
    pub at: EvalAt,
    /// Expected to fail, and how.
    pub fail: Option<ExpectedFailure>,
    /// Results must come in this order.
    pub ordered: bool,
    /// Warnings expected (`Some(true)`), forbidden (`Some(false)`), or unchecked.
    pub warn: Option<bool>,
    /// Infos expected, forbidden, or unchecked.
    pub info: Option<bool>,
    /// Expected series, for vector and matrix results.
    pub series: Vec<SeriesLine>,
    /// Expected scalar result.
    pub scalar: Option<f64>,
    /// Expected string result.
    pub string: Option<String>,
    /// For an instant query returning a range vector: the grid its expected points are on.
    pub range_vector: Option<(i64, i64, i64)>,
    /// The expected results mention native histograms.
    pub expects_histograms: bool,
}

/// One command of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Adds series with samples every `interval_ms` from time 0.
    Load {
        /// Line of the command.
        line: usize,
        /// Spacing of samples.
        interval_ms: i64,
        /// The series.
        series: Vec<SeriesLine>,
        /// `load_with_nhcb`: classic histograms also become native ones.
        with_nhcb: bool,
    },
    /// Drops all data.
    Clear,
    /// Evaluates a query and checks the result.
    Eval(Box<Eval>),
}

/// A script that could not be read, with the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> ScriptError {
    ScriptError {
        line,
        message: message.into(),
    }
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, ScriptError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The block of indented lines (or lines not starting a command) that follows.
        let mut body = Vec::new();
        while i < lines.len() {
            let l = lines[i];
            let t = l.trim();
            if t.is_empty() {
                break;
            }
            if !l.starts_with(char::is_whitespace) && is_command(t) {
                break;
            }
            if !t.starts_with('#') {
                body.push((i + 1, t));
            }
            i += 1;
        }
        let word = line.split_whitespace().next().unwrap_or("");
        match word {
            "clear" => out.push(Command::Clear),
            "load" | "load_with_nhcb" => {
                let arg = line[word.len()..].trim();
                let interval_ms = parse_duration(arg)
                    .ok_or_else(|| err(line_no, format!("invalid load interval {arg:?}")))?;
                let series = body
                    .iter()
                    .map(|(n, l)| parse_series_line(l).map_err(|m| err(*n, m)))
                    .collect::<Result<_, _>>()?;
                out.push(Command::Load {
                    line: line_no,
                    interval_ms,
                    series,
                    with_nhcb: word == "load_with_nhcb",
                });
            }
            w if w.starts_with("eval") => {
                out.push(Command::Eval(Box::new(parse_eval(line_no, line, &body)?)))
            }
            other => return Err(err(line_no, format!("unknown command {other:?}"))),
        }
    }
    Ok(out)
}

fn is_command(t: &str) -> bool {
    let w = t.split_whitespace().next().unwrap_or("");
    matches!(w, "load" | "load_with_nhcb" | "clear") || w.starts_with("eval")
}

fn parse_eval(line: usize, text: &str, body: &[(usize, &str)]) -> Result<Eval, ScriptError> {
    let mut words = text.splitn(2, char::is_whitespace);
    let head = words.next().unwrap_or("");
    let rest = words.next().unwrap_or("").trim();
    let mut ev = Eval {
        line,
        query: String::new(),
        at: EvalAt::Instant(0),
        fail: None,
        ordered: false,
        warn: None,
        info: None,
        series: Vec::new(),
        scalar: None,
        string: None,
        range_vector: None,
        expects_histograms: false,
    };
    match head {
        "eval" => {}
        "eval_fail" => ev.fail = Some(ExpectedFailure::Any),
        "eval_ordered" => ev.ordered = true,
        "eval_warn" => ev.warn = Some(true),
        "eval_info" => ev.info = Some(true),
        other => return Err(err(line, format!("unknown eval form {other:?}"))),
    }
    if let Some(r) = rest.strip_prefix("instant") {
        let r = r.trim_start();
        let r = r.strip_prefix("at").map(str::trim_start).unwrap_or(r);
        let (t, q) = r
            .split_once(char::is_whitespace)
            .ok_or_else(|| err(line, "eval instant needs a time and a query"))?;
        let t = parse_time(t).ok_or_else(|| err(line, format!("invalid time {t:?}")))?;
        ev.at = EvalAt::Instant(t);
        ev.query = q.trim().to_string();
    } else if let Some(r) = rest.strip_prefix("range") {
        // range from <t0> to <t1> step <step> <query>
        let parts: Vec<&str> = r.split_whitespace().collect();
        if parts.len() < 7 || parts[0] != "from" || parts[2] != "to" || parts[4] != "step" {
            return Err(err(
                line,
                "expected 'range from <t0> to <t1> step <step> <query>'",
            ));
        }
        let start = parse_time(parts[1]).ok_or_else(|| err(line, "invalid start"))?;
        let end = parse_time(parts[3]).ok_or_else(|| err(line, "invalid end"))?;
        let step = parse_duration(parts[5]).ok_or_else(|| err(line, "invalid step"))?;
        ev.at = EvalAt::Range { start, end, step };
        ev.query = after_words(r, 6).trim().to_string();
    } else {
        return Err(err(line, "eval must be 'instant' or 'range'"));
    }
    for &(n, l) in body {
        if let Some(e) = l.strip_prefix("expect ") {
            parse_expect(n, e.trim(), &mut ev)?;
            continue;
        }
        if l.contains("{{") {
            ev.expects_histograms = true;
            continue;
        }
        if let Ok(v) = parse_number(l) {
            ev.scalar = Some(v);
            continue;
        }
        ev.series.push(parse_series_line(l).map_err(|m| err(n, m))?);
    }
    Ok(ev)
}

/// The text after the first `n` whitespace-separated words.
fn after_words(s: &str, n: usize) -> &str {
    let mut rest = s.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest
}

fn parse_expect(line: usize, e: &str, ev: &mut Eval) -> Result<(), ScriptError> {
    let (word, rest) = e.split_once(char::is_whitespace).unwrap_or((e, ""));
    let rest = rest.trim();
    match word {
        "ordered" => ev.ordered = true,
        "warn" => ev.warn = Some(true),
        "no_warn" => ev.warn = Some(false),
        "info" => ev.info = Some(true),
        "no_info" => ev.info = Some(false),
        "fail" => {
            ev.fail = Some(if let Some(m) = rest.strip_prefix("msg:") {
                ExpectedFailure::Message(m.trim().to_string())
            } else if let Some(r) = rest.strip_prefix("regex:") {
                ExpectedFailure::Regex(r.trim().to_string())
            } else {
                ExpectedFailure::Any
            })
        }
        "string" => {
            let s = rest.trim();
            let unquoted = ['"', '`', '\'']
                .iter()
                .find_map(|q| s.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)))
                .ok_or_else(|| err(line, "expect string needs a quoted string"))?;
            ev.string = Some(unquoted.to_string());
        }
        "range" => {
            // range vector from <t0> to <t1> step <step>
            let p: Vec<&str> = rest.split_whitespace().collect();
            if p.len() != 7 || p[0] != "vector" || p[1] != "from" || p[3] != "to" || p[5] != "step"
            {
                return Err(err(
                    line,
                    "expected 'expect range vector from <t0> to <t1> step <step>'",
                ));
            }
            let from = parse_time(p[2]).ok_or_else(|| err(line, "invalid from"))?;
            let to = parse_time(p[4]).ok_or_else(|| err(line, "invalid to"))?;
            let step = parse_duration(p[6]).ok_or_else(|| err(line, "invalid step"))?;
            ev.range_vector = Some((from, to, step));
        }
        other => return Err(err(line, format!("unknown expectation {other:?}"))),
    }
    Ok(())
}

/// A time: a duration from 0 (`50m`, `8000s`) or plain seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        return Some((secs * 1000.0).round() as i64);
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    parse_duration(body).map(|d| if neg { -d } else { d })
}

/// A Prometheus duration (`1h30m`, `10s`, `500ms`) in ms; a bare integer is seconds, as
/// the test scripts' `load 5` and `step 10` write.
pub fn parse_duration(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(1000);
    }
    taishan_core::duration::parse_ms(s).ok()
}

/// The total of a Prometheus duration, for `Duration` users.
pub fn duration(s: &str) -> Option<Duration> {
    parse_duration(s).and_then(|ms| u64::try_from(ms).ok().map(Duration::from_millis))
}

fn parse_number(s: &str) -> Result<f64, ()> {
    let t = s.trim();
    match t {
        "NaN" | "nan" => Ok(f64::NAN),
        "Inf" | "+Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        _ => {
            if t.starts_with("0x") || t.starts_with("0X") {
                return i64::from_str_radix(&t[2..], 16)
                    .map(|v| v as f64)
                    .map_err(|_| ());
            }
            t.parse::<f64>().map_err(|_| ())
        }
    }
}

/// `labels values...`: the series selector, then its points.
fn parse_series_line(line: &str) -> Result<SeriesLine, String> {
    let (desc, values) = split_series(line)?;
    let labels = parse_labels(desc).map_err(|e| e.to_string())?;
    let mut points = Vec::new();
    let mut has_histograms = false;
    for token in tokens(values) {
        if let Some(close) = token.rfind("}}") {
            // Native histograms (`{{...}}`, `{{...}}+{{...}}xN`): positions only.
            has_histograms = true;
            let count = token[close + 2..]
                .strip_prefix('x')
                .and_then(|n| n.parse::<usize>().ok())
                .map_or(1, |n| n + 1);
            points.extend(std::iter::repeat_n(Point::Omitted, count));
            continue;
        }
        expand_item(token, &mut points)?;
    }
    Ok(SeriesLine {
        labels,
        points,
        has_histograms,
    })
}

/// Whitespace-separated tokens, keeping `{{ ... }}` groups whole.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if let Some(st) = start.take() {
                out.push(&s[st..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

fn split_series(line: &str) -> Result<(&str, &str), String> {
    // The descriptor ends after the closing brace, or at the first whitespace.
    if let Some(close) = closing_brace(line) {
        return Ok((&line[..=close], &line[close + 1..]));
    }
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    Ok((&line[..end], &line[end..]))
}

/// Index of the `}` closing the label set, skipping quoted strings.
fn closing_brace(line: &str) -> Option<usize> {
    let open = line.find('{')?;
    if line[..open].contains(char::is_whitespace) {
        return None;
    }
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in line.char_indices().skip(open) {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            '}' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// A series descriptor that is not a selector of `=` matchers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SeriesDescError(String);

/// The labels of a series descriptor, read by the PromQL parser as a selector.
pub fn parse_labels(desc: &str) -> Result<Labels, SeriesDescError> {
    if desc.trim() == "{}" {
        return Ok(Labels::default());
    }
    let expr = parser::parse(desc)
        .map_err(|e| SeriesDescError(format!("invalid series {desc:?}: {e}")))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(SeriesDescError(format!("invalid series {desc:?}")));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(name) = &vs.name {
        pairs.push((METRIC_NAME.to_string(), name.clone()));
    }
    for m in &vs.matchers.matchers {
        if !matches!(m.op, MatchOp::Equal) {
            return Err(SeriesDescError(format!(
                "series {desc:?} may only use '=' matchers"
            )));
        }
        if m.name == METRIC_NAME && vs.name.is_some() {
            continue;
        }
        pairs.push((m.name.clone(), m.value.clone()));
    }
    pairs.retain(|(_, v)| !v.is_empty());
    pairs.sort();
    Ok(Labels::from_sorted_unchecked(
        pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
    ))
}

/// Expands one point item: `_`, `_xN`, `stale`, `v`, `vxN`, `v+dxN`, `v-dxN`.
fn expand_item(item: &str, out: &mut Vec<Point>) -> Result<(), String> {
    if item == "_" {
        out.push(Point::Omitted);
        return Ok(());
    }
    if let Some(n) = item.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| format!("invalid repeat {item:?}"))?;
        out.extend(std::iter::repeat_n(Point::Omitted, n));
        return Ok(());
    }
    if item == "stale" {
        out.push(Point::Stale);
        return Ok(());
    }
    let (value_part, times) = match item.rfind('x') {
        Some(p) => {
            let n: u64 = item[p + 1..]
                .parse()
                .map_err(|_| format!("invalid repeat in {item:?}"))?;
            (&item[..p], Some(n))
        }
        None => (item, None),
    };
    let Some(times) = times else {
        out.push(Point::Value(
            parse_number(item).map_err(|_| format!("invalid value {item:?}"))?,
        ));
        return Ok(());
    };
    // Split "a+b" / "a-b" at the sign that is not the leading one or an exponent's.
    let bytes = value_part.as_bytes();
    let split = (1..bytes.len())
        .rev()
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    let (start, delta) = match split {
        Some(i) => (
            parse_number(&value_part[..i]).map_err(|_| format!("invalid value {item:?}"))?,
            parse_number(&value_part[i..]).map_err(|_| format!("invalid step {item:?}"))?,
        ),
        None => (
            parse_number(value_part).map_err(|_| format!("invalid value {item:?}"))?,
            0.0,
        ),
    };
    if split.is_none() {
        out.extend(std::iter::repeat_n(Point::Value(start), times as usize + 1));
        return Ok(());
    }
    let mut v = start;
    out.push(Point::Value(v));
    for _ in 0..times {
        v += delta;
        out.push(Point::Value(v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: &str) -> Vec<Point> {
        let mut out = Vec::new();
        for item in s.split_whitespace() {
            expand_item(item, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn expands_sequences_like_prometheus() {
        use Point::*;
        assert_eq!(
            values("1+2x3"),
            vec![Value(1.0), Value(3.0), Value(5.0), Value(7.0)]
        );
        assert_eq!(values("5x2"), vec![Value(5.0); 3]);
        assert_eq!(
            values("_x2 stale _"),
            vec![Omitted, Omitted, Stale, Omitted]
        );
        assert_eq!(values("10-5x2"), vec![Value(10.0), Value(5.0), Value(0.0)]);
        assert_eq!(values("-2+1x1"), vec![Value(-2.0), Value(-1.0)]);
        assert_eq!(values("1e3+1e2x1"), vec![Value(1000.0), Value(1100.0)]);
    }

    #[test]
    fn parses_commands() {
        let script = "load 5m\n  up{job=\"a\"} 0+1x2\n\neval instant at 10m up\n  expect ordered\n  up{job=\"a\"} 2\n\neval range from 0 to 10m step 5m up * 2\n  {job=\"a\"} 0 2 4\n\nclear\n";
        let cmds = parse_script(script).unwrap();
        assert_eq!(cmds.len(), 4);
        let Command::Eval(ev) = &cmds[1] else {
            panic!()
        };
        assert_eq!(ev.at, EvalAt::Instant(600_000));
        assert!(ev.ordered);
        assert_eq!(ev.series[0].labels.to_string(), "up{job=\"a\"}");
        let Command::Eval(ev) = &cmds[2] else {
            panic!()
        };
        assert_eq!(ev.query, "up * 2");
        assert_eq!(
            ev.at,
            EvalAt::Range {
                start: 0,
                end: 600_000,
                step: 300_000
            }
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_time("8000s"), Some(8_000_000));
        assert_eq!(parse_time("-1m"), Some(-60_000));
        assert_eq!(parse_duration("x"), None);
    }
}
