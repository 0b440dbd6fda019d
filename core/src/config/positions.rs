//! Where each field of a YAML document sits, so config errors can say file:line:column.
//!
//! serde forgets positions once a value is deserialized; this walks the same text with
//! yaml-rust2's event parser and records the position of every key and sequence item under
//! its field path (`scrape.jobs[0].targets[1]`).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// A document that is not YAML, with where the parser stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlSyntaxError {
    /// Where the parser stopped.
    pub position: Position,
    /// The parser's reason.
    pub message: String,
}

/// Field path to position, for one document.
#[derive(Debug, Default)]
pub struct FieldPositions {
    by_path: HashMap<String, Position>,
}

impl FieldPositions {
    /// Indexes `text`; a syntax error yields its position and message.
    pub fn index(text: &str) -> Result<Self, YamlSyntaxError> {
        let mut walker = Walker::default();
        Parser::new_from_str(text)
            .load(&mut walker, false)
            .map_err(|e| {
                let m = e.marker();
                YamlSyntaxError {
                    position: position_of(m),
                    message: e.info().to_string(),
                }
            })?;
        Ok(Self {
            by_path: walker.found,
        })
    }

    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.by_path.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn position_of(m: &Marker) -> Position {
    Position {
        line: m.line(),
        column: m.col() + 1,
    }
}

enum Frame {
    Map { key: Option<String> },
    Seq { index: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    path: Vec<String>,
    found: HashMap<String, Position>,
}

impl Walker {
    fn joined(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            if !seg.starts_with('[') && !s.is_empty() {
                s.push('.');
            }
            s.push_str(seg);
        }
        s
    }

    /// Called before a value (scalar or collection) starts: names it in the path.
    fn enter_value(&mut self, mark: Marker) -> bool {
        match self.stack.last_mut() {
            Some(Frame::Map { key: Some(_) }) => true,
            Some(Frame::Seq { index }) => {
                let seg = format!("[{index}]");
                *index += 1;
                self.path.push(seg);
                let p = self.joined();
                self.found.entry(p).or_insert(position_of(&mark));
                true
            }
            _ => false,
        }
    }

    fn leave_value(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key }) if key.is_some() => {
                *key = None;
                self.path.pop();
            }
            Some(Frame::Seq { .. }) => {
                self.path.pop();
            }
            _ => {}
        }
    }

    /// A value with no children: named, recorded and left at once.
    fn leaf_value(&mut self, mark: Marker) {
        if self.enter_value(mark) {
            self.leave_value();
        }
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, ..) => {
                if let Some(Frame::Map { key: key @ None }) = self.stack.last_mut() {
                    *key = Some(text.clone());
                    self.path.push(text);
                    let p = self.joined();
                    self.found.entry(p).or_insert(position_of(&mark));
                } else {
                    self.leaf_value(mark);
                }
            }
            Event::Alias(_) => self.leaf_value(mark),
            Event::MappingStart(..) => {
                self.enter_value(mark);
                self.stack.push(Frame::Map { key: None });
            }
            Event::SequenceStart(..) => {
                self.enter_value(mark);
                self.stack.push(Frame::Seq { index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.leave_value();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keys_and_items_with_their_lines() {
        let text = "a:\n  b: 1\n  list:\n    - x: 2\n    - y\nc: [1, 2]\n";
        let pos = FieldPositions::index(text).unwrap();
        assert_eq!(pos.find("a").unwrap().line, 1);
        assert_eq!(pos.find("a.b").unwrap(), Position { line: 2, column: 3 });
        assert_eq!(pos.find("a.list[0].x").unwrap().line, 4);
        assert_eq!(pos.find("a.list[1]").unwrap().line, 5);
        assert_eq!(pos.find("c").unwrap().line, 6);
        // An unknown deeper path falls back to its nearest ancestor.
        assert_eq!(pos.find("a.list[0].x.z").unwrap().line, 4);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let YamlSyntaxError {
            position: pos,
            message: msg,
        } = FieldPositions::index("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(pos.line >= 1, "{pos:?}");
        assert!(!msg.is_empty());
    }
}
