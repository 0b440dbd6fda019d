//! The control plane through its public API: decisions and overrides, the audit log across
//! a restart, a service following in process, and an external app following over HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use taishan_core::{DecisionSource, GuardCommand, GuardDecision, GuardTarget, ManualClock};
use taishan_guard::{BreakerConfig, BreakerState, Guards, LogObserver};
use taishan_guard_control::{
    follow, follow_remote, guard_routes, AuditEvent, ControlMetrics, ControlPlane, Follower,
};
use tokio_util::sync::CancellationToken;

fn target(guard: &str) -> GuardTarget {
    GuardTarget {
        service: "payment".into(),
        guard: guard.into(),
    }
}

fn by_rule(guard: &str, command: GuardCommand, at_ms: i64) -> GuardDecision {
    GuardDecision {
        target: target(guard),
        command,
        source: DecisionSource::Rule {
            tenant: "default".into(),
            group: "payments".into(),
            alert: "BankChannelFailing".into(),
            labels: BTreeMap::from([("channel".to_string(), guard.to_string())]),
            value: 0.42,
        },
        reason: format!("BankChannelFailing: success rate of {guard} at 58%"),
        at_ms,
    }
}

fn by_operator(guard: &str, command: GuardCommand) -> GuardDecision {
    GuardDecision {
        target: target(guard),
        command,
        source: DecisionSource::Operator {
            who: "alice".into(),
        },
        reason: "maintenance window at the bank".into(),
        at_ms: 5,
    }
}

fn payment_guards(clock: Arc<ManualClock>) -> Arc<Guards> {
    let g = Arc::new(Guards::new(Arc::new(LogObserver), clock));
    g.breaker("bank-a", BreakerConfig::default());
    g.breaker("bank-b", BreakerConfig::default());
    g.degrade_switch("risk-model");
    g
}

#[test]
fn operator_decisions_override_rules_until_released() {
    let metrics = ControlMetrics::unregistered().expect("metrics");
    let plane = ControlPlane::in_memory(Arc::new(ManualClock::at(0))).with_metrics(metrics.clone());
    assert!(plane
        .submit(by_rule("bank-a", GuardCommand::OpenBreaker, 1))
        .expect("audited"));
    let (v1, d) = plane.directives("payment", 0);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].command, GuardCommand::OpenBreaker);

    // The operator forces it closed: that wins, and a later rule decision waits.
    assert!(plane
        .submit(by_operator("bank-a", GuardCommand::CloseBreaker))
        .expect("audited"));
    assert!(!plane
        .submit(by_rule("bank-a", GuardCommand::OpenBreaker, 7))
        .expect("audited"));
    let rec = plane.guard(&target("bank-a")).expect("known");
    assert_eq!(rec.directive.command, GuardCommand::CloseBreaker);
    assert!(rec.automatic.is_some() && rec.manual.is_some());
    let (v2, d) = plane.directives("payment", v1);
    assert_eq!(d[0].command, GuardCommand::CloseBreaker);
    assert!(v2 > v1);

    // The operator releases: the guard goes back to its own logic, probing first.
    plane
        .submit(by_operator("bank-a", GuardCommand::Release { probe: true }))
        .expect("audited");
    let rec = plane.guard(&target("bank-a")).expect("known");
    assert_eq!(rec.directive.command, GuardCommand::Release { probe: true });
    assert!(rec.in_force().is_none());
    assert!(
        plane.directives("risk", 0).1.is_empty(),
        "other services see nothing"
    );

    let kinds: Vec<bool> = plane
        .audit_entries(Some("payment"), Some("bank-a"), 10)
        .iter()
        .filter_map(|e| match &e.event {
            AuditEvent::Decided { in_force, .. } => Some(*in_force),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [true, false, true, true], "newest first");
    let count = |source: &str, command: &str, in_force: &str| {
        metrics
            .decisions
            .with_label_values(&[source, command, in_force])
            .get()
    };
    assert_eq!(count("rule", "open_breaker", "true"), 1);
    assert_eq!(count("rule", "open_breaker", "false"), 1);
    assert_eq!(count("operator", "close_breaker", "true"), 1);
    assert_eq!(metrics.held.get(), 0, "released");
}

