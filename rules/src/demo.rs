//! The rules `taishan up` evaluates while the demo services run: RED and saturation per
//! service, the business alerts, burn-rate SLO alerts on payment success (by count and by
//! money), anomaly alerts on the analyzer's scores, and the actions that open a failing bank channel's breaker and degrade risk. The
//! files live in `rules/demo/` of the repository, with a promtool-format unit test each.

use crate::loader::NamedText;

/// The demo's rule and action files, as built into the binary.
pub fn demo_files() -> Vec<NamedText> {
    [
        (
            "rules/demo/red.rules.yaml",
            include_str!("../demo/red.rules.yaml"),
        ),
        (
            "rules/demo/business.rules.yaml",
            include_str!("../demo/business.rules.yaml"),
        ),
        (
            "rules/demo/slo.rules.yaml",
            include_str!("../demo/slo.rules.yaml"),
        ),
        (
            "rules/demo/anomaly.rules.yaml",
            include_str!("../demo/anomaly.rules.yaml"),
        ),
        (
            "rules/demo/actions.yaml",
            include_str!("../demo/actions.yaml"),
        ),
    ]
    .into_iter()
    .map(|(name, text)| NamedText {
        name: name.to_string(),
        text: text.to_string(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::RuleSet;

    #[test]
    fn the_built_in_demo_rules_load_and_their_actions_find_their_alerts() {
        let set = RuleSet::parse(&demo_files()).expect("the demo rules are valid");
        assert_eq!(set.rules.len(), 4);
        assert_eq!(set.action_count(), 5);
        assert!(set.rule_count() > 30);
    }
}
