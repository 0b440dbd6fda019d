//! Notification templates: files that `{{define}}` named templates, and notification
//! fields that call them with `{{template}}` (or `{{block}}`), as Alertmanager's are written.

use std::sync::Arc;

use crate::alert::Expansion;
use crate::errors::{ExpansionError, TemplateError};
use crate::value::Value;
use crate::{exec, lex, parse};

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
