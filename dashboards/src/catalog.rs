//! The dashboards served: the built-in ones (this crate's `*.yaml`, compiled in) and a
//! directory of the user's own, read again when a file in it changes. A broken file is
//! reported and left out; the others keep working, and a user's file named like a built-in
//! one replaces it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::RwLock;
use taishan_core::config::ConfigDiagnostic;
use tokio_util::sync::CancellationToken;

use crate::spec::{parse_dashboard, Dashboard};

/// The built-in dashboards: (name, YAML).
pub const BUILTIN: &[(&str, &str)] = &[
    ("home", include_str!("../home.yaml")),
    ("flow", include_str!("../flow.yaml")),
    ("business", include_str!("../business.yaml")),
    ("system", include_str!("../system.yaml")),
];

/// How often the user's directory is looked at for changes.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The dashboards in force and the problems of the files left out.
#[derive(Debug, Default)]
pub struct Catalog {
    dir: Option<PathBuf>,
    loaded: RwLock<Loaded>,
}

#[derive(Debug, Default)]
struct Loaded {
    dashboards: BTreeMap<String, Arc<Dashboard>>,
    problems: Vec<ConfigDiagnostic>,
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
}

impl Catalog {
    /// The built-in dashboards and those of `dir`, when given.
    pub fn load(dir: Option<&Path>) -> Self {
        let catalog = Self {
            dir: dir.map(Path::to_path_buf),
            loaded: RwLock::default(),
        };
        catalog.reload();
        catalog
    }

    /// A dashboard by name.
    pub fn get(&self, name: &str) -> Option<Arc<Dashboard>> {
        self.loaded.read().dashboards.get(name).cloned()
    }

    /// Every dashboard's name and title: home first, then by name.
    pub fn titles(&self) -> Vec<(String, String)> {
        let loaded = self.loaded.read();
        let mut titles: Vec<(String, String)> = loaded
            .dashboards
            .iter()
            .map(|(n, d)| (n.clone(), d.title.clone()))
            .collect();
        // The built-in views in their reading order, then the user's by name.
        let place = |n: &str| {
            BUILTIN
                .iter()
                .position(|(b, _)| *b == n)
                .unwrap_or(BUILTIN.len())
        };
        titles.sort_by_key(|(n, _)| place(n));
        titles
    }

    /// The files left out, and why.
    pub fn problems(&self) -> Vec<ConfigDiagnostic> {
        self.loaded.read().problems.clone()
    }

    /// Reads everything again; true when the user's files changed since the last read.
    pub fn reload(&self) -> bool {
        let files = self.dir.as_deref().map(yaml_files).unwrap_or_default();
        let stamps: Vec<_> = files.iter().map(|f| (f.clone(), modified(f))).collect();
        {
            let loaded = self.loaded.read();
            if !loaded.dashboards.is_empty() && loaded.stamps == stamps {
                return false;
            }
        }
        let mut dashboards = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, text) in BUILTIN {
            match parse_dashboard(&format!("{name}.yaml (built in)"), text) {
                Ok(d) => {
                    dashboards.insert(name.to_string(), Arc::new(d));
                }
                Err(e) => problems.extend(e),
            }
        }
        for file in &files {
            match read_file(file) {
                Ok(d) => {
                    dashboards.insert(name_of(file), Arc::new(d));
                }
                Err(e) => problems.extend(e),
            }
        }
        for p in &problems {
            tracing::warn!("dashboard left out: {p}");
        }
        *self.loaded.write() = Loaded {
            dashboards,
            problems,
            stamps,
        };
        true
    }

    /// Reloads when the user's directory changes, until `cancel`.
    pub async fn watch(self: Arc<Self>, cancel: CancellationToken) {
        if self.dir.is_none() {
            return;
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(WATCH_EVERY) => {}
            }
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.reload()).await {
                Ok(true) => tracing::info!("dashboards reloaded"),
                Ok(false) => {}
                Err(e) => tracing::error!("dashboard reload failed: {e}"),
            }
        }
    }
}

/// Reads one dashboard file; its problems placed in it.
pub fn read_file(path: &Path) -> Result<Dashboard, Vec<ConfigDiagnostic>> {
    let (file, text) = taishan_core::config::read_text(path)?;
    parse_dashboard(&file, &text)
}

/// The `.yaml` and `.yml` files of `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A dashboard's name: its file name without the extension.
fn name_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_dashboards_are_valid() {
        let c = Catalog::load(None);
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        let names: Vec<String> = c.titles().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["home", "flow", "business", "system"]);
    }

    #[test]
    fn a_broken_file_is_reported_and_the_others_keep_working() {
        let dir = tempfile::tempdir().unwrap();
        let good = "title: Mine\nrows:\n  - title: R\n    panels:\n      - title: Up\n        queries:\n          - expr: up\n";
        std::fs::write(dir.path().join("mine.yaml"), good).unwrap();
        std::fs::write(dir.path().join("broken.yaml"), "title: B\nrows: [\n").unwrap();
        let c = Catalog::load(Some(dir.path()));
        assert_eq!(c.get("mine").map(|d| d.title.clone()), Some("Mine".into()));
        assert!(c.get("business").is_some());
        let problems = c.problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].file.ends_with("broken.yaml"));
        assert!(problems[0].position.is_some());
        // Mended, it is read at the next look.
        std::fs::write(dir.path().join("broken.yaml"), good.replace("Mine", "B")).unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        let f = std::fs::File::options()
            .write(true)
            .open(dir.path().join("broken.yaml"));
        f.unwrap().set_modified(later).unwrap();
        assert!(c.reload());
        assert!(c.problems().is_empty());
        assert!(c.get("broken").is_some());
        assert!(!c.reload(), "nothing changed since");
    }
}
