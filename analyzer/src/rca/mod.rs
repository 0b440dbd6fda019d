//! Root cause: when an alert fires, which service or call between services most likely
//! caused it.
//!
//! The candidates are the nodes and edges of the service graph the traces draw (a node is a
//! service, or a peer only seen from its callers, such as a bank channel or a database).
//! Each gets evidence in 0..1 from how far its series moved from their own baseline around
//! the alert ([`evidence`]), and its onset. The ranking ([`rank`]) follows how failures
//! travel: from callee to caller. A service whose callee is also anomalous is more likely a
//! victim than a cause; a call that fails while its server answers everyone else well is
//! the call's fault (a network partition); a node all of whose callers fail, or whose own
//! signals moved, is the node's. Earlier onsets weigh more.

pub mod collect;
pub mod evidence;
mod rank;

use serde::Serialize;

pub use collect::{collect, RangeAnswer, Window};
pub use rank::{rank, rank_for};

/// A candidate root cause.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Suspect {
    /// A service, or a peer seen only from its callers.
    Node { name: String },
    /// Calls from `client` to `server`.
    Edge { client: String, server: String },
}

impl Suspect {
    pub fn node(name: &str) -> Self {
        Suspect::Node {
            name: name.to_string(),
        }
    }

    pub fn edge(client: &str, server: &str) -> Self {
        Suspect::Edge {
            client: client.to_string(),
            server: server.to_string(),
        }
    }

    /// How people name it: `ledger`, `compensation → ledger`.
    pub fn label(&self) -> String {
        match self {
            Suspect::Node { name } => name.clone(),
            Suspect::Edge { client, server } => format!("{client} → {server}"),
        }
    }

    /// Whether this is what `target` names: a node by its name, an edge by
    /// `client->server`, `client→server` or `client-server`.
    pub fn is(&self, target: &str) -> bool {
        match self {
            Suspect::Node { name } => name == target,
            Suspect::Edge { client, server } => [
                format!("{client}->{server}"),
                format!("{client}→{server}"),
                format!("{client} → {server}"),
                format!("{client}-{server}"),
            ]
            .iter()
            .any(|n| n == target),
        }
    }
}

/// What moved for one suspect, and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Its own quality moved: a node's errors, latency or business series; an edge's
    /// failures or latency (0..1).
    pub quality: f64,
    /// Its traffic moved (0..1); for a node, the requests it served.
    pub traffic: f64,
    /// When the first of its signals left its baseline (ms).
    pub onset_ms: Option<i64>,
    /// What moved, in words (`error ratio 0.52 (baseline 0.00)`).
    pub reasons: Vec<String>,
}

impl Evidence {
    /// Adds one signal's finding.
    pub fn add(&mut self, finding: &evidence::Finding, is_traffic: bool) {
        let slot = if is_traffic {
            &mut self.traffic
        } else {
            &mut self.quality
        };
        *slot = slot.max(finding.anomaly);
        if finding.anomaly >= evidence::NOTABLE {
            if let Some(t) = finding.onset_ms {
                self.onset_ms = Some(self.onset_ms.map_or(t, |o| o.min(t)));
            }
            self.reasons.push(finding.describe());
        }
    }
}

/// The service graph with every suspect's evidence.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// Calls seen, client → server.
    pub edges: Vec<(String, String)>,
    /// Evidence by suspect.
    pub evidence: std::collections::BTreeMap<Suspect, Evidence>,
}

impl Scene {
    /// The evidence of `s` (none when nothing was found for it).
    pub fn of(&self, s: &Suspect) -> Evidence {
        self.evidence.get(s).cloned().unwrap_or_default()
    }

    /// Every node of the graph.
    pub fn nodes(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .edges
            .iter()
            .flat_map(|(c, s)| [c.clone(), s.clone()])
            .chain(self.evidence.keys().filter_map(|k| match k {
                Suspect::Node { name } => Some(name.clone()),
                Suspect::Edge { .. } => None,
            }))
            .collect();
        n.sort();
        n.dedup();
        n
    }
}

/// One line of the ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub suspect: Suspect,
    /// Its label, for people.
    pub name: String,
    /// How likely the cause (0..1, relative).
    pub score: f64,
    pub onset_ms: Option<i64>,
    /// Why it ranks where it does.
    pub reasons: Vec<String>,
}
