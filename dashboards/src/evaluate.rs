//! One evaluation of a dashboard: every panel's queries for one range, variables and end
//! time, as the JSON the page draws from. Charts get a range query on a grid of about 240
//! steps; stats, gauges, tables and flow stages the value at the range's end.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use taishan_core::TenantId;
use taishan_query::{Engine, QueryValue};

use crate::spec::{substitute, Dashboard, Panel, PanelKind};

/// What is evaluated: a dashboard seen over a range with the reader's choices.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct View {
    /// The dashboard's name.
    pub dashboard: String,
    /// The range shown, ending at the evaluation time, in seconds.
    pub range_s: u64,
    /// Each variable's choice (`__all` for all).
    pub choices: BTreeMap<String, String>,
    /// A fixed end (Unix seconds) for a link to a past moment; `None` is now.
    pub end_s: Option<i64>,
    /// Whose data: the viewer's tenant (bound to the credential at the edge).
    pub tenant: TenantId,
}

impl View {
    /// The grid step of charts: about 240 points over the range, at least 5 s.
    pub fn step_s(&self) -> u64 {
        (self.range_s / 240).max(5)
    }
}

/// One series as the page reads it.
#[derive(Serialize)]
struct SeriesOut {
    /// Which of the panel's queries it answers.
    query: usize,
    metric: BTreeMap<String, String>,
    /// `[unix seconds, value]`; a value JSON cannot hold (NaN, ±Inf) is null.
    values: Vec<(f64, Option<f64>)>,
}

/// Evaluates every panel of `d` for `view` at its fixed end or else at `now_ms` (in whole
/// seconds, as a link states it).
pub fn evaluate(engine: &Engine, d: &Dashboard, view: &View, now_ms: i64) -> Value {
    let end_ms = view.end_s.map_or(now_ms, |s| s.saturating_mul(1000));
    let end_ms = end_ms - end_ms.rem_euclid(1000);
    let step_ms = view.step_s() as i64 * 1000;
    // The charts' last point is the end itself: a live chart shows what is true now.
    let range_ms = view.range_s as i64 * 1000;
    let start_ms = end_ms - range_ms / step_ms * step_ms;
    let range = format!("{}s", view.range_s);
    let choice = |name: &str| {
        let wanted = d.variables.iter().find(|v| v.name == name)?;
        Some(match view.choices.get(&wanted.name).map(String::as_str) {
            None | Some("__all") => ".*".to_string(),
            Some(value) => regex_escape(value),
        })
    };
    let tenant = &view.tenant;
    let mut panels = serde_json::Map::new();
    for (r, row) in d.rows.iter().enumerate() {
        for (p, panel) in row.panels.iter().enumerate() {
            let expr = |e: &str| substitute(e, &range, choice);
            let at = Window {
                engine,
                tenant,
                start_ms,
                end_ms,
                step_ms,
            };
            let out = match panel.kind {
                PanelKind::Alerts => continue,
                PanelKind::Flow => at.flow(panel, &expr),
                _ => at.queries(panel, &expr),
            };
            panels.insert(format!("{r}-{p}"), out);
        }
    }
    json!({
        "start": start_ms as f64 / 1000.0,
        "end": end_ms as f64 / 1000.0,
        "step": step_ms / 1000,
        "panels": panels,
    })
}

/// The analyzer's series a band is drawn from (written by `taishan_analyzer::watch`), by the
/// field the page reads.
const BAND_SERIES: [(&str, &str); 4] = [
    ("expected", "taishan_anomaly_expected"),
    ("lower", "taishan_anomaly_lower"),
    ("upper", "taishan_anomaly_upper"),
    ("score", "taishan_anomaly_score"),
];

/// Where and when a panel is evaluated.
struct Window<'a> {
    engine: &'a Engine,
    tenant: &'a TenantId,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
}

