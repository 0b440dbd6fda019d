//! Walking a parsed template with the alert's data, as Go's text/template executes it.

use super::functions::html_escape;
use super::parse::{Block, Command, Node, Operand, Pipeline};
use super::value::Value;
use super::Expansion;

/// What interrupted a walk: an error, or `{{break}}` / `{{continue}}` inside a range.
enum Flow {
    Error(String),
    Break,
    Continue,
}

impl From<String> for Flow {
    fn from(e: String) -> Self {
        Flow::Error(e)
    }
}

/// Upper bound on the text one expansion may produce, so a runaway `range` cannot eat memory.
const MAX_OUTPUT: usize = 1 << 20;

/// How deep `{{template}}` calls may nest, so a template calling itself ends.
const MAX_DEPTH: usize = 100;

type Defines = std::collections::HashMap<String, std::sync::Arc<Vec<Node>>>;

pub(crate) struct Executor<'a, 'e> {
    ctx: &'a Expansion<'e>,
    vars: Vec<(String, Value)>,
    out: String,
    defines: Option<&'a Defines>,
    depth: usize,
    /// Actions' output is HTML-escaped (Go's html/template in element text), except what
    /// `safeHtml` marked safe.
    escape_html: bool,
}

impl<'a, 'e> Executor<'a, 'e> {
    pub(crate) fn new(ctx: &'a Expansion<'e>, root: Value) -> Self {
        Self {
            ctx,
            vars: vec![(String::new(), root)],
            out: String::new(),
            defines: None,
            depth: 0,
            escape_html: false,
        }
    }

    /// Escapes what actions print for HTML.
    pub(crate) fn escaping_html(mut self) -> Self {
        self.escape_html = true;
        self
    }

    /// Lets `{{template}}` call the templates of `defines`.
    pub(crate) fn with_defines(mut self, defines: &'a Defines) -> Self {
        self.defines = Some(defines);
        self
    }

    /// Defines a variable for the whole template.
    pub(crate) fn declare(&mut self, name: &str, value: Value) {
        self.vars.push((name.to_string(), value));
    }

