//! Grafana dashboards in and out, so Grafana users keep their work.
//!
//! [`import`] converts a Grafana dashboard's JSON model (the schema since Grafana 5 with
//! `panels` and `gridPos`, and the older one with `rows` and `span`) into a Taishan
//! dashboard: time series, stat, gauge and table panels with Prometheus targets, their
//! units, thresholds and legends, and `label_values` variables. Whatever has no Taishan
//! equivalent is left out and listed, with where it was, never dropped silently.
//! [`export`] writes a Taishan dashboard as Grafana JSON for a Prometheus data source
//! pointed at Taishan.

use std::time::Duration;

use serde_json::{json, Value};

use crate::spec::{
    Band, Color, Dashboard, Panel, PanelKind, PanelQuery, Row, Threshold, Unit, Variable,
};

/// A converted dashboard and what could not be converted.
#[derive(Debug)]
pub struct Imported {
    /// The dashboard.
    pub dashboard: Dashboard,
    /// Each part left out or changed, with where it was and why.
    pub notes: Vec<String>,
}

/// Converts a Grafana dashboard's JSON model; `Err` when it is not one.
pub fn import(text: &str) -> Result<Imported, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    // An export "for sharing externally" or an API answer wraps the model.
    let model = root.get("dashboard").unwrap_or(&root);
    if !model.is_object() || (model.get("panels").is_none() && model.get("rows").is_none()) {
        return Err("not a Grafana dashboard: it has neither \"panels\" nor \"rows\"".into());
    }
    let mut notes = Vec::new();
    let variables = variables(model, &mut notes);
    let rows = match model.get("panels").and_then(Value::as_array) {
        Some(panels) => rows_of_panels(panels, &mut notes),
        None => old_rows(model, &mut notes),
    };
    let dashboard = Dashboard {
        title: text_of(model, "title")
            .unwrap_or("Imported from Grafana")
            .to_string(),
        description: text_of(model, "description").unwrap_or("").to_string(),
        range: range_of(model).unwrap_or(Duration::from_secs(3600)),
        refresh: text_of(model, "refresh")
            .and_then(|r| humantime::parse_duration(r).ok())
            .filter(|d| *d >= Duration::from_secs(1))
            .unwrap_or(Duration::from_secs(10)),
        variables,
        rows,
    };
    Ok(Imported { dashboard, notes })
}

fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `time.from` as `now-6h` gives 6h.
fn range_of(model: &Value) -> Option<Duration> {
    let from = model.get("time")?.get("from")?.as_str()?;
    humantime::parse_duration(from.strip_prefix("now-")?).ok()
}

fn variables(model: &Value, notes: &mut Vec<String>) -> Vec<Variable> {
    let list = model
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let name = text_of(v, "name").unwrap_or("?");
        let at = format!("templating.list[{i}] ${name}");
        let query = match v.get("query") {
            Some(Value::String(q)) => q.clone(),
            Some(q) => text_of(q, "query").unwrap_or("").to_string(),
            None => String::new(),
        };
        match (text_of(v, "type"), label_values(&query)) {
            (Some("datasource"), _) => notes.push(format!(
                "{at}: a data source choice is not needed: Taishan is the data source; left out"
            )),
            (Some("query"), Some((metric, label))) => out.push(Variable {
                name: name.to_string(),
                label,
                metric,
                all: v.get("includeAll").and_then(Value::as_bool).unwrap_or(true),
            }),
            (kind, _) => notes.push(format!(
                "{at}: only label_values(...) query variables convert; this is {} {query:?}; left out (queries using it match any value)",
                kind.unwrap_or("untyped")
            )),
        }
    }
    out
}

/// `label_values(metric{...}, label)` or `label_values(label)`: (metric, label).
fn label_values(query: &str) -> Option<(String, String)> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    match inner.rsplit_once(',') {
        Some((metric, label)) => Some((metric.trim().to_string(), label.trim().to_string())),
        None => Some((String::new(), inner.trim().to_string())),
    }
}

