//! The fault proxy on real sockets: an echo server behind it, each network fault armed and
//! taken back, and the same connection clean afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use taishan_chaos::{FaultProxy, FaultSet, FaultSpec, Scope};
use taishan_core::ManualClock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server; returns where it listens.
async fn echo() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

struct Rig {
    faults: FaultSet,
    clock: Arc<ManualClock>,
    conn: TcpStream,
}

async fn rig() -> Rig {
    let clock = Arc::new(ManualClock::at(1_000_000));
    let faults = FaultSet::new(clock.clone(), 3);
    let listen = "127.0.0.1:0".parse().unwrap();
    let proxy = FaultProxy::bind("app-db", listen, echo().await, faults.clone())
        .await
        .unwrap();
    let addr = proxy.local_addr().unwrap();
    tokio::spawn(proxy.run(std::future::pending()));
    let conn = TcpStream::connect(addr).await.unwrap();
    Rig {
        faults,
        clock,
        conn,
    }
}

impl Rig {
    fn arm_on(&self, service: &str, fault: &str) -> String {
        let spec: FaultSpec = serde_json::from_str(fault).unwrap();
        self.faults
            .arm(
                spec,
                Scope::service(service),
                Duration::from_secs(30),
                "test",
            )
            .unwrap()
            .id
    }

    fn arm(&self, fault: &str) -> String {
        self.arm_on("app-db", fault)
    }

    /// Sends `n` bytes and reads them back; how long it took, or the error.
    async fn round_trip(&mut self, n: usize) -> std::io::Result<Duration> {
        let from = Instant::now();
        let sent = vec![7u8; n];
        self.conn.write_all(&sent).await?;
        let mut got = vec![0u8; n];
        self.conn.read_exact(&mut got).await?;
        assert_eq!(got, sent);
        Ok(from.elapsed())
    }

    async fn answers_within(&mut self, d: Duration) -> bool {
        tokio::time::timeout(d, self.round_trip(5)).await.is_ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_holds_each_chunk_both_ways_until_disarmed() {
    let mut r = rig().await;
    assert!(r.round_trip(5).await.unwrap() < Duration::from_millis(300));
    let id = r.arm(r#"{"kind": "net_latency", "delay": "150ms"}"#);
    assert!(r.round_trip(5).await.unwrap() >= Duration::from_millis(300));
    r.faults.disarm(&id).unwrap();
    assert!(r.round_trip(5).await.unwrap() < Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_is_capped_each_way() {
    let mut r = rig().await;
    r.arm(r#"{"kind": "net_bandwidth", "rate": "40KiB"}"#);
    // 40 KiB at 40 KiB/s: its last tenth leaves the proxy 0.9 s after the first.
    assert!(r.round_trip(40 << 10).await.unwrap() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_cuts_open_connections_and_new_ones_until_disarmed() {
    let mut r = rig().await;
    r.round_trip(5).await.unwrap();
    let addr = r.conn.peer_addr().unwrap();
    let id = r.arm(r#"{"kind": "net_reset"}"#);
    let e = r.round_trip(5).await.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
        ),
        "{e}"
    );
    // A new connection is cut too (so fast that connecting may already see the reset).
    match TcpStream::connect(addr).await {
        Ok(conn) => {
            r.conn = conn;
            assert!(r.round_trip(5).await.is_err());
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    r.faults.disarm(&id).unwrap();
    // The proxy's address serves again, clean.
    r.conn = TcpStream::connect(addr).await.unwrap();
    r.round_trip(5).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackhole_swallows_everything_and_its_lease_ends_it() {
    let mut r = rig().await;
    r.arm(r#"{"kind": "net_blackhole"}"#);
    assert!(!r.answers_within(Duration::from_millis(500)).await);
    // Nobody renews the lease: the fault reverts, and new data crosses the same connection.
    r.clock.advance(Duration::from_secs(31));
    assert!(r.answers_within(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_on_another_proxy_or_inside_services_leave_this_one_alone() {
    let mut r = rig().await;
    r.arm_on("other-link", r#"{"kind": "net_blackhole"}"#);
    r.arm(r#"{"kind": "error"}"#);
    assert!(r.answers_within(Duration::from_secs(5)).await);
}
