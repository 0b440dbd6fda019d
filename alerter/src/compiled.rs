//! A config ready to run: the file as written, its routing tree and each receiver's built
//! integrations. Compiling is all-or-nothing, so a reload either takes the whole new file
//! or keeps the old one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use taishan_template::TemplateSet;

use taishan_core::config::FieldError;

use crate::config::{self, AlertmanagerConfig, ConfigErrors, GlobalConfig};
use crate::inhibit::InhibitRule;
use crate::notifiers::{self, Integration};
use crate::oncall::{ContactEnv, OnCall, Team};
use crate::routing::RouteTree;
use crate::time_intervals::{TimeInterval, TimeIntervals};

/// A compiled config.
#[derive(Debug, Clone)]
pub struct CompiledConfig {
    /// The file as written.
    pub config: AlertmanagerConfig,
    /// Its text, served by `/api/v2/status` as Alertmanager does.
    pub original: String,
    /// The routing tree.
    pub routes: RouteTree,
    /// The inhibit rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// The named time intervals.
    pub time_intervals: TimeIntervals,
    /// Each receiver's integrations.
    pub receivers: BTreeMap<String, Vec<Integration>>,
    /// What loads but will not be delivered (integrations Taishan lacks).
    pub warnings: Vec<String>,
    /// The default templates and those of the `templates` files.
    pub templates: Arc<TemplateSet>,
    /// The on-call file: teams routes page (empty without one).
    pub oncall: Arc<OnCall>,
}

/// An on-call file to compile with the config: its name and text.
#[derive(Debug, Clone)]
pub struct OnCallSource {
    /// Its path, for errors.
    pub file: String,
    /// Its text.
    pub text: String,
}

impl OnCallSource {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigErrors> {
        config::read_file(path).map(|(file, text)| Self { file, text })
    }

    /// The names routes may use for it: each team's, and `owner` when it has a `services`
    /// section. A quick read: the file is checked whole when compiled.
    fn receiver_names(&self) -> BTreeSet<String> {
        let root: serde_yaml_ng::Value = serde_yaml_ng::from_str(&self.text).unwrap_or_default();
        let mut names: BTreeSet<String> = root["teams"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str().map(str::to_string))
            .collect();
        if root.get("services").is_some() {
            names.insert(OWNER_RECEIVER.to_string());
        }
        names
    }
}

/// The receiver that pages the team owning each alert's service (by the on-call file's
/// `services`).
pub const OWNER_RECEIVER: &str = "owner";

impl CompiledConfig {
    /// Reads and compiles `path`.
    pub fn load_file(path: &Path, http: &reqwest::Client) -> Result<Self, ConfigErrors> {
        Self::load_files(path, None, http)
    }

    /// Reads and compiles `path` with the on-call file `oncall`, when there is one.
    pub fn load_files(
        path: &Path,
        oncall: Option<&Path>,
        http: &reqwest::Client,
    ) -> Result<Self, ConfigErrors> {
        let source = oncall.map(OnCallSource::read).transpose()?;
        let (file, text) = config::read_file(path)?;
        Self::compile_with_oncall(&file, &text, source.as_ref(), http)
    }

    /// The team `receiver` pages for an alert with `labels`: the team of that name, or for
    /// `owner` the team owning the alert; `None` for a plain receiver.
    pub fn team_for(&self, receiver: &str, labels: &crate::LabelSet) -> Option<&Arc<Team>> {
        match self.oncall.team(receiver) {
            Some(t) => Some(t),
            None if receiver == OWNER_RECEIVER => {
                self.oncall.owner(labels).and_then(|t| self.oncall.team(t))
            }
            None => None,
        }
    }

    /// Compiles config text; `file` names it in errors.
    pub fn compile(file: &str, text: &str, http: &reqwest::Client) -> Result<Self, ConfigErrors> {
        Self::compile_with_oncall(file, text, None, http)
    }

