//! `taishan alerts ...`: the alerter for a terminal. `route` shows where an alert with
//! given labels goes: the path through the routing tree, each matching route's receiver and
//! timers (as `amtool config routes test` does, with more detail) and, for a team, who would
//! be paged now; `ack` and `resolve` act on a running alerter's alerts.

mod history;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use taishan_alerter::routing::{GroupBy, RouteTree};
use taishan_alerter::{CompiledConfig, LabelSet};

/// `taishan alerts ...`
#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// Show where an alert with --labels is routed by --config: receivers, route path,
    /// grouping and timers. Exits 1 when the config is refused or the labels are bad.
    Route {
        /// An alertmanager.yml.
        #[arg(long)]
        config: PathBuf,
        /// The alert's labels, `name=value,name=value`.
        #[arg(long)]
        labels: String,
        /// Taishan's on-call file: for a route to a team, also who would be paged now.
        #[arg(long)]
        oncall: Option<PathBuf>,
    },
    /// Acknowledge alerts on a running alerter: they stop paging and escalating until
    /// they resolve. Give --incident, --filter matchers, or fingerprints.
    Ack(AlertActionArgs),
    /// Resolve alerts on a running alerter now (a source still firing fires them again).
    Resolve(AlertActionArgs),
    /// Run batches of routing cases (alerts at a moment → receivers, who is paged,
    /// inhibitions) against an alertmanager.yml and on-call file; prints PASS/FAIL with
    /// the differences, exits 1 when a case fails. See `alerts_test_cmd` for the format.
    Test {
        /// Test files (YAML: config, oncall, tests).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The alert history of a running alerter: firing, resolved, notified, paged,
    /// escalated, acknowledged, newest first.
    History(history::AlertHistoryArgs),
    /// Run the recorded alert history through a changed config: who would have been
    /// notified and paged, against who was. Prints one line per alert that differs.
    Replay {
        /// The changed alertmanager.yml.
        #[arg(long)]
        config: PathBuf,
        /// The changed on-call file, if routes name teams.
        #[arg(long)]
        oncall: Option<PathBuf>,
        /// How far back (e.g. 7d, 12h).
        #[arg(long, default_value = "7d")]
        since: humantime::Duration,
        /// The alerter whose history is replayed.
        #[command(flatten)]
        alerter: AlerterAt,
    },
}

/// Which alerts `ack` and `resolve` act on, and who acts.
#[derive(Debug, clap::Args)]
pub struct AlertActionArgs {
    /// Who acts (recorded with the acknowledgement).
    #[arg(long)]
    pub by: String,
    /// Why, or what is being done.
    #[arg(long, default_value = "")]
    pub comment: String,
    /// The incident (as in its page and GET /api/taishan/v1/incidents).
    #[arg(long, conflicts_with_all = ["filter", "fingerprints"])]
    pub incident: Option<String>,
    /// Matchers over the firing alerts, e.g. 'service="payment"' (repeatable).
    #[arg(long, conflicts_with = "fingerprints")]
    pub filter: Vec<String>,
    /// The alerts' fingerprints (16 hex digits).
    pub fingerprints: Vec<String>,
    /// The alerter.
    #[command(flatten)]
    pub alerter: AlerterAt,
}

/// Where the alerter is and as whom to ask it.
#[derive(Debug, Clone, clap::Args)]
pub struct AlerterAt {
    /// Base URL of the alerter.
    #[arg(
        long = "alerter",
        default_value = "http://127.0.0.1:9093",
        env = "TAISHAN_ALERTER_URL"
    )]
    pub url: String,
    /// As whom to ask.
    #[command(flatten)]
    pub auth: crate::cmd::client_auth::ClientAuth,
}

impl AlerterAt {
    /// The base URL without a trailing slash.
    fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }
}

/// Runs one alerts command; exit 1 on a bad config or bad labels.
pub fn run(cmd: &AlertsCommand) -> ExitCode {
    if let AlertsCommand::Test { files } = cmd {
        return match test::run(files) {
            Ok((report, all_passed)) => {
                print!("{report}");
                if all_passed {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("taishan alerts test: {}", crate::cmd::error_text::chain(&e));
                ExitCode::from(1)
            }
        };
    }
    let result = match cmd {
        AlertsCommand::Route {
            config,
            labels,
            oncall,
        } => route(config, labels, oncall.as_deref()),
        AlertsCommand::Ack(args) => act("ack", args),
        AlertsCommand::Resolve(args) => act("resolve", args),
        AlertsCommand::History(args) => history::history(args),
        AlertsCommand::Replay {
            config,
            oncall,
            since,
            alerter,
        } => history::replay(alerter, config, oncall.as_deref(), (*since).into()),
        AlertsCommand::Test { .. } => unreachable!("handled above"),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("taishan alerts: {}", crate::cmd::error_text::chain(&e));
            ExitCode::from(1)
        }
    }
}

/// `k=v,k2=v2` as a label set; values may be quoted.
pub fn parse_labels(text: &str) -> anyhow::Result<LabelSet> {
    let mut out = LabelSet::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("--labels: {pair:?} is not name=value");
        };
        let name = name.trim();
        if !taishan_core::labels::is_valid_label_name(name) {
            bail!("--labels: {name:?} is not a valid label name");
        }
        let value = value.trim().trim_matches('"');
        out.insert(name.to_string(), value.to_string());
    }
    if out.is_empty() {
        bail!("--labels: give at least one name=value");
    }
    Ok(out)
}

