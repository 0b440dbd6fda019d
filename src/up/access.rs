//! Who may use the listeners: the web config (`--web-config`, `server.web_config`) read
//! into the edge's [`Authority`], the refusal to serve a non-loopback address to anyone
//! without one, and its reload on SIGHUP (a broken file is refused with file:line and the
//! credentials in force are kept).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use anyhow::Context;
use taishan_core::SystemClock;
use taishan_edge::audit::{AuditLog, AuditRecord};
use taishan_edge::auth::routes::Switches;
use taishan_edge::browser::loopback_hosts;
use taishan_edge::webconfig::WebConfig;
use taishan_edge::{Authority, BrowserPolicy, Credentials, ServerTls};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::sighup;
use crate::cmd::up::UpArgs;

/// The web config in force and where it is read from.
pub struct Access {
    /// The file, when one is given.
    pub path: Option<PathBuf>,
    /// The credentials the edge checks.
    pub authority: Authority,
    /// Headers and hosts for browsers.
    pub browser: BrowserPolicy,
    /// The audit trail of state changes (under `<data>/audit`).
    pub audit: AuditLog,
    /// The TLS every listener serves, when the web config asks for it.
    pub tls: Option<ServerTls>,
}

impl Access {
    /// Reads the web config and refuses addresses it would leave open to anyone.
    pub fn open(config: &Config, args: &UpArgs) -> anyhow::Result<Self> {
        let path = args
            .web_config
            .clone()
            .or_else(|| config.server.web_config.clone());
        let web = match &path {
            Some(path) => read(path)?,
            None => WebConfig::default(),
        };
        check_exposure(config, args, &web)?;
        let tls = ServerTls::load(&web).context("serving the web config's TLS")?;
        let credentials = web.requires_credentials().then(|| Credentials::new(&web));
        let headers: Vec<(String, String)> =
            web.http_server_config.headers.clone().into_iter().collect();
        let clock = std::sync::Arc::new(SystemClock);
        let audit_dir = args.data_dir.join("audit");
        let audit = AuditLog::open(&audit_dir, clock.clone())
            .with_context(|| format!("opening the audit trail in {}", audit_dir.display()))?;
        let authority = Authority::new(credentials, clock).with_switches(switches(config, args));
        Ok(Self {
            path,
            authority: match tls {
                Some(_) => authority.served_over_tls(),
                None => authority,
            },
            browser: BrowserPolicy::new(&headers, allowed_hosts(config)),
            audit,
            tls,
        })
    }

    /// Re-reads the file at each SIGHUP until `cancel`.
    pub fn reload_on_sighup(&self, cancel: &CancellationToken) -> Option<JoinHandle<()>> {
        let path = self.path.clone()?;
        let (authority, audit) = (self.authority.clone(), self.audit.clone());
        let tls = self.tls.clone();
        let reload = move || {
            let (status, why) = reload(&path, &authority, tls.as_ref());
            let record = AuditRecord {
                at_ms: audit.now_ms(),
                kind: "reloads".into(),
                who: "SIGHUP".into(),
                roles: Vec::new(),
                tenant: String::new(),
                source: "signal".into(),
                what: format!("reload {}", path.display()),
                status,
                why: String::new(),
            };
            audit.append(record.with_why(&why));
            std::future::ready(())
        };
        Some(tokio::spawn(sighup::on_each_sighup(cancel.clone(), reload)))
    }
}

/// Puts the file at `path` in force (credentials and certificates together, or neither);
/// the status and what happened, for the audit trail.
fn reload(path: &std::path::Path, authority: &Authority, tls: Option<&ServerTls>) -> (u16, String) {
    let read = read(path).and_then(|web| {
        match (tls, &web.tls_server_config) {
            (Some(tls), _) => tls.reload(&web)?,
            (None, Some(_)) => bail!("tls_server_config: the listeners serve plain HTTP since the start; serving TLS needs a restart"),
            (None, None) => {}
        }
        Ok(web)
    });
    match read {
        Ok(web) => {
            authority.replace(web.requires_credentials().then(|| Credentials::new(&web)));
            tracing::info!(file = %path.display(), "web config reloaded");
            (200, "web config reloaded".into())
        }
        Err(e) => {
            tracing::error!(error = %e, "web config not reloaded; the credentials in force are kept");
            (500, format!("{e}"))
        }
    }
}

