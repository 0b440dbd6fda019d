//! Everything at once: every service on its own loopback port, the background workers, and
//! (optionally) the traffic, as `taishan up` runs them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::DemoConfig;
use axum::Router;
use taishan_chaos::{FaultLayer, FaultProxy, FaultSet};
use taishan_core::Clock;
use taishan_guard_control::{follow, ControlPlane};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bank::{self, BankChannels};
use crate::clearing::{self, Clearing};
use crate::compensation::{self, Compensation, CompensationSettings};
use crate::error::ServiceError;
use crate::gateway::{self, Gateway, GatewaySettings, DEMO_API_KEYS};
use crate::host::ServiceHost;
use crate::ledger::{self, Ledger};
use crate::loan::{self, LoanSettings, Loans};
use crate::payment::{self, PaymentSettings, Payments};
use crate::reconciliation::{self, Reconciliation, ReconciliationSettings};
use crate::risk::{self, Risk};
use crate::telemetry::{ServiceTelemetry, TelemetryConfig};
use crate::traffic::Traffic;

/// The services in port order from `demo.base_port`.
pub const SERVICES: [&str; 9] = [
    "gateway",
    "risk",
    "loan",
    "payment",
    "ledger",
    "clearing",
    "reconciliation",
    "compensation",
    "banks",
];

/// The fault proxy the payment side's ledger postings cross (scope `service: payment-ledger`),
/// so a drill can cut or slow the link between payment and ledger on real sockets.
pub const LEDGER_LINK: &str = "payment-ledger";

/// Binds the payment→ledger fault proxy: on `base_port + 10` (after the services and the
/// demo pager), or any port when the services take any.
async fn ledger_link(
    cfg: &DemoConfig,
    ledger_url: &str,
    faults: &FaultSet,
) -> Result<FaultProxy, ServiceError> {
    let port = match cfg.base_port {
        0 => 0,
        base => base + SERVICES.len() as u16 + 1,
    };
    let upstream = ledger_url.trim_start_matches("http://");
    FaultProxy::bind(
        LEDGER_LINK,
        SocketAddr::new(cfg.listen, port),
        upstream,
        faults.clone(),
    )
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The channel of a bank API path (`/channels/bank-a/transfers` is `bank-a`).
fn bank_channel_of(path: &str) -> Option<&str> {
    path.strip_prefix("/channels/")?.split('/').next()
}

/// How to start the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Services, channels and traffic.
    pub config: DemoConfig,
    /// Where the services keep their databases.
    pub data_dir: PathBuf,
    /// Where they send telemetry.
    pub telemetry: TelemetryConfig,
    /// Drive traffic through the gateway.
    pub traffic: bool,
    /// Run the periodic workers (compensation, loan sweeps, reconciliation, clearing);
    /// tests turn them off and call them directly.
    pub workers: bool,
    /// The guard control plane the services' guards follow (embedded mode); `None` leaves
    /// the guards to their own logic.
    pub control: Option<Arc<ControlPlane>>,
    /// The faults drills arm; every service and the bank channels consult it on each request.
    pub faults: Option<FaultSet>,
}

