//! A dashboard as code: a YAML file of rows of panels, each panel one or more PromQL
//! queries with a unit, thresholds and a width on a 12-column grid. Read with every
//! problem placed at file:line ([`parse_dashboard`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use taishan_core::config::{parse_placed, ConfigDiagnostic, FieldError};

/// One dashboard.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Shown as the page's heading.
    pub title: String,
    /// One line under the heading.
    #[serde(default)]
    pub description: String,
    /// The time range shown by default, ending now (1h by default).
    #[serde(default = "default_range", with = "humantime_serde")]
    pub range: Duration,
    /// How often panels are refreshed (10s by default).
    #[serde(default = "default_refresh", with = "humantime_serde")]
    pub refresh: Duration,
    /// Choices the reader makes, used in queries as `$name`.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// The rows, top to bottom.
    pub rows: Vec<Row>,
}

fn default_range() -> Duration {
    Duration::from_secs(3600)
}

fn default_refresh() -> Duration {
    Duration::from_secs(10)
}

/// A choice offered above the panels: the values of a label.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Its name, used as `$name` in queries.
    pub name: String,
    /// The label whose values are offered.
    pub label: String,
    /// Only the values of this metric's series (all series when empty).
    #[serde(default)]
    pub metric: String,
    /// Whether "all" is offered (and chosen first): `$name` is then `.*`.
    #[serde(default = "yes")]
    pub all: bool,
}

fn yes() -> bool {
    true
}

/// A row of panels under a title.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// The row's heading.
    pub title: String,
    /// Its panels, left to right, wrapping past 12 columns.
    pub panels: Vec<Panel>,
}

/// One panel.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Its heading.
    pub title: String,
    /// What it draws (`timeseries` by default).
    #[serde(rename = "type", default)]
    pub kind: PanelKind,
    /// How values read (`none` by default).
    #[serde(default)]
    pub unit: Unit,
    /// Columns of 12 it spans (4 by default).
    #[serde(default = "default_width")]
    pub width: u8,
    /// What it shows (none for `alerts`; `flow` panels have `stages` instead).
    #[serde(default)]
    pub queries: Vec<PanelQuery>,
    /// A `flow` panel's stages, in the order money moves through them.
    #[serde(default)]
    pub stages: Vec<FlowStage>,
    /// Colours from a value up, for stat and gauge panels and lines on charts.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// A page the panel's heading links to (a view, a dashboard, a trace search).
    #[serde(default)]
    pub link: String,
    /// A line shown on hover, saying what the panel means.
    #[serde(default)]
    pub description: String,
}

fn default_width() -> u8 {
    4
}

/// What a panel draws.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    /// Lines over the range.
    #[default]
    Timeseries,
    /// The latest value, large.
    Stat,
    /// The latest value on a bar from `min` to the last threshold.
    Gauge,
    /// The latest value of each series, one row each.
    Table,
    /// Stages money moves through, each with its count, amount, success and latency over the
    /// range, and where it drops.
    Flow,
    /// What is firing and pending, and who is on call (from the alerter; no queries).
    Alerts,
}

/// One stage of a `flow` panel: each field a PromQL expression evaluated at the range's end
/// (`$__range` stands for the range, so `increase(x[$__range])` counts over it).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlowStage {
    /// The stage's name.
    pub name: String,
    /// How many went through it.
    pub count: String,
    /// The money that went through it.
    #[serde(default)]
    pub amount: String,
    /// The share that succeeded (0 to 1).
    #[serde(default)]
    pub success: String,
    /// How long it took (seconds, e.g. a p95).
    #[serde(default)]
    pub latency: String,
    /// Where it drops and why: one series per reason, named by `drops_by`'s label.
    #[serde(default)]
    pub drops: String,
    /// The label of `drops` that names the reason.
    #[serde(default)]
    pub drops_by: String,
    /// The service whose traces the stage opens.
    #[serde(default)]
    pub service: String,
}

impl FlowStage {
    /// The stage's expressions by field name, the empty ones left out.
    pub fn exprs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("count", self.count.as_str()),
            ("amount", self.amount.as_str()),
            ("success", self.success.as_str()),
            ("latency", self.latency.as_str()),
            ("drops", self.drops.as_str()),
        ]
        .into_iter()
        .filter(|(_, e)| !e.trim().is_empty())
    }
}

/// How a panel's values read.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A plain number.
    #[default]
    None,
    /// A count of things.
    Count,
    /// Things per second.
    PerSecond,
    /// A ratio from 0 to 1, shown as a percentage.
    Ratio,
    /// Seconds, shown as ms/s/min.
    Seconds,
    /// Money in the ledger's currency units.
    Money,
    /// Bytes, shown as KiB/MiB/GiB.
    Bytes,
}

