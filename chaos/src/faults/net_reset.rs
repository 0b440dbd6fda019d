//! `net_reset`: a fault proxy resets the connections data crosses (TCP RST), both sides.
//! The scope's service is the proxy's name.

use std::sync::Arc;

use super::{fixed_link, Fault, FaultKind, LinkEffect};

/// `net_reset` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "net_reset",
    what: "a fault proxy resets connections (TCP RST) as data crosses them",
    build,
};

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    fixed_link(v, LinkEffect::Reset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn every_chunk_meets_it_and_parameters_are_refused() {
        let mut rng = SmallRng::seed_from_u64(7);
        let fault = build(&serde_json::json!({})).unwrap();
        assert_eq!(fault.link(&mut rng), Some(LinkEffect::Reset));
        let e = build(&serde_json::json!({"after": "1s"})).unwrap_err();
        assert!(e.contains("after"), "{e}");
    }
}
