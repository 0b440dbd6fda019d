//! Aggregation groups: alerts of a route split by their `group_by` labels, each group
//! flushed `group_wait` after it appears and every `group_interval` after that, as
//! Alertmanager's dispatcher does. A pure state machine over the injected clock's time: the
//! service asks what is due and when the next flush is; tests drive it with a manual clock.
//! Groups waiting for their next flush are kept in time order, so finding what is due costs
//! what is due, not the number of groups.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::model::{label_set_string, Alert, Fingerprint, LabelSet};
use crate::routing::{RouteId, RouteTree};

/// Identifies a group: its route and its group labels' fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId {
    /// The route.
    pub route: RouteId,
    /// The group labels' fingerprint.
    pub labels: Fingerprint,
}

/// One aggregation group.
#[derive(Debug, Clone)]
pub struct AggregationGroup {
    /// Its route.
    pub route: RouteId,
    /// Its group labels.
    pub labels: LabelSet,
    /// `route key:group labels`, Alertmanager's group key.
    pub key: String,
    /// Its alerts, shared with the alert store.
    pub alerts: HashMap<Fingerprint, Arc<Alert>>,
    next_flush_ms: i64,
    has_flushed: bool,
    in_flight: bool,
}

/// A group's alerts at a flush, for the notification pipeline.
#[derive(Debug, Clone)]
pub struct FlushBatch {
    /// The group.
    pub group: GroupId,
    /// Its key.
    pub group_key: String,
    /// Its group labels.
    pub group_labels: LabelSet,
    /// Its route.
    pub route: RouteId,
    /// Its alerts, sorted by labels; firing ones with no end time.
    pub alerts: Vec<Alert>,
    /// The flush time (ms).
    pub at_ms: i64,
}

/// Every group.
#[derive(Debug, Default)]
pub struct Dispatcher {
    groups: HashMap<GroupId, AggregationGroup>,
    /// `(next flush, group)` of every group not in flight.
    schedule: BTreeSet<(i64, GroupId)>,
    max_groups: usize,
    refused: u64,
}

impl Dispatcher {
    /// No groups yet; at most `max_groups` at once (alerts that would make more are not
    /// grouped, and counted).
    pub fn new(max_groups: usize) -> Self {
        Self {
            groups: HashMap::new(),
            schedule: BTreeSet::new(),
            max_groups,
            refused: 0,
        }
    }

    /// Puts `alert` in the group of each route it matches.
    pub fn insert(&mut self, alert: &Arc<Alert>, tree: &RouteTree, now_ms: i64) {
        for route in tree.matches(&alert.labels) {
            let node = tree.node(route);
            let labels = node.options.group_by.group_labels(&alert.labels);
            let id = GroupId {
                route,
                labels: Fingerprint::of(&labels),
            };
            let wait_ms = i64::try_from(node.options.group_wait.as_millis()).unwrap_or(i64::MAX);
            if !self.groups.contains_key(&id) {
                if self.groups.len() >= self.max_groups {
                    self.refused += 1;
                    tracing::error!(groups = self.groups.len(), alert = %alert.name(), "too many aggregation groups; the alert is not grouped");
                    continue;
                }
                let key = format!("{}:{}", node.key, label_set_string(&labels));
                let next_flush_ms = now_ms.saturating_add(wait_ms);
                self.schedule.insert((next_flush_ms, id));
                self.groups.insert(
                    id,
                    AggregationGroup {
                        route,
                        labels,
                        key,
                        alerts: HashMap::new(),
                        next_flush_ms,
                        has_flushed: false,
                        in_flight: false,
                    },
                );
            }
            let Some(group) = self.groups.get_mut(&id) else {
                continue;
            };
            group.alerts.insert(alert.fingerprint(), alert.clone());
            // An alert that started long enough ago is not held back by group_wait.
            let overdue = alert.starts_at_ms.saturating_add(wait_ms) < now_ms;
            if !group.has_flushed && overdue && group.next_flush_ms > now_ms {
                if !group.in_flight {
                    self.schedule.remove(&(group.next_flush_ms, id));
                    self.schedule.insert((now_ms, id));
                }
                group.next_flush_ms = now_ms;
            }
        }
    }

    /// The groups due at `now_ms`, as batches; each is marked in flight until
    /// [`Dispatcher::finished`] and its next flush set a `group_interval` later.
    pub fn due(&mut self, tree: &RouteTree, now_ms: i64) -> Vec<FlushBatch> {
        let mut out = Vec::new();
        while let Some(&(at, id)) = self.schedule.first() {
            if at > now_ms {
                break;
            }
            self.schedule.pop_first();
            let Some(group) = self.groups.get_mut(&id) else {
                continue;
            };
            let interval = tree.node(group.route).options.group_interval;
            group.next_flush_ms =
                now_ms.saturating_add(i64::try_from(interval.as_millis()).unwrap_or(i64::MAX));
            group.has_flushed = true;
            group.in_flight = true;
            let mut alerts: Vec<Alert> = group
                .alerts
                .values()
                .map(|a| {
                    let mut a = Alert::clone(a);
                    if !a.resolved_at(now_ms) {
                        a.ends_at_ms = 0;
                    }
                    a
                })
                .collect();
            alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
            out.push(FlushBatch {
                group: id,
                group_key: group.key.clone(),
                group_labels: group.labels.clone(),
                route: group.route,
                alerts,
                at_ms: now_ms,
            });
        }
        out.sort_by_key(|b| b.group);
        out
    }

    /// A batch's notifications are over; when they were all delivered, its resolved alerts
    /// that were not updated since leave the group, and an empty group goes.
    pub fn finished(&mut self, batch: &FlushBatch, delivered: bool) {
        let Some(group) = self.groups.get_mut(&batch.group) else {
            return;
        };
        group.in_flight = false;
        if delivered {
            for a in &batch.alerts {
                let fp = a.fingerprint();
                let unchanged = group
                    .alerts
                    .get(&fp)
                    .is_some_and(|held| held.updated_at_ms == a.updated_at_ms);
                if a.resolved_at(batch.at_ms) && unchanged {
                    group.alerts.remove(&fp);
                }
            }
        }
        if group.alerts.is_empty() {
            self.groups.remove(&batch.group);
        } else {
            self.schedule.insert((group.next_flush_ms, batch.group));
        }
    }

    /// When the next group is due, if any is waiting.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.schedule.first().map(|(at, _)| *at)
    }

    /// The groups, for the API.
    pub fn groups(&self) -> impl Iterator<Item = &AggregationGroup> {
        self.groups.values()
    }

    /// Alerts that were not grouped because of the group limit.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests;