/// Panels of the current schema, in reading order, split into rows at each row panel.
fn rows_of_panels(panels: &[Value], notes: &mut Vec<String>) -> Vec<Row> {
    let mut flat: Vec<(String, &Value)> = Vec::new();
    for (i, p) in panels.iter().enumerate() {
        flat.push((format!("panels[{i}]"), p));
        // A collapsed row keeps its panels inside it.
        if let Some(inner) = p.get("panels").and_then(Value::as_array) {
            let nested = inner.iter().enumerate();
            flat.extend(nested.map(|(j, q)| (format!("panels[{i}].panels[{j}]"), q)));
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    for (at, p) in flat {
        if text_of(p, "type") == Some("row") {
            let title = text_of(p, "title").unwrap_or("Row").to_string();
            rows.push(Row {
                title,
                panels: Vec::new(),
            });
            continue;
        }
        let width = p
            .pointer("/gridPos/w")
            .and_then(Value::as_f64)
            .unwrap_or(12.0)
            / 2.0;
        if let Some(panel) = panel(p, &at, width, notes) {
            if rows.is_empty() {
                rows.push(Row {
                    title: "Panels".into(),
                    panels: Vec::new(),
                });
            }
            if let Some(row) = rows.last_mut() {
                row.panels.push(panel);
            }
        }
    }
    rows.retain(|r| !r.panels.is_empty());
    rows
}

/// The schema before Grafana 5: rows of panels with a `span` of 12.
fn old_rows(model: &Value, notes: &mut Vec<String>) -> Vec<Row> {
    let rows = model
        .get("rows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let panels = row
            .get("panels")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let converted: Vec<Panel> = panels
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let span = p.get("span").and_then(Value::as_f64).unwrap_or(4.0);
                panel(p, &format!("rows[{r}].panels[{i}]"), span, notes)
            })
            .collect();
        if !converted.is_empty() {
            let title = text_of(row, "title").unwrap_or("Panels").to_string();
            out.push(Row {
                title,
                panels: converted,
            });
        }
    }
    out
}

fn panel(p: &Value, at: &str, width: f64, notes: &mut Vec<String>) -> Option<Panel> {
    let title = text_of(p, "title").unwrap_or("(untitled)").to_string();
    let at = format!("{at} {title:?}");
    let kind = match text_of(p, "type").unwrap_or("graph") {
        "timeseries" | "graph" => PanelKind::Timeseries,
        "stat" | "singlestat" => PanelKind::Stat,
        "gauge" | "bargauge" => PanelKind::Gauge,
        "table" | "table-old" => PanelKind::Table,
        other => {
            notes.push(format!(
                "{at}: a {other} panel has no Taishan equivalent; left out"
            ));
            return None;
        }
    };
    let mut queries = Vec::new();
    for (t, target) in p
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        // Hidden targets, and the lines an export adds to draw a band, are not queries of their own.
        if target.get("hide").and_then(Value::as_bool) == Some(true)
            || target.get(BAND_LINE_OF).is_some()
        {
            continue;
        }
        let Some(expr) = text_of(target, "expr") else {
            notes.push(format!(
                "{at}: targets[{t}] is not a Prometheus query; left out"
            ));
            continue;
        };
        let legend = text_of(target, "legendFormat").filter(|l| *l != "__auto");
        queries.push(PanelQuery {
            expr: promql_of(expr, &at, notes),
            legend: legend.unwrap_or("").to_string(),
            unit: None,
            band: band_of(target, &format!("{at}: targets[{t}]"), notes),
        });
    }
    if queries.is_empty() {
        notes.push(format!("{at}: no Prometheus query; left out"));
        return None;
    }
    let defaults = p
        .pointer("/fieldConfig/defaults")
        .cloned()
        .unwrap_or(Value::Null);
    let unit = unit_of(
        text_of(&defaults, "unit").or(text_of(p, "format")),
        &at,
        notes,
    );
    Some(Panel {
        title,
        kind,
        unit,
        width: width.round().clamp(1.0, 12.0) as u8,
        queries,
        stages: Vec::new(),
        thresholds: thresholds_of(&defaults, &at, notes),
        link: p
            .pointer("/links/0/url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        description: text_of(p, "description").unwrap_or("").to_string(),
    })
}

/// The target field that carries a query's band through Grafana, which keeps a
/// target's fields it does not know.
const BAND: &str = "taishanBand";
/// The field marking a target an export added to draw a band's edge in Grafana.
const BAND_LINE_OF: &str = "taishanBandOf";

fn band_of(target: &Value, at: &str, notes: &mut Vec<String>) -> Option<Band> {
    let band = target.get(BAND)?;
    match serde_json::from_value(band.clone()) {
        Ok(band) => Some(band),
        Err(e) => {
            notes.push(format!("{at}: {BAND} is not a band ({e}); left out"));
            None
        }
    }
}