/// The running demo.
pub struct Demo {
    /// Where each service listens, in [`SERVICES`] order.
    pub addrs: Vec<(&'static str, SocketAddr)>,
    /// The ledger.
    pub ledger: Arc<Ledger>,
    /// The payment service.
    pub payments: Arc<Payments>,
    /// The compensation worker.
    pub compensation: Arc<Compensation>,
    /// The reconciliation service.
    pub reconciliation: Arc<Reconciliation>,
    /// The clearing service.
    pub clearing: Arc<Clearing>,
    /// The loan service.
    pub loans: Arc<Loans>,
    /// The risk service.
    pub risk: Arc<Risk>,
    /// The gateway.
    pub gateway: Arc<Gateway>,
    /// The bank channels.
    pub banks: Arc<BankChannels>,
    /// The traffic, when running.
    pub traffic: Option<Arc<Traffic>>,
    /// The fault proxies between services (with faults on), by name, and where they listen.
    pub links: Vec<(&'static str, SocketAddr)>,
    hosts: Vec<Arc<ServiceHost>>,
    telemetry: Vec<Arc<ServiceTelemetry>>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo").field("addrs", &self.addrs).finish()
    }
}

impl Demo {
    /// Binds every service, opens their databases and starts them.
    pub async fn start(
        options: DemoOptions,
        clock: Arc<dyn Clock>,
        cancel: CancellationToken,
    ) -> Result<Self, ServiceError> {
        let cfg = &options.config;
        std::fs::create_dir_all(&options.data_dir).map_err(|e| {
            ServiceError::Internal(format!("creating {}: {e}", options.data_dir.display()))
        })?;
        let mut listeners = Vec::new();
        for (i, name) in SERVICES.iter().enumerate() {
            let port = if cfg.base_port == 0 {
                0
            } else {
                cfg.base_port + i as u16
            };
            let addr = SocketAddr::new(cfg.listen, port);
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| ServiceError::Internal(format!("binding {name} to {addr}: {e}")))?;
            let bound = l
                .local_addr()
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            listeners.push((*name, bound, l));
        }
        let bound: Vec<(&'static str, SocketAddr)> =
            listeners.iter().map(|(n, a, _)| (*n, *a)).collect();
        let url = |name: &str| {
            let addr = bound
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, a)| *a)
                .expect("every service was bound above");
            format!("http://{addr}")
        };
        let ledger_link = match &options.faults {
            Some(set) => Some(ledger_link(cfg, &url("ledger"), set).await?),
            None => None,
        };
        let links: Vec<(&'static str, SocketAddr)> = match &ledger_link {
            Some(proxy) => vec![(
                LEDGER_LINK,
                proxy
                    .local_addr()
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
            )],
            None => Vec::new(),
        };
        let mut telemetry = Vec::new();
        let mut tel = |service: &'static str| -> Result<Arc<ServiceTelemetry>, ServiceError> {
            let t = ServiceTelemetry::new(service, &options.telemetry)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let t = Arc::new(match &options.faults {
                Some(set) => t.with_faults(set.clone()),
                None => t,
            });
            telemetry.push(t.clone());
            Ok(t)
        };
        let dir = &options.data_dir;
        let channels: Vec<(String, u32)> = cfg
            .channels
            .iter()
            .map(|c| (c.name.clone(), c.weight))
            .collect();
        let banks = BankChannels::open(
            dir,
            &cfg.channels,
            clock.clone(),
            cfg.traffic.seed,
            cancel.clone(),
        )?;
        if let Some(set) = &options.faults {
            banks.consult(set.clone());
        }
        let ledger = Ledger::open(dir, tel("ledger")?, clock.clone())?;
        let payments = Payments::open(
            dir,
            PaymentSettings::new(url("payment"), url("banks"), channels.clone()),
            tel("payment")?,
            clock.clone(),
        )?;
        let compensation = Compensation::new(
            payments.clone(),
            CompensationSettings::new(match links.first() {
                Some((_, proxy)) => format!("http://{proxy}"),
                None => url("ledger"),
            }),
            tel("compensation")?,
        );
        let risk = Risk::new(tel("risk")?, clock.clone());
        let loans = Loans::open(
            dir,
            LoanSettings::new(url("loan"), url("risk"), url("payment")),
            tel("loan")?,
            clock.clone(),
        )?;
        let gateway = Gateway::new(
            GatewaySettings::new(url("loan"), cfg.gateway_rate_per_key),
            tel("gateway")?,
            clock.clone(),
        );
        let names: Vec<String> = channels.iter().map(|c| c.0.clone()).collect();
        let reconciliation = Reconciliation::new(
            ReconciliationSettings::new(url("payment"), url("banks"), url("ledger"), names),
            tel("reconciliation")?,
            clock.clone(),
        );
        let clearing = Clearing::open(
            dir,
            url("payment"),
            Duration::from_secs(300),
            tel("clearing")?,
            clock.clone(),
        )?;
        let mut tasks = Vec::new();
        if let Some(proxy) = ledger_link {
            tasks.push(tokio::spawn(proxy.run(cancel.clone().cancelled_owned())));
        }
        if let Some(plane) = &options.control {
            for (service, guards) in [
                ("gateway", gateway.guards()),
                ("risk", risk.guards()),
                ("payment", payments.guards()),
                ("compensation", compensation.guards()),
            ] {
                tasks.push(follow(
                    plane.clone(),
                    service,
                    guards.clone(),
                    cancel.clone(),
                ));
            }
        }
        let addrs = bound.clone();
        let mut hosts = Vec::new();
        for (name, _, listener) in listeners {
            let router: Router = match name {
                "gateway" => gateway::router(gateway.clone()),
                "risk" => risk::router(risk.clone()),
                "loan" => loan::router(loans.clone()),
                "payment" => payment::router(payments.clone()),
                "ledger" => ledger::router(ledger.clone()),
                "clearing" => clearing::router(clearing.clone()),
                "reconciliation" => reconciliation::router(reconciliation.clone()),
                "compensation" => compensation::router(compensation.clone()),
                _ => match &options.faults {
                    // The banks are outside the services: a fault there is a channel's
                    // outage or slowdown (scope `service: banks, channel: bank-a`).
                    Some(set) => bank::router(banks.clone())
                        .layer(FaultLayer::new(set.clone(), "banks").with_channel(bank_channel_of)),
                    None => bank::router(banks.clone()),
                },
            };
            let host = ServiceHost::start(name, listener, router, cancel.clone())
                .map_err(|e| ServiceError::Internal(format!("serving {name}: {e}")))?;
            if let Some(set) = &options.faults {
                set.modules().register(name, host.clone());
            }
            hosts.push(host);
        }
        if options.workers && cfg.compensation {
            tasks.push(tokio::spawn(compensation.clone().run(cancel.clone())));
        }
        if options.workers {
            tasks.push(tokio::spawn(
                loans.clone().run(Duration::from_secs(5), cancel.clone()),
            ));
            tasks.push(tokio::spawn(
                reconciliation.clone().run_scheduled(cancel.clone()),
            ));
            tasks.push(tokio::spawn(clearing.clone().run_scheduled(cancel.clone())));
        }
        let traffic = options.traffic.then(|| {
            let t = Traffic::new(
                url("gateway"),
                DEMO_API_KEYS[0].to_string(),
                cfg.traffic.clone(),
                clock.clone(),
            );
            tasks.push(tokio::spawn(t.clone().run(cancel.clone(), None)));
            t
        });
        Ok(Self {
            addrs,
            ledger,
            payments,
            compensation,
            reconciliation,
            clearing,
            loans,
            risk,
            gateway,
            banks,
            traffic,
            links,
            hosts,
            telemetry,
            cancel,
            tasks,
        })
    }

    /// The base URL of `service`.
    pub fn url(&self, service: &str) -> Option<String> {
        self.addrs
            .iter()
            .find(|(n, _)| *n == service)
            .map(|(_, a)| format!("http://{a}"))
    }

    /// Sends the telemetry buffered now.
    pub fn flush_telemetry(&self) {
        for t in &self.telemetry {
            t.flush();
        }
    }

    /// Stops everything started and flushes telemetry.
    pub async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        for h in self.hosts {
            h.stopped().await;
        }
        let telemetry = self.telemetry;
        // The exporters block while they send; keep them off the async workers.
        let _ = tokio::task::spawn_blocking(move || {
            for t in telemetry {
                t.shutdown();
            }
        })
        .await;
    }
}
