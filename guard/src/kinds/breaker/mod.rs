//! Circuit breakers: stop calling what is failing, probe it, resume when it recovers.
//!
//! closed ──(error ratio | slow-call ratio | consecutive failures)──▶ open
//! open ──(after `open_for`)──▶ half-open, admitting `half_open_probes` calls
//! half-open ──(every probe succeeds)──▶ closed;  ──(a probe fails or is slow)──▶ open
//!
//! The call path is a few atomic operations: [`CircuitBreaker::try_acquire`] before the call,
//! [`CircuitBreaker::record`] after it. Each state entered bumps a generation, so a call
//! admitted under an earlier state cannot count towards the current one.

mod config;
pub mod layer;
mod window;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use config::BreakerConfig;
use window::SlidingWindow;
pub use window::WindowTotals;

use taishan_core::GuardCommand;

use crate::kinds::{Guard, GuardKind, GuardState, KindSpec};
use crate::rejection::Rejected;
use crate::transition::{SharedObserver, Transition};

/// Circuit breakers: closed, open or half-open; the control plane opens, half-opens and
/// closes them (holding them there) and releases them.
pub(crate) const KIND: KindSpec = KindSpec {
    kind: GuardKind::Breaker,
    name: "breaker",
    states: &[GuardState::Closed, GuardState::Open, GuardState::HalfOpen],
    accepts: |c| {
        matches!(
            c,
            GuardCommand::OpenBreaker | GuardCommand::HalfOpenBreaker | GuardCommand::CloseBreaker
        )
    },
};

/// Buckets in the sliding window; the window's length divided by this is its resolution.
const WINDOW_BUCKETS: usize = 10;

/// Where a breaker is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass; outcomes are watched.
    Closed,
    /// Calls are refused until `open_for` has passed.
    Open,
    /// A few probe calls pass; their outcome decides.
    HalfOpen,
}

impl BreakerState {
    /// The lower-case name used in metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// The state as a guard state.
    pub fn guard_state(self) -> GuardState {
        match self {
            Self::Closed => GuardState::Closed,
            Self::Open => GuardState::Open,
            Self::HalfOpen => GuardState::HalfOpen,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            OPEN => Self::Open,
            HALF_OPEN => Self::HalfOpen,
            _ => Self::Closed,
        }
    }
}

/// What a caller refused by a breaker held open is told to wait.
const HELD_RETRY_AFTER: Duration = Duration::from_secs(5);

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// What a call's admission was, handed back to [`CircuitBreaker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    generation: u32,
    probe: bool,
}

impl Admission {
    /// Whether the call is a half-open probe (its failure tells of the dependency, not of
    /// the call).
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

/// How an admitted call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    /// It failed (the caller's classification: 5xx, timeout, refused connection...).
    pub failed: bool,
    /// How long it took.
    pub duration: Duration,
}

impl CallOutcome {
    /// A call that succeeded after `duration`.
    pub fn success(duration: Duration) -> Self {
        Self {
            failed: false,
            duration,
        }
    }

    /// A call that failed after `duration`.
    pub fn failure(duration: Duration) -> Self {
        Self {
            failed: true,
            duration,
        }
    }
}

/// One circuit breaker, shared by every caller of one dependency.
#[derive(Debug)]
pub struct CircuitBreaker {
    name: Arc<str>,
    config: BreakerConfig,
    slow_ms: u64,
    window: SlidingWindow,
    state: AtomicU8,
    generation: AtomicU32,
    consecutive_failures: AtomicU32,
    /// While open: when probing may start. While half-open: when it started.
    since_or_until_ms: AtomicI64,
    probes_admitted: AtomicU32,
    probe_successes: AtomicU32,
    rejected: AtomicU64,
    /// Held in its state by the control plane: no tripping, no probing until released.
    held: AtomicBool,
    observer: SharedObserver,
    changing: parking_lot::Mutex<()>,
}