impl Window<'_> {
    fn queries(&self, panel: &Panel, expr: &dyn Fn(&str) -> String) -> Value {
        let mut series = Vec::new();
        for (q, query) in panel.queries.iter().enumerate() {
            let found = match panel.kind {
                PanelKind::Timeseries => self.range(&expr(&query.expr)),
                _ => self.instant(&expr(&query.expr)),
            };
            match found {
                Ok(found) => series.extend(found.into_iter().map(|mut s| {
                    s.query = q;
                    s
                })),
                Err(e) => return json!({ "error": e }),
            }
        }
        if panel.kind != PanelKind::Timeseries {
            return json!({ "series": series });
        }
        match self.bands(panel, expr) {
            Ok(bands) => json!({ "series": series, "bands": bands }),
            // The lines are still worth drawing without their band.
            Err(e) => json!({ "series": series, "band_error": e }),
        }
    }

    /// Each band's series as the page draws them: per label set of the analyzer's output,
    /// `expected`, `lower`, `upper` and `score` over the range.
    fn bands(&self, panel: &Panel, expr: &dyn Fn(&str) -> String) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        for (q, query) in panel.queries.iter().enumerate() {
            let Some(band) = &query.band else { continue };
            let mut by_labels: BTreeMap<BTreeMap<String, String>, serde_json::Map<String, Value>> =
                BTreeMap::new();
            for (field, metric) in BAND_SERIES {
                for mut s in self.range(&expr(&band.selector(metric)))? {
                    s.metric.remove("__name__");
                    let entry = by_labels.entry(s.metric).or_default();
                    entry.insert(field.into(), json!(s.values));
                }
            }
            out.extend(by_labels.into_iter().map(|(metric, mut fields)| {
                fields.insert("query".into(), json!(q));
                fields.insert("metric".into(), json!(metric));
                Value::Object(fields)
            }));
        }
        Ok(out)
    }

    /// Each stage's numbers at the end of the range; a failed field is reported in its place.
    fn flow(&self, panel: &Panel, expr: &dyn Fn(&str) -> String) -> Value {
        let stages: Vec<Value> = panel
            .stages
            .iter()
            .map(|stage| {
                let mut out = serde_json::Map::new();
                out.insert("name".into(), json!(stage.name));
                for (field, e) in stage.exprs() {
                    let query = expr(e);
                    let value = match self.instant(&query) {
                        Ok(series) if field == "drops" => json!(series
                            .iter()
                            .map(|s| {
                                let reason = s.metric.get(&stage.drops_by).cloned();
                                json!({"reason": reason, "value": s.values.first().and_then(|v| v.1)})
                            })
                            .collect::<Vec<_>>()),
                        Ok(series) => json!(series.first().and_then(|s| s.values.first()?.1)),
                        Err(e) => json!({ "error": e }),
                    };
                    out.insert(field.into(), json!({"query": query, "value": value}));
                }
                Value::Object(out)
            })
            .collect();
        json!({ "stages": stages })
    }

    fn instant(&self, query: &str) -> Result<Vec<SeriesOut>, String> {
        let out = self
            .engine
            .instant(self.tenant, query, self.end_ms)
            .map_err(|e| e.to_string())?;
        let at = self.end_ms as f64 / 1000.0;
        Ok(match out.value {
            QueryValue::Vector(v) => v
                .into_iter()
                .map(|(labels, sample)| SeriesOut {
                    query: 0,
                    metric: metric(&labels),
                    values: vec![(at, finite(sample.value))],
                })
                .collect(),
            QueryValue::Scalar(s) => vec![SeriesOut {
                query: 0,
                metric: BTreeMap::new(),
                values: vec![(at, finite(s.value))],
            }],
            _ => Vec::new(),
        })
    }

    fn range(&self, query: &str) -> Result<Vec<SeriesOut>, String> {
        let out = self
            .engine
            .range(self.tenant, query, self.start_ms, self.end_ms, self.step_ms)
            .map_err(|e| e.to_string())?;
        let QueryValue::Matrix(m) = out.value else {
            return Ok(Vec::new());
        };
        Ok(m.into_iter()
            .map(|s| SeriesOut {
                query: 0,
                metric: metric(&s.labels),
                values: s
                    .samples
                    .iter()
                    .map(|x| (x.timestamp_ms as f64 / 1000.0, finite(x.value)))
                    .collect(),
            })
            .collect())
    }
}

fn metric(labels: &taishan_core::Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A chosen value as a regex matching exactly it, written for the inside of a PromQL
/// double-quoted string (where dashboards put `$variable`): regex metacharacters escaped
/// first, then every backslash, quote and control character escaped for the string, so a
/// value from the page's URL can never end the string and add to the query.
fn regex_escape(value: &str) -> String {
    let mut regex = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            regex.push('\\');
        }
        regex.push(c);
    }
    let mut out = String::with_capacity(regex.len() * 2);
    for c in regex.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chosen_value_matches_only_itself() {
        assert_eq!(regex_escape("bank-a"), "bank-a");
        assert_eq!(regex_escape("a.b"), "a\\\\.b");
    }

    /// A value crafted to close the string and add a selector of its own stays one
    /// matcher's value: the query parses with exactly the matchers the dashboard wrote.
    #[test]
    fn a_value_cannot_end_the_string_or_add_to_the_query() {
        for value in [
            "x\"} or vector(1) or up{a=\"",
            "a\\\"b",
            "line\nbreak\u{7}",
            "\\",
        ] {
            let expr = format!(
                "rate(http_requests_total{{service=~\"{}\"}}[5m])",
                regex_escape(value)
            );
            let parsed = promql_parser::parser::parse(&expr)
                .unwrap_or_else(|e| panic!("{value:?} made {expr:?}: {e}"));
            let text = format!("{parsed:?}");
            let one_matcher = text.starts_with("Call(") && text.matches("Matcher {").count() == 1;
            assert!(one_matcher, "{value:?} added to the query: {text}");
            let re = regex::Regex::new(&format!("^(?:{})$", unquote_for_test(&expr)))
                .expect("the matcher is a valid regex");
            assert!(re.is_match(value), "{value:?} does not match itself");
        }
    }

    /// The regex inside the expression's one matcher, as PromQL unquotes it.
    fn unquote_for_test(expr: &str) -> String {
        let inner = &expr[expr.find("=~\"").unwrap() + 3..expr.rfind("\"}").unwrap()];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some(other) => out.push(other),
                None => {}
            }
        }
        out
    }
}