/// A query's targets: the query, and when it has a band, the band's edges as two more
/// (dashed in Grafana; skipped when read back).
fn targets_of(queries: &[PanelQuery], datasource: &Value) -> Vec<Value> {
    let mut ref_ids = ('A'..='Z').map(String::from);
    let mut next_ref = move || ref_ids.next().unwrap_or_default();
    let mut targets = Vec::new();
    let mut edges = Vec::new();
    for q in queries {
        let ref_id = next_ref();
        let mut target = json!({"refId": ref_id, "expr": q.expr, "legendFormat": q.legend, "datasource": datasource});
        if let Some(band) = &q.band {
            target[BAND] = json!(band);
            for (metric, edge) in [
                ("taishan_anomaly_lower", "low"),
                ("taishan_anomaly_upper", "high"),
            ] {
                edges.push(json!({"refId": "", "expr": band.selector(metric), "legendFormat": format!("usual {edge}"), "datasource": datasource, BAND_LINE_OF: ref_id}));
            }
        }
        targets.push(target);
    }
    for mut edge in edges {
        edge["refId"] = json!(next_ref());
        targets.push(edge);
    }
    targets
}

/// Grafana's variable spellings as Taishan's; its interval macros as a fixed window.
fn promql_of(expr: &str, at: &str, notes: &mut Vec<String>) -> String {
    let mut out = expr.to_string();
    for macro_name in [
        "$__rate_interval",
        "${__rate_interval}",
        "$__interval",
        "${__interval}",
    ] {
        if out.contains(macro_name) {
            out = out.replace(macro_name, "1m");
            notes.push(format!("{at}: {macro_name} is written as 1m"));
        }
    }
    out = out.replace("${__range}", "$__range");
    // ${name}, ${name:regex} and [[name]] are all $name.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(open) = rest.find("${").or_else(|| rest.find("[[")) {
        let close = if rest[open..].starts_with("${") {
            '}'
        } else {
            ']'
        };
        let Some(len) = rest[open..].find(close) else {
            break;
        };
        let name = rest[open + 2..open + len].split(':').next().unwrap_or("");
        result.push_str(&rest[..open]);
        result.push('$');
        result.push_str(name);
        rest = &rest[open + len + if close == ']' { 2 } else { 1 }..];
    }
    result.push_str(rest);
    result
}

fn unit_of(unit: Option<&str>, at: &str, notes: &mut Vec<String>) -> Unit {
    match unit.unwrap_or("none") {
        "none" | "short" | "" => Unit::None,
        "percentunit" => Unit::Ratio,
        "s" => Unit::Seconds,
        "reqps" | "ops" | "rps" | "wps" | "cps" | "hertz" => Unit::PerSecond,
        "bytes" | "decbytes" => Unit::Bytes,
        u if u.starts_with("currency") => Unit::Money,
        other => {
            notes.push(format!("{at}: unit {other:?} shown as a plain number"));
            Unit::None
        }
    }
}

fn thresholds_of(defaults: &Value, at: &str, notes: &mut Vec<String>) -> Vec<Threshold> {
    let steps = defaults
        .pointer("/thresholds/steps")
        .and_then(Value::as_array);
    let steps: Vec<&Value> = steps.into_iter().flatten().collect();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let color = text_of(step, "color").unwrap_or("green");
        let named = grafana_palette(color).unwrap_or(color);
        let mapped = if named.contains("red") {
            Color::Red
        } else if named.contains("green") {
            Color::Green
        } else if named.contains("yellow") || named.contains("orange") {
            Color::Yellow
        } else {
            if !named.contains("blue") {
                notes.push(format!("{at}: threshold colour {color:?} shown as blue"));
            }
            Color::Blue
        };
        // The base step (no value) colours what is below the next one: from 0 for the
        // usual non-negative metric, or from below the next step's value.
        let next = steps.get(i + 1).and_then(|s| s.get("value")?.as_f64());
        let value = match step.get("value").and_then(Value::as_f64) {
            Some(v) => v,
            None => next.map_or(0.0, |n| if n > 0.0 { 0.0 } else { n - 1.0 }),
        };
        out.push(Threshold {
            value,
            color: mapped,
        });
    }
    out
}

