//! Alert templates: one text parsed once and expanded per alert, with `$labels`,
//! `$externalLabels`, `$externalURL` and `$value` predeclared as Prometheus does.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::errors::{ExpansionError, TemplateError, TemplateQueryError};
use crate::value::{QuerySample, Value};
use crate::{exec, lex, parse};

/// Variables every alert template starts with.
const PREDECLARED: [&str; 4] = ["labels", "externalLabels", "externalURL", "value"];

/// Runs the `query` template function: PromQL at the alert's evaluation time.
pub trait TemplateQuery: Send + Sync {
    /// The instant vector of `query` at `time_ms`.
    fn query(&self, query: &str, time_ms: i64) -> Result<Vec<QuerySample>, TemplateQueryError>;
}

/// What an expansion may reach beyond the alert itself.
pub struct Expansion<'a> {
    /// Answers `query`; `None` refuses it.
    pub query: Option<&'a dyn TemplateQuery>,
    /// `externalURL` and `pathPrefix`.
    pub external_url: &'a str,
    /// The evaluation time.
    pub time_ms: i64,
}

impl Expansion<'_> {
    pub(crate) fn run_query(&self, q: &str) -> Result<Vec<QuerySample>, String> {
        let engine = self
            .query
            .ok_or_else(|| "query is not available here".to_string())?;
        engine.query(q, self.time_ms).map_err(|e| e.0)
    }
}

/// The data an alert template sees.
#[derive(Debug, Clone, Default)]
pub struct AlertData {
    /// The alert's labels (`$labels`), without `__name__`.
    pub labels: BTreeMap<String, String>,
    /// `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL`.
    pub external_url: String,
    /// `$value`: the sample value that made the alert.
    pub value: f64,
}

/// A parsed template, ready to expand any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub(crate) nodes: Vec<parse::Node>,
    /// The text has no actions: expansion is the text itself.
    plain: Option<String>,
}

impl Template {
    /// Parses `text`; the error names line and column within it.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        if !text.contains("{{") {
            return Ok(Self {
                nodes: Vec::new(),
                plain: Some(text.to_string()),
            });
        }
        let pieces = lex::lex(text)?;
        let parsed = parse::parse_with(text, pieces, &PREDECLARED, parse::Dialect::Alert)?;
        Ok(Self {
            nodes: parsed.nodes,
            plain: None,
        })
    }

    /// Expands the template for one alert.
    pub fn expand(&self, data: &AlertData, ctx: &Expansion<'_>) -> Result<String, ExpansionError> {
        if let Some(p) = &self.plain {
            return Ok(p.clone());
        }
        let labels = Value::StrMap(Arc::new(data.labels.clone()));
        let external = Value::StrMap(Arc::new(data.external_labels.clone()));
        let url = Value::Str(data.external_url.clone());
        let value = Value::Float(data.value);
        let root = Value::Struct(Arc::new(vec![
            ("Labels", labels.clone()),
            ("ExternalLabels", external.clone()),
            ("ExternalURL", url.clone()),
            ("Value", value.clone()),
        ]));
        let mut exec = exec::Executor::new(ctx, root.clone());
        for (name, v) in PREDECLARED.iter().zip([labels, external, url, value]) {
            exec.declare(name, v);
        }
        exec.run(&self.nodes, &root).map_err(ExpansionError)
    }

    /// Expands, or gives Prometheus's placeholder text when expansion fails.
    pub fn expand_or_placeholder(&self, data: &AlertData, ctx: &Expansion<'_>) -> String {
        self.expand(data, ctx)
            .unwrap_or_else(|e| format!("<error expanding template: {e}>"))
    }
}
