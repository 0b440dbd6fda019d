use super::*;

struct FixedQuery;

impl TemplateQuery for FixedQuery {
    fn query(&self, q: &str, _t: i64) -> Result<Vec<QuerySample>, TemplateQueryError> {
        if q == "bad(" {
            return Err(TemplateQueryError("parse error".into()));
        }
        Ok(vec![
            QuerySample {
                labels: [("__name__", "up"), ("instance", "b:9")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                value: 0.0,
            },
            QuerySample {
                labels: [("__name__", "up"), ("instance", "a:9")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                value: 1.0,
            },
        ])
    }
}

fn data(value: f64) -> AlertData {
    AlertData {
        labels: [("instance", "db-1:9100"), ("channel", "bank-a")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        external_labels: [("region".to_string(), "sh".to_string())].into(),
        external_url: "http://taishan:7070/ui".into(),
        value,
    }
}

fn expand(text: &str, value: f64) -> Result<String, String> {
    let t = Template::parse(text).map_err(|e| format!("parse: {e}"))?;
    t.expand(
        &data(value),
        &Expansion {
            query: Some(&FixedQuery),
            external_url: "http://taishan:7070/ui",
            time_ms: 0,
        },
    )
    .map_err(|e| e.0)
}

#[test]
fn labels_value_and_pipelines() {
    assert_eq!(
        expand(
            "{{ $labels.channel }} at {{ $value | humanizePercentage }}",
            0.123456
        )
        .as_deref(),
        Ok("bank-a at 12.35%")
    );
    assert_eq!(
        expand("{{ .Labels.instance | stripPort }}", 0.0).as_deref(),
        Ok("db-1")
    );
    assert_eq!(expand("{{ $labels.missing }}|", 0.0).as_deref(), Ok("|"));
    assert_eq!(expand("{{ $value }}", 1e6).as_deref(), Ok("1e+06"));
    assert_eq!(
        expand("{{ printf \"%.2f\" $value }}", 2.0 / 3.0).as_deref(),
        Ok("0.67")
    );
    assert_eq!(
        expand("{{ $externalLabels.region }} {{ $externalURL }}", 0.0).as_deref(),
        Ok("sh http://taishan:7070/ui")
    );
    assert_eq!(expand("{{ pathPrefix }}", 0.0).as_deref(), Ok("/ui"));
}

#[test]
fn control_flow() {
    let t = "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}";
    assert_eq!(expand(t, 0.9).as_deref(), Ok("high"));
    assert_eq!(expand(t, 0.2).as_deref(), Ok("mid"));
    assert_eq!(expand(t, 0.0).as_deref(), Ok("low"));
    assert_eq!(
        expand(
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
            0.0
        )
        .as_deref(),
        Ok("channel=bank-a;instance=db-1:9100;")
    );
    assert_eq!(
        expand("{{ with $labels.channel }}[{{ . }}]{{ end }}{{ with $labels.nope }}x{{ else }}none{{ end }}", 0.0).as_deref(),
        Ok("[bank-a]none")
    );
    assert_eq!(
        expand(
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            0.0
        )
        .as_deref(),
        Ok("2")
    );
    assert_eq!(
        expand("{{ range $i, $e := query \"up\" }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e.Labels.instance }}{{ end }}", 0.0).as_deref(),
        Ok("b:9")
    );
}

#[test]
fn query_functions() {
    assert_eq!(
        expand(
            "{{ with query \"up\" }}{{ . | first | value }}{{ end }}",
            0.0
        )
        .as_deref(),
        Ok("0")
    );
    assert_eq!(
        expand("{{ range query \"up\" | sortByLabel \"instance\" }}{{ label \"instance\" . }} {{ end }}", 0.0).as_deref(),
        Ok("a:9 b:9 ")
    );
    let e = expand("{{ query \"bad(\" }}", 0.0).expect_err("query fails");
    assert!(e.contains("error calling query: parse error"), "{e}");
}

#[test]
fn functions_called_with_too_few_arguments_fail_cleanly() {
    for text in [
        "{{ toUpper }}",
        "{{ title }}",
        "{{ label }}",
        "{{ match \"a\" }}",
        "{{ index }}",
        "{{ len }}",
        "{{ eq 1 }}",
    ] {
        let e = expand(text, 0.0).expect_err(text);
        assert!(
            e.contains("error calling") || e.contains("wrong number"),
            "{text}: {e}"
        );
    }
}

#[test]
fn comparisons_follow_go_types() {
    assert_eq!(
        expand("{{ eq \"a\" \"b\" \"a\" }}", 0.0).as_deref(),
        Ok("true")
    );
    let e = expand("{{ eq $value 1 }}", 1.0).expect_err("int vs float");
    assert!(e.contains("incompatible types for comparison"), "{e}");
    assert_eq!(expand("{{ eq $value 1.0 }}", 1.0).as_deref(), Ok("true"));
}

#[test]
fn parse_errors_name_the_place_and_what_is_allowed() {
    let e = Template::parse("ok\n{{ $value | humanise }}").expect_err("unknown function");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(
        e.message.contains("function \"humanise\" not defined"),
        "{e}"
    );
    assert!(
        e.message.contains("humanize"),
        "lists the allowed functions: {e}"
    );
    let e = Template::parse("{{ $nope }}").expect_err("undefined variable");
    assert!(e.message.contains("undefined variable \"$nope\""), "{e}");
    let e = Template::parse("{{ if $value }}x").expect_err("missing end");
    assert!(e.message.contains("has no {{end}}"), "{e}");
    let e = Template::parse("{{ template \"x\" }}").expect_err("template refused");
    assert!(
        e.message.contains("not supported in alert templates"),
        "{e}"
    );
    let e = Template::parse("{{ end }}").expect_err("stray end");
    assert!(e.message.contains("unexpected {{end}}"), "{e}");
}

#[test]
fn expansion_errors_become_placeholders() {
    let t = Template::parse("{{ humanize \"one\" }}").expect("parses");
    let out = t.expand_or_placeholder(
        &data(0.0),
        &Expansion {
            query: None,
            external_url: "",
            time_ms: 0,
        },
    );
    assert!(out.starts_with("<error expanding template: error calling humanize: strconv.ParseFloat: parsing \"one\""), "{out}");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a rule file holds, parsing and expanding never panic, and text without
        /// actions comes back as it was.
        #[test]
        fn any_text_parses_or_is_refused_and_expands_without_panicking(
            text in "[ -~\\n中é€]{0,80}",
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("{{"), Just("}}"), Just("{{-"), Just("-}}"), Just(" $labels.x "),
                    Just(" $value "), Just(" | "), Just(" humanize "), Just(" printf \"%d\" "),
                    Just(" if "), Just(" else "), Just(" end "), Just(" range "), Just(" with "),
                    Just(" ( "), Just(" ) "), Just(" \"s\" "), Just(" 1.5 "), Just(" $x := "),
                    Just(" query \"up\" "), Just(" first "), Just(" break "), Just("/*"), Just("*/"),
                    Just(" toUpper "), Just(" title "), Just(" label "), Just(" index "), Just(" len "),
                    Just(" eq "), Just(" args "), Just(" sortByLabel "), Just(" stripPort "), Just(" match "),
                ],
                0..12,
            ),
        ) {
            let combined: String = pieces.concat();
            for candidate in [text.as_str(), combined.as_str()] {
                if let Ok(t) = Template::parse(candidate) {
                    let out = t.expand_or_placeholder(&data(0.25), &Expansion {
                        query: Some(&FixedQuery),
                        external_url: "",
                        time_ms: 0,
                    });
                    if !candidate.contains("{{") {
                        prop_assert_eq!(out, candidate);
                    }
                }
            }
        }
    }
}

