//! The per-request credential check on the hot path: a bearer token (a SHA-256 and a
//! lookup), a basic-auth password already verified once (a SHA-256 of user and password
//! and a lookup), and, for scale, the bcrypt check a first use or a wrong password costs.
//! Target (issue 32): under 1 µs with the cache warm. `cargo bench -p taishan-edge`.

use criterion::{criterion_group, criterion_main, Criterion};
use sha2::{Digest, Sha256};
use taishan_edge::auth::credentials::Presented;
use taishan_edge::webconfig::WebConfig;
use taishan_edge::Credentials;

fn config() -> WebConfig {
    let hash = bcrypt::hash("a-long-enough-password", 10).expect("bcrypt");
    let digest: String = Sha256::digest(b"remote-write-token")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut text = format!("basic_auth_users:\n  alice: {hash}\ntaishan:\n  tokens:\n");
    // A file with many tokens: the lookup must not depend on how many there are.
    for i in 0..1000 {
        let other: String = Sha256::digest(format!("token-{i}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        text.push_str(&format!(
            "    - {{name: t{i}, sha256: {other}, roles: [writer], tenants: [\"*\"]}}\n"
        ));
    }
    text.push_str(&format!(
        "    - {{name: prometheus, sha256: {digest}, roles: [writer], tenants: [bank-a]}}\n"
    ));
    WebConfig::parse("bench.yml", &text, Default::default()).expect("web config")
}

fn checks(c: &mut Criterion) {
    let credentials = Credentials::new(&config());
    let bearer = b"Bearer remote-write-token".to_vec();
    c.bench_function("bearer token", |b| {
        b.iter(|| match credentials.present(Some(&bearer)) {
            Ok(Presented::Known(identity)) => identity,
            _ => panic!("the token must be known"),
        })
    });
    let basic = b"Basic YWxpY2U6YS1sb25nLWVub3VnaC1wYXNzd29yZA==".to_vec();
    if let Ok(Presented::Password(check)) = credentials.present(Some(&basic)) {
        credentials.verify(check).expect("the password is right");
    }
    c.bench_function("basic auth, remembered", |b| {
        b.iter(|| match credentials.present(Some(&basic)) {
            Ok(Presented::Known(identity)) => identity,
            _ => panic!("the password must be remembered"),
        })
    });
    // A first use: a fresh set of credentials each time (made outside the timing), so
    // nothing is remembered and bcrypt runs.
    let small = {
        let hash = bcrypt::hash("a-long-enough-password", 10).expect("bcrypt");
        WebConfig::parse(
            "bench.yml",
            &format!("basic_auth_users:\n  alice: {hash}\n"),
            Default::default(),
        )
        .expect("web config")
    };
    let mut slow = c.benchmark_group("bcrypt");
    slow.sample_size(10);
    slow.bench_function("basic auth, first use (bcrypt cost 10)", |b| {
        b.iter_batched(
            || Credentials::new(&small),
            |fresh| {
                fresh
                    .login("alice", "a-long-enough-password")
                    .expect("right password")
            },
            criterion::BatchSize::SmallInput,
        )
    });
    slow.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
