//! `error`: requests are answered with an HTTP status (503 by default) and a message,
//! without reaching the service, as a failing dependency would answer.

use std::sync::Arc;

use rand::rngs::SmallRng;
use serde::Deserialize;

use super::{params, Fault, FaultKind, Injection};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "unavailable")]
    status: u16,
    #[serde(default)]
    message: Option<String>,
}

fn unavailable() -> u16 {
    503
}

/// `error` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "error",
    what: "answers with an HTTP status (503 by default) instead of serving",
    build,
};

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
    if !(400..=599).contains(&p.status) {
        return Err(format!(
            "status must be an error, 400 to 599; got {}",
            p.status
        ));
    }
    let message = p
        .message
        .unwrap_or_else(|| format!("injected fault: status {}", p.status));
    Ok(Arc::new(ErrorFault {
        status: p.status,
        message,
    }))
}

#[derive(Debug)]
struct ErrorFault {
    status: u16,
    message: String,
}

impl Fault for ErrorFault {
    fn inject(&self, _: &mut SmallRng) -> Option<Injection> {
        Some(Injection::Respond {
            status: self.status,
            message: self.message.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_error_statuses_are_taken() {
        assert!(build(&serde_json::json!({"status": 200}))
            .unwrap_err()
            .contains("400 to 599"));
        assert!(build(&serde_json::json!({"status": 429, "message": "slow down"})).is_ok());
    }
}