    pub(crate) fn run(mut self, nodes: &[Node], dot: &Value) -> Result<String, String> {
        match self.walk(nodes, dot) {
            Ok(()) => Ok(self.out),
            Err(Flow::Error(e)) => Err(e),
            Err(Flow::Break | Flow::Continue) => Err("break or continue outside range".into()),
        }
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<(), Flow> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.pipeline(pipe, dot)?;
                    if pipe.vars.is_empty() {
                        match v {
                            Value::Html(safe) => self.out.push_str(&safe),
                            v if self.escape_html => self.out.push_str(&html_escape(&v.print())),
                            v => self.out.push_str(&v.print()),
                        }
                    }
                }
                Node::If(b) => {
                    let mark = self.vars.len();
                    let cond = self.pipeline(&b.pipe, dot)?;
                    let branch = if cond.truthy() { &b.then } else { &b.otherwise };
                    let r = self.walk(branch, dot);
                    self.vars.truncate(mark);
                    r?;
                }
                Node::With(b) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(&b.pipe, dot)?;
                    let r = if v.truthy() {
                        self.walk(&b.then, &v)
                    } else {
                        self.walk(&b.otherwise, dot)
                    };
                    self.vars.truncate(mark);
                    r?;
                }
                Node::Range(b) => self.range(b, dot)?,
                Node::Template(name, pipe) => self.call(name, pipe.as_ref(), dot)?,
                Node::Break => return Err(Flow::Break),
                Node::Continue => return Err(Flow::Continue),
            }
            if self.out.len() > MAX_OUTPUT {
                return Err(Flow::Error(format!(
                    "expansion longer than {MAX_OUTPUT} bytes"
                )));
            }
        }
        Ok(())
    }

    fn range(&mut self, b: &Block, dot: &Value) -> Result<(), Flow> {
        let mark = self.vars.len();
        // The pipeline's variables take each key and element, not the whole value.
        let pipe = Pipeline {
            vars: Vec::new(),
            ..b.pipe.clone()
        };
        let over = self.pipeline(&pipe, dot)?;
        let items: Vec<(Value, Value)> = match over {
            Value::Samples(v) => v
                .into_iter()
                .enumerate()
                .map(|(i, s)| (Value::Int(i as i64), Value::Sample(Box::new(s))))
                .collect(),
            Value::StrMap(m) => m
                .iter()
                .map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone())))
                .collect(),
            Value::Map(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
            Value::Nil => Vec::new(),
            ref v @ (Value::List(_) | Value::Kv(_) | Value::Pairs(_) | Value::Alerts(_)) => {
                super::collections::range_items(v).unwrap_or_default()
            }
            Value::Int(n) => (0..n.max(0))
                .map(|i| (Value::Int(i), Value::Int(i)))
                .collect(),
            other => {
                return Err(Flow::Error(format!(
                    "range can't iterate over {}",
                    other.print()
                )))
            }
        };
        if items.is_empty() {
            let r = self.walk(&b.otherwise, dot);
            self.vars.truncate(mark);
            return r;
        }
        for (key, elem) in items {
            match b.pipe.vars.as_slice() {
                [v] => self.vars.push((v.clone(), elem.clone())),
                [k, v] => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((v.clone(), elem.clone()));
                }
                _ => {}
            }
            let r = self.walk(&b.then, &elem);
            self.vars.truncate(mark);
            match r {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn call(&mut self, name: &str, pipe: Option<&Pipeline>, dot: &Value) -> Result<(), Flow> {
        let body = self
            .defines
            .and_then(|d| d.get(name))
            .cloned()
            .ok_or_else(|| Flow::Error(format!("template {name:?} not defined")))?;
        if self.depth >= MAX_DEPTH {
            return Err(Flow::Error(format!(
                "template {name:?} nested deeper than {MAX_DEPTH}"
            )));
        }
        let data = match pipe {
            Some(p) => self.pipeline(p, dot)?,
            None => Value::Nil,
        };
        // The callee sees only `$`, its data.
        let outer = std::mem::replace(&mut self.vars, vec![(String::new(), data.clone())]);
        self.depth += 1;
        let r = self.walk(&body, &data);
        self.depth -= 1;
        self.vars = outer;
        match r {
            Err(Flow::Break | Flow::Continue) => {
                Err(Flow::Error("break or continue outside range".into()))
            }
            other => other,
        }
    }

    fn variable(&self, name: &str) -> Result<Value, String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("undefined variable: ${name}"))
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, Flow> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.commands {
            value = Some(self.command(cmd, dot, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        if pipe.assign {
            for name in &pipe.vars {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = value.clone();
                }
            }
        } else {
            for name in &pipe.vars {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn command(&mut self, cmd: &Command, dot: &Value, piped: Option<Value>) -> Result<Value, Flow> {
        match cmd.args.first() {
            Some(Operand::Function(function)) => {
                let mut args = Vec::with_capacity(cmd.args.len());
                for a in &cmd.args[1..] {
                    args.push(self.operand(a, dot)?);
                }
                if let Some(p) = piped {
                    args.push(p);
                }
                function
                    .call(args, cmd.regex.as_ref(), self.ctx)
                    .map_err(|e| Flow::Error(format!("error calling {}: {e}", function.name)))
            }
            Some(first) => {
                if cmd.args.len() > 1 || piped.is_some() {
                    if let Some((receiver, method)) = method_parts(first) {
                        // `.KV.Remove keys`: a method called with arguments.
                        let receiver = self.operand(&receiver, dot)?;
                        let mut args = Vec::with_capacity(cmd.args.len());
                        for a in &cmd.args[1..] {
                            args.push(self.operand(a, dot)?);
                        }
                        args.extend(piped);
                        return super::collections::call_method(&receiver, method, &args)
                            .map_err(Flow::Error);
                    }
                    return Err(Flow::Error(format!(
                        "can't give argument to non-function {first:?}"
                    )));
                }
                self.operand(first, dot)
            }
            None => Err(Flow::Error("empty command".into())),
        }
    }

    fn operand(&mut self, op: &Operand, dot: &Value) -> Result<Value, Flow> {
        let (base, fields) = match op {
            Operand::Dot(fields) => (dot.clone(), fields.as_slice()),
            Operand::Variable(name, fields) => (self.variable(name)?, fields.as_slice()),
            Operand::Function(function) => {
                return function
                    .call(Vec::new(), None, self.ctx)
                    .map_err(|e| Flow::Error(format!("error calling {}: {e}", function.name)))
            }
            Operand::Str(s) => return Ok(Value::Str(s.clone())),
            Operand::Int(i) => return Ok(Value::Int(*i)),
            Operand::Float(f) => return Ok(Value::Float(*f)),
            Operand::Bool(b) => return Ok(Value::Bool(*b)),
            Operand::Nil => return Ok(Value::Nil),
            Operand::Nested(pipe, fields) => (self.pipeline(pipe, dot)?, fields.as_slice()),
        };
        let mut v = base;
        for f in fields {
            v = v.field(f)?;
        }
        Ok(v)
    }
}

/// `.A.B.Method` split into the receiver `.A.B` and the method's name.
fn method_parts(op: &Operand) -> Option<(Operand, &str)> {
    match op {
        Operand::Dot(f) => f
            .split_last()
            .map(|(m, path)| (Operand::Dot(path.to_vec()), m.as_str())),
        Operand::Variable(name, f) => f
            .split_last()
            .map(|(m, path)| (Operand::Variable(name.clone(), path.to_vec()), m.as_str())),
        Operand::Nested(pipe, f) => f
            .split_last()
            .map(|(m, path)| (Operand::Nested(pipe.clone(), path.to_vec()), m.as_str())),
        _ => None,
    }
}
