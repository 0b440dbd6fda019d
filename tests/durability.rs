//! Nothing acknowledged is lost: `kill -9` after acknowledged writes, before and after a
//! block cut and a compaction, and a damaged log tail.

mod support;

use std::io::Write;

use support::{matrix, Taishan};

/// Recent enough that retention (15 days by default) keeps the blocks this test cuts.
fn t0() -> i64 {
    static T0: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *T0.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let t = (now - 3_600_000) / 1000 * 1000;
        // The writes span 100 s: inside one block range, or each flush cuts two blocks
        // (it did, run a minute before an even hour).
        let range = 2 * 3_600_000;
        let range_end = (t / range + 1) * range;
        match t + 100_000 >= range_end {
            true => range_end - 200_000,
            false => t,
        }
    })
}

/// Writes batch `i` (one sample for each of 20 series) and asserts it was acknowledged.
fn write_batch(ts: &Taishan, i: i64) {
    let ids: Vec<String> = (0..20).map(|s| format!("s{s}")).collect();
    let series: Vec<support::SeriesSpec<'_>> = ids
        .iter()
        .map(|id| {
            (
                vec![("__name__", "money_in_flight"), ("id", id.as_str())],
                vec![(t0() + i * 1000, i as f64)],
            )
        })
        .collect();
    assert_eq!(
        ts.remote_write(Some("bank-a"), &series).0,
        204,
        "batch {i} not acknowledged"
    );
}

/// Asserts every series holds exactly batches `0..n`.
fn assert_all(ts: &Taishan, n: i64) {
    let at = (t0() + n * 1000) as f64 / 1000.0;
    let m = matrix(&ts.query(
        Some("bank-a"),
        &format!("money_in_flight[{}s]", n + 5),
        Some(at),
    ));
    assert_eq!(m.len(), 20, "series after restart");
    for (labels, values) in m {
        let want: Vec<(i64, String)> = (0..n).map(|i| (t0() + i * 1000, i.to_string())).collect();
        assert_eq!(values, want, "{labels}");
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_also_after_block_cut_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut ts = Taishan::start(&dir.path().join("d"), "");
    for i in 0..50 {
        write_batch(&ts, i);
    }
    let mut ts = ts.restart(); // kill -9, then start on the same directory
    assert_all(&ts, 50);

    // Cut the head into a block, write more, cut again, compact, write more: then kill -9.
    assert_eq!(ts.post("/api/v1/admin/tsdb/flush")["data"]["blocksCut"], 1);
    for i in 50..80 {
        write_batch(&ts, i);
    }
    assert_eq!(ts.post("/api/v1/admin/tsdb/flush")["data"]["blocksCut"], 1);
    assert_eq!(
        ts.post("/api/v1/admin/tsdb/compact")["data"]["compactions"],
        1
    );
    for i in 80..100 {
        write_batch(&ts, i);
    }
    let blocks = std::fs::read_dir(dir.path().join("d/blocks"))
        .unwrap()
        .count();
    assert_eq!(blocks, 1, "two blocks compacted into one");
    let ts2 = ts.restart();
    assert_all(&ts2, 100);
    drop(ts);
}

#[test]
fn a_damaged_log_tail_is_repaired_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let mut ts = Taishan::start(&data, "");
    for i in 0..10 {
        write_batch(&ts, i);
    }
    ts.kill9();
    // A crash mid-write leaves half a record at the end of the newest segment.
    let wal = data.join("wal");
    let mut segments: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    segments.sort();
    let last = segments.last().expect("a written segment");
    let mut f = std::fs::OpenOptions::new().append(true).open(last).unwrap();
    f.write_all(&[2, 200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
    drop(f);
    let ts = Taishan::start_with_config(&data, &data.with_extension("yaml"));
    assert_all(&ts, 10);
    let log = ts.log();
    assert!(log.contains("WAL tail damaged"), "{log}");
    assert!(ts.metrics().contains("taishan_wal_corruptions_total 1"));
}

#[test]
fn sigterm_stops_cleanly_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut ts = Taishan::start(&dir.path().join("d"), "");
    for i in 0..5 {
        write_batch(&ts, i);
    }
    assert!(ts.stop().success());
    assert!(ts.log().contains("storage closed; log synced"));
    let again = Taishan::start_with_config(&dir.path().join("d"), &dir.path().join("d.yaml"));
    assert_all(&again, 5);
}
