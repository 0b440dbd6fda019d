//! Each firing alert's likely root causes, written on the alert as annotations, so the
//! alerter's API, the alerts page and the notification all carry them: `root_cause` (the
//! first three suspects with their scores) and `root_cause_detail` (why the first ranks
//! first).
//!
//! Ranked once per firing, off the evaluation path: the forwarder asks when it first sees an
//! alert firing and adds the annotations from the next evaluation on. A ranking takes well
//! under a second, so with a group_wait of seconds (the demo's is 10 s) the first
//! notification already carries them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::rca::{Ranked, Window};
use parking_lot::Mutex;
use taishan_alerter::{Fingerprint, LabelSet};
use taishan_core::{Clock, TenantId};
use taishan_query::Engine;
use taishan_rules::RuleManager;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::rca_api::rank_in;
use super::rca_subject::Subject;
use taishan_alerter::AlertAnnotator;

/// The annotation naming the first suspects.
pub const ROOT_CAUSE: &str = "root_cause";
/// The annotation saying why the first suspect ranks first.
pub const ROOT_CAUSE_DETAIL: &str = "root_cause_detail";
/// Suspects named in `root_cause`.
const NAMED: usize = 3;
/// Rankings kept (an alert's is dropped when this many newer ones are kept).
const KEPT: usize = 1024;
/// Rankings waiting to be drawn; beyond this an alert goes without one (logged).
const QUEUED: usize = 64;
/// A ranking is drawn this long after the alert began (ms), no sooner: the data of its
/// first seconds (a scrape, a rule evaluation) is in by then, and the next evaluation,
/// well within a group_wait, still carries it to the first notification.
const DRAW_AFTER_MS: i64 = 4_000;

/// One firing of one alert: its fingerprint and when it began (ms).
type Firing = (Fingerprint, i64);

#[derive(Debug)]
enum Note {
    Asked,
    Ready { annotations: LabelSet, seq: u64 },
}

/// The rankings drawn so far, and the queue of those asked for.
#[derive(Debug)]
pub struct RootCauseNotes {
    notes: Mutex<(HashMap<Firing, Note>, u64)>,
    asks: mpsc::Sender<(Firing, LabelSet)>,
}

/// Draws the rankings asked for, one at a time.
pub struct RootCauseWorker {
    notes: Arc<RootCauseNotes>,
    asks: mpsc::Receiver<(Firing, LabelSet)>,
    engine: Engine,
    clock: Arc<dyn Clock>,
}

impl RootCauseNotes {
    /// The notes, and the worker that fills them from `engine`'s data.
    pub fn new(engine: Engine, clock: Arc<dyn Clock>) -> (Arc<Self>, RootCauseWorker) {
        let (tx, rx) = mpsc::channel(QUEUED);
        let notes = Arc::new(Self {
            notes: Mutex::new((HashMap::new(), 0)),
            asks: tx,
        });
        let worker = RootCauseWorker {
            notes: notes.clone(),
            asks: rx,
            engine,
            clock,
        };
        (notes, worker)
    }

    fn keep(&self, firing: Firing, annotations: LabelSet) {
        let mut guard = self.notes.lock();
        let (notes, seq) = &mut *guard;
        *seq += 1;
        let seq = *seq;
        notes.insert(firing, Note::Ready { annotations, seq });
        if notes.len() > KEPT {
            let oldest = notes
                .iter()
                .filter_map(|(k, n)| match n {
                    Note::Ready { seq, .. } => Some((*seq, *k)),
                    Note::Asked => None,
                })
                .min();
            if let Some((_, k)) = oldest {
                notes.remove(&k);
            }
        }
    }
}

impl AlertAnnotator for RootCauseNotes {
    fn annotate(&self, labels: &LabelSet, began_ms: i64, annotations: &mut LabelSet) {
        let firing = (Fingerprint::of(labels), began_ms);
        let mut guard = self.notes.lock();
        match guard.0.get(&firing) {
            Some(Note::Ready { annotations: a, .. }) => {
                annotations.extend(a.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Some(Note::Asked) => {}
            None => match self.asks.try_send((firing, labels.clone())) {
                Ok(()) => {
                    guard.0.insert(firing, Note::Asked);
                }
                Err(_) => {
                    let alert = labels.get("alertname").map(String::as_str).unwrap_or("");
                    tracing::warn!(alert, "root cause: {QUEUED} rankings already waiting; this alert goes without one");
                }
            },
        }
    }
}

impl RootCauseWorker {
    /// Draws rankings until `cancel`; an alert whose labels name no service is about what
    /// its rule among `rules` reads.
    pub fn spawn(mut self, cancel: &CancellationToken, rules: Arc<RuleManager>) -> JoinHandle<()> {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            loop {
                let (firing, labels) = tokio::select! {
                    _ = cancel.cancelled() => return,
                    f = self.asks.recv() => match f { Some(f) => f, None => return },
                };
                // The scrape and rule evaluation after the alert's own land first.
                let wait_ms = firing.1 + DRAW_AFTER_MS - self.clock.now_ms();
                if wait_ms > 0 {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                    }
                }
                let now = self.clock.now_ms();
                let window = Window::around(firing.1, now.max(firing.1));
                let engine = self.engine.clone();
                let rules = rules.clone();
                let drawn = tokio::task::spawn_blocking(move || {
                    // The rules evaluate the default tenant: so do their alerts' causes.
                    let tenant = TenantId::default_tenant();
                    rank_in(
                        &engine,
                        &tenant,
                        &window,
                        &Subject::of_alert(&rules, labels),
                    )
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|ranked| ranked);
                let annotations = match drawn {
                    Ok(found) => annotations_of(&found.ranking),
                    Err(e) => LabelSet::from([(ROOT_CAUSE.into(), format!("not ranked: {e}"))]),
                };
                self.notes.keep(firing, annotations);
            }
        })
    }
}

/// The annotations for a ranking: the first suspects with scores, and the first's reasons.
pub fn annotations_of(ranking: &[Ranked]) -> LabelSet {
    let Some(first) = ranking.first() else {
        let none = "nothing moved: no service or call left its baseline around the alert";
        return LabelSet::from([(ROOT_CAUSE.into(), none.into())]);
    };
    let named: Vec<String> = ranking
        .iter()
        .take(NAMED)
        .map(|r| format!("{} ({:.2})", r.name, r.score))
        .collect();
    LabelSet::from([
        (ROOT_CAUSE.into(), named.join(", ")),
        (
            ROOT_CAUSE_DETAIL.into(),
            format!("{}: {}", first.name, first.reasons.join("; ")),
        ),
    ])
}
