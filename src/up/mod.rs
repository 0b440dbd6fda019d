//! `taishan up`: every part in one process. [`stores`] opens the stores, the receivers
//! build the ingest surface, [`router`] puts the API address together, [`loops`] spawns the
//! background work and [`banner`] says where everything is.

mod admin;
mod alert_forwarder;
mod alerter;
mod banner;
pub mod config;
mod loops;
mod otlp;
mod router;
mod rule_engine;
mod self_metrics;
mod sighup;
mod stores;

use std::sync::Arc;

use anyhow::{bail, Context};
use taishan_alerter::AlerterMetrics;
use taishan_collector::receivers::select;
use taishan_collector::{ingest_surface, IngestMetrics, IngestState};
use taishan_core::{Clock, MetadataRegistry, SystemClock};
use taishan_guard_control::ControlMetrics;
use taishan_query::QueryMetrics;
use taishan_rules::RuleMetrics;
use taishan_store::StoreMetrics;
use tokio_util::sync::CancellationToken;

use crate::cmd::up::UpArgs;
use crate::up::alert_forwarder::AlertForwarder;
use crate::up::otlp::{OtlpEndpoints, OtlpServers};
use rule_engine::RuleEngine;

use config::Config;
use stores::Stores;

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
    if let Some(addr) = args.alerter_listen {
        config.alerter.listen = addr;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("taishan")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, args))
}

/// Taishan's own metrics, registered.
struct OwnMetrics {
    registry: prometheus::Registry,
    store: StoreMetrics,
    ingest: IngestMetrics,
    query: QueryMetrics,
    rules: RuleMetrics,
    guards: ControlMetrics,
    alerter: AlerterMetrics,
}

impl OwnMetrics {
    fn register() -> anyhow::Result<Self> {
        let registry = self_metrics::registry();
        Ok(Self {
            store: StoreMetrics::register(&registry).context("registering storage metrics")?,
            ingest: IngestMetrics::register(&registry).context("registering ingest metrics")?,
            query: QueryMetrics::register(&registry).context("registering query metrics")?,
            rules: RuleMetrics::register(&registry).context("registering rule metrics")?,
            guards: ControlMetrics::register(&registry)
                .context("registering guard control metrics")?,
            alerter: AlerterMetrics::register(&registry).context("registering alerter metrics")?,
            registry,
        })
    }
}

