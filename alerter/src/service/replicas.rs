//! The alerter as one replica of several (see [`crate::cluster`]): what it tells its
//! peers, what it takes from them, and the wait of its position before each delivery.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cluster::PULL_EVERY;
use crate::model::Fingerprint;
use crate::oncall::pager::Ack;
use crate::state::{StateEvent, StoredSilence};

use super::Alerter;

impl Alerter {
    /// Everything this replica holds that its peers share: the notification log, the
    /// silences and the acknowledgements.
    pub fn state_snapshot(&self) -> Vec<StateEvent> {
        let mut out: Vec<StateEvent> = self
            .log
            .entries()
            .into_iter()
            .map(|(key, entry)| StateEvent::Notified { key, entry })
            .collect();
        out.extend(self.silences.list().iter().map(|s| StateEvent::Silence {
            silence: StoredSilence::from(s),
        }));
        out.extend(
            self.pager
                .acks()
                .into_iter()
                .map(|(fp, a)| StateEvent::Acknowledged {
                    fingerprint: Fingerprint(fp).to_string(),
                    by: a.by,
                    at_ms: a.at_ms,
                    comment: a.comment,
                }),
        );
        out
    }

    /// Takes a peer's changes, keeping the newer of two versions. A change that fails the
    /// checks a posted one passes (a silence without a matcher that must match, an
    /// acknowledgement by no one) is refused and logged, whoever sent it.
    pub fn merge_state(&self, events: Vec<StateEvent>) -> Merged {
        let mut merged = Merged::default();
        for e in events {
            let new = match self.merge_one(&e) {
                Ok(new) => new,
                Err(why) => {
                    tracing::warn!(%why, "a peer's change was refused");
                    merged.refused += 1;
                    continue;
                }
            };
            // The notification log writes its own; the rest is kept here for a restart.
            if new && !matches!(e, StateEvent::Notified { .. }) {
                if let Some(state) = &self.state {
                    if let Err(err) = state.append(&e) {
                        tracing::error!(error = %err, "a peer's change could not be saved");
                    }
                }
            }
            merged.taken += usize::from(new);
        }
        merged
    }

    /// Whether `e` was new here, or why it is refused.
    fn merge_one(&self, e: &StateEvent) -> Result<bool, String> {
        match e {
            StateEvent::Notified { key, entry } => Ok(self.log.merge(key.clone(), entry.clone())),
            StateEvent::Silence { silence } => {
                let s = silence
                    .to_silence()
                    .ok_or_else(|| "a silence whose matcher does not parse".to_string())?;
                self.silences.merge(s).map_err(|e| e.to_string())
            }
            StateEvent::Acknowledged {
                fingerprint,
                by,
                at_ms,
                comment,
            } => {
                let fp = u64::from_str_radix(fingerprint, 16).map_err(|_| {
                    format!("acknowledgement of {fingerprint:?}: not a fingerprint")
                })?;
                if by.trim().is_empty() {
                    return Err(format!("acknowledgement of {fingerprint}: by no one"));
                }
                if self.pager.ack_of(Fingerprint(fp)).is_some() {
                    return Ok(false);
                }
                let ack = Ack {
                    by: by.clone(),
                    at_ms: *at_ms,
                    comment: comment.clone(),
                };
                self.pager.acknowledge_restored(Fingerprint(fp), ack);
                Ok(true)
            }
        }
    }

    /// Whether `authorization` carries the peers' secret (false without peers).
    pub fn is_peer(&self, authorization: Option<&[u8]>) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.config().is_peer(authorization))
    }

    /// Whether this alerter has peers (and so serves the cluster route).
    pub fn has_peers(&self) -> bool {
        self.cluster.is_some()
    }

    /// Tells the peers of a change made here.
    pub(super) fn publish(&self, event: StateEvent) {
        if let Some(c) = &self.cluster {
            c.publish(event);
        }
    }

    /// How long this replica lets the ones before it deliver first (0 for the first). Waited
    /// in real time, not on the injected clock: it orders processes whose log entries come
    /// over the network.
    pub(super) fn replica_wait(&self) -> std::time::Duration {
        self.cluster
            .as_ref()
            .map_or(std::time::Duration::ZERO, |c| c.config().wait())
    }

    /// Takes the peers' state before the first flush, so a replica that restarts does not
    /// send again what the others sent meanwhile.
    pub(super) async fn catch_up(&self) {
        if let Some(cluster) = &self.cluster {
            let merged = self.merge_state(cluster.pull().await);
            tracing::info!(
                changes = merged.taken,
                refused = merged.refused,
                "took the peers' state at start"
            );
        }
    }

    /// Pushes changes to the peers and pulls theirs every 30 s, until `cancel`.
    pub(super) fn spawn_replication(
        self: &Arc<Self>,
        cancel: &CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let (Some(_), Some(rx)) = (&self.cluster, self.cluster_outbox.lock().take()) else {
            return Vec::new();
        };
        let me = self.clone();
        let stop = cancel.clone();
        let push = tokio::spawn(async move {
            let Some(cluster) = &me.cluster else { return };
            tokio::select! {
                _ = cluster.push_loop(rx) => {}
                _ = stop.cancelled() => {}
            }
        });
        let me = self.clone();
        let stop = cancel.clone();
        let pull = tokio::spawn(async move {
            let Some(cluster) = &me.cluster else { return };
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(PULL_EVERY) => {}
                    _ = stop.cancelled() => return,
                }
                let merged = me.merge_state(cluster.pull().await);
                if merged.taken > 0 {
                    tracing::info!(changes = merged.taken, "took the peers' state");
                }
            }
        });
        vec![push, pull]
    }
}

/// What a peer's changes did here.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// Changes new here.
    pub taken: usize,
    /// Changes refused by the checks.
    pub refused: usize,
}
