//! The group loop on a manual clock: it evaluates at each slot the clock reaches, never
//! before, whatever real time does meanwhile.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use taishan_core::{AppendError, Labels, ManualClock, Sample, TenantId};
use taishan_query::{Engine, QueryLimits};
use taishan_store::{Tsdb, TsdbOptions};

use super::*;

/// Writes nothing anywhere; the test listens to evaluations instead.
struct Nowhere;

impl SampleWriter for Nowhere {
    fn write(&self, _: &TenantId, _: Vec<(Labels, Sample)>) -> Result<usize, AppendError> {
        Ok(0)
    }
}

/// The instants groups were evaluated at.
#[derive(Default)]
struct Evaluations(Mutex<Vec<i64>>);

impl EvaluationListener for Evaluations {
    fn on_evaluated(&self, _: &Group, run: &GroupRun) {
        self.0.lock().push(run.at_ms);
    }
}

/// Waits (in real time, bounded) until `check` holds.
async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_evaluated_at_each_slot_the_injected_clock_reaches() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Tsdb::open(TsdbOptions::scratch(dir.path().to_path_buf())).unwrap());
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let engine = Engine::new(db.clone(), QueryLimits::default(), dyn_clock.clone());
    let options = ManagerOptions {
        default_interval: Duration::from_secs(10),
        external_labels: BTreeMap::new(),
        external_url: String::new(),
        outage_tolerance: Duration::from_secs(3600),
        for_grace_period: Duration::from_secs(600),
    };
    let metrics = RuleMetrics::unregistered().unwrap();
    let manager = RuleManager::new(
        engine,
        db.clone(),
        Arc::new(Nowhere),
        dyn_clock,
        options,
        metrics,
    );
    let heard = Arc::new(Evaluations::default());
    manager.replace_listeners(vec![heard.clone()]);
    let file = RuleFile::parse(
        "r.yml",
        "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n",
    )
    .unwrap();
    manager.apply(&[file]).await;

    // The first slot after now, in the clock's milliseconds (rounded up).
    let offset = slot_offset_ns("r.yml", "g", Duration::from_secs(10));
    let now_ns = clock.now_ms() * 1_000_000;
    let next_ns = slot_at_or_before(now_ns, offset, Duration::from_secs(10)) + 10_000_000_000;
    let first = next_ns.div_euclid(1_000_000) + i64::from(next_ns % 1_000_000 != 0);
    until(&format!("parked until {first}"), || {
        clock.wake_times().contains(&first)
    })
    .await;
    clock.set_ms(first - 1);
    until("still parked a millisecond short", || {
        clock.wake_times().contains(&first)
    })
    .await;
    assert!(heard.0.lock().is_empty(), "nothing before its slot");

    clock.set_ms(first);
    until("evaluated at its slot", || heard.0.lock().len() == 1).await;
    until("parked until the next", || {
        clock.wake_times().contains(&(first + 10_000))
    })
    .await;
    clock.set_ms(first + 10_000);
    until("evaluated again", || heard.0.lock().len() == 2).await;
    // Stamped at the slot itself (in whole milliseconds), whenever the clock was moved.
    let at = next_ns.div_euclid(1_000_000);
    assert_eq!(*heard.0.lock(), [at, at + 10_000]);
    manager.stop();
    db.close();
}
