//! `chaos:` where the drills are and when they run by themselves (a recurring game day).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use taishan_core::config::{FieldError, Section};

/// The drills `taishan up` can run (from the drills page, the API, or the schedule).
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChaosConfig {
    /// The directory of drill files (`*.yaml`). Default `drills`.
    #[serde(default = "default_dir")]
    pub drills_dir: PathBuf,
    /// Drills run by themselves, each every so often. Default: none.
    #[serde(default)]
    pub schedule: Vec<ScheduledDrill>,
    /// TCP fault proxies `taishan up` runs in front of other apps' peers, so network faults
    /// (scope `service: <name>`) can be drilled on any TCP link. Default: none.
    #[serde(default)]
    pub proxies: Vec<ProxyConfig>,
}

/// A fault proxy: clients connect to `listen` instead of `upstream`.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Its name; network faults scoped to `service: <name>` act on it.
    pub name: String,
    /// Where it listens (loopback unless you mean otherwise).
    pub listen: SocketAddr,
    /// Where it relays to: `host:port`.
    pub upstream: String,
}

/// A drill run on a schedule.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduledDrill {
    /// The drill's name (its `name:`, found in `drills_dir`).
    pub drill: String,
    /// How often: it runs when its last run is older than this (at least `10m`).
    #[serde(with = "humantime_serde")]
    pub every: Duration,
    /// Hold its faults this long instead of the file's durations (a shorter rehearsal).
    #[serde(default, with = "humantime_serde")]
    pub duration: Option<Duration>,
}

fn default_dir() -> PathBuf {
    PathBuf::from("drills")
}

impl Default for ChaosConfig {
    fn default() -> Self {
        Self {
            drills_dir: default_dir(),
            schedule: Vec::new(),
            proxies: Vec::new(),
        }
    }
}

impl Section for ChaosConfig {
    const NAME: &'static str = "chaos";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        for (i, s) in self.schedule.iter().enumerate() {
            if s.every < Duration::from_secs(600) {
                errors.push(FieldError::new(
                    format!("chaos.schedule[{i}].every"),
                    "must be at least 10m: a drill takes minutes and the books must settle between drills",
                ));
            }
            if s.drill.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("chaos.schedule[{i}].drill"),
                    "must name a drill",
                ));
            }
        }
        for (i, p) in self.proxies.iter().enumerate() {
            let at = |field: &str| format!("chaos.proxies[{i}].{field}");
            if p.name.trim().is_empty() || p.name.contains(char::is_whitespace) {
                errors.push(FieldError::new(at("name"), "must be a name without spaces"));
            } else if self.proxies[..i].iter().any(|q| q.name == p.name) {
                errors.push(FieldError::new(at("name"), "is used by another proxy"));
            }
            let port = p
                .upstream
                .rsplit_once(':')
                .map(|(_, port)| port.parse::<u16>());
            if !matches!(port, Some(Ok(port)) if port > 0) {
                errors.push(FieldError::new(
                    at("upstream"),
                    format!("must be host:port, got {:?}", p.upstream),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChaosConfig;
    use taishan_core::config::load_section;

    #[test]
    fn bad_schedules_and_proxies_are_named_with_their_lines() {
        let text = "chaos:\n  schedule:\n    - drill: outage\n      every: 1m\n  proxies:\n    - name: app-db\n      listen: 127.0.0.1:15432\n      upstream: 127.0.0.1:5432\n    - name: app-db\n      listen: 127.0.0.1:15433\n      upstream: db.internal\n";
        let errors = load_section::<ChaosConfig>("t.yaml", text).unwrap_err();
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.position.map(|p| p.line)))
            .collect();
        assert_eq!(
            found,
            [
                ("chaos.schedule[0].every", Some(4)),
                ("chaos.proxies[1].name", Some(9)),
                ("chaos.proxies[1].upstream", Some(11)),
            ],
            "{errors:?}"
        );
        let ok = "chaos:\n  proxies:\n    - name: app-db\n      listen: 127.0.0.1:15432\n      upstream: localhost:5432\n";
        let config = load_section::<ChaosConfig>("t.yaml", ok).unwrap();
        assert_eq!(config.proxies[0].upstream, "localhost:5432");
    }
}
