//! The Grafana converter against a dashboard exported from Grafana's current schema, and
//! the built-in business view round-tripped through Grafana JSON.

use super::*;
use crate::spec::parse_dashboard;

const PAYMENTS: &str = include_str!("../testdata/grafana-payments.json");

#[test]
fn a_grafana_dashboard_converts_with_what_was_left_out_listed() {
    let imported = import(PAYMENTS).unwrap();
    let d = &imported.dashboard;
    assert_eq!(d.title, "Payments (Grafana)");
    assert_eq!(
        (d.range, d.refresh),
        (Duration::from_secs(6 * 3600), Duration::from_secs(30))
    );
    assert_eq!(d.variables.len(), 1);
    assert_eq!(
        (
            d.variables[0].metric.as_str(),
            d.variables[0].label.as_str()
        ),
        ("payment_results_total", "channel")
    );
    let rows: Vec<(&str, Vec<&str>)> = d
        .rows
        .iter()
        .map(|r| {
            (
                r.title.as_str(),
                r.panels.iter().map(|p| p.title.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Panels", vec!["Success"]),
            ("Channels", vec!["Payments per channel"]),
            ("Money", vec!["Money in flight", "Amount by channel"]),
        ]
    );
    let success = &d.rows[0].panels[0];
    assert_eq!(
        (success.kind, success.unit, success.width),
        (PanelKind::Stat, Unit::Ratio, 3)
    );
    assert_eq!(
        success.queries[0].expr,
        r#"sum(rate(payment_results_total{status="succeeded", channel=~"$channel"}[1m])) / sum(rate(payment_results_total{channel=~"$channel"}[1m]))"#
    );
    let colors: Vec<(f64, Color)> = success
        .thresholds
        .iter()
        .map(|t| (t.value, t.color))
        .collect();
    assert_eq!(
        colors,
        [
            (0.0, Color::Red),
            (0.95, Color::Yellow),
            (0.99, Color::Green)
        ]
    );
    assert!(
        !imported.notes.iter().any(|n| n.contains("#EAB839")),
        "Grafana's own yellow"
    );
    let per_channel = &d.rows[1].panels[0];
    assert_eq!(
        per_channel.queries.len(),
        1,
        "the hidden target is left out"
    );
    assert_eq!(
        per_channel.queries[0].expr,
        r#"sum by (channel) (rate(payment_results_total{channel=~"$channel"}[5m]))"#
    );
    assert_eq!((per_channel.unit, per_channel.width), (Unit::PerSecond, 6));
    assert_eq!(d.rows[2].panels[0].unit, Unit::Money);
    let notes = imported.notes.join("\n");
    for expected in [
        "$ds: a data source choice is not needed",
        "$quantile: only label_values(...) query variables convert",
        "\"Latency heatmap\": a heatmap panel has no Taishan equivalent",
        "\"Payment logs\": a logs panel has no Taishan equivalent",
        "\"Errors (Loki)\": targets[0] is not a Prometheus query",
        "\"Amount by channel\": unit \"ms\" shown as a plain number",
        "panels[4].panels[2] \"Payment logs\"",
        "$__rate_interval is written as 1m",
    ] {
        assert!(notes.contains(expected), "{expected:?} not in:\n{notes}");
    }
    // What it writes is a dashboard Taishan reads back, unchanged.
    let yaml = to_yaml(d);
    assert_eq!(
        &parse_dashboard("imported.yaml", &yaml).unwrap(),
        d,
        "{yaml}"
    );
    assert!(
        !yaml.contains("description: ''") && !yaml.contains("stages"),
        "{yaml}"
    );
}

#[test]
fn what_is_not_a_grafana_dashboard_is_refused() {
    assert!(import("{").unwrap_err().starts_with("not JSON"));
    assert!(import(r#"{"title": "x"}"#)
        .unwrap_err()
        .contains("neither \"panels\" nor \"rows\""));
}

#[test]
fn the_business_view_goes_to_grafana_and_back() {
    let catalog = crate::Catalog::load(None);
    let business = catalog.get("business").unwrap();
    let json = export(&business, "taishan").to_string();
    let back = import(&json).unwrap();
    assert!(back.notes.is_empty(), "{:?}", back.notes);
    let panels = |d: &Dashboard| -> Vec<(String, PanelKind, Unit, u8, Vec<PanelQuery>)> {
        d.rows
            .iter()
            .flat_map(|r| r.panels.iter())
            .map(|p| (p.title.clone(), p.kind, p.unit, p.width, p.queries.clone()))
            .collect()
    };
    let units_grafana_merges = |mut v: Vec<(String, PanelKind, Unit, u8, Vec<PanelQuery>)>| {
        // Grafana has no "count": it is its "short", read back as a plain number.
        v.iter_mut()
            .filter(|p| p.2 == Unit::Count)
            .for_each(|p| p.2 = Unit::None);
        v
    };
    assert_eq!(
        panels(&back.dashboard),
        units_grafana_merges(panels(&business))
    );
    assert_eq!(back.dashboard.variables, business.variables);
}

#[test]
fn the_shipped_grafana_business_dashboard_is_the_built_in_one() {
    let shipped: Value = serde_json::from_str(include_str!("../grafana/business.json")).unwrap();
    let catalog = crate::Catalog::load(None);
    let expected = export(&catalog.get("business").unwrap(), "taishan");
    assert_eq!(
        shipped, expected,
        "regenerate it: taishan dashboards export business > dashboards/grafana/business.json"
    );
}

#[test]
fn a_band_grafana_cannot_read_back_is_named_and_the_query_kept() {
    let json = r#"{"title": "t", "panels": [{"type": "timeseries", "title": "p", "gridPos": {"w": 12},
        "targets": [{"refId": "A", "expr": "up", "taishanBand": {"watch": 3}},
                    {"refId": "B", "expr": "taishan_anomaly_lower{watch=\"w\"}", "taishanBandOf": "A"}]}]}"#;
    let back = import(json).unwrap();
    let queries = &back.dashboard.rows[0].panels[0].queries;
    assert_eq!(
        queries.len(),
        1,
        "the band's edge is not a query: {queries:?}"
    );
    assert_eq!((queries[0].expr.as_str(), &queries[0].band), ("up", &None));
    assert!(
        back.notes
            .iter()
            .any(|n| n.contains("taishanBand is not a band")),
        "{:?}",
        back.notes
    );
}
