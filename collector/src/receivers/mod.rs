//! The receivers: each takes one wire format in and hands what it decoded to storage.
//!
//! The contract every [`Receiver`] keeps:
//! - **decode whole before publishing**: the whole request is decoded and validated before
//!   anything of it is stored;
//! - **refuse whole**: a malformed entry refuses the request with a reason that says where
//!   (line number, series or stream index), through [`crate::IngestError`], which maps to
//!   the HTTP status and gRPC code in one place ([`crate::errors`]);
//! - **durable before 2xx**: it answers success only once the bus or sink reports the data
//!   durable, and passes saturation on as 429 / `RESOURCE_EXHAUSTED` with when to retry;
//! - **bounded memory**: it never holds more than the configured body size, decompressed;
//! - it takes the tenant from [`crate::tenant`], writes through [`IngestState`] (which
//!   counts what it stores and refuses under the receiver's own [`crate::IngestPath`]);
//! - state a receiver keeps across requests and shares with its siblings (OTLP's delta
//!   totals, one for HTTP and gRPC) lives in its module and is reached through [`Shared`].
//!
//! Adding a receiver is its own file (or folder) and one line in [`RECEIVERS`]; the ingest
//! surface of `taishan up` is built from that list by [`ingest_surface`].

pub mod influx;
pub mod json_logs;
pub mod line_protocol;
pub mod log_records;
pub mod loki;
pub mod otlp;
pub mod prompb;
pub mod remote_write;
pub mod remote_write_wire;

use axum::Router;

use crate::ingest::IngestState;

/// One receiver: a name, what it takes, and the endpoints it serves.
pub trait Receiver: Send + Sync {
    /// Its name, as `ingest.receivers` lists it.
    fn name(&self) -> &'static str;
    /// What it takes and where, for the start-up banner.
    fn summary(&self) -> Summary;
    /// Its endpoints, served over `shared`, on [`Summary::listener`].
    fn endpoints(&self, shared: &Shared) -> Endpoints;
}

/// What the receivers of one ingest surface share: the common [`IngestState`], and the state
/// each receiver family keeps across its endpoints.
#[derive(Clone)]
pub struct Shared {
    pub ingest: IngestState,
    pub otlp: otlp::Otlp,
}

impl Shared {
    /// Fresh shared state over `ingest`.
    pub fn new(ingest: &IngestState) -> Self {
        Shared {
            ingest: ingest.clone(),
            otlp: otlp::Otlp::new(ingest.clone()),
        }
    }
}

/// Which address a receiver listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `server.http_listen`.
    Api,
    /// `server.otlp_http_listen`.
    OtlpHttp,
    /// `server.otlp_grpc_listen`.
    OtlpGrpc,
}

/// What a receiver takes, in a person's words, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// What it takes (`JSON log lines`).
    pub what: &'static str,
    /// The address it listens on.
    pub listener: Listener,
    /// Its paths (none for gRPC services).
    pub paths: &'static [&'static str],
}

/// Where a receiver's endpoints are served.
pub enum Endpoints {
    /// Routes on the API address (`server.http_listen`).
    Api(Router),
    /// Routes on the OTLP/HTTP address (`server.otlp_http_listen`).
    OtlpHttp(Router),
    /// Services on the OTLP/gRPC address (`server.otlp_grpc_listen`), added to the
    /// listener's one set of routes (gRPC routes cannot be merged once built).
    OtlpGrpc(Box<dyn FnOnce(&mut tonic::service::RoutesBuilder)>),
}

/// Every receiver: the one registration point.
pub static RECEIVERS: &[&dyn Receiver] = &[
    &remote_write::RemoteWrite,
    &influx::Influx,
    &json_logs::JsonLogs,
    &loki::Loki,
    &otlp::http::OtlpHttp,
    &otlp::grpc::OtlpGrpc,
];

/// A receiver name that is not in [`RECEIVERS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown receiver {name:?}; the receivers are {}", known())]
pub struct UnknownReceiver {
    /// The name asked for.
    pub name: String,
}

fn known() -> String {
    RECEIVERS
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The receivers named in `names`, in registration order; all of them for `None`.
pub fn select(names: Option<&[String]>) -> Result<Vec<&'static dyn Receiver>, UnknownReceiver> {
    let Some(names) = names else {
        return Ok(RECEIVERS.to_vec());
    };
    if let Some(name) = names
        .iter()
        .find(|n| !RECEIVERS.iter().any(|r| r.name() == n.as_str()))
    {
        return Err(UnknownReceiver { name: name.clone() });
    }
    Ok(RECEIVERS
        .iter()
        .copied()
        .filter(|r| names.iter().any(|n| n == r.name()))
        .collect())
}

