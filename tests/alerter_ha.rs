//! High availability: two replicas receive the same stream of alerts (as Prometheus sends
//! to every Alertmanager), each alert its own group; the replica that is sending is killed
//! with SIGKILL halfway; it comes back, is sent every alert again, and is killed again.
//! Every alert must still reach the webhook, and the duplicates are counted. The first
//! round runs with two Alertmanager 0.25 peers (`--cluster.peer`) too, for comparison, and
//! the counts are printed.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use support::alertmanager::Alertmanager;
use support::{client, free_port, wait_for, with_retries, Taishan, WebhookSink};

const ALERTS: usize = 40;
const PEER_TIMEOUT: Duration = Duration::from_secs(1);

fn am_config(hook: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname, n]\n  group_wait: 0s\n  group_interval: 1m\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {hook}\n"
    )
}

/// Posts alert `n` to every live replica.
fn post_to(bases: &[&str], n: usize) {
    let alert = json!([{"labels": {"alertname": "Stream", "n": n.to_string()}}]);
    for base in bases {
        let _ = client()
            .post(format!("{base}/api/v2/alerts"))
            .json(&alert)
            .send();
    }
}

/// Notifications per alert number.
fn deliveries(sink: &WebhookSink) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for b in sink.bodies() {
        for a in b["alerts"].as_array().into_iter().flatten() {
            if let Some(n) = a["labels"]["n"].as_str() {
                *out.entry(n.to_string()).or_insert(0) += 1;
            }
        }
    }
    out
}

/// Alerts `from..to` to both replicas, killing the sender (`kill`) halfway (and sending
/// only to the other after it), as Prometheus would: every earlier alert is sent again
/// too, as its resend does. Then (alerts delivered, duplicates) over `0..to`.
fn run_stream(
    sink: &WebhookSink,
    (sender, other): (&str, &str),
    (from, to): (usize, usize),
    kill: &mut dyn FnMut(),
) -> (usize, usize) {
    let kill_at = from + (to - from) / 2;
    for n in 0..from {
        post_to(&[sender, other], n);
    }
    for n in from..to {
        if n == kill_at {
            kill();
        }
        let live: Vec<&str> = if n < kill_at {
            vec![sender, other]
        } else {
            vec![other]
        };
        post_to(&live, n);
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for("every alert delivered", Duration::from_secs(60), || {
        (deliveries(sink).len() == to).then_some(())
    });
    // Late duplicates have time to arrive.
    std::thread::sleep(PEER_TIMEOUT * 3);
    let all = deliveries(sink);
    let duplicates = all.values().map(|c| c - 1).sum();
    (all.len(), duplicates)
}

#[test]
fn killing_the_sending_replica_loses_nothing_and_duplicates_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let sink = WebhookSink::start();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(&am, am_config(&sink.url)).unwrap();
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let secret = peer_secret(dir.path());
    let replica = |name: &str, own: u16, peer: u16| {
        Taishan::try_start_on(
            &dir.path().join(name),
            &format!(
                "alerter:\n  config_file: {}\n  peers: ['{}']\n  peer_timeout: {}ms\n  peer_secret_file: {}\n",
                am.display(),
                url(peer),
                PEER_TIMEOUT.as_millis(),
                secret.display()
            ),
            own,
        )
    };
    // Each replica is told the other's port before either binds: both start again on
    // fresh ports when one was taken meanwhile.
    let (pa, pb, a, b) = with_retries("two alerter replicas", || {
        let (pa, pb) = (free_port(), free_port());
        let a = replica("a", pa, pb)?;
        let b = replica("b", pb, pa)?;
        Ok((pa, pb, a, b))
    });
    // The replica whose URL sorts first delivers at once: it is the one killed.
    let (mut sender, other) = if url(pa) < url(pb) { (a, b) } else { (b, a) };
    let (sender_url, other_url) = (sender.alerter.clone(), other.alerter.clone());
    let urls = (sender_url.as_str(), other_url.as_str());
    let (delivered, duplicates) = run_stream(&sink, urls, (0, ALERTS), &mut || sender.kill9());
    println!("taishan, round 1: {delivered}/{ALERTS} alerts delivered after kill -9 of the sender, {duplicates} duplicates");
    assert_eq!(delivered, ALERTS, "nothing lost");
    assert!(
        duplicates <= 2,
        "the log is shared: only an in-flight delivery can repeat ({duplicates})"
    );

    // Round 2: the killed replica comes back (same address, so first again), takes the
    // other's log before its first flush, is sent every alert again, and is killed again.
    let mut back = sender.restart();
    let (delivered, duplicates) =
        run_stream(&sink, urls, (ALERTS, 2 * ALERTS), &mut || back.kill9());
    println!("taishan, round 2: {delivered}/{} alerts delivered after a restart and a second kill -9, {duplicates} duplicates in all", 2 * ALERTS);
    assert_eq!(delivered, 2 * ALERTS, "nothing lost");
    assert!(
        duplicates <= 4,
        "a restarted replica does not send again what was sent ({duplicates})"
    );
    drop(other);

    // Alertmanager 0.25, two peers, the same stream and the same kill.
    let am_sink = WebhookSink::start();
    let first = Alertmanager::start_clustered(&am_config(&am_sink.url), &[], PEER_TIMEOUT);
    let second = Alertmanager::start_clustered(
        &am_config(&am_sink.url),
        std::slice::from_ref(&first.cluster_addr),
        PEER_TIMEOUT,
    );
    wait_for(
        "the Alertmanager cluster to form",
        Duration::from_secs(30),
        || {
            let s: Value = client()
                .get(format!("{}/api/v2/status", first.base))
                .send()
                .ok()?
                .json()
                .ok()?;
            (s["cluster"]["peers"].as_array()?.len() == 2).then_some(())
        },
    );
    let (mut am_sender, am_other) = sending_alertmanager(first, second);
    let (sender_base, other_base) = (am_sender.base.clone(), am_other.base.clone());
    let bases = (sender_base.as_str(), other_base.as_str());
    let (am_delivered, am_duplicates) =
        run_stream(&am_sink, bases, (0, ALERTS), &mut || am_sender.kill9());
    println!("alertmanager 0.25: {am_delivered}/{ALERTS} alerts delivered after kill -9 of the sender, {am_duplicates} duplicates");
    assert_eq!(
        am_delivered,
        ALERTS,
        "Alertmanager loses nothing either:\n{}",
        am_other.log()
    );
}