#[test]
fn pins_survive_a_restart_through_the_audit_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guards/audit.jsonl");
    let clock = Arc::new(ManualClock::at(1_000));
    {
        let plane = ControlPlane::open(&path, clock.clone()).expect("open");
        plane
            .submit(by_operator("bank-b", GuardCommand::OpenBreaker))
            .expect("audited");
        plane
            .submit(by_rule("bank-a", GuardCommand::OpenBreaker, 2))
            .expect("audited");
        plane
            .submit(by_rule("bank-a", GuardCommand::Release { probe: true }, 3))
            .expect("audited");
    }
    // A torn line from a crash mid-write is dropped, the rest kept.
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("{\"seq\":99,\"at_ms\":");
    std::fs::write(&path, text).expect("tear");
    let plane = ControlPlane::open(&path, clock).expect("reopen");
    let b = plane.guard(&target("bank-b")).expect("restored");
    assert_eq!(b.directive.command, GuardCommand::OpenBreaker);
    assert!(matches!(
        b.manual.as_ref().map(|m| &m.source),
        Some(DecisionSource::Operator { who }) if who == "alice"
    ));
    assert!(plane
        .guard(&target("bank-a"))
        .expect("known")
        .in_force()
        .is_none());
    assert_eq!(plane.audit_entries(None, None, 100).len(), 3);
    plane
        .submit(by_operator(
            "bank-b",
            GuardCommand::Release { probe: false },
        ))
        .expect("audited");
    assert_eq!(plane.audit_entries(None, None, 1)[0].seq, 4);
}

