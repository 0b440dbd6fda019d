//! Alert templates: the part of Go's text/template language Prometheus documents for
//! alert labels and annotations (`{{ $labels.instance }}`, `{{ $value | humanize }}`,
//! `{{ printf "%.2f" $value }}`, `if`/`range`/`with`, `query`), parsed when a rule file is
//! loaded so mistakes are reported with the file, and expanded per alert.
//!
//! As in Prometheus, `$labels`, `$externalLabels`, `$externalURL` and `$value` are defined,
//! a missing label reads as the empty string, and an expansion error becomes the text
//! `<error expanding template: ...>` rather than failing the rule.
//!
//! The same engine runs notification templates ([`TemplateSet`]): there, template files
//! `{{define}}` named templates and notification fields call them with `{{template}}` (or
//! `{{block}}`), as Alertmanager's templates do; alert templates keep refusing both.

mod collections;
mod exec;
mod functions;
pub mod go_fmt;
pub mod go_time;
mod humanize;
mod lex;
mod parse;
mod value;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use go_time::GoTime;
pub use value::{QuerySample, Value};

/// Variables every alert template starts with.
const PREDECLARED: [&str; 4] = ["labels", "externalLabels", "externalURL", "value"];

/// A template that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Line within the template text, from 1.
    pub line: usize,
    /// Column within that line, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl TemplateError {
    pub(crate) fn at(src: &str, offset: usize, message: impl Into<String>) -> Self {
        let before = &src[..offset.min(src.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Why an expansion failed, in Go's words (`error calling humanize: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExpansionError(pub String);

/// Why a template's `query` failed (the PromQL error, as the rule would report it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateQueryError(pub String);

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
    fn run_query(&self, q: &str) -> Result<Vec<QuerySample>, String> {
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
    nodes: Vec<parse::Node>,
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

/// Named templates (`{{define "name"}}...{{end}}`) and the texts that use them
/// (`{{template "name" .}}`), as notification templates are written: template files add
/// definitions to the set, a text is parsed against it and expanded with any data.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    defines: std::collections::HashMap<String, Arc<Vec<parse::Node>>>,
}

/// A text of a [`TemplateSet`]: what it says itself, calling the set's templates.
#[derive(Debug, Clone, PartialEq)]
pub struct SetText {
    nodes: Vec<parse::Node>,
}

impl TemplateSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the definitions of a template file (its text outside them is ignored, as
    /// Alertmanager ignores it); a later definition of a name replaces the earlier one.
    pub fn add(&mut self, text: &str) -> Result<(), TemplateError> {
        let parsed = Self::parse_notification(text)?;
        for (name, body) in parsed.defines {
            self.defines.insert(name, Arc::new(body));
        }
        Ok(())
    }

    /// Whether `name` is defined.
    pub fn defines(&self, name: &str) -> bool {
        self.defines.contains_key(name)
    }

    /// Parses a text that may call the set's templates (and define more, for itself).
    pub fn parse(&self, text: &str) -> Result<SetText, TemplateError> {
        let parsed = Self::parse_notification(text)?;
        if !parsed.defines.is_empty() {
            return Err(TemplateError {
                line: 1,
                column: 1,
                message: "define templates in template files, not in a notification field".into(),
            });
        }
        Ok(SetText {
            nodes: parsed.nodes,
        })
    }

    fn parse_notification(text: &str) -> Result<parse::Parsed, TemplateError> {
        let pieces = lex::lex(text)?;
        parse::parse_with(text, pieces, &[], parse::Dialect::Notification)
    }

    /// Expands `text` with `data` as `.` and `$`.
    pub fn expand(
        &self,
        text: &SetText,
        data: &Value,
        ctx: &Expansion<'_>,
    ) -> Result<String, ExpansionError> {
        exec::Executor::new(ctx, data.clone())
            .with_defines(&self.defines)
            .run(&text.nodes, data)
            .map_err(ExpansionError)
    }

    /// Expands `text` for an HTML body: what actions print is escaped, as Go's
    /// html/template does in element text (Alertmanager's email `html`), unless `safeHtml`
    /// marked it.
    pub fn expand_html(
        &self,
        text: &SetText,
        data: &Value,
        ctx: &Expansion<'_>,
    ) -> Result<String, ExpansionError> {
        exec::Executor::new(ctx, data.clone())
            .with_defines(&self.defines)
            .escaping_html()
            .run(&text.nodes, data)
            .map_err(ExpansionError)
    }

    /// Expands the template named `name` with `data`.
    pub fn expand_named(
        &self,
        name: &str,
        data: &Value,
        ctx: &Expansion<'_>,
    ) -> Result<String, ExpansionError> {
        let text = SetText {
            nodes: vec![parse::Node::Template(
                name.to_string(),
                Some(parse::Pipeline::dot()),
            )],
        };
        self.expand(&text, data, ctx)
    }
}

#[cfg(test)]
mod tests;
