//! What a guard costs a call: a breaker plus a rate limiter, checked and recorded.
//!
//! `cargo bench -p taishan-guard --bench guard_check`. The per-thread group runs the same
//! check on 1, 2 and 4 threads sharing one breaker and one limiter (as every caller of one
//! bank channel does) and reports wall time per call.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use taishan_core::{Clock, SystemClock};
use taishan_guard::{
    BreakerConfig, CallOutcome, CircuitBreaker, LogObserver, RateLimitConfig, RateLimiter,
};

struct Pair {
    breaker: CircuitBreaker,
    limiter: RateLimiter,
}

fn pair() -> Pair {
    Pair {
        breaker: CircuitBreaker::new("bank-a", BreakerConfig::default(), Arc::new(LogObserver)),
        // High enough never to refuse: the benchmark measures the admitted path.
        limiter: RateLimiter::new(
            "api",
            RateLimitConfig::per_second(1e9),
            Arc::new(LogObserver),
        ),
    }
}

#[inline]
fn guarded_call(p: &Pair, clock: &dyn Clock) {
    let now = clock.now_ms();
    if p.limiter.try_acquire(now).is_ok() {
        if let Ok(admission) = p.breaker.try_acquire(now) {
            p.breaker.record(
                admission,
                CallOutcome::success(Duration::from_millis(2)),
                now,
            );
        }
    }
}

fn uncontended(c: &mut Criterion) {
    let p = pair();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut g = c.benchmark_group("guard");
    g.throughput(Throughput::Elements(1));
    g.bench_function("breaker+rate_limiter, with clock read", |b| {
        b.iter(|| guarded_call(black_box(&p), clock.as_ref()))
    });
    g.bench_function("breaker+rate_limiter, time given", |b| {
        let now = clock.now_ms();
        b.iter(|| {
            let now = black_box(now);
            if p.limiter.try_acquire(now).is_ok() {
                if let Ok(a) = p.breaker.try_acquire(now) {
                    p.breaker
                        .record(a, CallOutcome::success(Duration::from_millis(2)), now);
                }
            }
        })
    });
    g.bench_function("breaker only", |b| {
        let now = clock.now_ms();
        b.iter(|| {
            if let Ok(a) = p.breaker.try_acquire(black_box(now)) {
                p.breaker
                    .record(a, CallOutcome::success(Duration::from_millis(2)), now);
            }
        })
    });
    g.bench_function("clock read", |b| b.iter(|| black_box(clock.now_ms())));
    g.finish();
}

fn over_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("guard shared by threads");
    g.throughput(Throughput::Elements(1));
    for threads in [1usize, 2, 4] {
        g.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter_custom(|iters| {
                let p = Arc::new(pair());
                let per_thread = iters.div_ceil(threads as u64);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let p = p.clone();
                        s.spawn(move || {
                            let clock = SystemClock;
                            for _ in 0..per_thread {
                                guarded_call(&p, &clock);
                            }
                        });
                    }
                });
                // `iters` calls in all, across the threads: criterion divides the wall time
                // by them, so a lower time per call with more threads is scaling.
                start.elapsed()
            })
        });
    }
    g.finish();
}

fn parts_over_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("part shared by 2 threads");
    g.throughput(Throughput::Elements(1));
    let run = |b: &mut criterion::Bencher, call: fn(&Pair, i64)| {
        b.iter_custom(|iters| {
            let p = Arc::new(pair());
            let now = SystemClock.now_ms();
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    let p = p.clone();
                    s.spawn(move || {
                        for _ in 0..iters.div_ceil(2) {
                            call(&p, black_box(now));
                        }
                    });
                }
            });
            start.elapsed()
        })
    };
    g.bench_function("breaker", |b| {
        run(b, |p, now| {
            if let Ok(a) = p.breaker.try_acquire(now) {
                p.breaker
                    .record(a, CallOutcome::success(Duration::from_millis(2)), now);
            }
        })
    });
    g.bench_function("rate limiter", |b| {
        run(b, |p, now| {
            let _ = black_box(p.limiter.try_acquire(now));
        })
    });
    g.finish();
}

criterion_group!(benches, uncontended, over_threads, parts_over_threads);
criterion_main!(benches);
