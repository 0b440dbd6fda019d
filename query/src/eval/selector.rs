//! From a parsed vector selector to store matchers and time adjustments.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp as PMatchOp, Matcher as PMatcher};
use promql_parser::parser::{AtModifier, Offset, VectorSelector};
use taishan_store::{MatchOp, Matcher};

use super::QueryError;

/// A selector ready to run: alternative matcher sets (a series matching any set is selected)
/// and how to shift evaluation time.
#[derive(Debug, Clone)]
pub struct SelectorPlan {
    /// Each inner list is ANDed; the lists are ORed.
    pub matcher_sets: Vec<Vec<Matcher>>,
    /// `offset` in ms (positive looks back).
    pub offset_ms: i64,
    /// `@` pinned evaluation time in ms, resolved against the query's start and end.
    pub at_ms: Option<i64>,
}

impl SelectorPlan {
    /// Plans `vs` for a query spanning `[start_ms, end_ms]`.
    pub fn new(vs: &VectorSelector, start_ms: i64, end_ms: i64) -> Result<Self, QueryError> {
        let base: Vec<Matcher> = vs
            .matchers
            .matchers
            .iter()
            .map(convert)
            .collect::<Result<_, _>>()?;
        let mut sets = if vs.matchers.or_matchers.is_empty() {
            vec![base]
        } else {
            vs.matchers
                .or_matchers
                .iter()
                .map(|alt| {
                    let mut set = base.clone();
                    for m in alt {
                        set.push(convert(m)?);
                    }
                    Ok(set)
                })
                .collect::<Result<Vec<_>, QueryError>>()?
        };
        if let Some(name) = &vs.name {
            for set in &mut sets {
                if !set
                    .iter()
                    .any(|m| m.name == "__name__" && m.op == MatchOp::Equal && m.value == *name)
                {
                    set.push(Matcher::equal("__name__", name.clone()));
                }
            }
        }
        for set in &sets {
            if set.iter().all(|m| m.matches_empty()) {
                return Err(QueryError::BadData(
                    "vector selector must contain at least one non-empty matcher".into(),
                ));
            }
        }
        let offset_ms = match &vs.offset {
            None => 0,
            Some(Offset::Pos(d)) => duration_ms(*d),
            Some(Offset::Neg(d)) => -duration_ms(*d),
        };
        let at_ms = match &vs.at {
            None => None,
            Some(AtModifier::Start) => Some(start_ms),
            Some(AtModifier::End) => Some(end_ms),
            Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
        };
        Ok(Self {
            matcher_sets: sets,
            offset_ms,
            at_ms,
        })
    }

    /// The time whose data answers evaluation at `t`.
    pub fn data_time(&self, t: i64) -> i64 {
        self.at_ms.unwrap_or(t) - self.offset_ms
    }
}

fn convert(m: &PMatcher) -> Result<Matcher, QueryError> {
    let op = match m.op {
        PMatchOp::Equal => MatchOp::Equal,
        PMatchOp::NotEqual => MatchOp::NotEqual,
        PMatchOp::Re(_) => MatchOp::Regex,
        PMatchOp::NotRe(_) => MatchOp::NotRegex,
    };
    Matcher::new(op, m.name.clone(), m.value.clone())
        .map_err(|e| QueryError::BadData(e.to_string()))
}

/// A duration in whole milliseconds.
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_ms(d),
        Err(e) => -duration_ms(e.duration()),
    }
}
