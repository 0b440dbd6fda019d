//! `taishan up`: every part in one process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::routing::get;
use axum::Router;
use taishan_collector::{
    ingest_routes, json_logs_routes, IngestMetrics, IngestState, OtlpState, ScrapeManager,
    ScrapeTarget,
};
use taishan_core::config::Config;
use taishan_core::{Bus, Clock, InProcessBus, MetadataRegistry, SystemClock, TenantId};
use taishan_guard_control::{guard_routes, ControlMetrics, ControlPlane};
use taishan_query::api::ServerStatus;
use taishan_query::{query_routes, QueryMetrics, QueryState};
use taishan_rules::{rules_routes, RuleMetrics};
use taishan_services::{Demo, DemoOptions, TelemetryConfig};
use taishan_store::append_gate::{AppendGate, DEFAULT_IN_FLIGHT};
use taishan_store::logs::LogSink;
use taishan_store::traces::signals::SpanSignals;
use taishan_store::traces::TraceSink;
use taishan_store::{
    LogStore, LogStoreOptions, StoreMetrics, TraceStore, TraceStoreOptions, Tsdb, TsdbOptions,
};
use tokio_util::sync::CancellationToken;

use crate::cli::UpArgs;
use crate::otlp::OtlpServers;
use crate::rule_engine::RuleEngine;
use crate::{admin, rule_engine, self_metrics};

/// How often storage upkeep (block cuts, compaction, retention) runs.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// Runs until Ctrl-C or SIGTERM.
pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => match Config::load_file(path) {
            Ok(c) => c,
            Err(diags) => {
                for d in &diags {
                    eprintln!("{d}");
                }
                bail!("{} problem(s) in {}", diags.len(), path.display());
            }
        },
        None => Config::default(),
    };
    if let Some(addr) = args.http_listen {
        config.server.http_listen = addr;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("taishan")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, args))
}

