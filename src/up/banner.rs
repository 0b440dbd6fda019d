//! What `taishan up` tells the person who started it: where everything listens, and the
//! demo services with where to look.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::up::config::Config;
use anyhow::Context;
use taishan_collector::receivers::{Listener, Summary};
use taishan_core::Clock;
use taishan_guard_control::ControlPlane;
use taishan_services::{Demo, DemoOptions, TelemetryConfig};
use tokio_util::sync::CancellationToken;

use crate::cmd::up::UpArgs;
use crate::up::otlp::OtlpServers;

/// Prints where Taishan listens: the query API, each receiver served, the other APIs.
pub fn print_banner(addr: SocketAddr, otlp: &OtlpServers, args: &UpArgs, receivers: &[Summary]) {
    let base = format!("http://{addr}");
    println!(
        "Taishan {} is up (data in {})",
        env!("CARGO_PKG_VERSION"),
        args.data_dir.display()
    );
    println!("  dashboards (browser)     {base}/");
    println!("  query API (Prometheus)   {base}/api/v1/query");
    for r in receivers {
        let at = match r.listener {
            Listener::Api => base.clone(),
            Listener::OtlpHttp => otlp.http.map(|a| format!("http://{a}")).unwrap_or_default(),
            Listener::OtlpGrpc => otlp.grpc.map(|a| a.to_string()).unwrap_or_default(),
        };
        let paths: Vec<String> = r.paths.iter().map(|p| format!("{at}{p}")).collect();
        let list = if paths.is_empty() {
            at
        } else {
            paths.join(", ")
        };
        println!("  {:<24} {list}", r.what);
    }
    println!(
        "  traces                   {base}/api/traces/<id>, {base}/api/search, {base}/api/topology"
    );
    println!("  logs                     {base}/api/logs/search");
    println!("  rules and alerts         {base}/api/v1/rules, {base}/api/v1/alerts (POST {base}/-/reload)");
    println!("  guards (control plane)   {base}/api/v1/guards, {base}/api/v1/guards/audit");
    println!("  own metrics              {base}/metrics");
}

/// Prints where the alerter listens and what it notifies.
pub fn print_alerter(server: &super::alerter::AlerterServer) {
    let base = format!("http://{}", server.addr);
    let config = match &server.config_file {
        Some(f) => f.display().to_string(),
        None if !server.alerter.config().oncall.teams.is_empty() => {
            "built in: alerter/demo/*, the demo's on-call team on the demo pager (--alerter-config)"
                .into()
        }
        None => "none: alerts are held, notified to nobody (--alerter-config)".into(),
    };
    println!(
        "  alerter (Alertmanager)   {base}/api/v2/alerts, {base}/api/v2/status (config: {config})"
    );
    let teams = server.alerter.config().oncall.teams.len();
    if teams > 0 {
        println!(
            "  on-call                  {base}/api/taishan/v1/oncall, {base}/api/taishan/v1/incidents ({teams} teams)"
        );
    }
}

/// Starts the demo services, exporting their telemetry to this process's OTLP receiver.
pub async fn start_demo(
    config: &Config,
    args: &UpArgs,
    otlp: &OtlpServers,
    clock: Arc<dyn Clock>,
    plane: Arc<ControlPlane>,
    faults: taishan_chaos::FaultSet,
) -> anyhow::Result<Demo> {
    let Some(mut receiver) = otlp.http else {
        anyhow::bail!(
            "the demo services export their telemetry over OTLP/HTTP: add otlp_http to ingest.receivers, or run with --no-demo"
        );
    };
    if receiver.ip().is_unspecified() {
        receiver.set_ip([127, 0, 0, 1].into());
    }
    let options = DemoOptions {
        config: config.demo.clone(),
        data_dir: args.data_dir.join("demo"),
        telemetry: TelemetryConfig {
            otlp_endpoint: Some(format!("http://{receiver}")),
            metrics_interval: config.demo.metrics_interval,
        },
        traffic: true,
        workers: true,
        control: Some(plane),
        faults: Some(faults),
    };
    let demo = Demo::start(options, clock, CancellationToken::new())
        .await
        .context(
            "starting the demo services (use --no-demo or demo.base_port to avoid a port clash)",
        )?;
    let url = |s: &str| demo.url(s).unwrap_or_default();
    println!(
        "Demo financial services (traffic ~{}/s; --no-demo turns them off):",
        config.demo.traffic.rate
    );
    println!(
        "  gateway                  {}/api/applications, /api/drawdowns, /api/repayments (X-Api-Key: demo-mobile-app)",
        url("gateway")
    );
    // The services between the gateway and the banks, in port order.
    for service in &taishan_services::SERVICES[1..taishan_services::SERVICES.len() - 1] {
        println!("  {service:<24} {}", url(service));
    }
    println!(
        "  bank channels            {}/channels/<name>/faults (PATCH to make one fail)",
        url("banks")
    );
    println!("Where to look:");
    println!("  taishan query 'sum by (channel) (rate(payment_results_total{{status=\"succeeded\"}}[5m])) / sum by (channel) (rate(payment_results_total[5m]))'");
    println!("  taishan query 'sum(payment_in_flight_amount)'   taishan query 'ledger_imbalance'");
    println!("  taishan traces search --service gateway          GET /api/topology");
    println!("  taishan guards list                              taishan guards audit (rules acting on guards)");
    println!(
        "  taishan logs search --severity warn               GET {}/runs/latest (reconciliation)",
        url("reconciliation")
    );
    Ok(demo)
}