/// Every command of `nodes` (actions only, enough here), with its compiled regex.
fn action_regexes(t: &Template) -> Vec<Option<String>> {
    t.nodes
        .iter()
        .filter_map(|n| match n {
            parse::Node::Action(p) => Some(p),
            _ => None,
        })
        .flat_map(|p| p.commands.iter())
        .map(|c| c.regex.as_ref().map(|r| format!("{r:?}")))
        .collect()
}

#[test]
fn literal_regexes_are_compiled_once_when_parsed() {
    let t = Template::parse(
        "{{ reReplaceAll \"(a+)\" \"<$1>\" \"caab\" }} {{ $labels.x | match \"^b\" }} {{ match $labels.x \"c\" }}",
    )
    .expect("parses");
    let regexes = action_regexes(&t);
    assert_eq!(regexes.len(), 4, "{regexes:?}");
    assert!(regexes[0].as_deref().is_some_and(|r| r.contains("(a+)")));
    // The piped stage `match "^b"` has its literal; the first stage is no call.
    assert!(regexes[1].is_none());
    assert!(regexes[2].as_deref().is_some_and(|r| r.contains("^b")));
    // A pattern that is not a literal is compiled when called.
    assert!(regexes[3].is_none());
    let mut d = data(0.0);
    d.labels.insert("x".into(), "b".into());
    let out = t
        .expand(
            &d,
            &Expansion {
                query: None,
                external_url: "",
                time_ms: 0,
            },
        )
        .expect("expands");
    assert_eq!(out, "c<aa>b true false");
}

