//! The functions an alert template may call: Go's text/template built-ins and the ones
//! Prometheus documents for alert templates, in one table.
//!
//! The contract every function keeps:
//! - it is a plain `fn(Call) -> Result<Value, String>`, listed once in [`FUNCTIONS`] with its
//!   name and origin; the parser resolves names against this table when the rule file is
//!   loaded, so execution calls the function directly and an unknown name is refused at
//!   load, listing the names of this same table;
//! - it checks its own arguments (count and types) the way Go's text/template does and
//!   answers with an error string, which the executor wraps as `error calling NAME: ...`;
//! - it never panics on any argument values, and it reaches beyond its arguments only
//!   through [`Call::ctx`] (`query`, the external URL).
//!
//! Adding a function is its body in one of the member files ([`go`], [`prometheus`],
//! [`text`]) and one line in [`FUNCTIONS`].

mod go;
mod prometheus;
mod text;

pub(crate) use text::html_escape;

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::value::Value;
use super::Expansion;

/// Where a function comes from, for the list in the unknown-function error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Go's text/template built-ins.
    Go,
    /// Prometheus's "Template reference".
    Prometheus,
    /// Alertmanager's additions for notification templates (not in alert templates).
    Alertmanager,
}

/// One template function: its name and its body.
pub(crate) struct TemplateFunction {
    /// The name templates call it by.
    pub(crate) name: &'static str,
    origin: Origin,
    body: fn(Call<'_, '_>) -> Result<Value, String>,
    /// The first argument is a regular expression, compiled once per template when it is
    /// a literal.
    pub(crate) takes_regex: bool,
}

impl TemplateFunction {
    const fn new(
        name: &'static str,
        origin: Origin,
        body: fn(Call<'_, '_>) -> Result<Value, String>,
    ) -> Self {
        Self {
            name,
            origin,
            body,
            takes_regex: false,
        }
    }

    const fn with_regex(mut self) -> Self {
        self.takes_regex = true;
        self
    }

    /// Calls the function with already evaluated arguments.
    pub(crate) fn call(
        &'static self,
        args: Vec<Value>,
        regex: Option<&CompiledRegex>,
        ctx: &Expansion<'_>,
    ) -> Result<Value, String> {
        (self.body)(Call {
            name: self.name,
            args,
            regex: regex.map(|r| &*r.0),
            ctx,
        })
    }
}

impl fmt::Debug for TemplateFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for TemplateFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Every function templates may call: the one registration point.
pub(crate) static FUNCTIONS: &[TemplateFunction] = {
    use Origin::{Go, Prometheus as Prom};
    &[
        TemplateFunction::new("and", Go, go::and),
        TemplateFunction::new("or", Go, go::or),
        TemplateFunction::new("not", Go, go::not),
        TemplateFunction::new("len", Go, go::len),
        TemplateFunction::new("index", Go, go::index),
        TemplateFunction::new("print", Go, go::print),
        TemplateFunction::new("printf", Go, go::printf),
        TemplateFunction::new("println", Go, go::println),
        TemplateFunction::new("eq", Go, go::eq),
        TemplateFunction::new("ne", Go, go::ne),
        TemplateFunction::new("lt", Go, go::lt),
        TemplateFunction::new("le", Go, go::le),
        TemplateFunction::new("gt", Go, go::gt),
        TemplateFunction::new("ge", Go, go::ge),
        TemplateFunction::new("urlquery", Go, go::urlquery),
        TemplateFunction::new("html", Go, go::html),
        TemplateFunction::new("js", Go, go::js),
        TemplateFunction::new("query", Prom, prometheus::query),
        TemplateFunction::new("first", Prom, prometheus::first),
        TemplateFunction::new("label", Prom, prometheus::label),
        TemplateFunction::new("value", Prom, prometheus::value),
        TemplateFunction::new("strvalue", Prom, prometheus::strvalue),
        TemplateFunction::new("sortByLabel", Prom, prometheus::sort_by_label),
        TemplateFunction::new("humanize", Prom, prometheus::humanize),
        TemplateFunction::new("humanize1024", Prom, prometheus::humanize1024),
        TemplateFunction::new("humanizeDuration", Prom, prometheus::humanize_duration),
        TemplateFunction::new("humanizePercentage", Prom, prometheus::humanize_percentage),
        TemplateFunction::new("humanizeTimestamp", Prom, prometheus::humanize_timestamp),
        TemplateFunction::new("toTime", Prom, prometheus::to_time),
        TemplateFunction::new("title", Prom, prometheus::title),
        TemplateFunction::new("toUpper", Prom, prometheus::to_upper),
        TemplateFunction::new("toLower", Prom, prometheus::to_lower),
        TemplateFunction::new("stripPort", Prom, prometheus::strip_port),
        TemplateFunction::new("stripDomain", Prom, prometheus::strip_domain),
        TemplateFunction::new("match", Prom, prometheus::regex_match).with_regex(),
        TemplateFunction::new("reReplaceAll", Prom, prometheus::re_replace_all).with_regex(),
        TemplateFunction::new("graphLink", Prom, prometheus::graph_link),
        TemplateFunction::new("tableLink", Prom, prometheus::table_link),
        TemplateFunction::new("parseDuration", Prom, prometheus::parse_duration),
        TemplateFunction::new("args", Prom, prometheus::args),
        TemplateFunction::new("safeHtml", Prom, prometheus::safe_html),
        TemplateFunction::new("externalURL", Prom, prometheus::external_url),
        TemplateFunction::new("pathPrefix", Prom, prometheus::path_prefix),
        TemplateFunction::new("join", Origin::Alertmanager, text::join),
        TemplateFunction::new("stringSlice", Origin::Alertmanager, text::string_slice),
    ]
};