#[test]
fn a_follower_carries_out_directives_and_reports_states() {
    let clock = Arc::new(ManualClock::at(10_000));
    let plane = ControlPlane::in_memory(clock.clone());
    let guards = payment_guards(clock.clone());
    let mut f = Follower::new("payment", guards.clone());
    f.sync(&plane).expect("audited");
    let reported = plane.guard(&target("bank-a")).expect("reported").reported;
    assert_eq!(
        reported.map(|r| r.state.to_string()),
        Some("closed".to_string())
    );

    plane
        .submit(by_rule("bank-a", GuardCommand::OpenBreaker, 10_000))
        .expect("audited");
    plane
        .submit(by_rule("bank-z", GuardCommand::OpenBreaker, 10_000))
        .expect("audited");
    f.sync(&plane).expect("audited");
    let a = guards.find_breaker("bank-a").expect("breaker");
    assert_eq!(a.state(), BreakerState::Open);
    assert!(a.is_held());
    let errors: Vec<String> = plane
        .audit_entries(Some("payment"), Some("bank-z"), 10)
        .into_iter()
        .filter_map(|e| match e.event {
            AuditEvent::Applied { error, .. } => error,
            _ => None,
        })
        .collect();
    assert!(
        errors[0].contains("no guard named \"bank-z\""),
        "{errors:?}"
    );

    plane
        .submit(by_rule(
            "bank-a",
            GuardCommand::Release { probe: true },
            11_000,
        ))
        .expect("audited");
    f.sync(&plane).expect("audited");
    assert_eq!(a.state(), BreakerState::HalfOpen);
    assert_eq!(
        plane
            .guard(&target("bank-a"))
            .and_then(|g| g.reported)
            .map(|r| r.state.to_string()),
        Some("half_open".to_string())
    );
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn followers_in_process_and_over_http_hear_of_changes_at_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let clock = Arc::new(ManualClock::at(0));
    let plane = Arc::new(ControlPlane::in_memory(clock.clone()));
    let cancel = CancellationToken::new();
    let local = payment_guards(clock.clone());
    let remote = Arc::new(Guards::new(Arc::new(LogObserver), clock.clone()));
    let app_breaker = remote.breaker("upstream", BreakerConfig::default());
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes = guard_routes(plane.clone());
        tokio::spawn(async move { axum::serve(listener, routes).await });
        follow(plane.clone(), "payment", local.clone(), cancel.clone());
        follow_remote(
            &format!("http://{addr}"),
            None,
            "shop",
            remote.clone(),
            cancel.clone(),
        );
        addr
    });
    let base = format!("http://{addr}");
    let http = reqwest::blocking::Client::new();
    wait_until("the external app to report", || {
        plane
            .guard(&GuardTarget {
                service: "shop".into(),
                guard: "upstream".into(),
            })
            .is_some()
    });

    plane
        .submit(by_rule("bank-b", GuardCommand::OpenBreaker, 1))
        .expect("audited");
    let b = local.find_breaker("bank-b").expect("breaker");
    wait_until("the in-process follower", || {
        b.state() == BreakerState::Open
    });

    // An operator pins the external app's breaker open over HTTP; its long-poll hears.
    let pin = http
        .post(format!("{base}/api/v1/guards/shop/upstream"))
        .json(&serde_json::json!({"command": "open_breaker", "reason": "upstream migrating", "who": "bob"}))
        .send()
        .expect("pin");
    assert_eq!(pin.status(), 200);
    wait_until("the external app to open", || {
        app_breaker.state() == BreakerState::Open
    });
    wait_until("the external app to report it open", || {
        plane
            .guard(&GuardTarget {
                service: "shop".into(),
                guard: "upstream".into(),
            })
            .and_then(|g| g.reported)
            .is_some_and(|r| r.state.as_str() == "open")
    });

    // Bad requests say what is wrong.
    let command = |path: &str, body: serde_json::Value| {
        let resp = http
            .post(format!("{base}/api/v1/guards/{path}"))
            .json(&body)
            .send()
            .expect(path);
        (resp.status(), resp.text().unwrap_or_default())
    };
    let bad = command(
        "shop/upstream",
        serde_json::json!({"command": "explode", "reason": "x"}),
    );
    assert_eq!(bad.0, 400);
    assert!(bad.1.contains("open_breaker | half_open_breaker"));
    let no_reason = command(
        "shop/upstream",
        serde_json::json!({"command": "close_breaker"}),
    );
    assert_eq!(no_reason.0, 400);
    let wrong_kind = command(
        "payment/risk-model",
        serde_json::json!({"command": "open_breaker", "reason": "x"}),
    );
    assert_eq!(wrong_kind.0, 400);
    assert!(wrong_kind.1.contains("is a degrade guard"));
    let unknown = command(
        "payment/bank-q",
        serde_json::json!({"command": "open_breaker", "reason": "x"}),
    );
    assert_eq!(unknown.0, 404);
    assert!(unknown.1.contains("bank-a"));

    let listed: serde_json::Value = http
        .get(format!("{base}/api/v1/guards"))
        .send()
        .expect("list")
        .json()
        .expect("json");
    let guards = listed["data"]["guards"].as_array().expect("guards");
    assert!(guards
        .iter()
        .any(|g| g["target"]["guard"] == "upstream" && g["manual"]["source"]["who"] == "bob"));
    let audit: serde_json::Value = http
        .get(format!("{base}/api/v1/guards/audit?service=shop&limit=50"))
        .send()
        .expect("audit")
        .json()
        .expect("json");
    let events: Vec<&str> = audit["data"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        events.contains(&"decided") && events.contains(&"applied") && events.contains(&"reported"),
        "{events:?}"
    );
    cancel.cancel();
}

