//! The YAML configuration: schema, defaults, loading with positions, and validation.
//!
//! Loading never stops at the first problem: each top-level section is deserialized on its own
//! and every section is validated, so `taishan check` can print all errors at once, each as
//! `file:line:column: field.path: what is wrong`.

mod alerter;
mod analyzer;
mod chaos;
mod demo;
mod ingest;
mod logs;
mod placed;
mod positions;
mod query;
mod rules;
mod scrape;
mod segmented;
mod server;
mod size;
mod storage;
mod traces;

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use alerter::{AlerterConfig, ReceiverRateLimit};
pub use analyzer::{AnalyzerConfig, WatchConfig};
pub use chaos::{ChaosConfig, ProxyConfig, ScheduledDrill};
pub use demo::{ChannelProfile, DemoConfig, TrafficConfig};
pub use ingest::IngestConfig;
pub use logs::LogsConfig;
pub use placed::parse_placed;
pub use positions::{FieldPositions, Position, YamlSyntaxError};
pub use query::QueryConfig;
pub use rules::RulesConfig;
pub use scrape::{ScrapeConfig, ScrapeJob};
pub use server::ServerConfig;
pub use size::ByteSize;
pub use storage::{StorageConfig, StorageLimits, WalConfig, WalSync};
pub use traces::TracesConfig;

/// The whole configuration of a Taishan process.
#[derive(Deserialize, Serialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listening addresses.
    #[serde(default)]
    pub server: ServerConfig,
    /// The embedded metrics store.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Ingest limits.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Scraping of static targets.
    #[serde(default)]
    pub scrape: ScrapeConfig,
    /// Query limits.
    #[serde(default)]
    pub query: QueryConfig,
    /// The trace store.
    #[serde(default)]
    pub traces: TracesConfig,
    /// The log store.
    #[serde(default)]
    pub logs: LogsConfig,
    /// The demo financial services and their traffic.
    #[serde(default)]
    pub demo: DemoConfig,
    /// The rule engine.
    #[serde(default)]
    pub rules: RulesConfig,
    /// The Alertmanager-compatible alerter.
    #[serde(default)]
    pub alerter: AlerterConfig,
    /// Drills: where they are and their schedule.
    #[serde(default)]
    pub chaos: ChaosConfig,
    /// The anomaly detectors: what they watch.
    #[serde(default)]
    pub analyzer: AnalyzerConfig,
}

const SECTIONS: &[&str] = &[
    "server", "storage", "ingest", "scrape", "query", "traces", "logs", "demo", "rules", "alerter",
    "chaos", "analyzer",
];

/// A problem with one field, before it is placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `scrape.jobs[0].timeout`.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl FieldError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A problem placed in a file: what `taishan check` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDiagnostic {
    /// The file as given.
    pub file: String,
    /// Where in it, when known.
    pub position: Option<Position>,
    /// The field path (empty for syntax errors).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.column)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl Config {
    /// Reads and checks a config file.
    pub fn load_file(path: &Path) -> Result<Config, Vec<ConfigDiagnostic>> {
        Self::load_file_with(path, &|_| Vec::new())
    }

    /// Reads and checks a config file, with `more` checks that only the caller can make
    /// (names of receivers the binary links, ...); their errors get positions too.
    pub fn load_file_with(
        path: &Path,
        more: &dyn Fn(&Config) -> Vec<FieldError>,
    ) -> Result<Config, Vec<ConfigDiagnostic>> {
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::load_str_with(&file, &text, more),
            Err(e) => Err(vec![ConfigDiagnostic {
                file,
                position: None,
                path: String::new(),
                message: format!("cannot read the file: {e}"),
            }]),
        }
    }

    /// Parses and checks config text; `file` names it in diagnostics.
    pub fn load_str(file: &str, text: &str) -> Result<Config, Vec<ConfigDiagnostic>> {
        Self::load_str_with(file, text, &|_| Vec::new())
    }

    /// [`Self::load_str`] with `more` checks of the caller's.
    pub fn load_str_with(
        file: &str,
        text: &str,
        more: &dyn Fn(&Config) -> Vec<FieldError>,
    ) -> Result<Config, Vec<ConfigDiagnostic>> {
        // An empty file is a config of defaults, not a syntax error.
        let text = if text.trim().is_empty() { "~" } else { text };
        parse_placed(file, text, |root| {
            let mut errors = Vec::new();
            let (config, failed) = deserialize_sections(root, &mut errors);
            if let Some(config) = &config {
                // Sections that did not deserialize hold defaults: their checks would mislead.
                let mut found = config.validate();
                found.extend(more(config));
                errors.extend(
                    found
                        .into_iter()
                        .filter(|e| !failed.iter().any(|s| e.path.starts_with(s.as_str()))),
                );
            }
            match config {
                Some(config) if errors.is_empty() => Ok(config),
                _ => Err(errors),
            }
        })
    }

    /// Checks the relations serde cannot: ranges, cross-field rules, names. Returns every error.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        self.storage.validate(&mut errors);
        self.ingest.validate(&mut errors);
        self.scrape.validate(&mut errors);
        self.query.validate(&mut errors);
        self.traces.validate(&mut errors);
        self.logs.validate(&mut errors);
        self.demo.validate(&mut errors);
        self.rules.validate(&mut errors);
        self.alerter.validate(&mut errors);
        self.chaos.validate(&mut errors);
        self.analyzer.validate(&mut errors);
        errors
    }
}

