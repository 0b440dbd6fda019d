//! `chaos:` where the drills are and when they run by themselves (a recurring game day).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::FieldError;

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
        }
    }
}

impl ChaosConfig {
    pub(super) fn validate(&self, errors: &mut Vec<FieldError>) {
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
    }
}