fn route(config: &Path, labels: &str, oncall: Option<&Path>) -> anyhow::Result<String> {
    let labels = parse_labels(labels)?;
    let compiled = CompiledConfig::load_files(config, oncall, &reqwest::Client::new())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("{} is refused", config.display()))?;
    let mut out = describe(&compiled.routes, &labels);
    let now = taishan_core::Clock::now_ms(&taishan_core::SystemClock);
    for id in compiled.routes.matches(&labels) {
        let receiver = &compiled.routes.node(id).options.receiver;
        if let Some(team) = compiled.team_for(receiver, &labels) {
            let paged = team.paged_at(0, now);
            let names: Vec<String> = paged
                .iter()
                .map(|p| format!("{} ({})", p.member, p.via))
                .collect();
            out.push_str(&format!(
                "team {} pages now: {}\n",
                team.name,
                if names.is_empty() {
                    "no one on call at the first level".into()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    Ok(out)
}

/// Sends `request` to the alerter at `base`: its JSON answer, or its refusal as the error.
fn alerter_answer(
    base: &str,
    request: reqwest::blocking::RequestBuilder,
) -> anyhow::Result<serde_json::Value> {
    let resp = request
        .send()
        .with_context(|| format!("reaching the alerter at {base}"))?;
    let status = resp.status();
    let text = resp.text().unwrap_or_default();
    if !status.is_success() {
        bail!(
            "the alerter refused ({status}): {}",
            text.trim().trim_matches('"')
        );
    }
    serde_json::from_str(&text).context("the alerter's answer")
}

/// `ack` or `resolve` through the alerter's API.
fn act(verb: &str, a: &AlertActionArgs) -> anyhow::Result<String> {
    let base = a.alerter.base();
    let (url, body) = match &a.incident {
        Some(id) => (
            format!("{base}/api/taishan/v1/incidents/{id}/{verb}"),
            serde_json::json!({"by": a.by, "comment": a.comment}),
        ),
        None => {
            if a.filter.is_empty() && a.fingerprints.is_empty() {
                bail!("say which alerts: --incident, --filter or fingerprints");
            }
            (
                format!("{base}/api/taishan/v1/alerts/{verb}"),
                serde_json::json!({"by": a.by, "comment": a.comment,
                                   "filter": a.filter, "fingerprints": a.fingerprints}),
            )
        }
    };
    let request = a.alerter.auth.client(None)?.post(&url).json(&body);
    let answer = alerter_answer(base, a.alerter.auth.apply(request)?)?;
    let alerts: Vec<&str> = answer["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    let done = if verb == "ack" {
        "acknowledged"
    } else {
        "resolved"
    };
    Ok(format!(
        "{done} {} alert(s) by {}: {}\n",
        alerts.len(),
        a.by,
        alerts.join(" ")
    ))
}

/// The routes `labels` match, each with its path from the root and options.
pub fn describe(tree: &RouteTree, labels: &LabelSet) -> String {
    let mut out = String::new();
    for id in tree.matches(labels) {
        let node = tree.node(id);
        let mut path = String::from("route");
        let mut steps = vec![format!("route {}", tree.node(0).key)];
        let mut at = 0;
        for &i in &node.path {
            path.push_str(&format!(".routes[{i}]"));
            at = tree.node(at).children[i];
            let m: Vec<String> = tree
                .node(at)
                .matchers
                .iter()
                .map(ToString::to_string)
                .collect();
            steps.push(format!("{path} {{{}}}", m.join(",")));
        }
        let o = &node.options;
        let group_by = match &o.group_by {
            GroupBy::All => "...".to_string(),
            GroupBy::Labels(l) => l.iter().cloned().collect::<Vec<_>>().join(", "),
        };
        out.push_str(&format!("receiver: {}\n", o.receiver));
        for s in steps {
            out.push_str(&format!("  via {s}\n"));
        }
        out.push_str(&format!(
            "  group_by [{group_by}], group_wait {}, group_interval {}, repeat_interval {}\n",
            humantime::format_duration(o.group_wait),
            humantime::format_duration(o.group_interval),
            humantime::format_duration(o.repeat_interval)
        ));
        if !o.mute_time_intervals.is_empty() || !o.active_time_intervals.is_empty() {
            out.push_str(&format!(
                "  muted during [{}], active during [{}]\n",
                o.mute_time_intervals.join(", "),
                o.active_time_intervals.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_and_bad_ones_are_named() {
        let l = parse_labels("alertname=Down, severity=\"page\"").unwrap();
        assert_eq!(l["severity"], "page");
        assert!(parse_labels("0x=1")
            .unwrap_err()
            .to_string()
            .contains("\"0x\""));
        assert!(parse_labels("novalue").is_err());
        assert!(parse_labels("").is_err());
    }

    #[test]
    fn the_route_path_and_options_are_described() {
        let text = "route:\n  receiver: ops\n  group_by: [alertname]\n  routes:\n    - matchers: ['team=\"db\"']\n      receiver: db\n      routes:\n        - matchers: [severity=page]\n          receiver: db-pager\n          group_wait: 10s\nreceivers:\n  - name: ops\n  - name: db\n  - name: db-pager\n";
        let c = CompiledConfig::compile("am.yml", text, &reqwest::Client::new()).unwrap();
        let l = parse_labels("team=db,severity=page").unwrap();
        let d = describe(&c.routes, &l);
        assert!(d.starts_with("receiver: db-pager\n"), "{d}");
        assert!(
            d.contains("via route.routes[0].routes[0] {severity=\"page\"}"),
            "{d}"
        );
        assert!(d.contains("group_wait 10s, group_interval 5m"), "{d}");
    }
}
