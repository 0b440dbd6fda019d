//! The runner against a scripted platform on a manual clock: the platform answers from the
//! time since its fault was armed, and the clock is moved to each wait's end in turn
//! ([`ManualClock::drive`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use taishan_core::{Clock, ManualClock};

use crate::drill::platform::{Books, Platform, PlatformError, Reconciled};
use crate::drill::report::Verdict;
use crate::drill::runner::{run_drill, RunOptions};
use crate::drill::spec::{parse_drill, ScheduledFault};

/// How the scripted platform reacts to the fault, in seconds after it is armed.
#[derive(Clone)]
struct Script {
    /// The alert fires this long after the fault is armed (`None`: never).
    fires_after: Option<i64>,
    /// The breaker opens (and the loss stops) this long after.
    opens_after: i64,
    /// The steady state holds again this long after the fault is disarmed.
    recovers_after: i64,
    /// Failed outcomes per second while the loss grows.
    loss_per_s: f64,
    /// Failed money per failed outcome.
    amount_each: f64,
    /// The steady state holds before the faults.
    steady: bool,
}

#[derive(Default)]
struct Log {
    armed_ms: Option<i64>,
    disarmed_ms: Option<i64>,
    renewals: usize,
    armed_now: bool,
}

struct Scripted {
    clock: Arc<ManualClock>,
    script: Script,
    log: Mutex<Log>,
}

impl Scripted {
    fn secs_since_armed(&self) -> Option<f64> {
        let log = self.log.lock();
        log.armed_ms
            .map(|t| (self.clock.now_ms() - t) as f64 / 1000.0)
    }

    fn failed(&self) -> f64 {
        let log = self.log.lock();
        let Some(armed) = log.armed_ms else {
            return 0.0;
        };
        let open = armed + self.script.opens_after * 1000;
        let until = self
            .clock
            .now_ms()
            .min(open)
            .min(log.disarmed_ms.unwrap_or(i64::MAX));
        ((until - armed).max(0) as f64 / 1000.0 * self.script.loss_per_s).floor()
    }
}

#[async_trait]
impl Platform for Scripted {
    async fn holds(&self, expr: &str) -> Result<bool, PlatformError> {
        if expr.contains("ledger_imbalance)) > 0") {
            // The drill's abort condition: the books stay balanced here.
            return Ok(false);
        }
        let log = self.log.lock();
        Ok(match (log.armed_ms, log.disarmed_ms) {
            (None, _) => self.script.steady,
            (Some(_), None) => false,
            (Some(_), Some(d)) => self.clock.now_ms() >= d + self.script.recovers_after * 1000,
        })
    }
    async fn value(&self, _expr: &str) -> Result<Option<f64>, PlatformError> {
        Ok(Some(self.failed()))
    }
    async fn arm(
        &self,
        _f: &ScheduledFault,
        _lease: Duration,
        _by: &str,
    ) -> Result<String, PlatformError> {
        let mut log = self.log.lock();
        log.armed_ms = Some(self.clock.now_ms());
        log.armed_now = true;
        Ok("f1".into())
    }
    async fn renew(&self, _id: &str, _lease: Duration) -> Result<(), PlatformError> {
        self.log.lock().renewals += 1;
        Ok(())
    }
    async fn disarm(&self, _id: &str) -> Result<(), PlatformError> {
        let mut log = self.log.lock();
        log.disarmed_ms = Some(self.clock.now_ms());
        log.armed_now = false;
        Ok(())
    }
    async fn firing(&self, _alertname: &str) -> Result<bool, PlatformError> {
        Ok(match (self.secs_since_armed(), self.script.fires_after) {
            (Some(s), Some(after)) => s >= after as f64,
            _ => false,
        })
    }
    async fn notified(
        &self,
        _alertname: &str,
        _since_ms: i64,
    ) -> Result<Option<i64>, PlatformError> {
        let armed = self.log.lock().armed_ms;
        Ok(
            match (armed, self.script.fires_after, self.secs_since_armed()) {
                (Some(a), Some(after), Some(s)) if s >= after as f64 + 1.0 => {
                    Some(a + (after + 1) * 1000)
                }
                _ => None,
            },
        )
    }
    async fn guard_state(
        &self,
        _service: &str,
        _guard: &str,
    ) -> Result<Option<String>, PlatformError> {
        let open = self
            .secs_since_armed()
            .is_some_and(|s| s >= self.script.opens_after as f64);
        Ok(Some(if open { "open" } else { "closed" }.into()))
    }
    async fn books(&self, _from: i64, _to: i64, reconcile: bool) -> Result<Books, PlatformError> {
        let failed = self.failed();
        Ok(Books {
            failed_payments: failed as u64,
            failed_amount: failed * self.script.amount_each,
            reconciliation: reconcile.then(|| Reconciled {
                payments: 100,
                ..Reconciled::default()
            }),
            ..Books::default()
        })
    }
    async fn root_cause(&self, alertname: &str, at_ms: i64) -> Result<Vec<String>, PlatformError> {
        // Ranked as of the alert's firing, which came 20 s after the fault.
        let armed = self.log.lock().armed_ms.unwrap_or(0);
        assert_eq!(alertname, "BankChannelFailing");
        assert_eq!((at_ms - armed) / 1000, 20, "asked about the alert's onset");
        Ok(vec![
            "payment".into(),
            "payment → bank-a".into(),
            "bank-a".into(),
        ])
    }
}

