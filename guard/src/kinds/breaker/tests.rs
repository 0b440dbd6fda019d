use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::transition::RecordingObserver;

fn breaker(config: BreakerConfig) -> (CircuitBreaker, Arc<RecordingObserver>) {
    let seen = Arc::new(RecordingObserver::default());
    (CircuitBreaker::new("bank-a", config, seen.clone()), seen)
}

fn call(b: &CircuitBreaker, now: i64, failed: bool, ms: u64) -> Result<(), Rejected> {
    let admission = b.try_acquire(now)?;
    b.record(
        admission,
        CallOutcome {
            failed,
            duration: Duration::from_millis(ms),
        },
        now,
    );
    Ok(())
}

fn ratio_only() -> BreakerConfig {
    BreakerConfig {
        min_calls: 10,
        failure_ratio: Some(0.5),
        slow_call_ratio: None,
        consecutive_failures: None,
        ..Default::default()
    }
}

#[test]
fn error_ratio_opens_only_with_enough_calls() {
    let (b, seen) = breaker(ratio_only());
    for i in 0..9 {
        call(&b, i, true, 5).unwrap();
    }
    assert_eq!(b.state(), BreakerState::Closed, "9 calls < min_calls");
    call(&b, 9, true, 5).unwrap();
    assert_eq!(b.state(), BreakerState::Open);
    let t = seen.transitions();
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].from.as_str(), t[0].to.as_str()), ("closed", "open"));
    assert!(
        t[0].reason.contains("error ratio 100% ≥ 50%") && t[0].reason.contains("10 of 10"),
        "{}",
        t[0].reason
    );
}

#[test]
fn a_healthy_mix_below_the_ratio_stays_closed() {
    let (b, _) = breaker(ratio_only());
    for i in 0..1_000 {
        call(&b, i, i % 3 == 0, 5).unwrap();
    }
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn failures_age_out_of_the_window() {
    let (b, _) = breaker(ratio_only());
    for i in 0..9 {
        call(&b, i, true, 5).unwrap();
    }
    // Eleven seconds later the nine failures are out of the 10s window.
    for i in 0..10 {
        call(&b, 11_000 + i, i == 0, 5).unwrap();
    }
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn open_refuses_then_half_open_probes_close_it() {
    let (b, seen) = breaker(ratio_only());
    for i in 0..10 {
        call(&b, i, true, 5).unwrap();
    }
    let refused = call(&b, 1_000, false, 5).unwrap_err();
    assert_eq!(refused.retry_after(), Duration::from_millis(4_009));
    assert_eq!(b.rejected(), 1);
    // After open_for, exactly three probes pass at once; the fourth is refused.
    let t = 5_010;
    let probes: Vec<_> = (0..3).map(|_| b.try_acquire(t).unwrap()).collect();
    assert_eq!(b.state(), BreakerState::HalfOpen);
    assert!(b.try_acquire(t).is_err());
    for p in probes {
        b.record(p, CallOutcome::success(Duration::from_millis(3)), t + 5);
    }
    assert_eq!(b.state(), BreakerState::Closed);
    let path: Vec<_> = seen.transitions().iter().map(|t| t.to.as_str()).collect();
    assert_eq!(path, ["open", "half_open", "closed"]);
    // Closing forgets the old failures: one failure does not reopen it.
    call(&b, t + 10, true, 5).unwrap();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn a_failed_probe_reopens_for_another_period() {
    let (b, seen) = breaker(ratio_only());
    for i in 0..10 {
        call(&b, i, true, 5).unwrap();
    }
    call(&b, 5_010, true, 5).unwrap();
    assert_eq!(b.state(), BreakerState::Open);
    assert!(seen.transitions()[2].reason.contains("a probe call failed"));
    assert!(b.try_acquire(10_000).is_err());
    assert!(b.try_acquire(10_010).is_ok());
}

#[test]
fn slow_calls_and_slow_probes_count() {
    let (b, seen) = breaker(BreakerConfig {
        min_calls: 5,
        failure_ratio: None,
        slow_call_ratio: Some(0.6),
        slow_call_duration: Duration::from_millis(200),
        consecutive_failures: None,
        ..Default::default()
    });
    for i in 0..4 {
        call(&b, i, false, 250).unwrap();
    }
    call(&b, 4, false, 10).unwrap();
    assert_eq!(
        b.state(),
        BreakerState::Closed,
        "slow calls only trip on a slow call"
    );
    call(&b, 5, false, 300).unwrap();
    assert_eq!(b.state(), BreakerState::Open);
    assert!(seen.transitions()[0].reason.contains("slow-call ratio 83%"));
    call(&b, 5_100, false, 500).unwrap();
    assert_eq!(b.state(), BreakerState::Open, "a slow probe reopens");
}

#[test]
fn consecutive_failures_trip_without_the_ratio() {
    let (b, seen) = breaker(BreakerConfig {
        min_calls: 1_000,
        consecutive_failures: Some(3),
        ..Default::default()
    });
    for i in 0..50 {
        call(&b, i, false, 1).unwrap();
    }
    call(&b, 50, true, 1).unwrap();
    call(&b, 51, false, 1).unwrap();
    call(&b, 52, true, 1).unwrap();
    call(&b, 53, true, 1).unwrap();
    assert_eq!(b.state(), BreakerState::Closed, "a success resets the run");
    call(&b, 54, true, 1).unwrap();
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(seen.transitions()[0].reason, "3 consecutive failures");
}

#[test]
fn results_of_calls_admitted_before_a_change_are_ignored() {
    let (b, _) = breaker(ratio_only());
    let early = b.try_acquire(0).unwrap();
    for i in 0..10 {
        call(&b, i, true, 5).unwrap();
    }
    let probe = b.try_acquire(5_010).unwrap();
    // The call admitted while closed fails now: it must not decide the half-open state.
    b.record(early, CallOutcome::failure(Duration::from_millis(5)), 5_011);
    assert_eq!(b.state(), BreakerState::HalfOpen);
    b.record(probe, CallOutcome::success(Duration::from_millis(5)), 5_012);
    assert_eq!(
        b.state(),
        BreakerState::HalfOpen,
        "one of three probes so far"
    );
}

#[test]
fn probes_that_never_report_do_not_wedge_it_half_open() {
    let (b, _) = breaker(ratio_only());
    for i in 0..10 {
        call(&b, i, true, 5).unwrap();
    }
    for _ in 0..3 {
        let _lost = b.try_acquire(5_010).unwrap();
    }
    assert!(b.try_acquire(6_000).is_err());
    // Another open_for later, fresh probes are admitted.
    assert!(b.try_acquire(10_010).is_ok());
}

#[test]
fn concurrent_failures_open_it_once() {
    let (b, seen) = breaker(ratio_only());
    let b = Arc::new(b);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let b = b.clone();
            s.spawn(move || {
                for i in 0..1_000 {
                    let _ = call(&b, i / 100, true, 1);
                }
            });
        }
    });
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(seen.transitions().len(), 1);
}

