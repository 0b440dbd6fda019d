//! What the fault layer costs a request when no fault is armed (target < 100 ns), and when a
//! fault is armed for another service (the request still has to be checked against it).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response};
use taishan_chaos::{FaultLayer, FaultSet, FaultSpec, RequestInfo, Scope};
use taishan_core::SystemClock;
use tower::{Layer, Service};

fn decide(c: &mut Criterion) {
    let set = FaultSet::new(Arc::new(SystemClock), 1);
    let req = RequestInfo {
        service: "payment",
        method: "POST",
        path: "/payments",
        channel: Some("bank-a"),
    };
    c.bench_function("decide, nothing armed", |b| {
        b.iter(|| std::hint::black_box(set.decide(std::hint::black_box(&req))))
    });
    let spec: FaultSpec = serde_json::from_str(r#"{"kind": "error"}"#).unwrap();
    set.arm(
        spec,
        Scope::service("ledger"),
        Duration::from_secs(3600),
        "bench",
    )
    .unwrap();
    c.bench_function("decide, a fault armed for another service", |b| {
        b.iter(|| std::hint::black_box(set.decide(std::hint::black_box(&req))))
    });
}

fn layer(c: &mut Criterion) {
    let set = FaultSet::new(Arc::new(SystemClock), 1);
    let inner = tower::service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let mut plain = inner;
    let mut layered = FaultLayer::new(set, "payment").layer(inner);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function("a request, no layer", |b| {
        b.iter(|| rt.block_on(plain.call(Request::post("/payments").body(()).unwrap())))
    });
    c.bench_function("a request through the fault layer, nothing armed", |b| {
        b.iter(|| rt.block_on(layered.call(Request::post("/payments").body(()).unwrap())))
    });
}

criterion_group!(benches, decide, layer);
criterion_main!(benches);