impl Endpoints {
    /// The address these endpoints are served on.
    pub fn listener(&self) -> Listener {
        match self {
            Endpoints::Api(_) => Listener::Api,
            Endpoints::OtlpHttp(_) => Listener::OtlpHttp,
            Endpoints::OtlpGrpc(_) => Listener::OtlpGrpc,
        }
    }
}

/// Everything the receivers serve, by listener.
pub struct IngestSurface {
    /// What each receiver served takes, in registration order.
    pub summaries: Vec<Summary>,
    /// Routes for the API address.
    pub api: Router,
    /// Routes for the OTLP/HTTP address.
    pub otlp_http: Router,
    /// Services for the OTLP/gRPC address.
    pub otlp_grpc: tonic::service::Routes,
}

/// The endpoints of `receivers` over `state`.
pub fn ingest_surface(state: &IngestState, receivers: &[&dyn Receiver]) -> IngestSurface {
    let shared = Shared::new(state);
    let (mut api, mut otlp_http) = (Router::new(), Router::new());
    let mut grpc = tonic::service::Routes::builder();
    for r in receivers {
        match r.endpoints(&shared) {
            Endpoints::Api(routes) => api = api.merge(routes),
            Endpoints::OtlpHttp(routes) => otlp_http = otlp_http.merge(routes),
            Endpoints::OtlpGrpc(add) => add(&mut grpc),
        }
    }
    IngestSurface {
        summaries: receivers.iter().map(|r| r.summary()).collect(),
        api,
        otlp_http,
        otlp_grpc: grpc.routes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn state() -> IngestState {
        use taishan_core::{AppendError, AppendOutcome, Bus, LogBatch, LogSink, MetricBatch};
        use taishan_core::{SpanBatch, SpanOutcome, SpanSink};
        struct Nowhere;
        #[async_trait::async_trait]
        impl Bus for Nowhere {
            async fn publish(&self, _: MetricBatch) -> Result<AppendOutcome, AppendError> {
                Err(AppendError::Unavailable("test".into()))
            }
        }
        #[async_trait::async_trait]
        impl SpanSink for Nowhere {
            async fn append_spans(&self, _: SpanBatch) -> Result<SpanOutcome, AppendError> {
                Err(AppendError::Unavailable("test".into()))
            }
        }
        #[async_trait::async_trait]
        impl LogSink for Nowhere {
            async fn append_logs(&self, _: LogBatch) -> Result<usize, AppendError> {
                Err(AppendError::Unavailable("test".into()))
            }
        }
        IngestState::new(
            Arc::new(Nowhere),
            Arc::new(Nowhere),
            Arc::new(Nowhere),
            1 << 20,
            Arc::new(taishan_core::ManualClock::at(0)),
            crate::IngestMetrics::unregistered(),
        )
    }

    #[test]
    fn the_registration_lists_every_receiver_once_each_where_it_says() {
        let names: Vec<&str> = RECEIVERS.iter().map(|r| r.name()).collect();
        assert_eq!(
            names,
            [
                "remote_write",
                "influx",
                "json_logs",
                "loki",
                "otlp_http",
                "otlp_grpc"
            ]
        );
        let state = state();
        let shared = Shared::new(&state);
        for r in RECEIVERS {
            assert_eq!(
                r.endpoints(&shared).listener(),
                r.summary().listener,
                "{}",
                r.name()
            );
        }
        let surface = ingest_surface(&state, RECEIVERS);
        assert_eq!(surface.summaries.len(), RECEIVERS.len());
    }

    #[test]
    fn an_unknown_receiver_is_refused_naming_the_known_ones() {
        let e = match select(Some(&["influx".to_string(), "syslog".to_string()])) {
            Err(e) => e,
            Ok(_) => panic!("syslog is not a receiver"),
        };
        let message = e.to_string();
        assert!(
            message.starts_with("unknown receiver \"syslog\""),
            "{message}"
        );
        for r in RECEIVERS {
            assert!(message.contains(r.name()), "{message}");
        }
        let chosen = select(Some(&["otlp_grpc".to_string(), "influx".to_string()])).expect("known");
        let names: Vec<&str> = chosen.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["influx", "otlp_grpc"], "registration order");
        assert_eq!(select(None).expect("all").len(), RECEIVERS.len());
    }
}
