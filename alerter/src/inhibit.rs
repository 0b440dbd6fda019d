//! Inhibition: while a source alert fires, target alerts that share its `equal` labels are
//! not notified (an alert never inhibits itself through a rule it matches on both sides), as
//! Alertmanager's inhibitor decides.

use std::sync::Arc;

use taishan_core::config::FieldError;

use crate::config::InhibitRuleConfig;
use crate::matcher::{all_match, Matcher};
use crate::model::{Alert, Fingerprint, LabelSet};

/// One compiled inhibit rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    /// What a source alert matches.
    pub source: Vec<Matcher>,
    /// What an inhibited alert matches.
    pub target: Vec<Matcher>,
    /// Labels the two must share (both absent counts as equal).
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Compiles a rule; its matcher errors were reported when the file was checked.
    pub fn compile(config: &InhibitRuleConfig) -> Self {
        let mut ignored: Vec<FieldError> = Vec::new();
        let (source, target) = config.matchers("", &mut ignored);
        Self {
            source,
            target,
            equal: config.equal.clone(),
        }
    }

    fn inhibits(&self, target: &LabelSet, source: &Alert) -> bool {
        all_match(&self.target, target)
            && all_match(&self.source, &source.labels)
            && self.equal.iter().all(|l| target.get(l) == source.labels.get(l))
            // A source that is itself a target of this rule does not inhibit its likes.
            && !(all_match(&self.source, target) && all_match(&self.target, &source.labels))
    }
}

/// The fingerprints of firing alerts in `firing` that inhibit `labels` under `rules`, sorted.
pub fn inhibited_by(
    rules: &[InhibitRule],
    labels: &LabelSet,
    firing: &[Arc<Alert>],
) -> Vec<Fingerprint> {
    let own = Fingerprint::of(labels);
    let mut out: Vec<Fingerprint> = rules
        .iter()
        .flat_map(|r| firing.iter().filter(move |s| r.inhibits(labels, s)))
        .map(|a| a.fingerprint())
        .filter(|fp| *fp != own)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> InhibitRule {
        InhibitRule::compile(&serde_yaml_ng::from_str(yaml).unwrap())
    }

    fn alert(pairs: &[(&str, &str)]) -> Alert {
        Alert {
            labels: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: LabelSet::new(),
            starts_at_ms: 0,
            ends_at_ms: 0,
            generator_url: String::new(),
            updated_at_ms: 0,
            timeout: false,
        }
    }

    #[test]
    fn a_critical_alert_inhibits_warnings_of_the_same_service() {
        let rules = [rule("source_matchers: [severity=critical]\ntarget_matchers: [severity=warning]\nequal: [service]\n")];
        let critical = alert(&[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("service", "payment"),
        ]);
        let firing = vec![Arc::new(critical.clone())];
        let warning = alert(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("service", "payment"),
        ]);
        assert_eq!(
            inhibited_by(&rules, &warning.labels, &firing),
            [critical.fingerprint()]
        );
        let elsewhere = alert(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("service", "risk"),
        ]);
        assert!(inhibited_by(&rules, &elsewhere.labels, &firing).is_empty());
        assert!(inhibited_by(&rules, &critical.labels, &firing).is_empty());
    }

    #[test]
    fn alerts_matching_both_sides_do_not_inhibit_each_other() {
        let rules = [rule(
            "source_matchers: [team=db]\ntarget_matchers: [team=db]\nequal: [cluster]\n",
        )];
        let a = alert(&[("alertname", "A"), ("team", "db"), ("cluster", "x")]);
        let b = alert(&[("alertname", "B"), ("team", "db"), ("cluster", "x")]);
        assert!(inhibited_by(&rules, &b.labels, &[Arc::new(a)]).is_empty());
    }
}
