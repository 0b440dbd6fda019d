//! A config file made of sections, each owned by the part that reads it: the part says its
//! section's name, defaults and checks ([`Section`]); the composition lists the sections
//! its file has ([`SectionedConfig`]); [`load_str`] reads each section on its own and
//! checks them all, so one bad section hides neither the others' errors nor their checks.

use std::fmt::Debug;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{parse_placed, read_section, ConfigDiagnostic, FieldError};

/// One part's section of the config file: `name:` at the top level, its fields, their
/// defaults (an absent or empty section is `Default`), and the checks serde cannot make.
pub trait Section: DeserializeOwned + Serialize + Default + Debug + Clone {
    /// The top-level key.
    const NAME: &'static str;

    /// Checks ranges, cross-field rules and names; each error's path starts with
    /// [`Section::NAME`].
    fn validate(&self, _errors: &mut Vec<FieldError>) {}
}

/// A section as a [`SectionedConfig`] holds it, whatever its type.
pub trait SectionSlot {
    /// The top-level key.
    fn name(&self) -> &'static str;
    /// Replaces the section with what `value` says; an error leaves it at its default.
    fn read(&mut self, value: serde_yaml_ng::Value, errors: &mut Vec<FieldError>);
    /// [`Section::validate`].
    fn check(&self, errors: &mut Vec<FieldError>);
}

impl<T: Section> SectionSlot for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn read(&mut self, value: serde_yaml_ng::Value, errors: &mut Vec<FieldError>) {
        read_section(T::NAME, value, errors, self);
    }

    fn check(&self, errors: &mut Vec<FieldError>) {
        self.validate(errors);
    }
}

/// A whole config file: the sections it is made of, listed once.
pub trait SectionedConfig: Default {
    /// Every section, in the order `taishan check` names them.
    fn sections(&mut self) -> Vec<&mut dyn SectionSlot>;
}

/// Reads and checks the config file at `path`.
pub fn load_file<C: SectionedConfig>(path: &Path) -> Result<C, Vec<ConfigDiagnostic>> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&file, &text),
        Err(e) => Err(vec![ConfigDiagnostic {
            file,
            position: None,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
        }]),
    }
}

/// Parses and checks config `text`; `file` names it in diagnostics.
pub fn load_str<C: SectionedConfig>(file: &str, text: &str) -> Result<C, Vec<ConfigDiagnostic>> {
    // An empty file is a config of defaults, not a syntax error.
    let text = if text.trim().is_empty() { "~" } else { text };
    parse_placed(file, text, |root| {
        let mut errors = Vec::new();
        let Some((mut config, failed)) = read_sections::<C>(root, &mut errors) else {
            return Err(errors);
        };
        let mut found = Vec::new();
        for section in config.sections() {
            section.check(&mut found);
        }
        // Sections that did not deserialize hold defaults: their checks would mislead.
        errors.extend(
            found
                .into_iter()
                .filter(|e| !failed.iter().any(|s| e.path.starts_with(s.as_str()))),
        );
        match errors.is_empty() {
            true => Ok(config),
            false => Err(errors),
        }
    })
}

/// A file that holds one section alone: for a part's own tests and tools.
pub fn load_section<T: Section>(file: &str, text: &str) -> Result<T, Vec<ConfigDiagnostic>> {
    #[derive(Default)]
    struct Only<T>(T);
    impl<T: Section> SectionedConfig for Only<T> {
        fn sections(&mut self) -> Vec<&mut dyn SectionSlot> {
            vec![&mut self.0]
        }
    }
    load_str::<Only<T>>(file, text).map(|only| only.0)
}

/// Deserializes each section on its own; the config (failed sections at their defaults)
/// and the names of the failed sections, or `None` when the root is not a mapping.
fn read_sections<C: SectionedConfig>(
    root: serde_yaml_ng::Value,
    errors: &mut Vec<FieldError>,
) -> Option<(C, Vec<String>)> {
    let mapping = match root {
        serde_yaml_ng::Value::Null => return Some((C::default(), Vec::new())),
        serde_yaml_ng::Value::Mapping(m) => m,
        _ => {
            errors.push(FieldError::new(
                "",
                "the config must be a mapping of sections",
            ));
            return None;
        }
    };
    let mut config = C::default();
    let mut failed = Vec::new();
    for (key, value) in mapping {
        let Some(name) = key.as_str() else {
            errors.push(FieldError::new(
                "",
                format!("section names must be text, got {key:?}"),
            ));
            continue;
        };
        let before = errors.len();
        let mut sections = config.sections();
        match sections.iter_mut().find(|s| s.name() == name) {
            Some(section) => section.read(value, errors),
            None => {
                let known: Vec<&str> = sections.iter().map(|s| s.name()).collect();
                errors.push(FieldError::new(
                    name,
                    format!(
                        "unknown section `{name}`; known sections: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        if errors.len() > before {
            failed.push(name.to_string());
        }
    }
    Some((config, failed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Pool {
        #[serde(default)]
        size: u32,
    }

    impl Section for Pool {
        const NAME: &'static str = "pool";
        fn validate(&self, errors: &mut Vec<FieldError>) {
            if self.size > 10 {
                errors.push(FieldError::new("pool.size", "must be at most 10"));
            }
        }
    }

    #[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cache {
        #[serde(default)]
        entries: u32,
    }

    impl Section for Cache {
        const NAME: &'static str = "cache";
        fn validate(&self, errors: &mut Vec<FieldError>) {
            if self.entries == 7 {
                errors.push(FieldError::new("cache.entries", "7 is not allowed"));
            }
        }
    }

    #[derive(Default, Debug)]
    struct Both {
        pool: Pool,
        cache: Cache,
    }

    impl SectionedConfig for Both {
        fn sections(&mut self) -> Vec<&mut dyn SectionSlot> {
            vec![&mut self.pool, &mut self.cache]
        }
    }

    #[test]
    fn every_section_is_read_and_checked_and_problems_are_placed() {
        let ok = load_str::<Both>("t.yaml", "pool:\n  size: 3\ncache:\n").unwrap();
        assert_eq!((ok.pool.size, ok.cache.entries), (3, 0));
        let errors = load_str::<Both>(
            "t.yaml",
            "pool:\n  size: 11\ncache:\n  entries: many\nspool: {}\n",
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text[0].starts_with("t.yaml:4:3: cache.entries: invalid type"),
            "{text:?}"
        );
        assert_eq!(
            text[1],
            "t.yaml:5:1: spool: unknown section `spool`; known sections: pool, cache"
        );
        assert_eq!(text[2], "t.yaml:2:3: pool.size: must be at most 10");
    }

    #[test]
    fn a_section_that_does_not_read_hides_no_other_sections_checks() {
        let errors =
            load_str::<Both>("t.yaml", "pool:\n  size: x\ncache:\n  entries: 7\n").unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with("t.yaml:2:3: pool.size: invalid type"),
            "{text:?}"
        );
        assert_eq!(text[1], "t.yaml:4:3: cache.entries: 7 is not allowed");
        assert!(load_str::<Both>("t.yaml", "[1, 2]\n").is_err());
        assert!(load_str::<Both>("t.yaml", "").is_ok());
    }

    #[test]
    fn one_section_alone_is_read_as_the_whole_file_would_read_it() {
        assert_eq!(
            load_section::<Pool>("p.yaml", "pool:\n  size: 2\n")
                .unwrap()
                .size,
            2
        );
        let errors = load_section::<Pool>("p.yaml", "cache: {}\n").unwrap_err();
        assert!(
            errors[0].to_string().contains("known sections: pool"),
            "{errors:?}"
        );
    }
}
