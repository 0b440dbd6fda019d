//! `taishan alerts history` and `taishan alerts replay`: the alert history of a running
//! alerter, for a terminal, and the same history run through a changed config to show
//! who would have been notified and paged against who was.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use taishan_alerter::{CompiledConfig, LabelSet};

/// Filters of `taishan alerts history`.
#[derive(Debug, clap::Args)]
pub struct AlertHistoryArgs {
    /// An alert: its fingerprint or its alertname.
    #[arg(long)]
    pub alert: Option<String>,
    /// The `service` label.
    #[arg(long)]
    pub service: Option<String>,
    /// The on-call team.
    #[arg(long)]
    pub team: Option<String>,
    /// The person paged or acknowledging.
    #[arg(long)]
    pub person: Option<String>,
    /// One kind: firing, resolved, notified, failed, paged, escalated, acknowledged,
    /// resolved_by_hand.
    #[arg(long)]
    pub kind: Option<String>,
    /// How far back (e.g. 24h, 7d).
    #[arg(long, default_value = "24h")]
    pub since: humantime::Duration,
    /// At most this many rows.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'o', default_value = "table")]
    pub output: String,
    /// The alerter.
    #[command(flatten)]
    pub alerter: super::AlerterAt,
}

/// The history rows of `query` (`kind=firing&since=...`), newest first.
fn fetch(alerter: &super::AlerterAt, query: &[(&str, String)]) -> anyhow::Result<Vec<Value>> {
    let base = alerter.base();
    let request = alerter
        .auth
        .client(None)?
        .get(format!("{base}/api/taishan/v1/history"))
        .query(query);
    let answer = super::alerter_answer(base, alerter.auth.apply(request)?)?;
    Ok(answer["data"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn since(d: Duration) -> String {
    let at = std::time::SystemTime::now()
        .checked_sub(d)
        .unwrap_or(std::time::UNIX_EPOCH);
    humantime::format_rfc3339_millis(at).to_string()
}

/// `taishan alerts history`.
pub fn history(a: &AlertHistoryArgs) -> anyhow::Result<String> {
    let mut q = vec![
        ("since", since(a.since.into())),
        ("limit", a.limit.to_string()),
    ];
    for (name, v) in [
        ("alert", &a.alert),
        ("service", &a.service),
        ("team", &a.team),
        ("person", &a.person),
        ("kind", &a.kind),
    ] {
        if let Some(v) = v {
            q.push((name, v.clone()));
        }
    }
    let rows = fetch(&a.alerter, &q)?;
    match a.output.as_str() {
        "json" => Ok(serde_json::to_string_pretty(&rows)? + "\n"),
        "table" => Ok(table(&rows)),
        other => bail!("-o {other:?}: table or json"),
    }
}

fn table(rows: &[Value]) -> String {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut lines = vec![[
        "TIME".to_string(),
        "KIND".into(),
        "ALERT".into(),
        "SERVICE".into(),
        "TEAM".into(),
        "PERSON".into(),
        "DETAIL".into(),
    ]];
    for r in rows {
        let at = r["atMs"].as_i64().unwrap_or_default();
        let time = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(at).unwrap_or(0));
        let detail = match &r["detail"] {
            Value::Object(m) => m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string)))
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        };
        let receiver = s(&r["receiver"]);
        lines.push([
            humantime::format_rfc3339_seconds(time).to_string(),
            s(&r["kind"]),
            format!(
                "{} {}",
                s(&r["alertname"]),
                &s(&r["fingerprint"])[..8.min(s(&r["fingerprint"]).len())]
            ),
            s(&r["service"]),
            s(&r["team"]),
            s(&r["person"]),
            if receiver.is_empty() {
                detail
            } else {
                format!("receiver={receiver} {detail}").trim().to_string()
            },
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("(no events)\n");
    }
    out
}

/// Who an alert reached: receivers, and people paged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Reached {
    receivers: BTreeSet<String>,
    people: BTreeSet<String>,
}

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r: Vec<&str> = self.receivers.iter().map(String::as_str).collect();
        write!(
            f,
            "{}",
            if r.is_empty() {
                "-".to_string()
            } else {
                r.join(",")
            }
        )?;
        if !self.people.is_empty() {
            let p: Vec<&str> = self.people.iter().map(String::as_str).collect();
            write!(f, " ({})", p.join(","))?;
        }
        Ok(())
    }
}

/// `taishan alerts replay`.
pub fn replay(
    alerter: &super::AlerterAt,
    config: &Path,
    oncall: Option<&Path>,
    window: Duration,
) -> anyhow::Result<String> {
    let compiled = CompiledConfig::load_files(config, oncall, &reqwest::Client::new())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("{} is refused", config.display()))?;
    let from = since(window);
    let fired = fetch(
        alerter,
        &[
            ("kind", "firing".into()),
            ("since", from.clone()),
            ("limit", "100000".into()),
        ],
    )?;
    let mut was: BTreeMap<String, Reached> = BTreeMap::new();
    for kind in ["notified", "paged"] {
        for r in fetch(
            alerter,
            &[
                ("kind", kind.into()),
                ("since", from.clone()),
                ("limit", "100000".into()),
            ],
        )? {
            let e = was
                .entry(r["fingerprint"].as_str().unwrap_or_default().to_string())
                .or_default();
            if let Some(rc) = r["receiver"].as_str().filter(|s| !s.is_empty()) {
                e.receivers.insert(rc.to_string());
            }
            // The first level is what routing decides; later ones depend on who answered.
            let first_level = r["detail"]["level"].as_u64().is_none_or(|l| l == 1);
            if let Some(p) = r["person"]
                .as_str()
                .filter(|s| !s.is_empty() && first_level)
            {
                e.people.insert(p.to_string());
            }
        }
    }
    // Each alert once, at its first firing in the window.
    let mut alerts: BTreeMap<String, (i64, LabelSet)> = BTreeMap::new();
    for r in fired.iter().rev() {
        let fp = r["fingerprint"].as_str().unwrap_or_default().to_string();
        let labels: LabelSet = serde_json::from_value(r["labels"].clone()).unwrap_or_default();
        alerts
            .entry(fp)
            .or_insert((r["atMs"].as_i64().unwrap_or_default(), labels));
    }
    let mut out = String::new();
    let mut changed = 0;
    for (fp, (at, labels)) in &alerts {
        let would = would_reach(&compiled, labels, *at);
        let before = was.get(fp).cloned().unwrap_or_default();
        if would != before {
            changed += 1;
            let name = labels.get("alertname").map_or("", String::as_str);
            out.push_str(&format!("{name} {fp}: was {before}, would be {would}\n"));
        }
    }
    out.push_str(&format!(
        "{} alerts since {from}: {} reach the same receivers and people, {changed} differ\n",
        alerts.len(),
        alerts.len() - changed
    ));
    Ok(out)
}

/// The receivers `labels` reach under `c`, and who the first level of a team pages at `at`.
fn would_reach(c: &CompiledConfig, labels: &LabelSet, at: i64) -> Reached {
    let mut out = Reached::default();
    for id in c.routes.matches(labels) {
        let receiver = &c.routes.node(id).options.receiver;
        match c.team_for(receiver, labels) {
            Some(t) => out
                .people
                .extend(t.paged_at(0, at).into_iter().map(|p| p.member)),
            // A receiver without integrations notifies no one.
            None if c.receivers.get(receiver).is_none_or(Vec::is_empty) => continue,
            None => {}
        }
        out.receivers.insert(receiver.clone());
    }
    out
}
