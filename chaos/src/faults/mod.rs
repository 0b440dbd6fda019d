//! The faults, one file each, registered in [`FAULTS`].
//!
//! # The contract
//! A fault is built from its spec's parameters ([`FaultKind::build`], which refuses unknown
//! or impossible parameters with a message naming them) and, once armed, decides what
//! happens to each request in its scope ([`Fault::inject`]): the request is delayed, answered
//! with an error, held until it times out, or its connection is dropped. A fault holds no
//! state that outlives it: disarming it (stop, abort, or its lease running out) is the
//! revert, and the next request is clean. Randomness comes from the `rng` passed in, so a
//! drill with a seed replays the same way.

mod error;
mod latency;
mod timeout;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

/// What a fault does to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Injection {
    /// Served after this long.
    Delay(Duration),
    /// Answered at once with this status and message, never reaching the service.
    Respond {
        /// The HTTP status.
        status: u16,
        /// The body.
        message: String,
    },
    /// Held this long, then answered 504, as an upstream that never answers.
    Hold(Duration),
}

/// One armed fault's behaviour.
pub trait Fault: Send + Sync + fmt::Debug {
    /// What happens to a request in scope.
    fn inject(&self, rng: &mut SmallRng) -> Injection;
}

/// A fault as written in a drill or posted to the API: its kind and that kind's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// One of [`FAULTS`].
    pub kind: String,
    /// The kind's parameters.
    #[serde(flatten)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// A kind of fault: its name, what it does, and how it is built from parameters.
pub struct FaultKind {
    /// The name specs use.
    pub name: &'static str,
    /// One line for `--help` and errors.
    pub what: &'static str,
    /// Builds it, or says which parameter is wrong and why.
    pub build: fn(&serde_json::Value) -> Result<Arc<dyn Fault>, String>,
}

/// Every fault kind: the one registration point.
pub const FAULTS: &[FaultKind] = &[
    FaultKind {
        name: "latency",
        what: "adds latency: fixed (delay) or drawn between min and max, or around a mean",
        build: latency::build,
    },
    FaultKind {
        name: "error",
        what: "answers with an HTTP status (503 by default) instead of serving",
        build: error::build,
    },
    FaultKind {
        name: "timeout",
        what: "holds the request (30s by default), then answers 504",
        build: timeout::build,
    },
];

/// Builds the fault `spec` describes.
pub fn build_fault(spec: &FaultSpec) -> Result<Arc<dyn Fault>, String> {
    let kind = FAULTS.iter().find(|k| k.name == spec.kind).ok_or_else(|| {
        let known: Vec<&str> = FAULTS.iter().map(|k| k.name).collect();
        format!(
            "unknown fault kind {:?}; one of {}",
            spec.kind,
            known.join(", ")
        )
    })?;
    (kind.build)(&serde_json::Value::Object(spec.params.clone()))
        .map_err(|e| format!("{} fault: {e}", kind.name))
}

/// Reads a kind's parameters into `T`, naming the parameter at fault.
pub(crate) fn params<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn spec(text: &str) -> FaultSpec {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn each_kind_builds_from_its_parameters() {
        let mut rng = SmallRng::seed_from_u64(1);
        let latency = build_fault(&spec(r#"{"kind": "latency", "delay": "200ms"}"#)).unwrap();
        assert_eq!(
            latency.inject(&mut rng),
            Injection::Delay(Duration::from_millis(200))
        );
        let error = build_fault(&spec(r#"{"kind": "error", "status": 500}"#)).unwrap();
        assert!(matches!(
            error.inject(&mut rng),
            Injection::Respond { status: 500, .. }
        ));
        let timeout = build_fault(&spec(r#"{"kind": "timeout"}"#)).unwrap();
        assert_eq!(
            timeout.inject(&mut rng),
            Injection::Hold(Duration::from_secs(30))
        );
    }

    #[test]
    fn unknown_kinds_and_parameters_are_named() {
        let e = build_fault(&spec(r#"{"kind": "meteor"}"#)).unwrap_err();
        assert!(
            e.contains("unknown fault kind \"meteor\"") && e.contains("latency"),
            "{e}"
        );
        let e = build_fault(&spec(r#"{"kind": "latency", "dealy": "1s"}"#)).unwrap_err();
        assert!(
            e.starts_with("latency fault:") && e.contains("dealy"),
            "{e}"
        );
    }
}
