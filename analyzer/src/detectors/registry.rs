//! The machinery behind the family's one table ([`super::DetectorConfig`] is written by the
//! `registry!` invocation in `mod.rs`): from one line per detector it makes the configuration
//! and saved-state enums, their serde tags, the names `type:` takes, and the dispatch that
//! reads, builds and resumes each. Also the YAML reading every member shares.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

use super::calibration::TailConfig;

/// A member's configuration when it runs on its own, with the tail that calibrates it.
/// (Read from YAML by [`super::DetectorConfig::from_yaml`], which checks every field.)
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Standalone<C> {
    #[serde(flatten)]
    pub member: C,
    #[serde(default)]
    pub tail: TailConfig,
}

/// Reads `value` as `T`, the error naming the field at fault (`day_slots: invalid type ...`).
pub fn read_fields<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })
}

/// Reads a member's configuration with its tail apart, so each is read with its own paths
/// (`serde(flatten)` would lose them, and with them `deny_unknown_fields`).
pub fn read_standalone<C: DeserializeOwned>(fields: Value) -> Result<Standalone<C>, String> {
    let Value::Mapping(mut map) = fields else {
        return Err("must be a mapping".into());
    };
    let tail = match map.remove("tail") {
        Some(t) => read_fields(t).map_err(|e| format!("tail.{e}"))?,
        None => TailConfig::default(),
    };
    let member = read_fields(Value::Mapping(map))?;
    Ok(Standalone { member, tail })
}

/// Splits a detector's YAML into its `type:` (default `ensemble`) and the rest of its fields.
pub fn split_type(value: Value) -> Result<(String, Value), String> {
    let mut map = match value {
        Value::Mapping(m) => m,
        Value::Null => serde_yaml_ng::Mapping::new(),
        _ => return Err("must be a mapping with a `type`".into()),
    };
    let kind = match map.remove("type") {
        None => "ensemble".to_string(),
        Some(Value::String(s)) => s,
        Some(other) => return Err(format!("type: must be a name, got {other:?}")),
    };
    Ok((kind, Value::Mapping(map)))
}

/// Writes the family from its table: `"name" => Variant(DetectorType),` per detector, each
/// type implementing [`super::Registered`]. The name is the serde tag of both enums, so it
/// is what configurations and saved states carry: never rename one that has shipped.
macro_rules! registry {
    ($($(#[$doc:meta])* $name:literal => $variant:ident($detector:ty),)+) => {
        /// Every detector, with its configuration (the `type:` tag names it).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum DetectorConfig {
            $($(#[$doc])* #[serde(rename = $name)] $variant(<$detector as Registered>::Config),)+
        }

        /// The saved state of any detector.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum DetectorState {
            $(#[serde(rename = $name)] $variant(Box<$detector>),)+
        }

        $(impl From<$detector> for DetectorState {
            fn from(detector: $detector) -> Self {
                DetectorState::$variant(Box::new(detector))
            }
        })+

        impl DetectorConfig {
            /// The detectors' names, as `type:` takes them.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The configuration of the detector named `kind`, read from its other fields;
            /// `None` for a name not in the table.
            fn read_named(kind: &str, fields: serde_yaml_ng::Value) -> Option<Result<Self, String>> {
                match kind {
                    $($name => Some(<$detector as Registered>::read(fields).map(Self::$variant)),)+
                    _ => None,
                }
            }

            /// A fresh detector; `seed` fixes every random choice it makes.
            pub fn build(&self, seed: u64) -> Box<dyn Detector> {
                match self {
                    $(Self::$variant(c) => Box::new(<$detector as Registered>::build(c, seed)),)+
                }
            }

            /// The detector's name, as in the configuration.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)+
                }
            }
        }

        impl DetectorState {
            /// The detector this state was taken from, ready to go on.
            pub fn resume(self) -> Box<dyn Detector> {
                match self {
                    $(Self::$variant(detector) => detector,)+
                }
            }
        }
    };
}
pub(super) use registry;
