//! What the alerter keeps in its state file across restarts (see [`crate::state`]): the
//! notification log, silences and acknowledgements, read back at start, appended as they
//! change, synced once a second and compacted when the file has grown.

use std::sync::Arc;
use std::time::Duration;

use crate::model::Fingerprint;
use crate::oncall::pager::Ack;
use crate::state::{StateEvent, StateLog, StoredSilence};

use super::Alerter;

impl Alerter {
    pub(super) fn restore(&self, events: Vec<StateEvent>) {
        let (mut entries, mut silences) = (0, std::collections::HashMap::new());
        for e in events {
            match e {
                StateEvent::Notified { key, entry } => {
                    self.log.restore(key, entry);
                    entries += 1;
                }
                StateEvent::Acknowledged {
                    fingerprint,
                    by,
                    at_ms,
                    comment,
                } => match u64::from_str_radix(&fingerprint, 16) {
                    Ok(fp) => self
                        .pager
                        .restore_ack(Fingerprint(fp), Ack { by, at_ms, comment }),
                    Err(_) => {
                        tracing::warn!(%fingerprint, "a stored acknowledgement names no alert; dropped")
                    }
                },
                StateEvent::Silence { silence } => match silence.to_silence() {
                    Some(s) => {
                        silences.insert(s.id.clone(), s);
                    }
                    None => {
                        tracing::warn!(silence = ?silence, "a stored silence no longer parses; dropped")
                    }
                },
            }
        }
        if entries + silences.len() > 0 {
            tracing::info!(entries, silences = silences.len(), "alerter state restored");
        }
        self.silences.restore(silences.into_values().collect());
    }

    /// Records the silences now held, so a restart finds them.
    pub(super) fn persist_silences(&self, ids: &[&str]) {
        for id in ids {
            if let Some(s) = self.silences.get(id) {
                let event = StateEvent::Silence {
                    silence: StoredSilence::from(&s),
                };
                if let Some(state) = &self.state {
                    if let Err(e) = state.append(&event) {
                        tracing::error!(error = %e, silence = %id, "the silence could not be saved; it is in force until a restart");
                    }
                }
                self.publish(event);
            }
        }
    }

    /// Rewrites the state file as what is held once it has grown to four times that.
    pub(super) fn compact_state(&self) {
        let Some(state) = &self.state else { return };
        let mut live: Vec<StateEvent> = self
            .log
            .entries()
            .into_iter()
            .map(|(key, entry)| StateEvent::Notified { key, entry })
            .collect();
        live.extend(self.silences.list().iter().map(|s| StateEvent::Silence {
            silence: StoredSilence::from(s),
        }));
        live.extend(
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
        if state.lines() > 4 * live.len() + 1000 {
            if let Err(e) = state.compact(&live) {
                tracing::error!(error = %e, "the alerter state file could not be compacted");
            }
        }
    }
}

/// How often notification log lines reach the disk (see [`crate::state`]).
pub(super) const STATE_SYNC_EVERY: Duration = Duration::from_secs(1);

pub(super) async fn sync_state(state: Arc<StateLog>) {
    match tokio::task::spawn_blocking(move || state.sync()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "the alerter state could not be synced"),
        Err(e) => tracing::error!(error = %e, "syncing the alerter state failed"),
    }
}
