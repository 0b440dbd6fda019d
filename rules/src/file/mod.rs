//! Rule files in Prometheus's format, unchanged: `groups` with `name`, `interval`, `limit`,
//! `query_offset` and `rules`, each rule a `record` or an `alert` with `expr`, `for`,
//! `keep_firing_for`, `labels` and `annotations` (alert templates).
//!
//! Taishan reads one field Prometheus does not: a group's `tenant` (default `default`), the
//! tenant whose series it reads and writes. Loading reports every problem at once, each
//! with its file, line and column and what is allowed, as `promtool check rules` does.

mod raw;
mod validate;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use promql_parser::parser::Expr;
use taishan_core::config::{FieldPositions, Position};
use taishan_core::TenantId;

use taishan_template::Template;

/// A loaded rule file.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// The file as named when loaded (it also seeds each group's evaluation slot).
    pub path: String,
    /// Its groups, in file order.
    pub groups: Vec<GroupSpec>,
}

/// A group of rules evaluated in order, on one interval, within one tenant.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// Unique within its file.
    pub name: String,
    /// How often; `None` takes the engine's default.
    pub interval: Option<Duration>,
    /// Most series (recording) or alerts (alerting) a rule may produce; 0 means no limit.
    pub limit: usize,
    /// Evaluate this far in the past, for data that arrives late.
    pub query_offset: Option<Duration>,
    /// Whose series the group reads and writes.
    pub tenant: TenantId,
    /// The rules in evaluation order.
    pub rules: Vec<RuleSpec>,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// The expression as written.
    pub expr: String,
    /// The expression parsed.
    pub parsed: Expr,
    /// Labels added to what it produces (templates for alerts), in name order.
    pub labels: Vec<(String, LabelTemplate)>,
    /// Recording or alerting, with what is particular to each.
    pub kind: RuleKind,
    /// Where it starts in its file.
    pub position: Option<Position>,
}

/// A label or annotation value: its text and, for alerting rules, the parsed template.
#[derive(Debug, Clone)]
pub struct LabelTemplate {
    /// As written.
    pub text: String,
    /// Parsed (alerting rules only; recording rules use the text as is).
    pub template: Option<Template>,
}

/// What a rule does with its result.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// Writes the result as series named `record`.
    Recording {
        /// The metric name written.
        record: String,
    },
    /// Makes an alert of each result element.
    Alerting {
        /// The alert's name (`alertname`).
        alert: String,
        /// How long an alert stays pending before it fires.
        hold: Duration,
        /// How long it keeps firing after its condition clears.
        keep_firing_for: Duration,
        /// Annotations, in name order.
        annotations: Vec<(String, LabelTemplate)>,
    },
}

impl RuleSpec {
    /// The rule's name: what it records or the alert's name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// A problem in a rule file: where, in which rule, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileError {
    /// The file as named.
    pub file: String,
    /// Line and column, when known.
    pub position: Option<Position>,
    /// `group "x", rule 2, "Name"` or a field path, when the problem is inside one.
    pub context: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.column)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.context.is_empty() {
            write!(f, "{}: ", self.context)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleFileError {}

impl RuleFile {
    /// Reads and checks a rule file.
    pub fn load(path: &Path) -> Result<Self, Vec<RuleFileError>> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&name, &text),
            Err(e) => Err(vec![RuleFileError {
                file: name,
                position: None,
                context: String::new(),
                message: format!("cannot read the file: {e}"),
            }]),
        }
    }

    /// Parses and checks rule file text; `file` names it in errors and evaluation slots.
    pub fn parse(file: &str, text: &str) -> Result<Self, Vec<RuleFileError>> {
        let positions = match FieldPositions::index(text) {
            Ok(p) => p,
            Err(e) => {
                return Err(vec![RuleFileError {
                    file: file.to_string(),
                    position: Some(e.position),
                    context: String::new(),
                    message: format!("not valid YAML: {}", e.message),
                }])
            }
        };
        let mut problems = Vec::new();
        let mut groups = validate::groups(text, &mut problems);
        if problems.is_empty() {
            for (gi, g) in groups.iter_mut().enumerate() {
                for (ri, r) in g.rules.iter_mut().enumerate() {
                    r.position = positions.find(&format!("groups[{gi}].rules[{ri}]"));
                }
            }
            return Ok(Self {
                path: file.to_string(),
                groups,
            });
        }
        let mut errors: Vec<RuleFileError> = problems
            .into_iter()
            .map(|p| RuleFileError {
                file: file.to_string(),
                position: positions.find(&p.path),
                context: p.context,
                message: p.message,
            })
            .collect();
        errors.sort_by_key(|e| e.position.map(|p| (p.line, p.column)));
        Err(errors)
    }

    /// How many rules the file has.
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

/// A problem before it is placed in the file.
#[derive(Debug)]
pub(crate) struct Problem {
    /// Field path for the position (`groups[0].rules[1].expr`).
    pub(crate) path: String,
    /// Which group and rule, in words.
    pub(crate) context: String,
    pub(crate) message: String,
}

#[cfg(test)]
mod tests;
