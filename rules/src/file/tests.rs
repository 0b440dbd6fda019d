use super::*;

const GOOD: &str = r#"
groups:
  - name: payments
    interval: 30s
    limit: 10
    query_offset: 1m
    rules:
      - record: channel:payment_success:ratio_rate5m
        expr: sum by (channel) (rate(payment_results_total{status="succeeded"}[5m])) / sum by (channel) (rate(payment_results_total[5m]))
        labels:
          team: payments
      - alert: PaymentSuccessLow
        expr: channel:payment_success:ratio_rate5m < 0.9
        for: 2m
        keep_firing_for: 1m
        labels:
          severity: page
          channel: "{{ $labels.channel }}"
        annotations:
          summary: "Success rate on {{ $labels.channel }} is {{ $value | humanizePercentage }}"
  - name: other
    tenant: bank-a
    rules:
      - record: x
        expr: 1
"#;

#[test]
fn reads_a_prometheus_rule_file() {
    let f = RuleFile::parse("payments.yaml", GOOD).expect("valid");
    assert_eq!(f.groups.len(), 2);
    assert_eq!(f.rule_count(), 3);
    let g = &f.groups[0];
    assert_eq!(g.interval, Some(Duration::from_secs(30)));
    assert_eq!(g.limit, 10);
    assert_eq!(g.query_offset, Some(Duration::from_secs(60)));
    assert_eq!(g.tenant.as_str(), "default");
    assert_eq!(f.groups[1].tenant.as_str(), "bank-a");
    match &g.rules[1].kind {
        RuleKind::Alerting {
            alert,
            hold,
            keep_firing_for,
            annotations,
        } => {
            assert_eq!(alert, "PaymentSuccessLow");
            assert_eq!(*hold, Duration::from_secs(120));
            assert_eq!(*keep_firing_for, Duration::from_secs(60));
            assert_eq!(annotations[0].0, "summary");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(g.rules[1].position.map(|p| p.line), Some(12));
}

#[test]
fn reports_every_problem_with_its_line() {
    let bad = r#"groups:
  - name: a
    interval: 5x
    rules:
      - record: bad name
        expr: sum(
      - alert: A
        record: b
        expr: up
      - alert: B
        expr: up
        for: 5m
        labels:
          __name__: x
        annotations:
          summary: "{{ $value | humanise }}"
      - record: c
        expr: up
        for: 1m
        annotations:
          a: b
      - alert: C
        expr: up
        unknown: 1
  - name: a
    rules: []
"#;
    let errors = RuleFile::parse("bad.yaml", bad).expect_err("invalid");
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let all = text.join("\n");
    let expect = [
        "bad.yaml:3:5: group \"a\": not a valid duration string",
        "bad.yaml:5:9: group \"a\", rule 1, \"bad name\": invalid recording rule name",
        "bad.yaml:6:9: group \"a\", rule 1, \"bad name\": could not parse expression",
        "bad.yaml:8:9: group \"a\", rule 2, \"A\": only one of 'record' and 'alert' must be set",
        "group \"a\", rule 3, \"B\": invalid label name: __name__",
        "bad.yaml:16:11: group \"a\", rule 3, \"B\": annotation \"summary\": template: 1:1: function \"humanise\" not defined",
        "group \"a\", rule 4, \"c\": invalid field 'for' in recording rule",
        "group \"a\", rule 4, \"c\": invalid field 'annotations' in recording rule",
        "unknown field `unknown`, expected one of `record`, `alert`, `expr`, `for`, `keep_firing_for`, `labels`, `annotations`",
        "bad.yaml:25:5: group name \"a\" is repeated in the same file",
    ];
    for e in expect {
        assert!(all.contains(e), "missing {e:?} in:\n{all}");
    }
    assert_eq!(errors.len(), expect.len(), "{all}");
    let lines: Vec<usize> = errors
        .iter()
        .filter_map(|e| e.position.map(|p| p.line))
        .collect();
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "in file order: {lines:?}"
    );
}

#[test]
fn refuses_non_vector_expressions_and_unknown_top_level_keys() {
    let e = RuleFile::parse(
        "x.yaml",
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up[5m]\n",
    )
    .expect_err("range vector");
    assert!(
        e[0].to_string()
            .contains("instant vector or a scalar, not a range vector"),
        "{}",
        e[0]
    );
    let e = RuleFile::parse("x.yaml", "group: []\n").expect_err("unknown key");
    assert!(
        e[0].to_string()
            .contains("unknown field `group`, expected `groups`"),
        "{}",
        e[0]
    );
    assert!(RuleFile::parse("x.yaml", "")
        .expect("empty is valid")
        .groups
        .is_empty());
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A rule file damaged anywhere (a line dropped, a character replaced) is read or
        /// refused with errors that name lines of the file — never a panic.
        #[test]
        fn damaged_files_are_read_or_refused_with_their_lines(
            drop_line in 0usize..30,
            at in 0usize..2_000,
            with in prop_oneof![Just('{'), Just(':'), Just('-'), Just(' '), Just('\n'), Just('x'), Just('"'), Just('[')],
        ) {
            let lines: Vec<&str> = GOOD.lines().collect();
            let mut text: String = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop_line)
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            let at = at % text.len().max(1);
            if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
                text.replace_range(at..at + 1, &with.to_string());
            }
            if let Err(errors) = RuleFile::parse("damaged.yaml", &text) {
                prop_assert!(!errors.is_empty());
                let total = text.lines().count() + 1;
                for e in errors {
                    if let Some(p) = e.position {
                        prop_assert!(p.line >= 1 && p.line <= total, "{e}");
                    }
                }
            }
        }
    }
}
