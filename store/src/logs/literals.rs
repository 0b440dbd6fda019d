//! What any match of a regular expression must contain, so a regex log search can skip
//! stored batches whose body-trigram filter rules those texts out, as substring searches do.
//!
//! Every match of an unanchored regex starts with one of its prefix literals and ends with
//! one of its suffix literals (when those sets are finite). A batch that may hold none of
//! the prefixes, or none of the suffixes, holds no match.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::bloom::{may_contain_bytes, Bloom};

/// Sets of literals of which a matching text holds at least one each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredLiterals {
    sets: Vec<Vec<Vec<u8>>>,
}

/// Literals shorter than a trigram cannot be checked against the filter.
const MIN_LEN: usize = 3;

impl RequiredLiterals {
    /// The literals a match of `pattern` must hold (none when it cannot be narrowed, or the
    /// pattern does not parse).
    pub fn of(pattern: &str) -> Self {
        let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
            return Self::default();
        };
        let mut sets = Vec::new();
        for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
            let seq = Extractor::new().kind(kind).extract(&hir);
            let Some(literals) = seq.literals() else {
                continue; // infinite: anything may begin (or end) a match
            };
            if !literals.is_empty() && literals.iter().all(|l| l.as_bytes().len() >= MIN_LEN) {
                sets.push(literals.iter().map(|l| l.as_bytes().to_vec()).collect());
            }
        }
        Self { sets }
    }

    /// Whether a batch with this body-trigram filter may hold a match.
    pub fn may_match(&self, filter: &Bloom) -> bool {
        self.sets
            .iter()
            .all(|any| any.iter().any(|l| may_contain_bytes(filter, l)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::bloom::trigrams;
    use super::*;

    fn sets(pattern: &str) -> Vec<Vec<String>> {
        RequiredLiterals::of(pattern)
            .sets
            .into_iter()
            .map(|s| {
                let mut s: Vec<String> = s
                    .into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect();
                s.sort();
                s
            })
            .collect()
    }

    #[test]
    fn literal_prefixes_and_suffixes_are_required() {
        assert_eq!(
            sets("declined by bank-[ab]"),
            vec![
                vec!["declined by bank-a", "declined by bank-b"],
                vec!["declined by bank-a", "declined by bank-b"],
            ]
        );
        // The suffix "ms" is too short to check; the prefixes are not.
        assert_eq!(
            sets("(timeout|refused) after \\d+ms"),
            vec![vec!["refused after ", "timeout after "]]
        );
        assert_eq!(
            sets(".*reconciliation mismatch"),
            vec![vec!["reconciliation mismatch"]]
        );
        // Nothing every match must hold (or nothing long enough to check).
        assert!(RequiredLiterals::of("a*").sets.is_empty());
        assert!(RequiredLiterals::of("\\w+").sets.is_empty());
        assert!(RequiredLiterals::of("ab|cd").sets.is_empty());
        assert!(RequiredLiterals::of("(unclosed").sets.is_empty());
    }

    #[test]
    fn batches_without_the_literals_are_ruled_out() {
        let tri = trigrams(["payment declined by bank-a", "ledger entry posted"].into_iter());
        let mut f = Bloom::with_capacity(tri.len(), 10);
        for h in &tri {
            f.insert(*h);
        }
        assert!(RequiredLiterals::of("declined by bank-[ab]").may_match(&f));
        assert!(RequiredLiterals::of("(?i)LEDGER entry").may_match(&f));
        assert!(RequiredLiterals::of("\\d+").may_match(&f), "not narrowed");
        assert!(!RequiredLiterals::of("reconciliation (failed|mismatch)").may_match(&f));
    }
}