/// What `/api/v1/status/*` reports: the config, the settings as Prometheus-style flags.
fn server_status(config: &Config, args: &UpArgs, now_ms: i64) -> ServerStatus {
    let duration = |d: std::time::Duration| humantime::format_duration(d).to_string();
    let flags = [
        (
            "config.file",
            args.config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("storage.tsdb.path", args.data_dir.display().to_string()),
        (
            "storage.tsdb.retention.time",
            duration(config.storage.retention),
        ),
        ("web.listen-address", config.server.http_listen.to_string()),
        ("query.timeout", duration(config.query.timeout)),
        ("query.max-samples", config.query.max_samples.to_string()),
        (
            "query.max-concurrency",
            config.query.max_concurrency.to_string(),
        ),
        (
            "query.lookback-delta",
            duration(config.query.lookback_delta),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    ServerStatus {
        config_yaml: serde_yaml_ng::to_string(config).unwrap_or_default(),
        flags,
        start_time_ms: now_ms,
        retention: duration(config.storage.retention),
    }
}

async fn serve(config: Config, args: UpArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let demo_on = config.demo.enabled && !args.no_demo;
    let with_demo_rules = demo_on && config.rules.demo_rules;
    let rule_set = match rule_engine::load_rule_set(&config, with_demo_rules) {
        Ok(set) => set,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            bail!("{} problem(s) in the rule files", problems.len());
        }
    };
    let registry = self_metrics::registry();
    let store_metrics = StoreMetrics::register(&registry).context("registering storage metrics")?;
    let ingest_metrics =
        IngestMetrics::register(&registry).context("registering ingest metrics")?;
    let query_metrics = QueryMetrics::register(&registry).context("registering query metrics")?;
    let rule_metrics = RuleMetrics::register(&registry).context("registering rule metrics")?;

    let data_dir = args.data_dir.clone();
    let options = TsdbOptions {
        dir: data_dir.clone(),
        config: config.storage.clone(),
        queue_capacity: config.ingest.queue_capacity,
        retry_after: config.ingest.retry_after,
        clock: clock.clone(),
        metrics: store_metrics,
    };
    let db = tokio::task::spawn_blocking(move || Tsdb::open(options))
        .await
        .context("opening storage")?
        .with_context(|| format!("opening storage in {}", data_dir.display()))?;
    if let Some(c) = &db.open_report().wal_corruption {
        tracing::warn!(segment = c.segment, offset = c.offset, reason = %c.reason, "the write-ahead log was repaired at start-up");
    }
    let db = Arc::new(db);
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new(db.clone()));
    let trace_options = TraceStoreOptions {
        dir: args.data_dir.join("traces"),
        retention: config.traces.retention,
        retention_bytes: config.traces.retention_size.bytes(),
        segment_bytes: config.traces.segment_size.bytes(),
    };
    let traces = Arc::new(
        tokio::task::spawn_blocking(move || TraceStore::open(trace_options))
            .await
            .context("opening the trace store")?
            .context("opening the trace store")?,
    );

    let metadata = MetadataRegistry::new();
    let ingest = IngestState {
        bus: bus.clone(),
        max_body_bytes: usize::try_from(config.ingest.max_body_size.bytes()).unwrap_or(usize::MAX),
        metrics: ingest_metrics.clone(),
        clock: clock.clone(),
    };
    let log_options = LogStoreOptions {
        dir: args.data_dir.join("logs"),
        retention: config.logs.retention,
        retention_bytes: config.logs.retention_size.bytes(),
        segment_bytes: config.logs.segment_size.bytes(),
    };
    let logs = Arc::new(
        tokio::task::spawn_blocking(move || LogStore::open(log_options))
            .await
            .context("opening the log store")?
            .context("opening the log store")?,
    );
    let signals = Arc::new(SpanSignals::new(
        i64::try_from(config.traces.pair_wait.as_millis()).unwrap_or(i64::MAX),
    ));
    // Appends in flight per store; beyond, exports get 429 / RESOURCE_EXHAUSTED.
    let gate = || AppendGate::new(DEFAULT_IN_FLIGHT, config.ingest.retry_after);
    let span_sink = TraceSink::new(traces.clone())
        .with_signals(signals.clone(), clock.clone())
        .with_gate(gate());
    let otlp_state = OtlpState::new(
        ingest.clone(),
        Arc::new(span_sink),
        Arc::new(LogSink::new(logs.clone()).with_gate(gate())),
    )
    .with_tenant_attribute(config.ingest.otlp_tenant_attribute.clone());
    let guard_metrics =
        ControlMetrics::register(&registry).context("registering guard control metrics")?;
    let plane =
        rule_engine::open_control_plane(&args.data_dir, clock.clone(), guard_metrics).await?;
    let rules = Arc::new(
        RuleEngine::start(
            rule_engine::RuleEngineParts {
                config: &config,
                db: db.clone(),
                bus: bus.clone(),
                clock: clock.clone(),
                metrics: rule_metrics,
                ui_url: format!("http://{}", config.server.http_listen),
                plane: plane.clone(),
            },
            &rule_set,
        )
        .await,
    );
    let metrics_registry = registry.clone();
    let app = Router::new()
        .merge(ingest_routes(ingest))
        .merge(json_logs_routes(otlp_state.clone()))
        .merge(query_routes(
            QueryState::new(db.clone(), config.query, clock.clone(), query_metrics)
                .with_metadata(metadata.clone())
                .with_traces(traces.clone())
                .with_logs(logs.clone())
                .with_status(server_status(&config, &args, clock.now_ms())),
        ))
        .merge(admin::routes(db.clone()))
        .merge(rules_routes(rules.manager.clone()))
        .merge(rule_engine::reload_routes(
            rules.clone(),
            config.clone(),
            with_demo_rules,
        ))
        .merge(guard_routes(plane.clone()))
        .route(
            "/metrics",
            get(move || async move { self_metrics::render(&metrics_registry) }),
        );

    let listener = tokio::net::TcpListener::bind(config.server.http_listen)
        .await
        .with_context(|| format!("binding {}", config.server.http_listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let cancel = CancellationToken::new();
    let otlp = OtlpServers::start(
        otlp_state,
        config.server.otlp_grpc_listen,
        config.server.otlp_http_listen,
        cancel.clone(),
    )
    .await?;
    print_banner(addr, &otlp, &args);
    let demo = if demo_on {
        Some(start_demo(&config, &args, &otlp, clock.clone(), plane.clone()).await?)
    } else {
        None
    };
    println!("Press Ctrl-C to stop.");

    let mut targets = ScrapeTarget::from_config(&config.scrape).context("scrape config")?;
    if config.scrape.self_scrape {
        let own = if addr.ip().is_unspecified() {
            SocketAddr::new([127, 0, 0, 1].into(), addr.port())
        } else {
            addr
        };
        targets.push(ScrapeTarget {
            job: "taishan".into(),
            instance: own.to_string(),
            url: format!("http://{own}/metrics"),
            interval: config.scrape.interval,
            timeout: config.scrape.timeout,
            labels: Default::default(),
            tenant: TenantId::default_tenant(),
        });
    }
    let max_body = usize::try_from(config.ingest.max_body_size.bytes()).unwrap_or(usize::MAX);
    let scrapes = ScrapeManager::new(
        bus.clone(),
        clock.clone(),
        ingest_metrics,
        max_body,
        metadata,
    )
    .start(targets, cancel.clone());
    let derived = tokio::spawn(signals_loop(
        signals,
        bus.clone(),
        clock.clone(),
        config.traces.signals_interval,
        cancel.clone(),
    ));
    let reloads = rule_engine::reload_on_sighup(
        rules.clone(),
        config.clone(),
        with_demo_rules,
        cancel.clone(),
    );
    let maintenance = tokio::spawn(maintenance_loop(
        db.clone(),
        traces.clone(),
        logs.clone(),
        clock.clone(),
        cancel.clone(),
    ));

    let shutdown = cancel.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    });
    wait_for_signal().await;
    tracing::info!("shutting down: no new requests; finishing those in flight");
    if let Some(demo) = demo {
        // The services flush their telemetry while the receivers still take it.
        demo.stop().await;
    }
    rules.manager.stop();
    cancel.cancel();
    server
        .await
        .context("the HTTP server task")?
        .context("serving HTTP")?;
    otlp.join().await;
    for s in scrapes {
        let _ = s.await;
    }
    let _ = maintenance.await;
    let _ = reloads.await;
    let _ = derived.await;
    tokio::task::spawn_blocking(move || db.close())
        .await
        .context("closing storage")?;
    tracing::info!("stopped");
    Ok(())
}

fn print_banner(addr: SocketAddr, otlp: &OtlpServers, args: &UpArgs) {
    let base = format!("http://{addr}");
    println!(
        "Taishan {} is up (data in {})",
        env!("CARGO_PKG_VERSION"),
        args.data_dir.display()
    );
    println!("  query API (Prometheus)   {base}/api/v1/query");
    println!("  remote write             {base}/api/v1/write");
    println!("  Influx line protocol     {base}/api/v2/write?bucket=... and {base}/write?db=...");
    println!("  OTLP/gRPC                {}", otlp.grpc);
    println!(
        "  OTLP/HTTP                http://{}/v1/metrics, /v1/traces, /v1/logs",
        otlp.http
    );
    println!("  JSON log lines           {base}/api/v1/logs");
    println!(
        "  traces                   {base}/api/traces/<id>, {base}/api/search, {base}/api/topology"
    );
    println!("  logs                     {base}/api/logs/search");
    println!("  rules and alerts         {base}/api/v1/rules, {base}/api/v1/alerts (POST {base}/-/reload)");
    println!("  guards (control plane)   {base}/api/v1/guards, {base}/api/v1/guards/audit");
    println!("  own metrics              {base}/metrics");
}

/// Starts the demo services, exporting their telemetry to this process's OTLP receiver.
async fn start_demo(
    config: &Config,
    args: &UpArgs,
    otlp: &OtlpServers,
    clock: Arc<dyn Clock>,
    plane: Arc<ControlPlane>,
) -> anyhow::Result<Demo> {
    let mut receiver = otlp.http;
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

/// Writes the series derived from spans (RED, service graph) every `every`.
async fn signals_loop(
    signals: Arc<SpanSignals>,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    every: Duration,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        for batch in signals.flush(clock.now_ms()) {
            let series = batch.series.len();
            let published = bus.publish(batch).await;
            tracing::debug!(series, ?published, "span-derived series written");
            if let Err(e) = published {
                tracing::warn!(error = %e, "span-derived series not stored; they will be written again next time");
            }
        }
    }
}

async fn maintenance_loop(
    db: Arc<Tsdb>,
    traces: Arc<TraceStore>,
    logs: Arc<LogStore>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(MAINTENANCE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.maintain()).await {
            Ok(Ok(report)) if report != Default::default() => {
                tracing::info!(?report, "storage upkeep")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "storage upkeep failed; will retry"),
            Err(e) => tracing::error!(error = %e, "storage upkeep panicked"),
        }
        let (traces, logs, now) = (traces.clone(), logs.clone(), clock.now_ms());
        let retention = tokio::task::spawn_blocking(move || {
            Ok::<_, taishan_store::StoreError>((
                traces.apply_retention(now)?,
                logs.apply_retention(now)?,
            ))
        });
        match retention.await {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((t, l))) => tracing::info!(
                trace_segments = t,
                log_segments = l,
                "retention deleted old spans and logs"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "trace/log retention failed; will retry"),
            Err(e) => tracing::error!(error = %e, "trace/log retention panicked"),
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