async fn serve(config: Config, args: UpArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let demo_on = config.demo.enabled && !args.no_demo;
    let with_demo_rules = demo_on && config.rules.demo_rules;
    let rule_set = rule_engine::load_rule_set(&config, with_demo_rules).map_err(|problems| {
        for p in &problems {
            eprintln!("{p}");
        }
        anyhow::anyhow!("{} problem(s) in the rule files", problems.len())
    })?;
    let metrics = OwnMetrics::register()?;
    let stores = Stores::open(&config, &args.data_dir, clock.clone(), metrics.store).await?;
    let (spans, logs) = stores.sinks(&config, clock.clone());
    let max_body = usize::try_from(config.ingest.max_body_size.bytes()).unwrap_or(usize::MAX);
    let ingest = IngestState::new(
        stores.bus.clone(),
        spans,
        logs,
        max_body,
        clock.clone(),
        metrics.ingest.clone(),
    )
    .with_tenant_attribute(config.ingest.otlp_tenant_attribute.clone());
    let receivers = select(config.ingest.receivers.as_deref())?;
    let surface = ingest_surface(&ingest, &receivers);
    let plane =
        rule_engine::open_control_plane(&args.data_dir, clock.clone(), metrics.guards).await?;
    // The faults drills arm against the demo services (the chaos API on the API address).
    let faults = taishan_chaos::FaultSet::new(clock.clone(), clock.now_ms() as u64);
    let books = taishan_chaos::api::BooksSlot::default();
    let drill_history = taishan_chaos::api::DrillHistory::open(&args.data_dir, clock.clone())
        .with_context(|| format!("opening the drill history in {}", args.data_dir.display()))?;
    let drill_desk = taishan_chaos::api::DrillDesk::new(
        &config.chaos.drills_dir,
        drill_history.clone(),
        clock.clone(),
    );
    let no_alerter_config = args.alerter_config.is_none() && config.alerter.config_file.is_none();
    let demo_pager = match demo_on && no_alerter_config {
        true => Some(alerter::DemoPager::bind(&config, clock.clone()).await?),
        false => None,
    };
    let alerter = alerter::AlerterServer::open(
        &config,
        alerter::AlerterFiles {
            config: args.alerter_config.clone(),
            oncall: args.alerter_oncall.clone(),
            peers: args.alerter_peers.clone(),
            demo_pager: demo_pager.as_ref().map(|p| p.url.clone()),
        },
        &args.data_dir,
        clock.clone(),
        metrics.alerter,
    )
    .await?;
    let ui_url = format!("http://{}", config.server.http_listen);
    let (root_causes, root_cause_worker) = taishan_analyzer::live::RootCauseNotes::new(
        taishan_query::Engine::new(stores.db.clone(), config.query, clock.clone()),
        clock.clone(),
    );
    let forwarder = AlertForwarder::new(
        alerter.alerter.clone(),
        config
            .rules
            .external_url
            .clone()
            .unwrap_or_else(|| ui_url.clone()),
    )
    .with_annotator(root_causes);
    let rules = Arc::new(
        RuleEngine::start(
            rule_engine::RuleEngineParts {
                config: &config,
                db: stores.db.clone(),
                bus: stores.bus.clone(),
                clock: clock.clone(),
                metrics: metrics.rules,
                ui_url,
                plane: plane.clone(),
                listeners: vec![Arc::new(forwarder)],
            },
            &rule_set,
        )
        .await,
    );
    let metadata = MetadataRegistry::new();
    let dashboards = Arc::new(taishan_dashboards::Catalog::load(
        args.dashboards.as_deref(),
    ));
    let live = taishan_dashboards::LiveHub::new(
        taishan_query::Engine::new(stores.db.clone(), config.query, clock.clone()),
        dashboards.clone(),
        clock.clone(),
    );
    let edge = taishan_edge::Edge::new();
    let ui = taishan_dashboards::UiState::new(dashboards.clone(), live, edge.csrf())
        .context("compiling the UI's page templates")?;
    let analyzer = taishan_analyzer::live::LiveAnalyzer::open(
        &config.analyzer,
        demo_on,
        &args.data_dir,
        &metrics.registry,
    )?;
    let app = router::api_router(router::ApiParts {
        ui,
        ingest: surface.api,
        config: &config,
        args: &args,
        stores: &stores,
        metadata: metadata.clone(),
        clock: clock.clone(),
        query_metrics: metrics.query,
        rules: rules.clone(),
        with_demo_rules,
        plane: plane.clone(),
        alerter: alerter.alerter.clone(),
        faults: faults.clone(),
        books: books.clone(),
        drill_history,
        drill_desk: drill_desk.clone(),
        analyzer: taishan_analyzer::live::routes(
            &analyzer,
            taishan_query::Engine::new(stores.db.clone(), config.query, clock.clone()),
            rules.manager.clone(),
            clock.clone(),
        ),
        registry: metrics.registry,
        edge: &edge,
    });

    let listener = tokio::net::TcpListener::bind(config.server.http_listen)
        .await
        .with_context(|| format!("binding {}", config.server.http_listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    drill_desk.set_api(format!("http://{addr}"));
    let cancel = CancellationToken::new();
    let uses = |l| surface.summaries.iter().any(|s| s.listener == l);
    use taishan_collector::receivers::Listener;
    let otlp_endpoints = OtlpEndpoints {
        grpc: uses(Listener::OtlpGrpc)
            .then_some((surface.otlp_grpc, config.server.otlp_grpc_listen)),
        http: uses(Listener::OtlpHttp).then_some((
            edge.wrap(taishan_edge::ListenerKind::OtlpHttp, surface.otlp_http),
            config.server.otlp_http_listen,
        )),
    };
    let otlp = OtlpServers::start(otlp_endpoints, cancel.clone()).await?;
    tokio::spawn(dashboards.watch(cancel.clone()));
    let analyzer_task = analyzer.spawn(
        config.analyzer.interval,
        taishan_query::Engine::new(stores.db.clone(), config.query, clock.clone()),
        stores.bus.clone(),
        clock.clone(),
        &cancel,
    );
    root_cause_worker.spawn(&cancel, rules.manager.clone());
    tokio::spawn(drill_desk.run_schedule(config.chaos.schedule.clone(), cancel.clone()));
    banner::print_banner(addr, &otlp, &args, &surface.summaries);
    for p in &config.chaos.proxies {
        let proxy =
            taishan_chaos::FaultProxy::bind(&p.name, p.listen, p.upstream.clone(), faults.clone())
                .await?;
        println!(
            "  fault proxy {:<12} {} → {} (network faults: scope service {})",
            p.name, p.listen, p.upstream, p.name
        );
        tokio::spawn(proxy.run(cancel.clone().cancelled_owned()));
    }
    banner::print_alerter(&alerter);
    let mut alerter_tasks = alerter.spawn(&edge, &cancel);
    if let Some(pager) = demo_pager {
        println!(
            "  demo pager (on-call)     {}/pages (what the demo's on-call team was paged)",
            pager.url
        );
        alerter_tasks.push(pager.spawn(&cancel));
    }
    let demo = match demo_on {
        true => Some(
            banner::start_demo(&config, &args, &otlp, clock.clone(), plane, faults.clone()).await?,
        ),
        false => None,
    };
    if let Some(demo) = &demo {
        let _ = books.set(Arc::new(demo.books()));
    }
    println!("Press Ctrl-C to stop.");

    let loops = loops::spawn(
        loops::LoopParts {
            config: &config,
            stores: &stores,
            clock,
            ingest_metrics: metrics.ingest,
            metadata,
            api_addr: addr,
            rules: rules.clone(),
            with_demo_rules,
        },
        &cancel,
    )?;
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
    alerter_tasks.extend(loops);
    // The analyzer saves its detectors' state as it stops.
    alerter_tasks.push(analyzer_task);
    for task in alerter_tasks {
        let _ = task.await;
    }
    let db = stores.db;
    tokio::task::spawn_blocking(move || db.close())
        .await
        .context("closing storage")?;
    tracing::info!("stopped");
    Ok(())
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
