use super::*;

const RULES: &str = r#"
groups:
  - name: example
    rules:
      - record: job:http_errors:rate1m
        expr: sum by (job) (rate(http_errors_total[2m]))
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
          description: "{{ $labels.instance }} of job {{ $labels.job }} has been down for more than 5 minutes (value {{ $value }})."
      - alert: ErrorsHigh
        expr: job:http_errors:rate1m > 0.5
        keep_firing_for: 2m
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn run_with(test: &str) -> TestFileReport {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "rules.yml", RULES);
    let t = write(dir.path(), "test.yml", test);
    run_file(&t)
}

#[test]
fn passes_when_alerts_and_expressions_match() {
    let r = run_with(
        r#"
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="prometheus", instance="localhost:9090"}'
        values: '0 0 0 0 0 0 0 0 0 0 0 0 0 0 0'
      - series: 'http_errors_total{job="api"}'
        values: '0+60x5 300+0x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: InstanceDown
      - eval_time: 10m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels:
              severity: page
              instance: localhost:9090
              job: prometheus
            exp_annotations:
              summary: "Instance localhost:9090 down"
              description: "localhost:9090 of job prometheus has been down for more than 5 minutes (value 0)."
      - eval_time: 5m
        alertname: ErrorsHigh
        exp_alerts:
          - exp_labels: {job: api}
      - eval_time: 7m
        alertname: ErrorsHigh
        exp_alerts:
          - exp_labels: {job: api}
      - eval_time: 9m
        alertname: ErrorsHigh
    promql_expr_test:
      - expr: job:http_errors:rate1m
        eval_time: 3m
        exp_samples:
          - labels: 'job:http_errors:rate1m{job="api"}'
            value: 1
      - expr: ALERTS{alertname="InstanceDown"}
        eval_time: 10m
        exp_samples:
          - labels: 'ALERTS{alertname="InstanceDown",alertstate="firing",instance="localhost:9090",job="prometheus",severity="page"}'
            value: 1
"#,
    );
    assert!(r.passed(), "{}", render(&[r]));
}

#[test]
fn fails_with_what_was_expected_and_what_came() {
    let r = run_with(
        r#"
rule_files: [rule*.yml]
tests:
  - interval: 1m
    name: wrong expectations
    input_series:
      - series: 'up{job="prometheus", instance="localhost:9090"}'
        values: '0x15'
    alert_rule_test:
      - eval_time: 4m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: page, instance: "localhost:9090", job: prometheus}
    promql_expr_test:
      - expr: up
        eval_time: 1m
        exp_samples:
          - labels: 'up{job="prometheus", instance="localhost:9090"}'
            value: 1
"#,
    );
    assert_eq!(r.failures.len(), 2, "{:?}", r.failures);
    assert!(
        r.failures[0].contains("name: wrong expectations"),
        "{}",
        r.failures[0]
    );
    assert!(
        r.failures[0].contains("alertname: InstanceDown, time: 4m"),
        "{}",
        r.failures[0]
    );
    assert!(r.failures[0].contains("got:[]"), "{}", r.failures[0]);
    assert!(
        r.failures[1].contains("expr: \"up\", time: 1m"),
        "{}",
        r.failures[1]
    );
    assert!(render(&[r]).contains("  FAILED:"));
}

#[test]
fn rule_errors_stop_the_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "dup.yml",
        "groups:\n- name: g\n  rules:\n  - record: same\n    expr: up\n    labels:\n      job: x\n",
    );
    let t = write(
        dir.path(),
        "t.yml",
        "rule_files: [dup.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: up{job=\"a\"}\n    values: 1\n  - series: up{job=\"b\"}\n    values: 1\n  promql_expr_test:\n  - expr: same\n    eval_time: 0m\n",
    );
    let r = run_file(&t);
    assert!(
        r.failures.iter().any(|f| f
            .contains("rule: same, time: 0s, err: vector contains metrics with the same labelset")),
        "{:?}",
        r.failures
    );
    let missing = run_file(&dir.path().join("nope.yml"));
    assert!(missing.failures[0].contains("cannot read"));
}
