use super::*;
use crate::config::RouteConfig;

fn tree() -> RouteTree {
    let config: RouteConfig = serde_yaml_ng::from_str(
        "receiver: team\ngroup_by: [alertname]\ngroup_wait: 30s\ngroup_interval: 5m\n",
    )
    .unwrap();
    RouteTree::compile(&config)
}

fn alert(name: &str, instance: &str, starts: i64, ends: i64, updated: i64) -> Arc<Alert> {
    Arc::new(Alert {
        labels: LabelSet::from([
            ("alertname".to_string(), name.to_string()),
            ("instance".to_string(), instance.to_string()),
        ]),
        annotations: LabelSet::new(),
        starts_at_ms: starts,
        ends_at_ms: ends,
        generator_url: String::new(),
        updated_at_ms: updated,
        timeout: false,
    })
}

const T0: i64 = 1_700_000_000_000;

#[test]
fn a_new_group_waits_group_wait_then_flushes_every_group_interval() {
    let t = tree();
    let mut d = Dispatcher::new(100);
    d.insert(&alert("Down", "a", T0, T0 + 600_000, T0), &t, T0);
    d.insert(
        &alert("Down", "b", T0 + 1_000, T0 + 600_000, T0 + 1_000),
        &t,
        T0 + 1_000,
    );
    assert!(d.due(&t, T0 + 29_999).is_empty());
    assert_eq!(d.next_due_ms(), Some(T0 + 30_000));
    let batches = d.due(&t, T0 + 30_000);
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.group_key, r#"{}:{alertname="Down"}"#);
    assert_eq!(b.alerts.len(), 2);
    assert!(
        b.alerts.iter().all(|a| a.ends_at_ms == 0),
        "firing alerts carry no end"
    );
    // In flight: not due again until finished.
    assert!(d.due(&t, T0 + 400_000).is_empty());
    d.finished(b, true);
    assert_eq!(d.next_due_ms(), Some(T0 + 330_000));
    assert!(d.due(&t, T0 + 329_000).is_empty());
    assert_eq!(d.due(&t, T0 + 330_000).len(), 1);
}

#[test]
fn delivered_resolved_alerts_leave_and_an_empty_group_goes() {
    let t = tree();
    let mut d = Dispatcher::new(100);
    d.insert(&alert("Down", "a", T0, T0 + 10_000, T0), &t, T0);
    let b = d.due(&t, T0 + 30_000).remove(0);
    assert!(b.alerts[0].resolved_at(b.at_ms));
    d.finished(&b, false);
    assert_eq!(d.groups().count(), 1, "kept until delivered");
    let b = d.due(&t, T0 + 330_000).remove(0);
    d.finished(&b, true);
    assert_eq!(d.groups().count(), 0);
}

#[test]
fn an_alert_that_started_long_ago_is_not_held_by_group_wait() {
    let t = tree();
    let mut d = Dispatcher::new(100);
    d.insert(&alert("Old", "a", T0 - 60_000, T0 + 600_000, T0), &t, T0);
    assert_eq!(d.due(&t, T0).len(), 1);
}

#[test]
fn the_group_limit_refuses_new_groups_and_counts() {
    let t = tree();
    let mut d = Dispatcher::new(1);
    d.insert(&alert("A", "a", T0, T0 + 600_000, T0), &t, T0);
    d.insert(&alert("B", "a", T0, T0 + 600_000, T0), &t, T0);
    assert_eq!(d.groups().count(), 1);
    assert_eq!(d.refused(), 1);
}

#[test]
fn groups_fall_due_in_time_order_and_only_when_due() {
    let t = tree();
    let mut d = Dispatcher::new(100);
    d.insert(&alert("A", "a", T0, T0 + 600_000, T0), &t, T0);
    d.insert(
        &alert("B", "a", T0 + 10_000, T0 + 600_000, T0 + 10_000),
        &t,
        T0 + 10_000,
    );
    assert_eq!(d.next_due_ms(), Some(T0 + 30_000));
    let first = d.due(&t, T0 + 35_000);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].group_key, r#"{}:{alertname="A"}"#);
    assert_eq!(d.next_due_ms(), Some(T0 + 40_000), "A is in flight");
    // An old alert joining B before its first flush brings B forward.
    d.insert(
        &alert("B", "b", T0 - 60_000, T0 + 600_000, T0 + 36_000),
        &t,
        T0 + 36_000,
    );
    assert_eq!(d.next_due_ms(), Some(T0 + 36_000));
    let second = d.due(&t, T0 + 36_000);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].alerts.len(), 2);
    assert_eq!(d.next_due_ms(), None, "both in flight");
    d.finished(&first[0], true);
    d.finished(&second[0], true);
    assert_eq!(d.next_due_ms(), Some(T0 + 335_000));
    assert_eq!(d.due(&t, T0 + 335_000).len(), 1);
}