/// The Alertmanager at position 0 (Alertmanager orders peers by name), and the other.
fn sending_alertmanager(first: Alertmanager, second: Alertmanager) -> (Alertmanager, Alertmanager) {
    let name = |am: &Alertmanager| -> String {
        let s: Value = client()
            .get(format!("{}/api/v2/status", am.base))
            .send()
            .unwrap()
            .json()
            .unwrap();
        s["cluster"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    if name(&first) < name(&second) {
        (first, second)
    } else {
        (second, first)
    }
}

/// The secret the replicas share, in a file of mode 0600.
fn peer_secret(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("peer.secret");
    std::fs::write(&path, "replicas-share-this\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The cluster route exists only with peers, answers only the peers' secret, and checks
/// what a peer sends as a posted change is checked: a silence muting everything is refused.
#[test]
fn the_cluster_route_is_for_peers_holding_the_secret_and_checks_what_they_send() {
    let dir = tempfile::tempdir().unwrap();
    let alone = Taishan::start(&dir.path().join("alone"), "");
    let state = |t: &Taishan| format!("{}/api/taishan/v1/cluster/state", t.alerter);
    assert_eq!(client().get(state(&alone)).send().unwrap().status(), 404);

    let secret = peer_secret(dir.path());
    let peer = format!("http://127.0.0.1:{}", free_port());
    let t = Taishan::start(
        &dir.path().join("replica"),
        &format!(
            "alerter:\n  peers: ['{peer}']\n  peer_secret_file: {}\n",
            secret.display()
        ),
    );
    assert_eq!(client().get(state(&t)).send().unwrap().status(), 401);
    let wrong = client().get(state(&t)).bearer_auth("guess").send().unwrap();
    assert_eq!(wrong.status(), 401);
    let peers = |body: serde_json::Value| {
        let r = client()
            .post(state(&t))
            .bearer_auth("replicas-share-this")
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().unwrap()["data"].clone()
    };
    let far = 4_102_444_800_000i64; // 2100
    let silence = |id: &str, matchers: serde_json::Value| {
        serde_json::json!({"event": "silence", "silence": {"id": id, "matchers": matchers,
            "starts_at_ms": 0, "ends_at_ms": far, "updated_at_ms": 1, "created_by": "peer", "comment": "x"}})
    };
    let everything = peers(serde_json::json!([silence(
        "mute-all",
        serde_json::json!([])
    )]));
    assert_eq!(everything, serde_json::json!({"taken": 0, "refused": 1}));
    let one = peers(serde_json::json!([silence(
        "one",
        serde_json::json!(["alertname=\"Down\""])
    )]));
    assert_eq!(one, serde_json::json!({"taken": 1, "refused": 0}));
    let listed: serde_json::Value = client()
        .get(format!("{}/api/v2/silences", t.alerter))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // Peers without a secret do not start.
    let config = dir.path().join("no-secret.yaml");
    std::fs::write(&config, format!("alerter:\n  peers: ['{peer}']\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(["up", "--no-demo", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("no-secret"))
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--alerter-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("alerter.peer_secret_file"));
}