/// One PromQL query of a panel.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PanelQuery {
    /// The expression; `$name` stands for a variable's choice.
    pub expr: String,
    /// The series' name in legends: `{{label}}` is replaced by the label's value. In a
    /// table, a legend without `{{...}}` heads the query's column.
    #[serde(default)]
    pub legend: String,
    /// This query's unit, when it differs from the panel's (a table's columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// On a chart: the analyzer's expected band for these series, shaded behind them, with
    /// the points it found anomalous marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<Band>,
}

/// Which of the analyzer's series draw a query's band: those of a watch
/// (`taishan_anomaly_expected`, `_lower`, `_upper` and `_score` with `watch="..."`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// The watch's name (`analyzer.watch[].name`).
    pub watch: String,
    /// More label matchers, e.g. `channel=~"$channel"` (variables are substituted).
    #[serde(default, rename = "match")]
    pub matchers: String,
}

impl Band {
    /// The selector of one of the band's series (`metric` is `taishan_anomaly_lower` etc.).
    pub fn selector(&self, metric: &str) -> String {
        let watch = self.watch.replace('\\', "\\\\").replace('"', "\\\"");
        if self.matchers.trim().is_empty() {
            format!("{metric}{{watch=\"{watch}\"}}")
        } else {
            format!("{metric}{{watch=\"{watch}\", {}}}", self.matchers)
        }
    }
}

/// A colour from a value up.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// From this value up.
    pub value: f64,
    /// The colour.
    pub color: Color,
}

/// Threshold colours.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// Healthy.
    Green,
    /// Watch it.
    Yellow,
    /// Act.
    Red,
    /// Informational.
    Blue,
}

/// Reads a dashboard; every problem placed in `file`.
pub fn parse_dashboard(file: &str, text: &str) -> Result<Dashboard, Vec<ConfigDiagnostic>> {
    parse_placed(file, text, |root| {
        let dashboard: Dashboard = serde_path_to_error::deserialize(root).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            vec![FieldError::new(path, e.into_inner().to_string())]
        })?;
        let errors = validate(&dashboard);
        if errors.is_empty() {
            Ok(dashboard)
        } else {
            Err(errors)
        }
    })
}

/// What serde cannot check: widths, names, and that each query is PromQL.
fn validate(d: &Dashboard) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if d.refresh < Duration::from_secs(1) {
        errors.push(FieldError::new("refresh", "must be at least 1s"));
    }
    let mut names = Vec::new();
    for (i, v) in d.variables.iter().enumerate() {
        let valid = |s: &str| taishan_core::labels::is_valid_label_name(s);
        if !valid(&v.name) || names.contains(&v.name.as_str()) {
            let message = format!("{:?} is not a new name of letters, digits and _", v.name);
            errors.push(FieldError::new(format!("variables[{i}].name"), message));
        }
        if !valid(&v.label) {
            let message = format!("{:?} is not a label name", v.label);
            errors.push(FieldError::new(format!("variables[{i}].label"), message));
        }
        names.push(&v.name);
    }
    for (r, row) in d.rows.iter().enumerate() {
        for (p, panel) in row.panels.iter().enumerate() {
            let at = format!("rows[{r}].panels[{p}]");
            if !(1..=12).contains(&panel.width) {
                let message = format!("{} is not a width from 1 to 12 columns", panel.width);
                errors.push(FieldError::new(format!("{at}.width"), message));
            }
            let mut exprs: Vec<(String, String)> = Vec::new();
            for (q, query) in panel.queries.iter().enumerate() {
                exprs.push((format!("{at}.queries[{q}].expr"), query.expr.clone()));
                if let Some(band) = &query.band {
                    let path = format!("{at}.queries[{q}].band");
                    if panel.kind != PanelKind::Timeseries {
                        errors.push(FieldError::new(
                            &path,
                            "only a timeseries panel draws a band",
                        ));
                    }
                    exprs.push((path, band.selector("taishan_anomaly_score")));
                }
            }
            for (s, stage) in panel.stages.iter().enumerate() {
                for (field, expr) in stage.exprs() {
                    exprs.push((format!("{at}.stages[{s}].{field}"), expr.to_string()));
                }
            }
            let needs = match panel.kind {
                PanelKind::Alerts => None,
                PanelKind::Flow => Some(("stages", panel.stages.is_empty(), "a stage")),
                _ => Some(("queries", panel.queries.is_empty(), "a query")),
            };
            if let Some((field, true, what)) = needs {
                errors.push(FieldError::new(
                    format!("{at}.{field}"),
                    format!("needs {what}"),
                ));
            }
            for (path, expr) in exprs {
                let any = |name: &str| {
                    d.variables
                        .iter()
                        .any(|v| v.name == name)
                        .then(|| ".*".to_string())
                };
                if let Err(e) = promql_parser::parser::parse(&substitute(&expr, "1h", any)) {
                    errors.push(FieldError::new(path, format!("not PromQL: {e}")));
                }
            }
        }
    }
    errors
}