/// Deserializes each section on its own so one bad section does not hide the others' errors.
/// Returns the config (failed sections left at their defaults) and the failed sections.
fn deserialize_sections(
    root: serde_yaml_ng::Value,
    errors: &mut Vec<FieldError>,
) -> (Option<Config>, Vec<String>) {
    let mapping = match root {
        serde_yaml_ng::Value::Null => return (Some(Config::default()), Vec::new()),
        serde_yaml_ng::Value::Mapping(m) => m,
        _ => {
            errors.push(FieldError::new(
                "",
                "the config must be a mapping of sections",
            ));
            return (None, Vec::new());
        }
    };
    let mut config = Config::default();
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
        match name {
            "server" => read_section(name, value, errors, &mut config.server),
            "storage" => read_section(name, value, errors, &mut config.storage),
            "ingest" => read_section(name, value, errors, &mut config.ingest),
            "scrape" => read_section(name, value, errors, &mut config.scrape),
            "query" => read_section(name, value, errors, &mut config.query),
            "traces" => read_section(name, value, errors, &mut config.traces),
            "logs" => read_section(name, value, errors, &mut config.logs),
            "demo" => read_section(name, value, errors, &mut config.demo),
            "rules" => read_section(name, value, errors, &mut config.rules),
            "alerter" => read_section(name, value, errors, &mut config.alerter),
            "chaos" => read_section(name, value, errors, &mut config.chaos),
            "analyzer" => read_section(name, value, errors, &mut config.analyzer),
            other => errors.push(FieldError::new(
                other,
                format!(
                    "unknown section `{other}`; known sections: {}",
                    SECTIONS.join(", ")
                ),
            )),
        }
        if errors.len() > before {
            failed.push(name.to_string());
        }
    }
    (Some(config), failed)
}

