//! Gathering the scene around an alert: the service graph and every suspect's signals,
//! through range queries of the span-derived series (Taishan writes them for every traced
//! service and call), the analyzer's scores, and the business series by channel.

use taishan_core::Labels;

use super::evidence::{judge, Direction, Finding, NOTABLE};
use super::{Scene, Suspect};

/// A range query's answer: each series' labels and (ms, value) points, or why it failed.
pub type RangeAnswer = Result<Vec<(Labels, Vec<(i64, f64)>)>, String>;

/// The span of time looked at: a baseline before `split_ms`, the incident after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start_ms: i64,
    pub split_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
}

impl Window {
    /// Around an alert that started at `alert_ms`: 30 minutes of baseline up to 2 minutes
    /// before it, then until `end_ms`, every 5 s.
    pub fn around(alert_ms: i64, end_ms: i64) -> Self {
        Window {
            start_ms: alert_ms - 32 * 60_000,
            split_ms: alert_ms - 2 * 60_000,
            end_ms: end_ms.max(alert_ms),
            step_ms: 5_000,
        }
    }
}

/// What a signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum About {
    /// A node named by this label.
    Node(&'static str),
    /// An edge named by `client` and `server`.
    Edge,
}

/// One signal looked at for every suspect it has series for.
struct Signal {
    words: &'static str,
    query: &'static str,
    about: About,
    traffic: bool,
    direction: Direction,
    floor: f64,
}

const SIGNALS: &[Signal] = &[
    Signal {
        words: "error ratio",
        query: r#"(sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER", status_code="STATUS_CODE_ERROR"}[1m])) or 0 * sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER"}[1m]))) / sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER"}[1m]))"#,
        about: About::Node("service_name"),
        traffic: false,
        direction: Direction::Up,
        floor: 0.01,
    },
    Signal {
        words: "p99 latency (s)",
        query: r#"histogram_quantile(0.99, sum by (service_name, le) (rate(traces_span_metrics_duration_seconds_bucket{span_kind="SPAN_KIND_SERVER"}[1m])))"#,
        about: About::Node("service_name"),
        traffic: false,
        direction: Direction::Up,
        floor: 0.1,
    },
    Signal {
        words: "requests/s",
        query: r#"sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER"}[1m]))"#,
        about: About::Node("service_name"),
        traffic: true,
        direction: Direction::Either,
        floor: 0.05,
    },
    Signal {
        words: "failed calls ratio",
        query: r#"(sum by (client, server) (rate(traces_service_graph_request_failed_total[1m])) or 0 * sum by (client, server) (rate(traces_service_graph_request_total[1m]))) / sum by (client, server) (rate(traces_service_graph_request_total[1m]))"#,
        about: About::Edge,
        traffic: false,
        direction: Direction::Up,
        floor: 0.01,
    },
    Signal {
        words: "p99 call latency (s)",
        query: r#"histogram_quantile(0.99, sum by (client, server, le) (rate(traces_service_graph_request_client_seconds_bucket[1m])))"#,
        about: About::Edge,
        traffic: false,
        direction: Direction::Up,
        floor: 0.1,
    },
    Signal {
        words: "calls/s",
        query: r#"sum by (client, server) (rate(traces_service_graph_request_total[1m]))"#,
        about: About::Edge,
        traffic: true,
        direction: Direction::Either,
        floor: 0.02,
    },
    // Business series by bank channel (the demo's payment metrics): failures, payments left
    // unanswered, payments overdue.
    Signal {
        words: "failed payments ratio",
        query: r#"(sum by (channel) (rate(payment_results_total{status="failed"}[1m])) or 0 * sum by (channel) (rate(payment_results_total[1m]))) / sum by (channel) (rate(payment_results_total{status=~"succeeded|failed"}[1m]))"#,
        about: About::Node("channel"),
        traffic: false,
        direction: Direction::Up,
        floor: 0.01,
    },
    Signal {
        words: "payments unanswered/s",
        query: r#"sum by (channel) (rate(payment_unanswered_total[1m]))"#,
        about: About::Node("channel"),
        traffic: false,
        direction: Direction::Up,
        floor: 0.02,
    },
    // Decisions a service could not make (the demo's risk model failing inside risk, where
    // no span fails): the service named by the scrape job. Over 30 s, as the demo's
    // RiskErrorBurst sees them, so the ranking drawn as that alert fires sees them too.
    Signal {
        words: "failed decisions ratio",
        query: r#"label_replace((sum by (job) (rate(risk_decisions_total{verdict="error"}[30s])) or 0 * sum by (job) (rate(risk_decisions_total[30s]))) / sum by (job) (rate(risk_decisions_total[30s])), "service_name", "$1", "job", "(?:.*/)?(.+)")"#,
        about: About::Node("service_name"),
        traffic: false,
        direction: Direction::Up,
        floor: 0.01,
    },
    Signal {
        words: "payments overdue",
        query: r#"sum by (channel) (payment_overdue)"#,
        about: About::Node("channel"),
        traffic: false,
        direction: Direction::Up,
        floor: 1.0,
    },
];

