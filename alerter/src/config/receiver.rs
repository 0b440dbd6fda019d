//! `receivers`: a name and its integrations (`webhook_configs`, `slack_configs`, ...), each
//! kept as written until the notifier family that owns its kind reads it.

use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// One receiver as written.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiverConfig {
    /// Its name, which routes refer to.
    pub name: String,
    /// Its integrations in file order: the kind (`webhook` for `webhook_configs`) and each
    /// entry's YAML.
    pub integrations: Vec<IntegrationConfig>,
}

/// One entry of a `<kind>_configs` list.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationConfig {
    /// The kind, from the key without `_configs`.
    pub kind: String,
    /// Its position in that list.
    pub index: usize,
    /// The entry as written.
    pub value: serde_yaml_ng::Value,
}

impl<'de> Deserialize<'de> for ReceiverConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ReceiverVisitor)
    }
}

struct ReceiverVisitor;

impl<'de> Visitor<'de> for ReceiverVisitor {
    type Value = ReceiverConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a receiver: `name` and `<kind>_configs` lists")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReceiverConfig, A::Error> {
        let mut name = None;
        let mut integrations = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "name" {
                name = Some(map.next_value::<String>()?);
                continue;
            }
            let Some(kind) = key.strip_suffix("_configs") else {
                return Err(A::Error::custom(format!(
                    "unknown field `{key}`: a receiver has `name` and `<kind>_configs` lists"
                )));
            };
            let list: Option<Vec<serde_yaml_ng::Value>> = map.next_value()?;
            integrations.extend(list.unwrap_or_default().into_iter().enumerate().map(
                |(index, value)| IntegrationConfig {
                    kind: kind.to_string(),
                    index,
                    value,
                },
            ));
        }
        let name = name.ok_or_else(|| A::Error::missing_field("name"))?;
        Ok(ReceiverConfig { name, integrations })
    }
}