    /// Compiles config text with an on-call file, whose teams routes may name as receivers;
    /// the problems of both files together.
    pub fn compile_with_oncall(
        file: &str,
        text: &str,
        oncall: Option<&OnCallSource>,
        http: &reqwest::Client,
    ) -> Result<Self, ConfigErrors> {
        let teams = oncall.map(OnCallSource::receiver_names).unwrap_or_default();
        let mut receivers = BTreeMap::new();
        let mut warnings = Vec::new();
        let mut templates = Arc::new(TemplateSet::new());
        // Template globs are relative to the config file, as in Alertmanager.
        let base = Path::new(file).parent().unwrap_or(Path::new("."));
        let loaded = config::load_str(file, text, &teams, &mut |c: &AlertmanagerConfig| {
            match load_templates(&c.templates, base) {
                Ok(set) => templates = Arc::new(set),
                Err(e) => return e,
            }
            build_receivers(c, http, &templates, &mut receivers, &mut warnings)
        });
        let config = match (loaded, oncall) {
            (Ok(c), _) => c,
            (Err(e), None) => return Err(e),
            // Both files' problems at once: the on-call file is checked with the defaults.
            (Err(mut e), Some(src)) => {
                let defaults = Arc::new(load_templates(&[], base).unwrap_or_default());
                let env = ContactEnv {
                    global: &GlobalConfig::default(),
                    http,
                    templates: &defaults,
                };
                if let Err(more) = OnCall::load_str(&src.file, &src.text, env) {
                    e.0.extend(more.0);
                }
                return Err(e);
            }
        };
        let oncall = match oncall {
            None => OnCall::default(),
            Some(src) => {
                let env = ContactEnv {
                    global: &config.global,
                    http,
                    templates: &templates,
                };
                OnCall::load_str(&src.file, &src.text, env)?
            }
        };
        Ok(Self {
            oncall: Arc::new(oncall),
            routes: RouteTree::compile(&config.route),
            inhibit_rules: config
                .inhibit_rules
                .iter()
                .map(InhibitRule::compile)
                .collect(),
            time_intervals: TimeIntervals(
                config
                    .time_intervals
                    .iter()
                    .map(|t| {
                        // Checked when the file was loaded.
                        let set = t
                            .time_intervals
                            .iter()
                            .filter_map(|v| TimeInterval::parse(v, &t.path).ok())
                            .collect();
                        (t.name.clone(), set)
                    })
                    .collect(),
            ),
            config,
            original: text.to_string(),
            receivers,
            warnings,
            templates,
        })
    }
}

/// Taishan's default templates, under Alertmanager's names (`alerter/templates/default.tmpl`).
const DEFAULT_TEMPLATES: &str = include_str!("../templates/default.tmpl");

/// Builds every receiver's integrations; the problems of their settings.
fn build_receivers(
    c: &AlertmanagerConfig,
    http: &reqwest::Client,
    templates: &Arc<TemplateSet>,
    receivers: &mut BTreeMap<String, Vec<Integration>>,
    warnings: &mut Vec<String>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, r) in c.receivers.iter().enumerate() {
        let mut built = Vec::new();
        for integration in &r.integrations {
            match notifiers::build(i, integration, &c.global, http, templates) {
                Ok(Some(b)) => built.push(b),
                Ok(None) => warnings.push(format!(
                    "receiver {:?}: {}_configs are accepted but Taishan does not deliver to them (it delivers to: {})",
                    r.name,
                    integration.kind,
                    notifiers::NOTIFIERS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                )),
                Err(e) => errors.extend(e),
            }
        }
        receivers.insert(r.name.clone(), built);
    }
    errors
}

/// Reads the template files the `templates` globs match into one set; a file that does not
/// parse is reported with its own line and column.
fn load_templates(globs: &[String], base: &Path) -> Result<TemplateSet, Vec<FieldError>> {
    let mut set = TemplateSet::new();
    let mut errors = Vec::new();
    if let Err(e) = set.add(DEFAULT_TEMPLATES) {
        errors.push(FieldError::new(
            "templates",
            format!("the default templates: {e}"),
        ));
    }
    for (i, pattern) in globs.iter().enumerate() {
        let at = format!("templates[{i}]");
        for path in taishan_template::paths::glob(base, pattern) {
            let shown = path.display();
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    if let Err(e) = set.add(&text) {
                        errors.push(FieldError::new(
                            &at,
                            format!("{shown}:{}:{}: {}", e.line, e.column, e.message),
                        ));
                    }
                }
                Err(e) => errors.push(FieldError::new(&at, format!("cannot read {shown}: {e}"))),
            }
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}
