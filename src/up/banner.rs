//! What `taishan up` tells the person who started it: where everything listens, and the
//! demo services with where to look.

use std::sync::Arc;

use anyhow::Context;
use taishan_collector::receivers::{Listener, Summary};
use taishan_core::Clock;
use taishan_services::{Demo, DemoOptions, ExportTls, TelemetryConfig};
use tokio_util::sync::CancellationToken;

use super::parts::AlerterPart;
use super::platform::Platform;

/// Prints where Taishan listens: the query API, each receiver served, the other APIs.
pub fn print_banner(platform: &Platform, receivers: &[Summary]) {
    let (at, args) = (&platform.addresses, &platform.args);
    let base = platform.url_of(at.api);
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
            Listener::OtlpHttp => at.otlp_http.map(|a| platform.url_of(a)).unwrap_or_default(),
            Listener::OtlpGrpc => at.otlp_grpc.map(|a| a.to_string()).unwrap_or_default(),
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
pub fn print_alerter(server: &AlerterPart, base: &str) {
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

/// How the demo services will start: exporting their telemetry to this process's OTLP
/// receiver, guarded by its control plane, open to its faults.
pub struct DemoStart {
    options: anyhow::Result<DemoOptions>,
    clock: Arc<dyn Clock>,
    rate: f64,
}

impl DemoStart {
    /// The demo of `platform`'s config.
    pub fn new(platform: &Platform) -> Self {
        let config = &platform.config;
        let own_tls = platform
            .edge
            .tls()
            .map(|t| t.own_client_config())
            .transpose();
        let options = match (platform.addresses.otlp_http, own_tls) {
            (None, _) => Err(anyhow::anyhow!(
                "the demo services export their telemetry over OTLP/HTTP: add otlp_http to ingest.receivers, or run with --no-demo"
            )),
            (Some(_), Err(e)) => Err(e.into()),
            (Some(receiver), Ok(tls)) => Ok(DemoOptions {
                config: config.demo.clone(),
                data_dir: platform.data_dir().join("demo"),
                telemetry: TelemetryConfig {
                    otlp_endpoint: Some(platform.url_of(receiver)),
                    metrics_interval: config.demo.metrics_interval,
                    authorization: Some(platform.own_authorization()),
                    tls: tls.map(ExportTls),
                },
                traffic: true,
                workers: true,
                control: Some(platform.plane.clone()),
                faults: Some(platform.faults.clone()),
            }),
        };
        Self {
            options,
            clock: platform.clock.clone(),
            rate: config.demo.traffic.rate,
        }
    }

    /// Starts the services and says where they are.
    pub async fn run(self) -> anyhow::Result<Demo> {
        let (options, clock) = (self.options?, self.clock);
        let demo = Demo::start(options, clock, CancellationToken::new())
        .await
        .context(
            "starting the demo services (use --no-demo or demo.base_port to avoid a port clash)",
        )?;
        let url = |s: &str| demo.url(s).unwrap_or_default();
        println!(
            "Demo financial services (traffic ~{}/s; --no-demo turns them off):",
            self.rate
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
        println!(
            "  taishan query 'sum(payment_in_flight_amount)'   taishan query 'ledger_imbalance'"
        );
        println!("  taishan traces search --service gateway          GET /api/topology");
        println!("  taishan guards list                              taishan guards audit (rules acting on guards)");
        println!(
        "  taishan logs search --severity warn               GET {}/runs/latest (reconciliation)",
        url("reconciliation")
    );
        Ok(demo)
    }
}
