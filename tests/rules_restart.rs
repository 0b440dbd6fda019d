//! Alert state survives a restart (kill -9 included): a pending alert keeps the time it
//! already spent pending, shifted by the downtime, as Prometheus restores it from
//! `ALERTS_FOR_STATE`.

mod support;

use std::time::Duration;

use support::{wait_for, Taishan};

/// The value and time of the newest `ALERTS_FOR_STATE` sample of the alert.
fn for_state(t: &Taishan) -> Option<(f64, f64)> {
    let r = t.query(None, "ALERTS_FOR_STATE{alertname=\"Slow\"}", None);
    let v = &r["data"]["result"][0]["value"];
    Some((v[1].as_str()?.parse().ok()?, v[0].as_f64()?))
}

#[test]
fn a_pending_alert_keeps_its_time_across_a_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("slow.rules.yaml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: Slow\n        expr: vector(1)\n        for: 1m\n",
    )
    .expect("rules");
    let mut t = Taishan::start(
        &dir.path().join("data"),
        &format!(
            "rules:\n  files: [{}]\n  for_grace_period: 1s\n",
            rules.display()
        ),
    );
    // Pending for a few seconds: ALERTS_FOR_STATE holds when it became active.
    let (active_since, _) = wait_for("the alert pending for 3 s", Duration::from_secs(30), || {
        let (since, at) = for_state(&t)?;
        (at - since >= 3.0).then_some((since, at))
    });

    let mut after = t.restart();
    // After the restart the alert is written again once its state is restored (the second
    // evaluation); its active time is the old one moved by the downtime, not the restart.
    let (restored_since, first_written) = wait_for(
        "ALERTS_FOR_STATE after the restart",
        Duration::from_secs(30),
        || {
            let (since, at) = for_state(&after)?;
            (since != active_since).then_some((since, at))
        },
    );
    // Restored, it has been pending the 3+ s before the kill plus the evaluations since the
    // restart; started over, it would show only the two evaluations before the restore.
    let pending_before = first_written - restored_since;
    assert!(
        pending_before > 3.0,
        "restored as active since {restored_since}, first written at {first_written}: the time \
         spent pending before the restart was lost"
    );
    assert!(
        restored_since > active_since,
        "the downtime moves it later ({active_since} -> {restored_since})"
    );
    after.stop();
}