/// The colour name of a hex code from Grafana's palette (what its colour picker writes).
fn grafana_palette(hex: &str) -> Option<&'static str> {
    Some(match hex.to_ascii_uppercase().as_str() {
        "#73BF69" | "#56A64B" | "#37872D" | "#96D98D" | "#299C46" => "green",
        "#FADE2A" | "#F2CC0C" | "#E0B400" | "#EAB839" | "#FF9830" | "#FA6400" => "yellow",
        "#F2495C" | "#E02F44" | "#C4162A" | "#D44A3A" | "#FF7383" => "red",
        "#5794F2" | "#3274D9" | "#1F60C4" | "#8AB8FF" => "blue",
        _ => return None,
    })
}

/// A Taishan dashboard as Grafana JSON over the Prometheus data source `datasource_uid`.
pub fn export(d: &Dashboard, datasource_uid: &str) -> Value {
    let datasource = json!({"type": "prometheus", "uid": datasource_uid});
    let mut panels = Vec::new();
    let mut y = 0;
    let mut id = 1;
    for row in &d.rows {
        panels.push(json!({"type": "row", "title": row.title, "collapsed": false, "id": id, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}));
        id += 1;
        y += 1;
        let mut x = 0;
        for p in &row.panels {
            let w = u32::from(p.width) * 2;
            if x + w > 24 {
                x = 0;
                y += 8;
            }
            let Some(kind) = grafana_kind(p.kind) else {
                continue;
            };
            let targets = targets_of(&p.queries, &datasource);
            let dashed: Vec<Value> = targets
                .iter()
                .filter(|t| t.get(BAND_LINE_OF).is_some())
                .map(|t| json!({"matcher": {"id": "byFrameRefID", "options": t["refId"]}, "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [6, 4]}}]}))
                .collect();
            let steps: Vec<Value> = p
                .thresholds
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"color": format!("{:?}", t.color).to_lowercase(), "value": if i == 0 { Value::Null } else { json!(t.value) }}))
                .collect();
            panels.push(json!({
                "id": id, "type": kind, "title": p.title, "description": p.description,
                "gridPos": {"x": x, "y": y, "w": w, "h": 8},
                "datasource": datasource, "targets": targets,
                "fieldConfig": {"defaults": {"unit": grafana_unit(p.unit), "thresholds": {"mode": "absolute", "steps": steps}}, "overrides": dashed},
                "options": {},
            }));
            id += 1;
            x += w;
        }
        y += 8;
    }
    let templating: Vec<Value> = d
        .variables
        .iter()
        .map(|v| {
            let query = match v.metric.is_empty() {
                true => format!("label_values({})", v.label),
                false => format!("label_values({}, {})", v.metric, v.label),
            };
            json!({"type": "query", "name": v.name, "datasource": datasource, "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"}, "includeAll": v.all, "allValue": ".*", "refresh": 2})
        })
        .collect();
    json!({
        "title": d.title, "description": d.description, "editable": true, "schemaVersion": 39,
        "time": {"from": format!("now-{}", humantime::format_duration(d.range)), "to": "now"},
        "refresh": humantime::format_duration(d.refresh).to_string(),
        "templating": {"list": templating},
        "panels": panels,
    })
}

fn grafana_kind(kind: PanelKind) -> Option<&'static str> {
    Some(match kind {
        PanelKind::Timeseries => "timeseries",
        PanelKind::Stat => "stat",
        PanelKind::Gauge => "gauge",
        PanelKind::Table => "table",
        PanelKind::Flow | PanelKind::Alerts => return None,
    })
}

fn grafana_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::None | Unit::Count => "short",
        Unit::PerSecond => "reqps",
        Unit::Ratio => "percentunit",
        Unit::Seconds => "s",
        Unit::Money => "currencyCNY",
        Unit::Bytes => "bytes",
    }
}

/// A dashboard as YAML without the fields left at their empty defaults.
pub fn to_yaml(d: &Dashboard) -> String {
    fn prune(v: &mut serde_yaml_ng::Value) {
        use serde_yaml_ng::Value as Y;
        match v {
            Y::Mapping(m) => {
                m.retain(|_, x| {
                    !matches!(x, Y::String(s) if s.is_empty())
                        && !matches!(x, Y::Sequence(s) if s.is_empty())
                });
                m.values_mut().for_each(prune);
            }
            Y::Sequence(s) => s.iter_mut().for_each(prune),
            _ => {}
        }
    }
    let mut value = serde_yaml_ng::to_value(d).unwrap_or(serde_yaml_ng::Value::Null);
    prune(&mut value);
    serde_yaml_ng::to_string(&value).unwrap_or_default()
}

#[cfg(test)]
#[path = "grafana_tests.rs"]
mod tests;