impl CircuitBreaker {
    /// A closed breaker. `config` should have passed [`BreakerConfig::validate`]; values it
    /// would refuse are clamped to the nearest working ones.
    pub fn new(name: impl Into<Arc<str>>, config: BreakerConfig, observer: SharedObserver) -> Self {
        let bucket_ms = (config.window.as_millis() as i64 / WINDOW_BUCKETS as i64).max(1);
        Self {
            name: name.into(),
            slow_ms: config.slow_call_duration.as_millis() as u64,
            window: SlidingWindow::new(WINDOW_BUCKETS, bucket_ms),
            config,
            state: AtomicU8::new(CLOSED),
            generation: AtomicU32::new(0),
            consecutive_failures: AtomicU32::new(0),
            since_or_until_ms: AtomicI64::new(0),
            probes_admitted: AtomicU32::new(0),
            probe_successes: AtomicU32::new(0),
            rejected: AtomicU64::new(0),
            held: AtomicBool::new(false),
            observer,
            changing: parking_lot::Mutex::new(()),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Its thresholds.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        BreakerState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Calls refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// The calls in the window now.
    pub fn window_totals(&self, now_ms: i64) -> WindowTotals {
        self.window.totals(now_ms)
    }

    /// Asks to make a call at `now_ms`. On success, pass the admission to
    /// [`Self::record`] when the call completes.
    #[inline]
    pub fn try_acquire(&self, now_ms: i64) -> Result<Admission, Rejected> {
        // State before generation: a changer bumps the generation before publishing the
        // state, so seeing a state guarantees seeing its generation (or a later one).
        match self.state.load(Ordering::Acquire) {
            CLOSED => Ok(Admission {
                generation: self.generation.load(Ordering::Acquire),
                probe: false,
            }),
            _ => self.acquire_slow(now_ms),
        }
    }

    #[cold]
    fn acquire_slow(&self, now_ms: i64) -> Result<Admission, Rejected> {
        loop {
            let state = self.state.load(Ordering::Acquire);
            let generation = self.generation.load(Ordering::Acquire);
            match state {
                CLOSED => {
                    return Ok(Admission {
                        generation,
                        probe: false,
                    })
                }
                OPEN => {
                    if self.held.load(Ordering::Acquire) {
                        // Pinned open: no probing until the control plane releases it.
                        return Err(self.refuse(HELD_RETRY_AFTER));
                    }
                    let until = self.since_or_until_ms.load(Ordering::Acquire);
                    if now_ms < until {
                        return Err(self.refuse(Duration::from_millis((until - now_ms) as u64)));
                    }
                    let reason = format!(
                        "open for {}; admitting {} probe call(s)",
                        humantime::format_duration(self.config.open_for),
                        self.config.half_open_probes
                    );
                    self.enter(OPEN, HALF_OPEN, now_ms, reason);
                    // Whoever won the change, look again at the new state.
                }
                _ => {
                    let admitted = self.probes_admitted.fetch_add(1, Ordering::AcqRel);
                    if admitted < self.config.half_open_probes {
                        return Ok(Admission {
                            generation,
                            probe: true,
                        });
                    }
                    // Probes that never reported (a cancelled call) must not wedge the
                    // breaker half-open: after another `open_for`, admit a fresh set.
                    let since = self.since_or_until_ms.load(Ordering::Acquire);
                    let open_for = self.config.open_for.as_millis() as i64;
                    if now_ms - since >= open_for {
                        let _changing = self.changing.lock();
                        let since_now = self.since_or_until_ms.load(Ordering::Acquire);
                        if self.generation.load(Ordering::Acquire) == generation
                            && now_ms - since_now >= open_for
                        {
                            self.since_or_until_ms.store(now_ms, Ordering::Release);
                            self.probes_admitted.store(0, Ordering::Release);
                        }
                        continue;
                    }
                    return Err(self.refuse(Duration::from_millis(
                        (since + open_for - now_ms).max(1) as u64,
                    )));
                }
            }
        }
    }

    fn refuse(&self, retry_after: Duration) -> Rejected {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        Rejected::BreakerOpen {
            guard: self.name.clone(),
            retry_after,
        }
    }

    /// Reports how an admitted call went, at `now_ms`.
    #[inline]
    pub fn record(&self, admission: Admission, outcome: CallOutcome, now_ms: i64) {
        if admission.generation != self.generation.load(Ordering::Acquire) {
            return;
        }
        let slow = outcome.duration.as_millis() as u64 >= self.slow_ms;
        if admission.probe {
            self.record_probe(outcome, slow, now_ms);
            return;
        }
        self.window.record(now_ms, outcome.failed, slow);
        let consecutive = if outcome.failed {
            self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
                self.consecutive_failures.store(0, Ordering::Relaxed);
            }
            0
        };
        // Ratios only rise on a failed or slow call, so only those can trip the breaker;
        // one held closed by the control plane does not trip.
        if (outcome.failed || slow) && !self.held.load(Ordering::Acquire) {
            if let Some(reason) = self.trip_reason(consecutive, now_ms) {
                self.enter(CLOSED, OPEN, now_ms, reason);
            }
        }
    }

    fn trip_reason(&self, consecutive: u32, now_ms: i64) -> Option<String> {
        let c = &self.config;
        if let Some(limit) = c.consecutive_failures {
            if consecutive >= limit {
                return Some(format!("{consecutive} consecutive failures"));
            }
        }
        let t = self.window.totals(now_ms);
        if t.calls < c.min_calls.max(1) {
            return None;
        }
        let window = humantime::format_duration(c.window);
        let ratio = |n: u32| f64::from(n) / f64::from(t.calls);
        if let Some(limit) = c.failure_ratio {
            if ratio(t.failures) >= limit {
                return Some(format!(
                    "error ratio {:.0}% ≥ {:.0}% over the last {window} ({} of {} calls failed)",
                    ratio(t.failures) * 100.0,
                    limit * 100.0,
                    t.failures,
                    t.calls
                ));
            }
        }
        if let Some(limit) = c.slow_call_ratio {
            if ratio(t.slow) >= limit {
                return Some(format!(
                    "slow-call ratio {:.0}% ≥ {:.0}% over the last {window} ({} of {} calls took {} or more)",
                    ratio(t.slow) * 100.0,
                    limit * 100.0,
                    t.slow,
                    t.calls,
                    humantime::format_duration(c.slow_call_duration)
                ));
            }
        }
        None
    }

    fn record_probe(&self, outcome: CallOutcome, slow: bool, now_ms: i64) {
        if outcome.failed || slow {
            let what = if outcome.failed { "failed" } else { "was slow" };
            let reason = format!(
                "a probe call {what} (took {}ms); open for another {}",
                outcome.duration.as_millis(),
                humantime::format_duration(self.config.open_for)
            );
            self.enter(HALF_OPEN, OPEN, now_ms, reason);
            return;
        }
        let succeeded = self.probe_successes.fetch_add(1, Ordering::AcqRel) + 1;
        if succeeded >= self.config.half_open_probes {
            let reason = format!("{succeeded} probe call(s) succeeded");
            self.enter(HALF_OPEN, CLOSED, now_ms, reason);
        }
    }

    /// Whether the control plane holds the breaker in its state.
    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// Puts the breaker in `to` on the control plane's word, whatever it is in now. With
    /// `hold` it stays there until [`Self::release`]: held open it does not probe, held
    /// closed it does not trip. Returns whether the state changed.
    pub fn force(
        &self,
        to: BreakerState,
        hold: bool,
        reason: impl Into<String>,
        now_ms: i64,
    ) -> bool {
        self.held.store(hold, Ordering::Release);
        let to = match to {
            BreakerState::Closed => CLOSED,
            BreakerState::Open => OPEN,
            BreakerState::HalfOpen => HALF_OPEN,
        };
        let from = self.state.load(Ordering::Acquire);
        if from == to {
            return false;
        }
        self.enter(from, to, now_ms, reason.into())
    }

    /// Hands the breaker back to its own logic: an open breaker probes (half-open) when
    /// `probe`, else closes; a half-open one keeps probing; a closed one stays closed.
    pub fn release(&self, probe: bool, reason: impl Into<String>, now_ms: i64) -> bool {
        self.held.store(false, Ordering::Release);
        let to = match (self.state(), probe) {
            (BreakerState::Open, true) => BreakerState::HalfOpen,
            (BreakerState::HalfOpen, _) => return false,
            _ => BreakerState::Closed,
        };
        self.force(to, false, reason, now_ms)
    }

    /// Moves from `from` to `to` if the breaker is still in `from`; the one caller that makes
    /// the change sets the new state up and tells the observer.
    fn enter(&self, from: u8, to: u8, now_ms: i64, reason: String) -> bool {
        {
            // Changes are rare; a lock keeps each one whole. Readers never take it: the
            // state is published last, so whoever sees it sees what goes with it.
            let _changing = self.changing.lock();
            if self.state.load(Ordering::Acquire) != from {
                return false;
            }
            match to {
                OPEN => {
                    let open_for = self.config.open_for.as_millis() as i64;
                    self.since_or_until_ms
                        .store(now_ms.saturating_add(open_for), Ordering::Release);
                }
                HALF_OPEN => {
                    self.since_or_until_ms.store(now_ms, Ordering::Release);
                    self.probes_admitted.store(0, Ordering::Release);
                    self.probe_successes.store(0, Ordering::Release);
                }
                _ => {
                    self.window.clear();
                    self.consecutive_failures.store(0, Ordering::Release);
                }
            }
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.state.store(to, Ordering::Release);
        }
        self.observer.on_transition(&Transition {
            guard: self.name.clone(),
            kind: GuardKind::Breaker,
            from: BreakerState::from_u8(from).guard_state(),
            to: BreakerState::from_u8(to).guard_state(),
            reason,
            at_ms: now_ms,
        });
        true
    }
}

impl Guard for CircuitBreaker {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn kind(&self) -> GuardKind {
        GuardKind::Breaker
    }

    fn state(&self) -> GuardState {
        CircuitBreaker::state(self).guard_state()
    }

    fn rejected(&self) -> u64 {
        CircuitBreaker::rejected(self)
    }

    fn apply(&self, command: &GuardCommand, reason: &str, now_ms: i64) -> bool {
        match command {
            GuardCommand::OpenBreaker => self.force(BreakerState::Open, true, reason, now_ms),
            GuardCommand::HalfOpenBreaker => {
                self.force(BreakerState::HalfOpen, false, reason, now_ms)
            }
            GuardCommand::CloseBreaker => self.force(BreakerState::Closed, true, reason, now_ms),
            GuardCommand::Release { probe } => self.release(*probe, reason, now_ms),
            _ => false,
        }
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests;