/// The admin and lifecycle APIs: the flag, else the config, else on only while every
/// listener is on loopback (the demo on a laptop), as Prometheus keeps them off elsewhere.
fn switches(config: &Config, args: &UpArgs) -> Switches {
    let on_loopback = listens(config).iter().all(|a| a.ip().is_loopback());
    let server = &config.server;
    let switches = Switches {
        admin_api: args.enable_admin_api || server.enable_admin_api.unwrap_or(on_loopback),
        lifecycle: args.enable_lifecycle || server.enable_lifecycle.unwrap_or(on_loopback),
    };
    if !switches.admin_api || !switches.lifecycle {
        tracing::info!(
            admin_api = switches.admin_api,
            lifecycle = switches.lifecycle,
            "HTTP admin and lifecycle APIs (--enable-admin-api, --enable-lifecycle)"
        );
    }
    switches
}

/// The addresses browsers and clients reach.
fn listens(config: &Config) -> [SocketAddr; 3] {
    let server = &config.server;
    [
        server.http_listen,
        server.otlp_http_listen,
        config.alerter.listen,
    ]
}

/// `server.allowed_hosts`, or the loopback names (and the listen addresses) while every
/// listener is on loopback; `None` (any host) otherwise.
fn allowed_hosts(config: &Config) -> Option<Vec<String>> {
    let server = &config.server;
    if !server.allowed_hosts.is_empty() {
        return Some(
            server
                .allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        );
    }
    let listens = listens(config);
    if listens.iter().any(|a| !a.ip().is_loopback()) {
        return None;
    }
    let mut hosts = loopback_hosts();
    hosts.extend(listens.iter().map(|a| a.ip().to_string()));
    hosts.sort();
    hosts.dedup();
    Some(hosts)
}

fn read(path: &std::path::Path) -> anyhow::Result<WebConfig> {
    WebConfig::load(path).or_else(|diags| {
        let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
        bail!(
            "{} problem(s) in the web config:\n{}",
            lines.len(),
            lines.join("\n")
        )
    })
}

/// Without credentials, only loopback addresses are served, unless the operator says
/// otherwise (`--insecure-listen`, warned about at start).
fn check_exposure(config: &Config, args: &UpArgs, web: &WebConfig) -> anyhow::Result<()> {
    if web.requires_credentials() {
        return Ok(());
    }
    let server = &config.server;
    let mut addresses: Vec<SocketAddr> = vec![
        server.http_listen,
        server.otlp_grpc_listen,
        server.otlp_http_listen,
        config.alerter.listen,
    ];
    if config.demo.enabled && !args.no_demo {
        addresses.push(SocketAddr::new(config.demo.listen, 0));
    }
    let Some(open) = addresses.iter().find(|a| !a.ip().is_loopback()) else {
        return Ok(());
    };
    if args.insecure_listen {
        tracing::warn!(address = %open.ip(), "serving a non-loopback address without credentials (--insecure-listen): anyone who reaches it may act");
        eprintln!("taishan: WARNING: {} is served without credentials (--insecure-listen): anyone who reaches it may open breakers, arm faults and silence alerts", open.ip());
        return Ok(());
    }
    bail!(
        "refusing to listen on {open} without credentials: anyone who reaches it could open payment breakers, arm faults and silence alerts. Give a web config with users or tokens (--web-config FILE or server.web_config), listen on 127.0.0.1, or pass --insecure-listen to accept the risk"
    )
}