#[test]
fn held_open_refuses_without_probing_until_released() {
    let (b, seen) = breaker(ratio_only());
    assert!(b.force(BreakerState::Open, true, "rule BankChannelFailing", 0));
    assert!(b.is_held());
    // Long after open_for, still no probe: the control plane holds it.
    assert!(call(&b, 60_000, false, 5).is_err());
    assert_eq!(b.state(), BreakerState::Open);
    // Released with a probe: half-open, and the probes decide.
    assert!(b.release(true, "alert resolved", 61_000));
    assert_eq!(b.state(), BreakerState::HalfOpen);
    for _ in 0..3 {
        call(&b, 61_001, false, 5).unwrap();
    }
    assert_eq!(b.state(), BreakerState::Closed);
    let path: Vec<_> = seen
        .transitions()
        .iter()
        .map(|t| (t.to.as_str(), t.reason.clone()))
        .collect();
    assert_eq!(path[0], ("open", "rule BankChannelFailing".to_string()));
    assert_eq!(path[1], ("half_open", "alert resolved".to_string()));
    assert_eq!(path[2].0, "closed");
}

#[test]
fn held_closed_does_not_trip_and_release_without_probe_closes() {
    let (b, _) = breaker(ratio_only());
    assert!(
        !b.force(BreakerState::Closed, true, "operator", 0),
        "already closed"
    );
    for i in 0..20 {
        call(&b, i, true, 5).unwrap();
    }
    assert_eq!(b.state(), BreakerState::Closed, "held closed");
    b.release(false, "operator released", 100);
    for i in 0..10 {
        let _ = call(&b, 200 + i, true, 5);
    }
    assert_eq!(b.state(), BreakerState::Open, "trips again once released");
    b.force(BreakerState::Open, true, "pin", 300);
    assert!(b.release(false, "no probe", 400));
    assert_eq!(b.state(), BreakerState::Closed);
}
