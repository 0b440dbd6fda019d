//! The inverted index: for each label name and value, the ids of the series that carry it.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use crate::interned::{LabelPair, Sym};
use taishan_core::matcher::{MatchOp, Matcher};

/// Postings of one set of series (one tenant in the head, or in a block).
#[derive(Debug, Default, Clone)]
pub struct Postings {
    by_label: HashMap<Sym, HashMap<Sym, RoaringBitmap>>,
    all: RoaringBitmap,
}

impl Postings {
    /// Indexes series `id`.
    pub fn add(&mut self, id: u32, labels: &[LabelPair]) {
        self.all.insert(id);
        for p in labels {
            self.by_label
                .entry(p.name.clone())
                .or_default()
                .entry(p.value.clone())
                .or_default()
                .insert(id);
        }
    }

    /// Removes series `id`.
    pub fn remove(&mut self, id: u32, labels: &[LabelPair]) {
        self.all.remove(id);
        for p in labels {
            if let Some(values) = self.by_label.get_mut(&p.name) {
                if let Some(ids) = values.get_mut(&p.value) {
                    ids.remove(id);
                    if ids.is_empty() {
                        values.remove(&p.value);
                    }
                }
                if values.is_empty() {
                    self.by_label.remove(&p.name);
                }
            }
        }
    }

    /// Number of series indexed.
    pub fn len(&self) -> u64 {
        self.all.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Ids of the series selected by all `matchers` (every series when there are none).
    pub fn select(&self, matchers: &[Matcher]) -> RoaringBitmap {
        let mut result: Option<RoaringBitmap> = None;
        // Matchers that cannot select a series lacking the label narrow by union of values.
        for m in matchers.iter().filter(|m| !m.matches_empty()) {
            let ids = self.union_where(&m.name, m, true);
            result = Some(match result {
                Some(r) => r & ids,
                None => ids,
            });
            if result.as_ref().is_some_and(|r| r.is_empty()) {
                return RoaringBitmap::new();
            }
        }
        let mut result = result.unwrap_or_else(|| self.all.clone());
        // The others remove the series whose value fails them.
        for m in matchers.iter().filter(|m| m.matches_empty()) {
            result -= self.union_where(&m.name, m, false);
        }
        result
    }

    /// Union of the postings of `name`'s values for which `m.matches(value) == wanted`.
    fn union_where(&self, name: &str, m: &Matcher, wanted: bool) -> RoaringBitmap {
        let Some(values) = self.by_label.get(name) else {
            return RoaringBitmap::new();
        };
        if m.op == MatchOp::Equal && wanted {
            return values.get(m.value.as_str()).cloned().unwrap_or_default();
        }
        let mut out = RoaringBitmap::new();
        for (value, ids) in values {
            if m.matches(value) == wanted {
                out |= ids;
            }
        }
        out
    }

    /// Label names carried by any series in `ids`.
    pub fn label_names(&self, ids: &RoaringBitmap) -> Vec<Sym> {
        self.by_label
            .iter()
            .filter(|(_, values)| values.values().any(|v| !v.is_disjoint(ids)))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Values of `name` carried by any series in `ids`.
    pub fn label_values(&self, name: &str, ids: &RoaringBitmap) -> Vec<Sym> {
        self.by_label
            .get(name)
            .map(|values| {
                values
                    .iter()
                    .filter(|(_, v)| !v.is_disjoint(ids))
                    .map(|(value, _)| value.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(labels: &[(String, String)]) -> Vec<LabelPair> {
        let mut v: Vec<LabelPair> = labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| LabelPair {
                name: Sym::new(n),
                value: Sym::new(v),
            })
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.name == b.name);
        v
    }

    fn brute_force(series: &[Vec<LabelPair>], matchers: &[Matcher]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for (id, labels) in series.iter().enumerate() {
            let ok = matchers.iter().all(|m| {
                let v = labels
                    .iter()
                    .find(|p| *p.name == *m.name)
                    .map(|p| p.value.as_ref())
                    .unwrap_or("");
                m.matches(v)
            });
            if ok {
                out.insert(id as u32);
            }
        }
        out
    }

    fn arb_matcher() -> impl Strategy<Value = Matcher> {
        (
            prop_oneof![Just("a"), Just("b"), Just("c")],
            prop_oneof![
                Just(MatchOp::Equal),
                Just(MatchOp::NotEqual),
                Just(MatchOp::Regex),
                Just(MatchOp::NotRegex)
            ],
            prop_oneof![
                Just(""),
                Just("x"),
                Just("y"),
                Just("x|y"),
                Just(".*"),
                Just(".+"),
                Just("x.*")
            ],
        )
            .prop_map(|(n, op, v)| Matcher::new(n, op, v).unwrap())
    }

    proptest! {
        #[test]
        fn select_agrees_with_checking_every_series(
            series in proptest::collection::vec(
                proptest::collection::vec(
                    (prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(String::from),
                     prop_oneof![Just(""), Just("x"), Just("y"), Just("xz")].prop_map(String::from)),
                    0..4),
                0..40),
            matchers in proptest::collection::vec(arb_matcher(), 0..4),
        ) {
            let series: Vec<Vec<LabelPair>> = series.iter().map(|s| pairs(s)).collect();
            let mut index = Postings::default();
            for (id, labels) in series.iter().enumerate() {
                index.add(id as u32, labels);
            }
            prop_assert_eq!(index.select(&matchers), brute_force(&series, &matchers));
            // Removing half the series keeps the index consistent.
            let mut remaining = series.clone();
            for (id, labels) in series.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
                index.remove(id as u32, labels);
                remaining[id] = Vec::new();
            }
            let mut expected = brute_force(&remaining, &matchers);
            for id in (0..series.len() as u32).filter(|i| i % 2 == 0) {
                expected.remove(id);
            }
            prop_assert_eq!(index.select(&matchers), expected);
        }
    }

    #[test]
    fn regexes_are_anchored() {
        let m = Matcher::new("a", MatchOp::Regex, "x").unwrap();
        assert!(m.matches("x"));
        assert!(!m.matches("xx"));
        assert!(Matcher::new("a", MatchOp::Regex, "(").is_err());
    }
}
