//! Every route a part declares has a role in the edge's one table, and the table names no
//! route that does not exist: read from the routers' declarations in the source, so a route
//! added without a role fails here (and is refused at run time, failing closed).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use taishan_edge::auth::routes::{declared, ALERTER_PREFIX};
use taishan_edge::ListenerKind;

/// The crates whose routers `taishan up` serves on its listeners (the demo services serve
/// their own ports, not Taishan's).
const SERVED: [&str; 11] = [
    "alerter",
    "analyzer",
    "chaos",
    "collector",
    "dashboards",
    "guard-control",
    "query",
    "rules",
    "src",
    "store",
    "edge",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The path literal of each `.route(` in `text`, outside `#[cfg(test)]` modules.
fn route_literals(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = Vec::new();
    for (i, _) in code.match_indices(".route(") {
        let rest = code[i + 7..].trim_start();
        if let Some(lit) = rest.strip_prefix('"') {
            out.push(lit[..lit.find('"').unwrap()].to_string());
        }
    }
    out
}

/// Which listeners serve the routes of `file`.
fn listeners_of(file: &Path) -> Vec<(ListenerKind, &'static str)> {
    let f = file.to_string_lossy();
    if f.contains("alerter/src/api/") {
        vec![
            (ListenerKind::Alerter, ""),
            (ListenerKind::Api, ALERTER_PREFIX),
        ]
    } else if f.contains("receivers/otlp/") {
        vec![(ListenerKind::OtlpHttp, "")]
    } else {
        vec![(ListenerKind::Api, "")]
    }
}

#[test]
fn every_route_has_a_role_and_every_role_a_route() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in SERVED {
        rust_files(
            &root.join(dir).join(if dir == "src" { "" } else { "src" }),
            &mut files,
        );
    }
    let mut in_source = BTreeSet::new();
    let is_test = |f: &PathBuf| {
        let f = f.to_string_lossy();
        f.contains("/tests") || f.ends_with("tests.rs")
    };
    for file in files.iter().filter(|f| !is_test(f)) {
        let text = std::fs::read_to_string(file).unwrap();
        for path in route_literals(&text) {
            for (listener, prefix) in listeners_of(file) {
                in_source.insert((
                    listener as u8,
                    format!("{prefix}{path}"),
                    file.display().to_string(),
                ));
            }
        }
    }
    assert!(
        in_source.len() > 80,
        "only {} routes found: is the scan broken?",
        in_source.len()
    );
    let table: BTreeSet<(u8, String)> = declared().into_iter().map(|(l, p)| (l as u8, p)).collect();
    let missing: Vec<_> = in_source
        .iter()
        .filter(|(l, p, _)| !table.contains(&(*l, p.clone())))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a role in edge/src/auth/routes.rs: {missing:#?}"
    );
    let routes: BTreeSet<(u8, String)> = in_source.into_iter().map(|(l, p, _)| (l, p)).collect();
    let stale: Vec<_> = table.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "roles for routes no router declares: {stale:#?}"
    );
}
