//! A drill report as one self-contained HTML file, for evidence: the verdict and its
//! reasons, the timings against the targets, the timeline chart of the loss with the fault,
//! alert, notification, action and recovery marks (inline SVG), the money proof, and the
//! report's JSON itself. No script, no request: it reads the same in ten years.

use std::fmt::Write;

use serde_json::Value;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn when(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The marks on the timeline: (label, Unix ms, colour).
fn marks(t: &Value) -> Vec<(&'static str, i64, &'static str)> {
    [
        ("fault", "fault_start_ms", "#eb5757"),
        ("detected", "detected_ms", "#f2994a"),
        ("notified", "notified_ms", "#9b51e0"),
        ("action", "action_ms", "#2f80ed"),
        ("loss stopped", "loss_stopped_ms", "#27ae60"),
        ("faults reverted", "faults_end_ms", "#8a93a6"),
        ("recovered", "recovered_ms", "#219653"),
    ]
    .into_iter()
    .filter_map(|(label, key, colour)| {
        t[key]
            .as_i64()
            .filter(|ms| *ms > 0)
            .map(|ms| (label, ms, colour))
    })
    .collect()
}

/// The loss over the drill, with the marks, as an SVG.
fn chart(r: &Value) -> String {
    // Room above the chart for one line of label per mark.
    let (w, h, pad, top) = (900.0, 320.0, 40.0, 100.0);
    let points: Vec<(f64, f64)> = r["loss"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let t = &r["timeline"];
    let ms = marks(t);
    let times = points
        .iter()
        .map(|p| p.0)
        .chain(ms.iter().map(|m| m.1 as f64));
    let (t0, t1) = times.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if t0 >= t1 {
        return "<p>No timeline was recorded.</p>".into();
    }
    let vmax = points.iter().map(|p| p.1).fold(1.0_f64, f64::max);
    let vmin = points.iter().map(|p| p.1).fold(vmax, f64::min);
    let x = |t: f64| pad + (t - t0) / (t1 - t0) * (w - 2.0 * pad);
    let y = |v: f64| h - pad - (v - vmin) / (vmax - vmin).max(1.0) * (h - pad - top);
    let mut svg = format!(
        r##"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="the loss over the drill"><rect width="{w}" height="{h}" fill="#141820"/>"##
    );
    let line: Vec<String> = points
        .iter()
        .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#eb5757" stroke-width="2" points="{}"/>"##,
        line.join(" ")
    );
    // Marks read in seconds after the first fault, the drill's clock.
    let fault = t["fault_start_ms"]
        .as_f64()
        .filter(|f| *f > 0.0)
        .unwrap_or(t0);
    for (i, (label, at, colour)) in ms.iter().enumerate() {
        let px = x(*at as f64);
        let ly = 16.0 + i as f64 * 12.0;
        // Labels near the right edge end at their line instead of running off the chart.
        let (tx, anchor) = if px > w - 160.0 {
            (px - 3.0, "end")
        } else {
            (px + 3.0, "start")
        };
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{top}" y2="{}" stroke="{colour}" stroke-dasharray="4 3"/><text x="{tx:.1}" y="{ly}" fill="{colour}" font-size="11" text-anchor="{anchor}">{label} +{:.0}s</text>"##,
            h - pad,
            (*at as f64 - fault) / 1000.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{pad}" y="{}" fill="#8a93a6" font-size="11">loss {vmin} → {vmax} · {}s</text></svg>"##,
        h - 12.0,
        ((t1 - t0) / 1000.0).round()
    );
    svg
}

fn seconds(v: &Value) -> String {
    v.as_f64().map_or("never".into(), |s| format!("{s:.1} s"))
}

/// The report as a self-contained HTML page.
pub fn export_html(r: &Value) -> String {
    let name = esc(r["drill"].as_str().unwrap_or("drill"));
    // Only the two verdicts and a number reach the page, whatever a posted report holds.
    let verdict = match r["verdict"].as_str() {
        Some("pass") => "pass",
        _ => "fail",
    };
    let score = r["score"]
        .as_f64()
        .map_or("?".to_string(), |s| format!("{s}"));
    let colour = if verdict == "pass" {
        "#27ae60"
    } else {
        "#eb5757"
    };
    let t = &r["timeline"];
    let m = &r["money"];
    let mut html = format!(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Drill {name}: {verdict}</title><style>body{{font:14px system-ui,sans-serif;background:#0f1218;color:#e6e9ef;max-width:960px;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse}}td,th{{padding:.3em .8em;border-bottom:1px solid #2a3142;text-align:left}}.v{{color:{colour};font-weight:bold}}pre{{white-space:pre-wrap;font-size:12px}}</style></head><body>"##
    );
    let _ = write!(
        html,
        r##"<h1>Drill {name}: <span class="v">{}</span> (score {})</h1><p>Ran {} to {}; faults injected into <strong>{}</strong>. Report {}.</p>"##,
        verdict.to_uppercase(),
        score,
        when(t["started_ms"].as_i64().unwrap_or(0)),
        when(t["finished_ms"].as_i64().unwrap_or(0)),
        esc(r["injected_service"].as_str().unwrap_or("")),
        esc(r["id"].as_str().unwrap_or(""))
    );
    let reasons: Vec<String> = r["reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .map(|s| format!("<li>{}</li>", esc(s)))
                .collect()
        })
        .unwrap_or_default();
    if !reasons.is_empty() {
        let _ = write!(html, "<h2>Why it failed</h2><ul>{}</ul>", reasons.join(""));
    }
    let _ = write!(
        html,
        "<h2>Timings</h2><table><tr><th>time to detect</th><td>{}</td></tr><tr><th>time to notify</th><td>{}</td></tr><tr><th>time to stop the loss</th><td>{}</td></tr><tr><th>time to recover</th><td>{}</td></tr></table>",
        seconds(&r["time_to_detect_seconds"]),
        seconds(&r["time_to_notify_seconds"]),
        seconds(&r["time_to_stop_loss_seconds"]),
        seconds(&r["time_to_recover_seconds"])
    );
    let _ = write!(html, "<h2>Timeline</h2>{}", chart(r));
    let row = |label: &str, v: &Value| match v.as_str() {
        Some(text) => format!("<tr><th>{label}</th><td>{}</td></tr>", esc(text)),
        None => format!("<tr><th>{label}</th><td>{}</td></tr>", esc(&v.to_string())),
    };
    let money = |v: &Value| Value::String(format!("{:.2}", v.as_f64().unwrap_or(0.0) + 0.0));
    let _ = write!(
        html,
        "<h2>Money proof</h2><table>{}{}{}{}{}{}{}{}{}</table>",
        row("money lost", &money(&r["money_lost"])),
        row(
            "failed amount (refused, not lost)",
            &money(&r["failed_amount"])
        ),
        row("ledger imbalance", &money(&m["ledger_imbalance"])),
        row("payments paid twice", &m["paid_twice"]),
        row("payments of the drill not final", &m["open_payments"]),
        row(
            "money in flight before / after",
            &Value::String(format!(
                "{} / {}",
                money(&m["in_flight_baseline"]).as_str().unwrap_or(""),
                money(&m["in_flight_after"]).as_str().unwrap_or("")
            ))
        ),
        row("compensation backlog", &m["compensation_backlog"]),
        row(
            "reconciliation differences",
            &m["reconciliation_differences"]
        ),
        row(
            "their amount",
            &money(&m["reconciliation_difference_amount"])
        ),
    );
    let json = serde_json::to_string_pretty(r).unwrap_or_default();
    let _ = write!(
        html,
        "<h2>The report</h2><details><summary>JSON</summary><pre>{}</pre></details></body></html>",
        esc(&json)
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_holds_the_verdict_the_marks_and_the_json_and_nothing_to_fetch() {
        let r = serde_json::json!({
            "id": "r1", "drill": "bank-channel-outage", "verdict": "fail", "score": 66.7,
            "injected_service": "bank-a", "reasons": ["not detected: <X> never fired"],
            "time_to_detect_seconds": null, "time_to_stop_loss_seconds": 14.1,
            "timeline": {"started_ms": 1000, "finished_ms": 90000, "fault_start_ms": 10000, "faults_end_ms": 60000, "recovered_ms": 80000},
            "money": {"ledger_imbalance": 0.0}, "money_lost": 0.0, "failed_amount": 12.5,
            "loss": [[10000, 0.0], [20000, 5.0], [70000, 5.0]],
        });
        let html = export_html(&r);
        assert!(html.contains("FAIL"));
        assert!(html.contains("not detected: &lt;X&gt; never fired"));
        assert!(html.contains("<polyline"));
        for mark in ["fault +", "faults reverted +", "recovered +"] {
            assert!(html.contains(mark), "{mark}");
        }
        assert!(
            !html.contains("detected +"),
            "a mark that did not happen is not drawn"
        );
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    }

    #[test]
    fn a_posted_report_holding_markup_exports_it_as_text() {
        let evil = "<script>alert(1)</script>";
        let r = serde_json::json!({
            "id": evil, "drill": evil, "verdict": evil, "score": evil,
            "injected_service": evil, "reasons": [evil],
            "timeline": {"started_ms": 0, "finished_ms": 1, "marks": [{"label": evil, "at_ms": 0}]},
            "money": {"paid_twice": [evil], "open_payments": {"x": evil}},
        });
        let html = export_html(&r);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains(": <span class=\"v\">FAIL</span> (score ?)"),
            "{html}"
        );
    }
}