#[test]
fn a_function_takes_a_field_of_the_data_as_its_argument() {
    // `humanize .Value` is the function given `.Value`; `humanize.Value` would be a field of
    // the function's result, which Go refuses.
    assert_eq!(expand("{{ humanize .Value }}", 1234.5).unwrap(), "1.234k");
    assert_eq!(
        expand("{{ len .Labels }}", 0.0).unwrap(),
        expand("{{ len $labels }}", 0.0).unwrap()
    );
    assert!(expand("{{ humanize.Value }}", 0.0).is_err());
}

mod template_sets {
    use super::super::{Expansion, TemplateSet, Value};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn ctx() -> Expansion<'static> {
        Expansion {
            query: None,
            external_url: "http://alerts.example",
            time_ms: 0,
        }
    }

    fn data() -> Value {
        let labels: BTreeMap<String, String> = [("alertname", "Down"), ("service", "payment")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Value::Struct(Arc::new(vec![
            ("Status", Value::Str("firing".into())),
            ("CommonLabels", Value::StrMap(Arc::new(labels))),
        ]))
    }

    #[test]
    fn named_templates_are_defined_in_files_and_called_with_data() {
        let mut set = TemplateSet::new();
        set.add(
            r#"{{ define "title" }}[{{ .Status | toUpper }}] {{ template "name" .CommonLabels }}{{ end }}
{{ define "name" }}{{ .alertname }} on {{ .service }}{{ end }}"#,
        )
        .unwrap();
        assert!(set.defines("title") && set.defines("name"));
        let text = set.parse(r#"{{ template "title" . }}!"#).unwrap();
        assert_eq!(
            set.expand(&text, &data(), &ctx()).unwrap(),
            "[FIRING] Down on payment!"
        );
        assert_eq!(
            set.expand_named("name", &Value::StrMap(Arc::new(BTreeMap::new())), &ctx())
                .unwrap(),
            " on "
        );
        // A later file redefines a name; `block` defines and calls at once.
        set.add(r#"{{ define "name" }}{{ .alertname }}{{ end }}"#)
            .unwrap();
        assert_eq!(
            set.expand(&text, &data(), &ctx()).unwrap(),
            "[FIRING] Down!"
        );
        let block = set.parse(r#"{{ block "x" . }}inline {{ .Status }}{{ end }}"#);
        assert!(block.is_err(), "a field may not define");
        set.add(r#"{{ block "x" . }}inline {{ .Status }}{{ end }}"#)
            .unwrap();
        let uses = set.parse(r#"{{ template "x" . }}"#).unwrap();
        assert_eq!(set.expand(&uses, &data(), &ctx()).unwrap(), "inline firing");
    }

    #[test]
    fn html_bodies_escape_what_actions_print_but_not_the_template_or_safe_html() {
        let mut set = TemplateSet::new();
        set.add(r#"{{ define "cell" }}<td>{{ .alertname }}</td>{{ end }}"#)
            .unwrap();
        let labels: BTreeMap<String, String> = [("alertname", "<b>Down</b> & \"out\"")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let data = Value::Struct(Arc::new(vec![(
            "CommonLabels",
            Value::StrMap(Arc::new(labels)),
        )]));
        let text = set
            .parse(r#"<tr>{{ template "cell" .CommonLabels }}{{ "<i>ok</i>" | safeHtml }}</tr>"#)
            .unwrap();
        assert_eq!(
            set.expand_html(&text, &data, &ctx()).unwrap(),
            "<tr><td>&lt;b&gt;Down&lt;/b&gt; &amp; &#34;out&#34;</td><i>ok</i></tr>"
        );
        // The same text for a plain-text field is not escaped.
        assert_eq!(
            set.expand(&text, &data, &ctx()).unwrap(),
            "<tr><td><b>Down</b> & \"out\"</td><i>ok</i></tr>"
        );
    }

    #[test]
    fn times_have_gos_methods() {
        let set = TemplateSet::new();
        let data = Value::Struct(Arc::new(vec![(
            "StartsAt",
            Value::Time(super::super::GoTime::from_unix_nanos(
                1_796_199_072_000_000_000,
            )),
        )]));
        let text = set
            .parse(r#"{{ .StartsAt.Format "2006-01-02 15:04:05 MST" }} {{ .StartsAt.UTC.Unix }} {{ (.StartsAt.Add 90000000000).Format "15:04" }} {{ .StartsAt.IsZero }}"#)
            .unwrap();
        assert_eq!(
            set.expand(&text, &data, &ctx()).unwrap(),
            "2026-12-02 08:11:12 UTC 1796199072 08:12 false"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let set = TemplateSet::new();
        let missing = set.parse(r#"{{ template "nope" . }}"#).unwrap();
        let err = set
            .expand(&missing, &data(), &ctx())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "template \"nope\" not defined");
        let mut set = TemplateSet::new();
        let nested = set
            .add(r#"{{ if true }}{{ define "a" }}x{{ end }}{{ end }}"#)
            .unwrap_err();
        assert!(
            nested.message.contains("outside any other action"),
            "{nested:?}"
        );
        let unnamed = set.add(r#"{{ define a }}x{{ end }}"#).unwrap_err();
        assert!(
            unnamed.message.contains("quoted template name"),
            "{unnamed:?}"
        );
        let open = set.add(r#"{{ define "a" }}x"#).unwrap_err();
        assert!(open.message.contains("has no {{end}}"), "{open:?}");
        set.add(r#"{{ define "loop" }}{{ template "loop" . }}{{ end }}"#)
            .unwrap();
        let err = set
            .expand_named("loop", &data(), &ctx())
            .unwrap_err()
            .to_string();
        assert!(err.contains("nested deeper than 100"), "{err}");
        // Variables of the caller are not the callee's.
        set.add(r#"{{ define "v" }}{{ $x }}{{ end }}"#).unwrap_err();
        // Alert labels and annotations keep Prometheus's language: no named templates.
        let alert = super::super::Template::parse(r#"{{ template "title" . }}"#).unwrap_err();
        assert!(
            alert.message.contains("not supported in alert templates"),
            "{alert:?}"
        );
    }
}

mod alertmanager_data {
    use super::super::{Expansion, TemplateSet, Value};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn kv(pairs: &[(&str, &str)]) -> Value {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Value::Kv(Arc::new(m))
    }

    fn alert(status: &str, instance: &str) -> Value {
        Value::Struct(Arc::new(vec![
            ("Status", Value::Str(status.into())),
            (
                "Labels",
                kv(&[
                    ("alertname", "Down"),
                    ("instance", instance),
                    ("team", "pay"),
                ]),
            ),
        ]))
    }

    fn data() -> Value {
        Value::Struct(Arc::new(vec![
            ("Status", Value::Str("firing".into())),
            (
                "Alerts",
                Value::Alerts(Arc::new(vec![
                    alert("firing", "a"),
                    alert("resolved", "b"),
                    alert("firing", "c"),
                ])),
            ),
            ("GroupLabels", kv(&[("alertname", "Down")])),
            (
                "CommonLabels",
                kv(&[("alertname", "Down"), ("team", "pay")]),
            ),
        ]))
    }

    fn expand(text: &str) -> Result<String, String> {
        let set = TemplateSet::new();
        let t = set.parse(text).map_err(|e| e.message)?;
        let ctx = Expansion {
            query: None,
            external_url: "",
            time_ms: 0,
        };
        set.expand(&t, &data(), &ctx).map_err(|e| e.0)
    }

    #[test]
    fn kv_pairs_and_alerts_have_alertmanagers_methods() {
        assert_eq!(
            expand("{{ .Alerts.Firing | len }}/{{ len .Alerts.Resolved }}").unwrap(),
            "2/1"
        );
        assert_eq!(
            expand(r#"{{ .CommonLabels.SortedPairs.Names | join "," }}"#).unwrap(),
            "alertname,team"
        );
        assert_eq!(
            expand(r#"{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}"#)
                .unwrap(),
            "alertname=Down;team=pay;"
        );
        assert_eq!(
            expand(r#"{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}"#).unwrap(),
            "pay"
        );
        assert_eq!(
            expand("{{ range .Alerts.Firing }}{{ .Labels.instance }}{{ end }}").unwrap(),
            "ac"
        );
        assert_eq!(
            expand(r#"{{ .GroupLabels.alertname }}{{ .GroupLabels.missing }}"#).unwrap(),
            "Down"
        );
        assert_eq!(
            expand(r#"{{ stringSlice "a" "b" | join "+" }}"#).unwrap(),
            "a+b"
        );
        let err = expand(r#"{{ .CommonLabels.Remove "x" }}"#).unwrap_err();
        assert!(err.contains("can't call method Remove"), "{err}");
    }

    #[test]
    fn alertmanagers_functions_stay_out_of_alert_templates() {
        let alert = super::super::Template::parse(r#"{{ "a" | join "," }}"#).unwrap_err();
        assert!(
            alert
                .message
                .contains("function \"join\" not defined; alert templates"),
            "{alert:?}"
        );
        let set = TemplateSet::new();
        let unknown = set.parse("{{ nope }}").unwrap_err();
        assert!(
            unknown
                .message
                .contains("notification templates may call join, stringSlice"),
            "{unknown:?}"
        );
    }
}

#[test]
fn comments_may_hold_quotes() {
    assert_eq!(expand("a{{/* it's \"quoted\" */}}b", 0.0).unwrap(), "ab");
    assert_eq!(expand("a {{- /* it's */ -}} b", 0.0).unwrap(), "ab");
    assert!(super::Template::parse("{{/* it's").is_err());
}
