//! `taishan up`: every part in one process. The listeners are bound first ([`listeners`]),
//! then the parts are built from what they share ([`platform`]) and listed in [`serve`];
//! each part ([`parts`]) says what it serves where, what it runs and how it stops
//! ([`part`]), and [`banner`] says where everything is.

mod access;
mod admin;
mod alert_forwarder;
mod banner;
pub mod config;
mod listeners;
mod part;
mod parts;
mod platform;
mod rule_engine;
mod self_metrics;
mod sighup;
mod stores;

use anyhow::{bail, Context};
use tokio_util::sync::CancellationToken;

use crate::cmd::up::UpArgs;
use access::Access;
use config::Config;
use listeners::Listeners;
use part::Parts;
use parts::{
    AlerterPart, AnalyzerSetup, ChaosPart, DashboardsPart, DemoPagerPart, DemoPart, GuardsPart,
    IngestPart, OwnMetricsPart, QueryPart, RulesPart, StoragePart,
};
use platform::Platform;

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
    private_files(&args.data_dir)?;
    let access = Access::open(&config, &args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("taishan")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, args, access))
}

/// Everything the platform writes (samples, traces, logs, the audit trail, drill and alert
/// history) is its operator's alone: files 0600 and directories 0700, whatever the umask
/// it was started with, and the data directory itself closed to others.
fn private_files(data_dir: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        let mode = std::fs::metadata(data_dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("closing {} to other users", data_dir.display()))?;
            tracing::warn!(dir = %data_dir.display(), was = format!("{mode:o}"), "the data directory was open to other users; now 0700");
        }
    }
    Ok(())
}

/// The parts of `taishan up`, in the order they start (and the reverse of their stop).
async fn serve(config: Config, args: UpArgs, access: Access) -> anyhow::Result<()> {
    let listeners = Listeners::bind(&config).await?;
    let edge = taishan_edge::Edge::new(access.authority.clone(), access.browser.clone())
        .with_audit(access.audit.clone())
        .with_tls(access.tls.clone());
    let platform = Platform::open(config, args, listeners.addresses, edge).await?;
    let mut parts = Parts::default();
    parts.push(StoragePart::new(&platform));
    let ingest = IngestPart::new(&platform)?;
    let receivers = ingest.summaries().to_vec();
    parts.push(ingest);
    parts.push(QueryPart::new(&platform));
    parts.push(GuardsPart::new(&platform));
    let no_alerter_config =
        platform.args.alerter_config.is_none() && platform.config.alerter.config_file.is_none();
    let pager = match platform.demo_on && no_alerter_config {
        true => Some(DemoPagerPart::bind(&platform).await?),
        false => None,
    };
    let pager_url = pager.as_ref().map(|p| p.url.clone());
    let alerter =
        AlerterPart::open(&platform, AlerterPart::files(&platform.args, pager_url)).await?;
    let analyzer = AnalyzerSetup::open(&platform)?;
    let rules = RulesPart::start(&platform, alerter.alerter.clone(), analyzer.annotator()).await?;
    let analyzer = analyzer.explaining(rules.manager());
    let chaos = ChaosPart::open(&platform)?;
    let books = chaos.books();
    banner::print_banner(&platform, &receivers);
    banner::print_alerter(&alerter, &platform.url_of(platform.addresses.alerter));
    parts.push(alerter);
    parts.push(rules);
    parts.push(analyzer);
    parts.push(chaos);
    parts.push(DashboardsPart::new(&platform)?);
    parts.push(OwnMetricsPart::new(&platform));
    if let Some(pager) = pager {
        parts.push(pager);
    }
    if platform.demo_on {
        parts.push(DemoPart::new(&platform, books));
    }
    run_until_signal(parts, listeners, &platform, &access).await?;
    let db = platform.stores.db.clone();
    tokio::task::spawn_blocking(move || db.close())
        .await
        .context("closing storage")?;
    tracing::info!("stopped");
    Ok(())
}

/// Serves every part's endpoints, starts the parts, and on Ctrl-C or SIGTERM stops them
/// (the last first), then the listeners and every task.
async fn run_until_signal(
    mut parts: Parts,
    listeners: Listeners,
    platform: &Platform,
    access: &Access,
) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let servers = listeners.serve(parts.endpoints(), &platform.edge, &cancel);
    let mut tasks = parts.start(&cancel).await?;
    tasks.extend(access.reload_on_sighup(&cancel));
    println!("Press Ctrl-C to stop.");
    wait_for_signal().await;
    tracing::info!("shutting down: no new requests; finishing those in flight");
    parts.stop().await;
    cancel.cancel();
    for task in servers.into_iter().chain(tasks) {
        let _ = task.await;
    }
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
