//! The ranking: evidence discounted by what explains it better along the graph, and by a
//! late onset.

use super::evidence::NOTABLE;
use super::{Ranked, Scene, Suspect};

/// How much an anomalous explanation elsewhere takes off a suspect's evidence.
const EXPLAINED: f64 = 0.8;
/// Onsets this much after the first clear anomaly's are a consequence more likely than a
/// cause; only a nudge, as the span-derived series lag by different amounts.
const LATE_MS: i64 = 30_000;
const LATE_FACTOR: f64 = 0.9;

/// Suspects off the alerting services' call paths keep this much of their score: a fault
/// reaches a caller from what it calls, so the cause of a symptom at a service is that
/// service or one it calls (directly or not); a surge from a caller is the exception, kept
/// possible rather than ruled out.
const OFF_PATH_FACTOR: f64 = 0.35;

/// Every suspect with evidence, most likely cause first, for an alert about the services
/// in `focus` (its `service` or `channel` labels; empty when it names none): suspects off
/// their call paths are discounted.
pub fn rank_for(scene: &Scene, focus: &[String]) -> Vec<Ranked> {
    let mut on_path: Vec<&str> = focus
        .iter()
        .map(String::as_str)
        .filter(|f| scene.edges.iter().any(|(c, s)| c == f || s == f))
        .collect();
    if on_path.is_empty() {
        return rank(scene);
    }
    // Everything the focus calls, transitively.
    let mut i = 0;
    while i < on_path.len() {
        let from = on_path[i];
        for (c, s) in &scene.edges {
            if c == from && !on_path.contains(&s.as_str()) {
                on_path.push(s);
            }
        }
        i += 1;
    }
    let on = |s: &Suspect| {
        on_path.contains(&match s {
            Suspect::Node { name } => name.as_str(),
            Suspect::Edge { client, .. } => client.as_str(),
        })
    };
    // An earlier incident elsewhere says nothing of how late a suspect on the path began.
    let mut ranked = ranked_by(scene, &on);
    let about = focus.join(", ");
    for r in &mut ranked {
        if !on(&r.suspect) {
            r.score *= OFF_PATH_FACTOR;
            r.reasons.push(format!(
                "not on the call path of {about}, which the alert is about"
            ));
        }
    }
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
    ranked
}

/// Every suspect with evidence, most likely cause first.
pub fn rank(scene: &Scene) -> Vec<Ranked> {
    ranked_by(scene, &|_| true)
}

/// The ranking, onsets counted late from the first clear anomaly among `reference`.
fn ranked_by(scene: &Scene, reference: &dyn Fn(&Suspect) -> bool) -> Vec<Ranked> {
    let nodes = scene.nodes();
    let edge_quality = |c: &str, s: &str| scene.of(&Suspect::edge(c, s)).quality;
    let incoming = |n: &str| -> Vec<&(String, String)> {
        scene.edges.iter().filter(|(_, s)| s == n).collect()
    };
    // A node's own evidence: its signals, or every caller failing it; its traffic only as
    // far as failing calls into it or its callers' own traffic do not explain it.
    // How far every call into a node fails (none failing when nothing calls it).
    let all_calls_in_fail = |n: &str| least(incoming(n).iter().map(|(c, s)| edge_quality(c, s)));
    let node_evidence = |n: &str| -> f64 {
        let ev = scene.of(&Suspect::node(n));
        let calls_in = incoming(n);
        let all_fail = all_calls_in_fail(n);
        let upstream = calls_in
            .iter()
            .map(|(c, s)| edge_quality(c, s).max(scene.of(&Suspect::node(c)).traffic))
            .fold(0.0, f64::max);
        ev.quality.max(all_fail).max(ev.traffic * (1.0 - upstream))
    };
    // What a node's callees show of their own (not their traffic, which follows the
    // caller's): their signals, or every caller failing them.
    let callee_quality = |n: &str| -> f64 {
        scene
            .of(&Suspect::node(n))
            .quality
            .max(all_calls_in_fail(n))
    };
    let mut ranked = Vec::new();
    for n in &nodes {
        let own = node_evidence(n);
        if own <= 0.0 {
            continue;
        }
        let downstream = scene
            .edges
            .iter()
            .filter(|(c, _)| c == n)
            .map(|(c, s)| callee_quality(s).max(edge_quality(c, s)))
            .fold(0.0, f64::max);
        let suspect = Suspect::node(n);
        let mut reasons = scene.of(&suspect).reasons;
        if downstream >= NOTABLE {
            reasons.push(format!(
                "what {n} calls is anomalous too ({downstream:.2}): more likely a victim"
            ));
        }
        ranked.push(line(
            scene,
            suspect,
            own * (1.0 - EXPLAINED * downstream),
            reasons,
        ));
    }
    for (c, s) in &scene.edges {
        let own = edge_quality(c, s);
        if own <= 0.0 {
            continue;
        }
        let server = scene.of(&Suspect::node(s)).quality;
        let others: Vec<f64> = incoming(s)
            .iter()
            .filter(|(o, _)| o != c)
            .map(|(o, s)| edge_quality(o, s))
            .collect();
        let others_fail = least(others.iter().copied());
        let explained = server.max(others_fail);
        let suspect = Suspect::edge(c, s);
        let mut reasons = scene.of(&suspect).reasons;
        if explained >= NOTABLE {
            reasons.push(format!(
                "{s} itself is anomalous ({explained:.2}): more likely its fault"
            ));
        } else if !others.is_empty() {
            reasons.push(format!("{s} answers its other callers well"));
        }
        ranked.push(line(
            scene,
            suspect,
            own * (1.0 - EXPLAINED * explained),
            reasons,
        ));
    }
    let first = ranked
        .iter()
        .filter(|r| scene.of(&r.suspect).quality >= NOTABLE && reference(&r.suspect))
        .filter_map(|r| r.onset_ms)
        .min();
    for r in &mut ranked {
        if let (Some(first), Some(onset)) = (first, r.onset_ms) {
            if onset - first > LATE_MS {
                r.score *= LATE_FACTOR;
                r.reasons.push(format!(
                    "began {} s after the first anomaly",
                    (onset - first) / 1000
                ));
            }
        }
    }
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
    ranked
}

