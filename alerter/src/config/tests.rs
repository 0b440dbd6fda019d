use super::*;

const FULL: &str = r#"
global:
  resolve_timeout: 5m
  smtp_smarthost: 'localhost:25'
  smtp_from: 'alertmanager@example.org'
  slack_api_url: 'http://slack.example/hook'
templates:
  - '/etc/alertmanager/template/*.tmpl'
route:
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  receiver: team-X-mails
  routes:
    - matchers:
        - service=~"foo1|foo2|baz"
      receiver: team-X-mails
      routes:
        - matchers: [severity="critical"]
          receiver: team-X-pager
    - match_re:
        service: ^(foo1|foo2|baz)$
      receiver: team-Y-mails
      mute_time_intervals: [offhours]
      continue: true
    - receiver: team-DB-pager
      group_by: [...]
      active_time_intervals: [offhours]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster, service]
  - source_match: {severity: critical}
    target_match_re: {severity: "warning|info"}
receivers:
  - name: team-X-mails
    webhook_configs:
      - url: http://127.0.0.1:5001/
  - name: team-X-pager
    pagerduty_configs:
      - service_key: x
  - name: team-Y-mails
    webhook_configs:
      - url: http://127.0.0.1:5002/
        send_resolved: false
  - name: team-DB-pager
time_intervals:
  - name: offhours
    time_intervals:
      - times: [{start_time: '17:00', end_time: '24:00'}]
        weekdays: ['monday:friday']
"#;

fn load(text: &str) -> Result<AlertmanagerConfig, Vec<String>> {
    load_str("alertmanager.yml", text, &Default::default(), &mut |_| {
        Vec::new()
    })
    .map_err(|e| e.0.iter().map(ToString::to_string).collect())
}

#[test]
fn an_alertmanager_file_loads_unchanged() {
    let c = load(FULL).unwrap();
    assert_eq!(c.global.resolve_timeout.0.as_secs(), 300);
    assert_eq!(c.route.routes.len(), 3);
    assert_eq!(c.route.routes[1].match_re["service"], "^(foo1|foo2|baz)$");
    assert!(c.route.routes[1].continue_matching);
    assert_eq!(c.receivers.len(), 4);
    assert_eq!(c.receivers[0].integrations[0].kind, "webhook");
    assert_eq!(c.receivers[1].integrations[0].kind, "pagerduty");
    assert!(c.receivers[3].integrations.is_empty());
    assert_eq!(c.inhibit_rules.len(), 2);
    assert_eq!(c.time_intervals[0].name, "offhours");
    assert_eq!(c.templates, ["/etc/alertmanager/template/*.tmpl"]);
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let text = "\
route:
  receiver: nobody
  group_by: [alertname, '...']
  routes:
    - matchers: ['severity=~(crit']
      receiver: ops
      repeat_interval: 0s
      mute_time_intervals: [weekends]
receivers:
  - name: ops
  - name: ops
inhibit_rules:
  - source_matchers: ['bad matcher']
    equal: ['0x']
";
    let errs = load(text).unwrap_err();
    let all = errs.join("\n");
    for expected in [
        "alertmanager.yml:2:3: route.receiver: undefined receiver \"nobody\" used in route",
        "alertmanager.yml:3:25: route.group_by[1]: cannot have wildcard group_by",
        "alertmanager.yml:5:18: route.routes[0].matchers[0]: invalid regular expression \"(crit\" for label \"severity\": unclosed group",
        "alertmanager.yml:7:7: route.routes[0].repeat_interval: repeat_interval cannot be zero",
        "route.routes[0].mute_time_intervals[0]: undefined time interval \"weekends\"",
        "alertmanager.yml:11:5: receivers[1].name: notification config name \"ops\" is not unique",
        "inhibit_rules[0].source_matchers[0]: bad matcher format",
        "inhibit_rules[0].equal[0]: \"0x\" is not a valid label name",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}

#[test]
fn syntax_and_type_errors_are_placed() {
    let errs = load("route:\n  receiver: [\n").unwrap_err();
    assert!(errs[0].starts_with("alertmanager.yml:"), "{errs:?}");
    let errs =
        load("route:\n  receiver: a\n  group_wait: soon\nreceivers:\n  - name: a\n").unwrap_err();
    assert!(errs[0].contains("route.group_wait"), "{errs:?}");
    let errs = load("receivers:\n  - name: a\n").unwrap_err();
    assert!(errs[0].contains("no route provided"), "{errs:?}");
    let errs = load("route:\n  receiver: a\nreceivers:\n  - name: a\n    bogus: 1\nsilences: []\n")
        .unwrap_err();
    let all = errs.join("\n");
    assert!(all.contains("unknown field `bogus`"), "{all}");
    assert!(all.contains("unknown section `silences`"), "{all}");
}

#[test]
fn durations_print_as_prometheus_writes_them() {
    // As Alertmanager's status shows its config: weeks only when they divide the whole.
    let text = |secs| serde_json::to_string(&PromDuration::from_secs(secs)).unwrap();
    assert_eq!(text(5400), "\"1h30m\"");
    assert_eq!(text(0), "\"0s\"");
    assert_eq!(text(86_400 * 8), "\"8d\"");
    assert_eq!(text(86_400 * 14), "\"2w\"");
}

#[test]
fn time_interval_problems_are_placed_in_the_file() {
    let text = "\
route:
  receiver: a
receivers:
  - name: a
time_intervals:
  - name: offhours
    time_intervals:
      - weekdays: [funday]
mute_time_intervals:
  - name: old
    time_intervals:
      - location: Mars/Olympus
";
    let all = load(text).unwrap_err().join("\n");
    assert!(
        all.contains("alertmanager.yml:8:20: time_intervals[0].time_intervals[0].weekdays[0]: \"funday\" is not a weekday"),
        "{all}"
    );
    assert!(
        all.contains("mute_time_intervals[0].time_intervals[0].location: unknown time zone"),
        "{all}"
    );
}

#[test]
fn template_files_are_read_relative_to_the_config_and_their_mistakes_placed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tmpl")).unwrap();
    std::fs::write(
        dir.path().join("tmpl/ours.tmpl"),
        "{{ define \"team.title\" }}[{{ .Status }}] {{ .GroupLabels.alertname }}{{ end }}\n",
    )
    .unwrap();
    let config = dir.path().join("am.yml");
    let text = "route:\n  receiver: a\nreceivers:\n  - name: a\ntemplates: ['tmpl/*.tmpl']\n";
    std::fs::write(&config, text).unwrap();
    let http = reqwest::Client::new();
    let c = crate::CompiledConfig::load_file(&config, &http).unwrap();
    assert!(c.templates.defines("team.title"));

    std::fs::write(
        dir.path().join("tmpl/broken.tmpl"),
        "ok\n{{ define \"x\" }}{{ .A \n",
    )
    .unwrap();
    let err = crate::CompiledConfig::load_file(&config, &http)
        .unwrap_err()
        .to_string();
    assert!(err.contains("am.yml:5:13: templates[0]: "), "{err}");
    assert!(err.contains("broken.tmpl:2:"), "{err}");
}
