//! Loading what `rules.files` names: Prometheus rule files and Taishan action files (told
//! apart by their top-level key), every problem of every file reported together, and every
//! action checked against the alerting rules loaded with it.

use std::path::PathBuf;

use crate::actions::ActionFile;
use crate::file::{RuleFile, RuleFileError};

/// Rule files and action files, checked together.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Prometheus rule files.
    pub rules: Vec<RuleFile>,
    /// Taishan action files.
    pub actions: Vec<ActionFile>,
}

/// One file's text and the name it is known by.
#[derive(Debug, Clone)]
pub struct NamedText {
    /// The file as named (also what seeds its groups' evaluation slots).
    pub name: String,
    /// Its YAML.
    pub text: String,
}

impl RuleSet {
    /// Reads the files at `paths`.
    pub fn load(paths: &[PathBuf]) -> Result<Self, Vec<RuleFileError>> {
        let mut texts = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            let name = p.display().to_string();
            match std::fs::read_to_string(p) {
                Ok(text) => texts.push(NamedText { name, text }),
                Err(e) => errors.push(RuleFileError {
                    file: name,
                    position: None,
                    context: String::new(),
                    message: format!("cannot read the file: {e}"),
                }),
            }
        }
        match Self::parse(&texts) {
            Ok(set) if errors.is_empty() => Ok(set),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    /// Parses named texts and checks every action against the alerting rules among them.
    pub fn parse(texts: &[NamedText]) -> Result<Self, Vec<RuleFileError>> {
        let set = Self::parse_each(texts)?;
        set.check_actions()?;
        Ok(set)
    }

    /// Parses named texts, each on its own: actions are not yet checked against the rules.
    pub fn parse_each(texts: &[NamedText]) -> Result<Self, Vec<RuleFileError>> {
        let mut set = Self::default();
        let mut errors = Vec::new();
        for t in texts {
            let parsed = if ActionFile::looks_like(&t.text) {
                ActionFile::parse(&t.name, &t.text).map(|a| set.actions.push(a))
            } else {
                RuleFile::parse(&t.name, &t.text).map(|r| set.rules.push(r))
            };
            if let Err(e) = parsed {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// Checks that every action names an alerting rule of this set.
    pub fn check_actions(&self) -> Result<(), Vec<RuleFileError>> {
        let errors: Vec<RuleFileError> = self
            .actions
            .iter()
            .flat_map(|a| a.check_against(&self.rules))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Adds `other`'s files to this set.
    pub fn extend(&mut self, other: RuleSet) {
        self.rules.extend(other.rules);
        self.actions.extend(other.actions);
    }

    /// Rules in all rule files.
    pub fn rule_count(&self) -> usize {
        self.rules.iter().map(RuleFile::rule_count).sum()
    }

    /// Actions in all action files.
    pub fn action_count(&self) -> usize {
        self.actions.iter().map(|a| a.actions.len()).sum()
    }
}