/// `expr` with `$__range` replaced by `range` and each `$variable` by `choice(name)` (a regex
/// of the reader's choice); names `choice` does not know are left as written. Whole names
/// only: `$chan` does not touch `$channel`.
pub fn substitute(expr: &str, range: &str, choice: impl Fn(&str) -> Option<String>) -> String {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let name = &after[..after.find(|c| !is_name(c)).unwrap_or(after.len())];
        match (name, choice(name)) {
            ("__range", _) => out.push_str(range),
            (_, Some(value)) => out.push_str(&value),
            (_, None) => out.push_str(&rest[at..at + 1 + name.len()]),
        }
        rest = &after[name.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashboard_reads_with_its_defaults() {
        let d = parse_dashboard(
            "d.yaml",
            "title: Payments\nrows:\n  - title: Channels\n    panels:\n      - title: Success\n        type: stat\n        unit: ratio\n        queries:\n          - expr: sum(rate(payment_results_total[1m]))\n",
        )
        .unwrap();
        assert_eq!(d.range, Duration::from_secs(3600));
        let panel = &d.rows[0].panels[0];
        assert_eq!(
            (panel.kind, panel.unit, panel.width),
            (PanelKind::Stat, Unit::Ratio, 4)
        );
    }

    #[test]
    fn every_problem_is_placed_at_its_line() {
        let text = "title: X\nvariables:\n  - name: channel\n    label: channel\nrows:\n  - title: R\n    panels:\n      - title: A\n        width: 13\n        queries:\n          - expr: sum(rate(x[1m])\n      - title: B\n        queries:\n          - expr: rate(y{channel=~\"$channel\"}[1m])\n";
        let errors = parse_dashboard("d.yaml", text).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("d.yaml:9:"), "{shown:?}");
        assert!(shown[0].contains("width from 1 to 12"));
        assert!(shown[1].starts_with("d.yaml:11:"), "{shown:?}");
        assert!(shown[1].contains("not PromQL"));
    }

    #[test]
    fn a_band_names_a_watch_and_is_checked_as_promql() {
        let text = "title: X\nrows:\n  - title: R\n    panels:\n      - title: A\n        queries:\n          - expr: x\n            band: {watch: orders, match: 'region=\"eu\"'}\n      - title: B\n        type: stat\n        queries:\n          - expr: y\n            band:\n              watch: orders\n              match: 'region=='\n";
        let errors = parse_dashboard("d.yaml", text).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("d.yaml:13:"), "{shown:?}");
        assert!(shown[0].contains("only a timeseries panel"), "{shown:?}");
        assert!(shown[1].contains("not PromQL"), "{shown:?}");
        let fixed = text
            .replace("        type: stat\n", "")
            .replace("region==", "region=\"us\"");
        let d = parse_dashboard("d.yaml", &fixed).unwrap();
        let band = d.rows[0].panels[0].queries[0].band.as_ref().unwrap();
        assert_eq!(
            band.selector("taishan_anomaly_lower"),
            r#"taishan_anomaly_lower{watch="orders", region="eu"}"#
        );
    }

    #[test]
    fn variables_are_substituted_by_whole_name() {
        let chan = |name: &str| (name == "chan").then(|| "bank-a".to_string());
        assert_eq!(
            substitute(
                r#"x{a=~"$chan", b=~"$channel", c="$"}[$__range]"#,
                "5m",
                chan
            ),
            r#"x{a=~"bank-a", b=~"$channel", c="$"}[5m]"#
        );
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused_where_they_are() {
        let errors =
            parse_dashboard("d.yaml", "title: X\nrows:\n  - title: R\n    panels:\n      - title: A\n        type: pie\n        queries: []\n")
                .unwrap_err();
        assert_eq!(errors.len(), 1);
        let e = errors[0].to_string();
        assert!(e.starts_with("d.yaml:6:"), "{e}");
        assert!(e.contains("unknown variant `pie`"), "{e}");
        let errors = parse_dashboard("d.yaml", "title: X\nrowz: []\n").unwrap_err();
        assert!(errors[0].to_string().contains("unknown field `rowz`"));
    }
}
