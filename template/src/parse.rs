//! The syntax tree of a template: text, actions and the `if` / `range` / `with` blocks Go's
//! text/template has, with variables checked in scope and every function name known.

use super::functions::{self, CompiledRegex, TemplateFunction};
use super::lex::{Piece, Token};
use super::TemplateError;

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline),
    If(Block),
    Range(Block),
    With(Block),
    Break,
    Continue,
    /// `{{template "name" pipeline}}`: the named template, run with the pipeline's value
    /// (nil without one) as its data.
    Template(String, Option<Pipeline>),
}

/// Which language a template is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Prometheus's alert labels and annotations: no `define`, `template` or `block`.
    Alert,
    /// Notification templates (Alertmanager's): named templates defined and called.
    Notification,
}

/// A parsed template text: its nodes and the templates it defines.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Parsed {
    pub(crate) nodes: Vec<Node>,
    pub(crate) defines: Vec<(String, Vec<Node>)>,
}

/// `if` / `range` / `with`: the pipeline, the body and the `else` branch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    pub(crate) pipe: Pipeline,
    pub(crate) then: Vec<Node>,
    pub(crate) otherwise: Vec<Node>,
}

/// `$x := a | b c`: optional variables, then commands joined by `|`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipeline {
    /// Byte offset of the action, for error messages.
    pub(crate) at: usize,
    pub(crate) vars: Vec<String>,
    /// `=` rather than `:=`.
    pub(crate) assign: bool,
    pub(crate) commands: Vec<Command>,
}

impl Pipeline {
    /// `.`: the current data, as `{{template "name" .}}` passes it.
    pub(crate) fn dot() -> Self {
        Self {
            at: 0,
            vars: Vec::new(),
            assign: false,
            commands: vec![Command::new(vec![Operand::Dot(Vec::new())])],
        }
    }
}

/// A function call or a single value; a piped value is passed as the last argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub(crate) args: Vec<Operand>,
    /// The regular expression of a regex function called with a literal pattern, compiled
    /// once here rather than at every expansion.
    pub(crate) regex: Option<CompiledRegex>,
}

impl Command {
    fn new(args: Vec<Operand>) -> Self {
        let regex = match args.as_slice() {
            [Operand::Function(f), Operand::Str(pattern), ..] if f.takes_regex => {
                CompiledRegex::new(pattern)
            }
            _ => None,
        };
        Self { args, regex }
    }
}

/// One argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// `.` or `.A.B`: fields of the current data.
    Dot(Vec<String>),
    /// `$x.A.B`.
    Variable(String, Vec<String>),
    /// A function of the table, resolved when parsed.
    Function(&'static TemplateFunction),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `( pipeline ).A.B`.
    Nested(Box<Pipeline>, Vec<String>),
}

/// Parses the pieces of a template whose text is `src` (for error positions), with
/// `predeclared` variables in scope.
pub(crate) fn parse_with(
    src: &str,
    pieces: Vec<Piece>,
    predeclared: &[&str],
    dialect: Dialect,
) -> Result<Parsed, TemplateError> {
    let mut outer = vec![String::new()];
    outer.extend(predeclared.iter().map(|v| v.to_string()));
    let mut p = Parser {
        src,
        pieces,
        pos: 0,
        scopes: vec![outer],
        loops: 0,
        nesting: 0,
        dialect,
        defines: Vec::new(),
    };
    let (nodes, end) = p.list()?;
    match end {
        Terminator::Eof => Ok(Parsed {
            nodes,
            defines: p.defines,
        }),
        Terminator::Else(at, _) => Err(TemplateError::at(src, at, "unexpected {{else}}")),
        Terminator::EndAction(at) => Err(TemplateError::at(src, at, "unexpected {{end}}")),
    }
}

enum Terminator {
    Eof,
    /// `{{else}}`, or `{{else if ...}}` / `{{else with ...}}` with the rest of its tokens.
    Else(usize, Vec<Token>),
    EndAction(usize),
}

