//! The composed file: sections read and checked together, every problem placed.

use super::*;
use taishan_core::config::ByteSize;
use taishan_store::WalSync;

fn load(file: &str, text: &str) -> Result<Config, Vec<ConfigDiagnostic>> {
    config::load_str(file, text)
}

#[test]
fn empty_text_gives_the_documented_defaults() {
    let c = load("c.yaml", "").unwrap();
    assert_eq!(c.server.http_listen.to_string(), "127.0.0.1:7070");
    assert_eq!(c.storage.wal.sync, WalSync::Always);
    assert_eq!(c.storage.block_duration.as_secs(), 7200);
    assert_eq!(c.scrape.interval.as_secs(), 15);
    assert_eq!(c.ingest.max_body_size, ByteSize::mib(32));
}

#[test]
fn every_error_is_reported_with_file_line_column_and_path() {
    let text = "\
server:
  http_listen: 127.0.0.1:7070
storage:
  retention: 1h
  block_duration: 2h
  wal:
    sink: always
ingest:
  queue_capacity: lots
scrape:
  jobs:
    - job_name: api
      targets: [\"localhost\"]
      timeout: 30s
";
    let errs = load("taishan.yaml", text).unwrap_err();
    let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let all = lines.join("\n");
    assert!(
        all.contains("taishan.yaml:7:5: storage.wal.sink: unknown field `sink`"),
        "{all}"
    );
    assert!(
        all.contains("taishan.yaml:9:3: ingest.queue_capacity: invalid type"),
        "{all}"
    );
    // Errors of one section hide neither another section's deserialization errors nor
    // the validation of the sections that did deserialize.
    assert!(
        all.contains("taishan.yaml:13:17: scrape.jobs[0].targets[0]"),
        "{all}"
    );
    assert!(
        all.contains("taishan.yaml:14:7: scrape.jobs[0].timeout: must not exceed"),
        "{all}"
    );
    assert_eq!(lines.len(), 4, "{all}");
}

#[test]
fn log_and_trace_stores_are_checked_alike() {
    let text = "\
logs:
  retention: 30s
  segment_size: 1KiB
traces:
  retention: 10s
  segment_size: 4KiB
  signals_interval: 100ms
";
    let errs = load("taishan.yaml", text).unwrap_err();
    let all = errs
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "taishan.yaml:2:3: logs.retention: must be at least 1m",
        "taishan.yaml:3:3: logs.segment_size: must be at least 64KiB",
        "taishan.yaml:5:3: traces.retention: must be at least 1m",
        "taishan.yaml:6:3: traces.segment_size: must be at least 64KiB",
        "taishan.yaml:7:3: traces.signals_interval: must be at least 1s",
    ] {
        assert!(all.contains(expected), "{expected} in:\n{all}");
    }
    assert_eq!(errs.len(), 5, "{all}");
    let ok = load("taishan.yaml", "").unwrap();
    assert_eq!(ok.logs.retention.as_secs(), 7 * 24 * 3600);
    assert_eq!(ok.traces.segment_size, ByteSize::mib(64));
}

#[test]
fn validation_errors_are_all_reported() {
    let text = "\
storage:
  retention: 1h
  block_duration: 2h
scrape:
  jobs:
    - job_name: api
      targets: [\"localhost\", \"db:5432\"]
      timeout: 30s
    - job_name: api
      targets: [\"x:1\"]
";
    let errs = load("t.yaml", text).unwrap_err();
    let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let all = all.join("\n");
    assert!(
        all.contains("t.yaml:2:3: storage.retention: must be at least"),
        "{all}"
    );
    assert!(
        all.contains(
            "t.yaml:7:17: scrape.jobs[0].targets[0]: target \"localhost\" must be host:port"
        ),
        "{all}"
    );
    assert!(
        all.contains("t.yaml:8:7: scrape.jobs[0].timeout: must not exceed"),
        "{all}"
    );
    assert!(
        all.contains("t.yaml:9:7: scrape.jobs[1].job_name: job \"api\" is defined twice"),
        "{all}"
    );
    assert_eq!(errs.len(), 4, "{all}");
}

#[test]
fn unknown_sections_and_syntax_errors_are_explained() {
    let errs = load("x.yaml", "storge:\n  retention: 1d\n").unwrap_err();
    assert!(errs[0]
        .to_string()
        .contains("x.yaml:1:1: storge: unknown section `storge`"));
    let errs = load("x.yaml", "a: [1\n").unwrap_err();
    assert!(errs[0].position.is_some());
}