/// The analyzer's scores of the watched series, by the node their labels name.
const SCORES: &str = r#"max by (service_name, channel, watch) (taishan_anomaly_score)"#;

/// Queries every signal over `window` and puts the scene together. A signal whose query
/// fails is left out (its error returned beside the scene); the graph's own query must work.
pub fn collect(
    window: &Window,
    query: &mut dyn FnMut(&str) -> RangeAnswer,
) -> Result<(Scene, Vec<String>), String> {
    let mut scene = Scene::default();
    let mut problems = Vec::new();
    for signal in SIGNALS {
        let answer = match query(signal.query) {
            Ok(a) => a,
            Err(e) if signal.about == About::Edge && signal.traffic => return Err(e),
            Err(e) => {
                problems.push(format!("{}: {e}", signal.words));
                continue;
            }
        };
        // Where the answer ends for every series (the span-derived series lag a few seconds):
        // no gap after it is read as traffic stopping.
        let last = answer
            .iter()
            .filter_map(|(_, p)| p.last().map(|p| p.0))
            .max()
            .unwrap_or(window.end_ms);
        for (labels, points) in answer {
            let Some(suspect) = suspect_of(&labels, signal.about) else {
                continue;
            };
            if let Suspect::Edge { client, server } = &suspect {
                let edge = (client.clone(), server.clone());
                if signal.traffic && !scene.edges.contains(&edge) {
                    scene.edges.push(edge);
                }
            }
            let points = if signal.traffic {
                fill_gaps(&points, window, last)
            } else {
                points
            };
            let missing = signal.traffic.then_some(0.0);
            if let Some(f) = judge(
                signal.words,
                &points,
                window.split_ms,
                signal.direction,
                signal.floor,
                missing,
            ) {
                scene
                    .evidence
                    .entry(suspect)
                    .or_default()
                    .add(&f, signal.traffic);
            }
        }
    }
    match query(SCORES) {
        Ok(answer) => add_scores(&mut scene, answer, window),
        Err(e) => problems.push(format!("anomaly scores: {e}")),
    }
    scene.edges.sort();
    Ok((scene, problems))
}

fn suspect_of(labels: &Labels, about: About) -> Option<Suspect> {
    match about {
        About::Node(label) => labels.get(label).map(Suspect::node),
        About::Edge => Some(Suspect::edge(labels.get("client")?, labels.get("server")?)),
    }
}

/// Steps with no point after the split (up to `last`, where the answer ends) read as 0:
/// traffic that stopped leaves no series.
fn fill_gaps(points: &[(i64, f64)], window: &Window, last: i64) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(points.len());
    let mut it = points.iter().peekable();
    let mut t = window.start_ms;
    while t <= last {
        match it.peek() {
            Some(&&(pt, v)) if pt == t => {
                out.push((t, v));
                it.next();
            }
            _ if t >= window.split_ms => out.push((t, 0.0)),
            _ => {}
        }
        t += window.step_ms;
    }
    out
}

fn add_scores(scene: &mut Scene, answer: Vec<(Labels, Vec<(i64, f64)>)>, window: &Window) {
    for (labels, points) in answer {
        let Some(name) = labels.get("service_name").or_else(|| labels.get("channel")) else {
            continue;
        };
        let after = points
            .iter()
            .filter(|(t, v)| *t >= window.split_ms && v.is_finite());
        let (mut peak, mut onset) = (0.0f64, None);
        for &(t, v) in after {
            peak = peak.max(v);
            if onset.is_none() && v >= NOTABLE {
                onset = Some(t);
            }
        }
        let watch = labels.get("watch").unwrap_or("?");
        let finding = Finding {
            signal: format!("anomaly score of {watch}"),
            anomaly: peak,
            onset_ms: onset,
            baseline: 0.0,
            extreme: peak,
        };
        scene
            .evidence
            .entry(Suspect::node(name))
            .or_default()
            .add(&finding, watch == "service_requests");
    }
}