/// The function templates call `name`, if there is one; Alertmanager's additions only for
/// notification templates.
pub(crate) fn lookup(name: &str, notification: bool) -> Option<&'static TemplateFunction> {
    FUNCTIONS
        .iter()
        .find(|f| f.name == name && (notification || f.origin != Origin::Alertmanager))
}

/// The error for a call of an unknown function, listing the known ones.
pub(crate) fn unknown_function_message(name: &str, notification: bool) -> String {
    let names = |origin: Origin| {
        FUNCTIONS
            .iter()
            .filter(|f| f.origin == origin)
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if notification {
        return format!(
            "function {name:?} not defined; notification templates may call {}, {} and Go's {}",
            names(Origin::Alertmanager),
            names(Origin::Prometheus),
            names(Origin::Go)
        );
    }
    format!(
        "function {name:?} not defined; alert templates may call {} and Go's {}",
        names(Origin::Prometheus),
        names(Origin::Go)
    )
}

/// A regular expression compiled when the template was parsed.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRegex(Arc<Regex>);

impl CompiledRegex {
    /// Compiles `pattern`, or `None` when it does not compile (the call then reports it).
    pub(crate) fn new(pattern: &str) -> Option<Self> {
        Regex::new(pattern).ok().map(|r| Self(Arc::new(r)))
    }
}

impl PartialEq for CompiledRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// One call: the function's name, its evaluated arguments (a piped value last), the
/// regex compiled at parse time for functions that take one, and the expansion.
pub(crate) struct Call<'a, 'e> {
    name: &'static str,
    args: Vec<Value>,
    regex: Option<&'a Regex>,
    ctx: &'a Expansion<'e>,
}

impl Call<'_, '_> {
    /// Exactly `n` arguments, as Go checks.
    fn arity(&self, n: usize) -> Result<(), String> {
        if self.args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {}: want {n} got {}",
                self.name,
                self.args.len()
            ))
        }
    }

    /// Argument `i` as a string.
    fn str(&self, i: usize) -> Result<String, String> {
        self.args
            .get(i)
            .ok_or_else(|| {
                format!(
                    "wrong number of args for {}: want {} got {}",
                    self.name,
                    i + 1,
                    self.args.len()
                )
            })?
            .to_str(self.name)
    }

    /// The single argument, as a string.
    fn only_str(&self) -> Result<String, String> {
        self.arity(1)?;
        self.str(0)
    }

    /// The single argument, as a number.
    fn only_float(&self) -> Result<f64, String> {
        self.arity(1)?;
        self.args[0].to_float()
    }

    /// The first argument as a regular expression: the one compiled at parse time when it
    /// was a literal, else compiled now.
    fn regex(&self) -> Result<std::borrow::Cow<'_, Regex>, String> {
        match self.regex {
            Some(r) => Ok(std::borrow::Cow::Borrowed(r)),
            None => Regex::new(&self.str(0)?)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_function_once() {
        let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name registered twice");
        for f in FUNCTIONS {
            assert_eq!(lookup(f.name, true).map(|g| g.name), Some(f.name));
            let in_alerts = f.origin != Origin::Alertmanager;
            assert_eq!(lookup(f.name, false).is_some(), in_alerts, "{}", f.name);
        }
        assert!(lookup("humanise", true).is_none());
    }

    #[test]
    fn an_unknown_function_names_every_known_one() {
        let message = unknown_function_message("humanise", false);
        assert!(message.starts_with("function \"humanise\" not defined"));
        for f in FUNCTIONS
            .iter()
            .filter(|f| f.origin != Origin::Alertmanager)
        {
            assert!(message.contains(f.name), "{} missing: {message}", f.name);
        }
        let message = unknown_function_message("humanise", true);
        for f in FUNCTIONS {
            assert!(message.contains(f.name), "{} missing: {message}", f.name);
        }
    }
}
