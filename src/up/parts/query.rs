//! The Prometheus query API as a part: PromQL, series and metadata, traces and logs, and
//! the status pages (config, flags, runtime).

use taishan_edge::ListenerKind;
use taishan_query::{query_routes, QueryState, ServerStatus};

use crate::up::config::Config;
use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;

/// The query API on the API address.
pub struct QueryPart {
    state: Option<QueryState>,
}

impl QueryPart {
    /// Over the platform's stores and metadata.
    pub fn new(platform: &Platform) -> Self {
        let status = server_status(platform);
        let state = QueryState::new(
            platform.stores.db.clone(),
            platform.config.query,
            platform.clock.clone(),
            platform.metrics.query.clone(),
        )
        .with_metadata(platform.metadata.clone())
        .with_traces(platform.stores.traces.clone())
        .with_logs(platform.stores.logs.clone())
        .with_status(status)
        .with_gate(platform.gate.clone());
        Self { state: Some(state) }
    }
}

impl Part for QueryPart {
    fn name(&self) -> &'static str {
        "query"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        self.state
            .take()
            .map(|s| Endpoint::Http(ListenerKind::Api, query_routes(s)))
            .into_iter()
            .collect()
    }
}

/// What `/api/v1/status/*` reports: the config, the settings as Prometheus-style flags.
fn server_status(platform: &Platform) -> ServerStatus {
    let (config, args): (&Config, _) = (&platform.config, &platform.args);
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
        start_time_ms: platform.clock.now_ms(),
        retention: duration(config.storage.retention),
    }
}
