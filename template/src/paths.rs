//! Rule file names given as globs (`rules/*.yaml`), as Prometheus's `rule_files` allows.

use std::path::{Path, PathBuf};

/// Files matching `pattern` (relative to `base` unless absolute; `*` and `?` in its last
/// part), sorted.
pub fn glob(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base.join(pattern)
    };
    let Some(name) = full.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return if full.exists() {
            vec![full]
        } else {
            Vec::new()
        };
    }
    let dir = full.parent().unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(name, n)))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_wildcards_in_the_file_name() {
        assert!(wildcard("*.rules.yaml", "payments.rules.yaml"));
        assert!(wildcard("p?y*", "payments"));
        assert!(!wildcard("*.yaml", "payments.yml"));
        let dir = tempfile::tempdir().expect("tempdir");
        for n in ["b.yaml", "a.yaml", "c.yml"] {
            std::fs::write(dir.path().join(n), "").expect("write");
        }
        let found = glob(dir.path(), "*.yaml");
        let names: Vec<_> = found
            .iter()
            .filter_map(|p| p.file_name()?.to_str())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yaml"]);
        assert_eq!(glob(dir.path(), "c.yml").len(), 1);
        assert!(glob(dir.path(), "missing.yml").is_empty());
    }
}