/// Deserializes one top-level section `name` of a YAML file into `slot` (left at its default
/// when the section is empty), an error placed at the offending field's path. Shared by every
/// file read section by section, so one bad section does not hide the others' errors.
pub fn read_section<T: DeserializeOwned + Default>(
    name: &str,
    value: serde_yaml_ng::Value,
    errors: &mut Vec<FieldError>,
    slot: &mut T,
) {
    if value.is_null() {
        *slot = T::default();
        return;
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => *slot = v,
        Err(e) => {
            let inner = e.path().to_string();
            // serde_path_to_error's path already ends at the offending field (unknown ones too).
            let path = if inner == "." {
                name.to_string()
            } else if inner.starts_with('[') {
                format!("{name}{inner}")
            } else {
                format!("{name}.{inner}")
            };
            let message = e.into_inner().to_string();
            errors.push(FieldError::new(path, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_gives_the_documented_defaults() {
        let c = Config::load_str("c.yaml", "").unwrap();
        assert_eq!(c.server.http_listen.to_string(), "127.0.0.1:7070");
        assert_eq!(c.storage.wal.sync, WalSync::Always);
        assert_eq!(c.storage.block_duration.as_secs(), 7200);
        assert_eq!(c.scrape.interval.as_secs(), 15);
        assert_eq!(c.ingest.max_body_size, ByteSize::mib(32));
    }

    #[test]
    fn every_error_is_reported_with_file_line_column_and_path() {
        let text = "\
server:
  http_listen: 127.0.0.1:7070
storage:
  retention: 1h
  block_duration: 2h
  wal:
    sink: always
ingest:
  queue_capacity: lots
scrape:
  jobs:
    - job_name: api
      targets: [\"localhost\"]
      timeout: 30s
";
        let errs = Config::load_str("taishan.yaml", text).unwrap_err();
        let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let all = lines.join("\n");
        assert!(
            all.contains("taishan.yaml:7:5: storage.wal.sink: unknown field `sink`"),
            "{all}"
        );
        assert!(
            all.contains("taishan.yaml:9:3: ingest.queue_capacity: invalid type"),
            "{all}"
        );
        // Errors of one section hide neither another section's deserialization errors nor
        // the validation of the sections that did deserialize.
        assert!(
            all.contains("taishan.yaml:13:17: scrape.jobs[0].targets[0]"),
            "{all}"
        );
        assert!(
            all.contains("taishan.yaml:14:7: scrape.jobs[0].timeout: must not exceed"),
            "{all}"
        );
        assert_eq!(lines.len(), 4, "{all}");
    }

    #[test]
    fn log_and_trace_stores_are_checked_alike() {
        let text = "\
logs:
  retention: 30s
  segment_size: 1KiB
traces:
  retention: 10s
  segment_size: 4KiB
  signals_interval: 100ms
";
        let errs = Config::load_str("taishan.yaml", text).unwrap_err();
        let all = errs
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        for expected in [
            "taishan.yaml:2:3: logs.retention: must be at least 1m",
            "taishan.yaml:3:3: logs.segment_size: must be at least 64KiB",
            "taishan.yaml:5:3: traces.retention: must be at least 1m",
            "taishan.yaml:6:3: traces.segment_size: must be at least 64KiB",
            "taishan.yaml:7:3: traces.signals_interval: must be at least 1s",
        ] {
            assert!(all.contains(expected), "{expected} in:\n{all}");
        }
        assert_eq!(errs.len(), 5, "{all}");
        let ok = Config::load_str("taishan.yaml", "").unwrap();
        assert_eq!(ok.logs.retention.as_secs(), 7 * 24 * 3600);
        assert_eq!(ok.traces.segment_size, ByteSize::mib(64));
    }

    #[test]
    fn validation_errors_are_all_reported() {
        let text = "\
storage:
  retention: 1h
  block_duration: 2h
scrape:
  jobs:
    - job_name: api
      targets: [\"localhost\", \"db:5432\"]
      timeout: 30s
    - job_name: api
      targets: [\"x:1\"]
";
        let errs = Config::load_str("t.yaml", text).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let all = all.join("\n");
        assert!(
            all.contains("t.yaml:2:3: storage.retention: must be at least"),
            "{all}"
        );
        assert!(
            all.contains(
                "t.yaml:7:17: scrape.jobs[0].targets[0]: target \"localhost\" must be host:port"
            ),
            "{all}"
        );
        assert!(
            all.contains("t.yaml:8:7: scrape.jobs[0].timeout: must not exceed"),
            "{all}"
        );
        assert!(
            all.contains("t.yaml:9:7: scrape.jobs[1].job_name: job \"api\" is defined twice"),
            "{all}"
        );
        assert_eq!(errs.len(), 4, "{all}");
    }

    #[test]
    fn unknown_sections_and_syntax_errors_are_explained() {
        let errs = Config::load_str("x.yaml", "storge:\n  retention: 1d\n").unwrap_err();
        assert!(errs[0]
            .to_string()
            .contains("x.yaml:1:1: storge: unknown section `storge`"));
        let errs = Config::load_str("x.yaml", "a: [1\n").unwrap_err();
        assert!(errs[0].position.is_some());
    }
}
