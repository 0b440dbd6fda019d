//! The routing tree compiled from `route`: each node with its options resolved (inherited
//! from its parent where unset), matched depth-first as Alertmanager does: the deepest
//! matching nodes win, `continue` lets siblings match too.

use std::collections::BTreeSet;
use std::time::Duration;

use taishan_core::config::FieldError;

use crate::config::RouteConfig;
use crate::matcher::{all_match, matchers_string, Matcher};
use crate::model::LabelSet;

/// Which labels split a route's alerts into groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// These labels.
    Labels(BTreeSet<String>),
    /// Every label (`...`).
    All,
}

impl GroupBy {
    /// The labels of `alert_labels` that name its group.
    pub fn group_labels(&self, alert_labels: &LabelSet) -> LabelSet {
        match self {
            GroupBy::All => alert_labels.clone(),
            GroupBy::Labels(names) => alert_labels
                .iter()
                .filter(|(k, _)| names.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// A route's options after inheritance.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteOptions {
    /// The receiver notified.
    pub receiver: String,
    /// Grouping.
    pub group_by: GroupBy,
    /// First notification delay of a new group.
    pub group_wait: Duration,
    /// Delay between notifications of a changed group.
    pub group_interval: Duration,
    /// Delay before an unchanged group is notified again.
    pub repeat_interval: Duration,
    /// Muted during these time intervals.
    pub mute_time_intervals: Vec<String>,
    /// Muted outside these time intervals.
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOptions {
    fn default() -> Self {
        Self {
            receiver: String::new(),
            group_by: GroupBy::Labels(BTreeSet::new()),
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// Index of a node in [`RouteTree::nodes`].
pub type RouteId = usize;

/// One node.
#[derive(Debug, Clone)]
pub struct RouteNode {
    /// Its resolved options.
    pub options: RouteOptions,
    /// Its matchers, sorted as Alertmanager sorts them.
    pub matchers: Vec<Matcher>,
    /// Whether siblings are tried after it matched.
    pub continue_matching: bool,
    /// Its children, in order.
    pub children: Vec<RouteId>,
    /// `{}/{team="db"}`: the path of matcher sets from the root, the prefix of group keys.
    pub key: String,
    /// The path of child indexes from the root (`[]` for the root), for people.
    pub path: Vec<usize>,
}

/// The whole tree; node 0 is the root.
#[derive(Debug, Clone)]
pub struct RouteTree {
    /// Every node, parents before children.
    pub nodes: Vec<RouteNode>,
}

impl RouteTree {
    /// Compiles `root`; matcher errors (already reported by validation) are dropped here.
    pub fn compile(root: &RouteConfig) -> Self {
        let mut tree = RouteTree { nodes: Vec::new() };
        tree.add(root, &RouteOptions::default(), None, Vec::new());
        tree
    }

    fn add(
        &mut self,
        config: &RouteConfig,
        parent: &RouteOptions,
        parent_key: Option<&str>,
        path: Vec<usize>,
    ) -> RouteId {
        let mut ignored: Vec<FieldError> = Vec::new();
        let mut matchers = config.all_matchers("", &mut ignored);
        matchers.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let options = resolve(config, parent);
        let own = matchers_string(&matchers);
        let key = match parent_key {
            Some(p) => format!("{p}/{own}"),
            None => own,
        };
        let id = self.nodes.len();
        self.nodes.push(RouteNode {
            options: options.clone(),
            matchers,
            continue_matching: config.continue_matching,
            children: Vec::new(),
            key: key.clone(),
            path: path.clone(),
        });
        for (i, child) in config.routes.iter().enumerate() {
            let mut child_path = path.clone();
            child_path.push(i);
            let child_id = self.add(child, &options, Some(&key), child_path);
            self.nodes[id].children.push(child_id);
        }
        id
    }

    /// The nodes an alert with `labels` is routed to.
    pub fn matches(&self, labels: &LabelSet) -> Vec<RouteId> {
        let mut out = Vec::new();
        self.match_from(0, labels, &mut out);
        out
    }

    fn match_from(&self, id: RouteId, labels: &LabelSet, out: &mut Vec<RouteId>) -> bool {
        let node = &self.nodes[id];
        if !all_match(&node.matchers, labels) {
            return false;
        }
        let before = out.len();
        for &child in &node.children {
            if self.match_from(child, labels, out) && !self.nodes[child].continue_matching {
                break;
            }
        }
        if out.len() == before {
            out.push(id);
        }
        true
    }

    /// A node.
    pub fn node(&self, id: RouteId) -> &RouteNode {
        &self.nodes[id]
    }
}

fn resolve(config: &RouteConfig, parent: &RouteOptions) -> RouteOptions {
    let mut o = parent.clone();
    if let Some(r) = config.receiver.as_ref().filter(|r| !r.is_empty()) {
        o.receiver = r.clone();
    }
    if let Some(group_by) = &config.group_by {
        o.group_by = if group_by.iter().any(|l| l == "...") {
            GroupBy::All
        } else {
            GroupBy::Labels(group_by.iter().cloned().collect())
        };
    }
    if let Some(d) = config.group_wait {
        o.group_wait = d.0;
    }
    if let Some(d) = config.group_interval {
        o.group_interval = d.0;
    }
    if let Some(d) = config.repeat_interval {
        o.repeat_interval = d.0;
    }
    // As in Alertmanager, time intervals are the route's own, not inherited.
    o.mute_time_intervals = config.mute_time_intervals.clone();
    o.active_time_intervals = config.active_time_intervals.clone();
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(yaml: &str) -> RouteTree {
        let config: RouteConfig = serde_yaml_ng::from_str(yaml).unwrap();
        RouteTree::compile(&config)
    }

    fn set(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const TREE: &str = r#"
receiver: default
group_by: [alertname]
routes:
  - matchers: ['team="db"']
    receiver: db
    group_wait: 10s
    routes:
      - match: {severity: critical}
        receiver: db-pager
  - match_re: {service: "pay.*"}
    receiver: payments
    continue: true
  - matchers: ['{env="prod", service=~"pay.*"}']
    receiver: prod
    group_by: ['...']
"#;

    #[test]
    fn deepest_match_wins_and_continue_lets_siblings_match() {
        let t = tree(TREE);
        let receivers = |l: &LabelSet| -> Vec<String> {
            t.matches(l)
                .into_iter()
                .map(|id| t.node(id).options.receiver.clone())
                .collect()
        };
        assert_eq!(
            receivers(&set(&[("team", "db"), ("severity", "critical")])),
            ["db-pager"]
        );
        assert_eq!(receivers(&set(&[("team", "db")])), ["db"]);
        assert_eq!(
            receivers(&set(&[("service", "payment"), ("env", "prod")])),
            ["payments", "prod"]
        );
        assert_eq!(receivers(&set(&[("service", "risk")])), ["default"]);
    }

    #[test]
    fn options_inherit_and_keys_follow_alertmanager() {
        let t = tree(TREE);
        let pager = t.node(t.matches(&set(&[("team", "db"), ("severity", "critical")]))[0]);
        assert_eq!(pager.options.group_wait, Duration::from_secs(10));
        assert_eq!(pager.options.group_interval, Duration::from_secs(300));
        assert_eq!(pager.key, r#"{}/{team="db"}/{severity="critical"}"#);
        let prod = t.node(t.matches(&set(&[("service", "pay"), ("env", "prod")]))[1]);
        assert_eq!(prod.options.group_by, GroupBy::All);
        assert_eq!(prod.key, r#"{}/{env="prod",service=~"pay.*"}"#);
    }
}