#[test]
fn the_audit_log_rotates_and_carries_the_decisions_in_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let clock = Arc::new(ManualClock::at(1_000));
    {
        let plane = ControlPlane::open(&path, clock.clone()).expect("open");
        plane.rotate_audit_at(4_000);
        plane
            .submit(by_operator("bank-b", GuardCommand::OpenBreaker))
            .expect("audited");
        plane
            .submit(by_rule("bank-c", GuardCommand::OpenBreaker, 2))
            .expect("audited");
        // Many changes later the file has rotated, more than once.
        for i in 0..40 {
            plane
                .submit(by_rule("bank-a", GuardCommand::OpenBreaker, i))
                .expect("audited");
            plane
                .submit(by_rule("bank-a", GuardCommand::Release { probe: true }, i))
                .expect("audited");
        }
        assert!(std::fs::metadata(&path).expect("log").len() < 8_000);
    }
    assert!(dir.path().join("audit.jsonl.1").exists());
    let plane = ControlPlane::open(&path, clock).expect("reopen");
    let b = plane.guard(&target("bank-b")).expect("carried over");
    assert_eq!(b.directive.command, GuardCommand::OpenBreaker);
    assert!(b.manual.is_some());
    let c = plane.guard(&target("bank-c")).expect("carried over");
    assert!(c.automatic.is_some() && c.manual.is_none());
    assert!(plane
        .guard(&target("bank-a"))
        .is_none_or(|a| a.in_force().is_none()));
}

#[test]
fn a_decision_the_audit_log_cannot_take_is_refused_and_changes_nothing() {
    // /dev/full fails every write with "no space left on device", as a full disk does.
    let plane = ControlPlane::open(
        std::path::Path::new("/dev/full"),
        Arc::new(ManualClock::at(0)),
    )
    .expect("opens");
    let changes = plane.subscribe();
    let e = plane
        .submit(by_operator("bank-a", GuardCommand::OpenBreaker))
        .expect_err("refused");
    assert!(e.to_string().contains("/dev/full"), "{e}");
    assert!(plane.guard(&target("bank-a")).is_none());
    assert_eq!(plane.directives("payment", 0), (0, Vec::new()));
    assert!(!changes.has_changed().expect("plane alive"));
    // A rule's decision through the sink is refused the same way, with the reason.
    let refused =
        taishan_core::DecisionSink::decide(&plane, by_rule("bank-a", GuardCommand::OpenBreaker, 1))
            .expect_err("refused");
    assert!(refused.reason.contains("No space left"), "{refused}");
    // A service's report is not taken either, so it is reported again.
    let guards = payment_guards(Arc::new(ManualClock::at(0)));
    let mut f = Follower::new("payment", guards);
    assert!(f.sync(&plane).is_err());
    assert!(plane.guards().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_503_with_the_reason_when_the_audit_log_fails() {
    let plane = Arc::new(
        ControlPlane::open(
            std::path::Path::new("/dev/full"),
            Arc::new(ManualClock::at(0)),
        )
        .expect("opens"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, guard_routes(plane)).await;
    });
    let report = serde_json::json!({
        "service": "payment",
        "guards": [{"name": "bank-a", "kind": "breaker", "state": "closed"}]
    });
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/guards/report"))
        .json(&report)
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    let body = answer.text().await.unwrap_or_default();
    assert!(
        body.contains("not recorded") && body.contains("/dev/full"),
        "{body}"
    );
    server.abort();
}

#[tokio::test]
async fn reports_name_the_known_kinds_and_states_when_they_are_wrong() {
    let plane = Arc::new(ControlPlane::in_memory(Arc::new(ManualClock::at(0))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, guard_routes(plane)).await;
    });
    let client = reqwest::Client::new();
    for (kind, state, expected) in [
        ("bulkhead", "closed", "rate_limit"),
        ("breaker", "ajar", "half_open"),
    ] {
        let report = serde_json::json!({
            "service": "payment",
            "guards": [{"name": "bank-a", "kind": kind, "state": state}]
        });
        let answer = client
            .post(format!("http://{addr}/api/v1/guards/report"))
            .json(&report)
            .send()
            .await
            .expect("answers");
        assert_eq!(answer.status(), 400);
        let body = answer.text().await.unwrap_or_default();
        assert!(body.contains(expected), "{body}");
    }
    server.abort();
}