/// The smallest of `values`; 0 when there are none (no call fails when none is made).
fn least(values: impl Iterator<Item = f64>) -> f64 {
    values.reduce(f64::min).unwrap_or(0.0)
}

fn line(scene: &Scene, suspect: Suspect, score: f64, reasons: Vec<String>) -> Ranked {
    Ranked {
        name: suspect.label(),
        onset_ms: scene.of(&suspect).onset_ms,
        score,
        reasons,
        suspect,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Evidence, Scene, Suspect};
    use super::*;

    /// The demo's graph, in part.
    fn graph() -> Scene {
        let edges = [
            ("gateway", "loan"),
            ("loan", "risk"),
            ("loan", "payment"),
            ("payment", "bank-a"),
            ("payment", "bank-b"),
            ("reconciliation", "bank-a"),
            ("reconciliation", "ledger"),
            ("compensation", "ledger"),
        ];
        Scene {
            edges: edges
                .iter()
                .map(|(c, s)| (c.to_string(), s.to_string()))
                .collect(),
            evidence: Default::default(),
        }
    }

    fn with(scene: &mut Scene, s: Suspect, quality: f64, traffic: f64, onset: i64) {
        scene.evidence.insert(
            s,
            Evidence {
                quality,
                traffic,
                onset_ms: Some(onset),
                reasons: vec![],
            },
        );
    }

    fn top(scene: &Scene) -> String {
        rank(scene)[0].name.clone()
    }

    #[test]
    fn a_failing_callee_outranks_its_callers() {
        let mut s = graph();
        with(&mut s, Suspect::node("risk"), 0.9, 0.0, 1000);
        with(&mut s, Suspect::edge("loan", "risk"), 0.9, 0.0, 1000);
        with(&mut s, Suspect::node("loan"), 0.7, 0.0, 2000);
        with(&mut s, Suspect::node("gateway"), 0.6, 0.0, 3000);
        assert_eq!(top(&s), "risk");
    }

    #[test]
    fn a_crashed_service_is_the_one_every_caller_fails_to_reach() {
        let mut s = graph();
        with(
            &mut s,
            Suspect::edge("compensation", "ledger"),
            0.95,
            0.6,
            1000,
        );
        with(
            &mut s,
            Suspect::edge("reconciliation", "ledger"),
            0.9,
            0.5,
            2000,
        );
        with(&mut s, Suspect::node("ledger"), 0.0, 0.95, 1000);
        assert_eq!(top(&s), "ledger");
    }

    #[test]
    fn a_call_failing_while_its_server_answers_others_is_the_call() {
        let mut s = graph();
        with(
            &mut s,
            Suspect::edge("compensation", "ledger"),
            0.95,
            0.9,
            1000,
        );
        with(
            &mut s,
            Suspect::edge("reconciliation", "ledger"),
            0.0,
            0.0,
            0,
        );
        with(&mut s, Suspect::node("ledger"), 0.0, 0.8, 1000);
        assert_eq!(top(&s), "compensation → ledger");
    }

    #[test]
    fn a_bank_seen_only_through_its_channel_series_is_named() {
        let mut s = graph();
        with(&mut s, Suspect::node("bank-a"), 0.9, 0.0, 1000);
        with(&mut s, Suspect::edge("payment", "bank-a"), 0.8, 0.0, 1000);
        with(&mut s, Suspect::node("payment"), 0.6, 0.0, 5000);
        assert_eq!(top(&s), "bank-a");
    }

    #[test]
    fn an_earlier_incident_off_the_alerts_path_ranks_below_the_alerting_service() {
        // bank-a still failing from an outage a minute before risk began to fail: louder,
        // but not what risk calls.
        let mut s = graph();
        with(&mut s, Suspect::node("bank-a"), 0.95, 0.0, 1000);
        with(&mut s, Suspect::node("risk"), 0.7, 0.0, 60_000);
        assert_eq!(top(&s), "bank-a");
        let ranked = rank_for(&s, &["risk".to_string()]);
        assert_eq!(ranked[0].name, "risk");
        assert!(
            !ranked[0]
                .reasons
                .iter()
                .any(|r| r.contains("after the first")),
            "an incident off the path sets no onset: {:?}",
            ranked[0].reasons
        );
        assert!(ranked[1]
            .reasons
            .iter()
            .any(|r| r.contains("not on the call path of risk")));
        // For the bank's own alert, the bank stays first; an unknown focus changes nothing.
        assert_eq!(rank_for(&s, &["bank-a".to_string()])[0].name, "bank-a");
        assert_eq!(rank_for(&s, &["nobody".to_string()])[0].name, "bank-a");
    }
}