struct Parser<'a> {
    src: &'a str,
    pieces: Vec<Piece>,
    pos: usize,
    /// Variables visible, innermost scope last; `""` is `$`.
    scopes: Vec<Vec<String>>,
    loops: usize,
    /// Blocks open around the current position (`define` is only allowed outside any).
    nesting: usize,
    dialect: Dialect,
    defines: Vec<(String, Vec<Node>)>,
}

impl Parser<'_> {
    fn err(&self, at: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::at(self.src, at, msg)
    }

    fn list(&mut self) -> Result<(Vec<Node>, Terminator), TemplateError> {
        let mut nodes = Vec::new();
        while self.pos < self.pieces.len() {
            let piece = self.pieces[self.pos].clone();
            self.pos += 1;
            let (at, tokens) = match piece {
                Piece::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Piece::Action { at, tokens } => (at, tokens),
            };
            let keyword = match tokens.first() {
                Some(Token::Ident(w)) => w.as_str(),
                _ => "",
            };
            match keyword {
                "end" => {
                    self.no_more(at, &tokens[1..], "end")?;
                    return Ok((nodes, Terminator::EndAction(at)));
                }
                "else" => return Ok((nodes, Terminator::Else(at, tokens[1..].to_vec()))),
                "if" | "range" | "with" => {
                    let node = self.block(keyword, at, &tokens[1..])?;
                    nodes.push(node);
                }
                "break" | "continue" => {
                    self.no_more(at, &tokens[1..], keyword)?;
                    if self.loops == 0 {
                        return Err(
                            self.err(at, format!("{{{{{keyword}}}}} outside {{{{range}}}}"))
                        );
                    }
                    nodes.push(if keyword == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                "define" | "template" | "block" if self.dialect == Dialect::Notification => {
                    if let Some(node) = self.named(keyword, at, &tokens[1..])? {
                        nodes.push(node);
                    }
                }
                "define" | "template" | "block" => {
                    return Err(self.err(
                        at,
                        format!(
                            "{{{{{keyword}}}}} is not supported in alert templates (allowed: text, \
                             actions, if/else, range, with, variables and the documented functions)"
                        ),
                    ))
                }
                _ => {
                    let pipe = self.pipeline(at, &tokens, true)?;
                    nodes.push(Node::Action(pipe));
                }
            }
        }
        Ok((nodes, Terminator::Eof))
    }

    fn no_more(&self, at: usize, rest: &[Token], what: &str) -> Result<(), TemplateError> {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(self.err(at, format!("unexpected {:?} in {what}", rest[0])))
        }
    }

    fn block(&mut self, keyword: &str, at: usize, tokens: &[Token]) -> Result<Node, TemplateError> {
        self.scopes.push(Vec::new());
        self.nesting += 1;
        let result = self.block_in_scope(keyword, at, tokens);
        self.nesting -= 1;
        self.scopes.pop();
        result
    }

    /// `define "name"` (its body kept, no node), `template "name" [pipeline]`, and
    /// `block "name" pipeline` (a define and a call in one).
    fn named(
        &mut self,
        keyword: &str,
        at: usize,
        tokens: &[Token],
    ) -> Result<Option<Node>, TemplateError> {
        let Some(Token::Str(name)) = tokens.first() else {
            return Err(self.err(
                at,
                format!("{{{{{keyword}}}}} needs a quoted template name"),
            ));
        };
        let name = name.clone();
        let rest = &tokens[1..];
        let pipe = if rest.is_empty() {
            None
        } else {
            Some(self.pipeline(at, rest, false)?)
        };
        match keyword {
            "template" => return Ok(Some(Node::Template(name, pipe))),
            "define" if pipe.is_some() => {
                return Err(self.err(at, "{{define}} takes only a name"));
            }
            "define" if self.nesting > 0 => {
                return Err(self.err(at, "{{define}} must be outside any other action"));
            }
            "block" if pipe.is_none() => {
                return Err(self.err(at, "{{block}} needs a pipeline for its data"));
            }
            _ => {}
        }
        // The body sees only `$`, the data it is called with.
        let outer = std::mem::replace(&mut self.scopes, vec![vec![String::new()]]);
        let (loops, nesting) = (self.loops, self.nesting);
        self.loops = 0;
        let body = self.list();
        self.scopes = outer;
        self.loops = loops;
        self.nesting = nesting;
        let body = match body? {
            (nodes, Terminator::EndAction(_)) => nodes,
            (_, Terminator::Else(a, _)) => return Err(self.err(a, "unexpected {{else}}")),
            (_, Terminator::Eof) => {
                return Err(self.err(
                    at,
                    format!("unexpected EOF: {{{{{keyword}}}}} has no {{{{end}}}}"),
                ))
            }
        };
        self.defines.push((name.clone(), body));
        Ok((keyword == "block").then(|| Node::Template(name, pipe)))
    }

    fn block_in_scope(
        &mut self,
        keyword: &str,
        at: usize,
        tokens: &[Token],
    ) -> Result<Node, TemplateError> {
        if tokens.is_empty() {
            return Err(self.err(at, format!("missing value for {keyword}")));
        }
        let pipe = self.pipeline(at, tokens, true)?;
        if keyword == "range" {
            self.loops += 1;
        }
        let listed = self.list();
        if keyword == "range" {
            self.loops -= 1;
        }
        let (then, end) = listed?;
        let otherwise = match end {
            Terminator::Eof => {
                return Err(self.err(
                    at,
                    format!("unexpected EOF: {{{{{keyword}}}}} has no {{{{end}}}}"),
                ))
            }
            Terminator::EndAction(_) => Vec::new(),
            Terminator::Else(else_at, rest) => match rest.first() {
                None => {
                    self.scopes.push(Vec::new());
                    let listed = self.list();
                    self.scopes.pop();
                    match listed? {
                        (nodes, Terminator::EndAction(_)) => nodes,
                        (_, Terminator::Else(a, _)) => {
                            return Err(self.err(a, "expected end; found {{else}}"))
                        }
                        (_, Terminator::Eof) => {
                            return Err(self.err(else_at, "unexpected EOF in {{else}}"))
                        }
                    }
                }
                Some(Token::Ident(k)) if (k == "if" || k == "with") && keyword != "range" => {
                    // `else if` chains share the outer block's single {{end}}.
                    vec![self.block(&k.clone(), else_at, &rest[1..])?]
                }
                Some(t) => return Err(self.err(else_at, format!("unexpected {t:?} after else"))),
            },
        };
        let block = Block {
            pipe,
            then,
            otherwise,
        };
        Ok(match keyword {
            "if" => Node::If(block),
            "range" => Node::Range(block),
            _ => Node::With(block),
        })
    }

    fn declared(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| s.iter().any(|v| v == name))
    }

    fn pipeline(
        &mut self,
        at: usize,
        tokens: &[Token],
        allow_decl: bool,
    ) -> Result<Pipeline, TemplateError> {
        let mut vars = Vec::new();
        let mut assign = false;
        let mut rest = tokens;
        if allow_decl {
            // `$x :=`, `$x =`, `$i, $e :=`
            let decl_end = tokens
                .iter()
                .position(|t| matches!(t, Token::Declare | Token::Assign));
            if let Some(end) = decl_end {
                let names: Vec<&Token> = tokens[..end]
                    .iter()
                    .filter(|t| !matches!(t, Token::Comma))
                    .collect();
                if !names.is_empty()
                    && names.iter().all(|t| matches!(t, Token::Variable(_)))
                    && names.len() <= 2
                {
                    assign = matches!(tokens[end], Token::Assign);
                    for t in names {
                        if let Token::Variable(v) = t {
                            if assign && !self.declared(v) {
                                return Err(self.err(at, format!("undefined variable \"${v}\"")));
                            }
                            vars.push(v.clone());
                        }
                    }
                    rest = &tokens[end + 1..];
                }
            }
        }
        let mut commands = Vec::new();
        let mut i = 0;
        let mut current = Vec::new();
        while i < rest.len() {
            match &rest[i] {
                Token::Pipe => {
                    if current.is_empty() {
                        return Err(self.err(at, "missing command before |"));
                    }
                    commands.push(Command::new(std::mem::take(&mut current)));
                    i += 1;
                }
                _ => {
                    let (operand, next) = self.operand(at, rest, i)?;
                    current.push(operand);
                    i = next;
                }
            }
        }
        if current.is_empty() {
            return Err(self.err(at, "missing value for command"));
        }
        commands.push(Command::new(current));
        for c in &commands[1..] {
            if !matches!(c.args.first(), Some(Operand::Function(_))) {
                return Err(self.err(at, "non executable command in pipeline stage 2"));
            }
        }
        if !assign {
            if let Some(scope) = self.scopes.last_mut() {
                scope.extend(vars.iter().cloned());
            }
        }
        Ok(Pipeline {
            at,
            vars,
            assign,
            commands,
        })
    }

    fn fields(rest: &[Token], mut i: usize) -> (Vec<String>, usize) {
        let mut fields = Vec::new();
        while let Some(Token::Field(f)) = rest.get(i) {
            fields.push(f.clone());
            i += 1;
        }
        (fields, i)
    }

    fn operand(
        &mut self,
        at: usize,
        rest: &[Token],
        i: usize,
    ) -> Result<(Operand, usize), TemplateError> {
        Ok(match &rest[i] {
            Token::Dot => {
                let (fields, next) = Self::fields(rest, i + 1);
                (Operand::Dot(fields), next)
            }
            Token::Field(_) => {
                let (fields, next) = Self::fields(rest, i);
                (Operand::Dot(fields), next)
            }
            Token::Variable(v) => {
                if !self.declared(v) {
                    return Err(self.err(at, format!("undefined variable \"${v}\"")));
                }
                let (fields, next) = Self::fields(rest, i + 1);
                (Operand::Variable(v.clone(), fields), next)
            }
            Token::Ident(name) => {
                let notification = self.dialect == Dialect::Notification;
                let Some(function) = functions::lookup(name, notification) else {
                    return Err(
                        self.err(at, functions::unknown_function_message(name, notification))
                    );
                };
                if rest
                    .get(i + 1)
                    .is_some_and(|t| matches!(t, Token::Field(_)))
                {
                    return Err(self.err(at, format!("unexpected . after term {name:?}")));
                }
                (Operand::Function(function), i + 1)
            }
            Token::Str(s) => (Operand::Str(s.clone()), i + 1),
            Token::Number(n) => (
                number(n).ok_or_else(|| self.err(at, format!("illegal number syntax: {n:?}")))?,
                i + 1,
            ),
            Token::Bool(b) => (Operand::Bool(*b), i + 1),
            Token::Nil => (Operand::Nil, i + 1),
            Token::Open => {
                let mut depth = 0usize;
                let mut j = i;
                loop {
                    match rest.get(j) {
                        Some(Token::Open) => depth += 1,
                        Some(Token::Close) => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                        None => return Err(self.err(at, "unclosed left paren")),
                    }
                    j += 1;
                }
                let inner = self.pipeline(at, &rest[i + 1..j], true)?;
                let (fields, next) = Self::fields(rest, j + 1);
                (Operand::Nested(Box::new(inner), fields), next)
            }
            Token::Close => return Err(self.err(at, "unexpected right paren")),
            other => return Err(self.err(at, format!("unexpected {other:?} in operand"))),
        })
    }
}

/// Go's number literals: integers (decimal, hex, octal, binary, with `_`) or floats.
fn number(text: &str) -> Option<Operand> {
    let clean = text.replace('_', "");
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let sign = if negative { -1 } else { 1 };
    let radix = |prefix: &[&str], radix: u32| {
        prefix
            .iter()
            .find_map(|p| digits.strip_prefix(p))
            .and_then(|d| i64::from_str_radix(d, radix).ok())
    };
    if let Some(v) = radix(&["0x", "0X"], 16)
        .or_else(|| radix(&["0b", "0B"], 2))
        .or_else(|| radix(&["0o", "0O"], 8))
    {
        return Some(Operand::Int(sign * v));
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return i64::from_str_radix(&digits[1..], 8)
                .ok()
                .map(|v| Operand::Int(sign * v));
        }
        return digits.parse::<i64>().ok().map(|v| Operand::Int(sign * v));
    }
    clean
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Operand::Float)
}