const OUTAGE: &str = include_str!("../../../drills/bank-channel-outage.yaml");

fn platform(script: Script) -> Scripted {
    Scripted {
        clock: Arc::new(ManualClock::at(1_800_000_000_000)),
        script,
        log: Mutex::new(Log::default()),
    }
}

fn good() -> Script {
    Script {
        fires_after: Some(20),
        opens_after: 25,
        recovers_after: 30,
        loss_per_s: 2.0,
        amount_each: 100.0,
        steady: true,
    }
}

async fn run(p: &Scripted, opts: RunOptions) -> crate::drill::report::DrillReport {
    let spec = parse_drill("o.yaml", OUTAGE).unwrap();
    p.clock
        .drive(run_drill(&spec, p, p.clock.as_ref(), &opts))
        .await
}

#[tokio::test]
async fn a_drill_the_platform_handles_passes_with_its_times() {
    let p = platform(good());
    let r = run(&p, RunOptions::default()).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.reasons);
    let near = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() <= 1.0);
    assert!(
        near(r.time_to_detect_seconds, 20.0),
        "{:?}",
        r.time_to_detect_seconds
    );
    assert!(
        near(r.time_to_notify_seconds, 21.0),
        "{:?}",
        r.time_to_notify_seconds
    );
    assert!(
        near(r.time_to_stop_loss_seconds, 25.0),
        "{:?}",
        r.time_to_stop_loss_seconds
    );
    assert!(
        near(r.time_to_recover_seconds, 30.0),
        "{:?}",
        r.time_to_recover_seconds
    );
    assert_eq!(r.failed_amount, 5000.0);
    let rc = r.root_cause.as_ref().expect("the root cause was ranked");
    assert_eq!(rc.expected, ["bank-a"]);
    assert_eq!(rc.rank, Some(3), "{rc:?}");
    let log = p.log.lock();
    assert!(!log.armed_now, "the fault is disarmed");
    // 3 minutes of fault, renewed every 5 s.
    assert!(log.renewals >= 30, "{} renewals", log.renewals);
}

#[tokio::test]
async fn an_alert_that_never_fires_fails_the_drill_as_not_detected() {
    let p = platform(Script {
        fires_after: None,
        ..good()
    });
    let r = run(&p, RunOptions::default()).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.reasons
            .contains(&"not detected: BankChannelFailing never fired".to_string()),
        "{:?}",
        r.reasons
    );
    assert!(!p.log.lock().armed_now);
}

#[tokio::test]
async fn a_loss_that_never_stops_is_a_reason() {
    let p = platform(Script {
        opens_after: 10_000,
        amount_each: 1.0,
        ..good()
    });
    let r = run(&p, RunOptions::default()).await;
    assert!(
        r.reasons
            .contains(&"the loss never stopped growing".to_string()),
        "{:?}",
        r.reasons
    );
}

#[tokio::test]
async fn the_money_cap_aborts_and_reverts_at_once() {
    // 2 failures/s of 2,000 each pass the 500,000 cap after about 125 s.
    let p = platform(Script {
        opens_after: 10_000,
        amount_each: 2_000.0,
        ..good()
    });
    let r = run(&p, RunOptions::default()).await;
    assert_eq!(r.verdict, Verdict::Fail);
    let aborted = r.timeline.aborted.clone().unwrap_or_default();
    assert!(aborted.contains("past the cap of 500000.00"), "{aborted}");
    let log = p.log.lock();
    let held = log.disarmed_ms.unwrap() - log.armed_ms.unwrap();
    assert!((125_000..=131_000).contains(&held), "held {held} ms");
}

#[tokio::test]
async fn the_operators_stop_reverts_everything() {
    let p = platform(Script {
        opens_after: 10_000,
        amount_each: 1.0,
        ..good()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let opts = RunOptions {
        stop: stop.clone(),
        ..RunOptions::default()
    };
    // The operator, on the same clock, presses stop once the fault has been in 40 s.
    let operator = async {
        loop {
            p.clock.sleep(Duration::from_secs(1)).await;
            if p.secs_since_armed().is_some_and(|s| s >= 40.0) {
                stop.store(true, Ordering::Relaxed);
                return;
            }
        }
    };
    let spec = parse_drill("o.yaml", OUTAGE).unwrap();
    let drill = run_drill(&spec, &p, p.clock.as_ref(), &opts);
    let (r, ()) = p.clock.drive(async { tokio::join!(drill, operator) }).await;
    assert_eq!(
        r.timeline.aborted.as_deref(),
        Some("stopped by the operator")
    );
    let log = p.log.lock();
    assert!(!log.armed_now);
    let held = log.disarmed_ms.unwrap() - log.armed_ms.unwrap();
    assert!((40_000..=42_000).contains(&held), "held {held} ms");
}

#[tokio::test]
async fn no_fault_is_armed_when_the_steady_state_does_not_hold() {
    let p = platform(Script {
        steady: false,
        ..good()
    });
    let r = run(&p, RunOptions::default()).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.reasons[0].starts_with("the steady state did not hold before the faults"),
        "{:?}",
        r.reasons
    );
    assert!(p.log.lock().armed_ms.is_none());
}
