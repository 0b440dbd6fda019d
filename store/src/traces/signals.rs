//! Signals derived from spans as they arrive, written back as series so rules and
//! dashboards use them like any metric:
//!
//! - RED metrics per service and operation, like the OpenTelemetry Collector's spanmetrics
//!   connector: `traces_span_metrics_calls_total` and the
//!   `traces_span_metrics_duration_seconds` histogram, by `service_name`, `span_name`,
//!   `span_kind`, `status_code`;
//! - the service graph, like its servicegraph connector: a client span and the server span
//!   that is its child form an edge `client → server` with
//!   `traces_service_graph_request_total`, `..._failed_total` and the client- and server-side
//!   latency histograms. A client span whose server never reports (a database, a bank
//!   channel) becomes an edge to a virtual node named by `peer.service`, `db.system` or
//!   `server.address` once `pair_wait` has passed.
//!
//! Counters are cumulative in memory and written out by [`SpanSignals::flush`]; every table
//! is bounded, and what does not fit is counted as dropped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::{span, status};
use parking_lot::Mutex;
use smallvec::SmallVec;
use taishan_core::{Labels, MetricBatch, Sample, SeriesSamples, SpanBatch, SpanView, TenantId};

use super::UNKNOWN_SERVICE;

/// Histogram bounds (seconds), the spanmetrics connector's defaults.
pub const BUCKETS: [f64; 16] = [
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
];

/// Most series of each kind kept per process.
pub const MAX_SERIES: usize = 100_000;
/// Most half-edges waiting for their other side.
pub const MAX_PENDING: usize = 200_000;

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Clone, Default)]
struct Red {
    calls: u64,
    duration: Histogram,
}

#[derive(Debug, Clone, Default)]
struct Edge {
    requests: u64,
    failed: u64,
    client: Histogram,
    server: Histogram,
}

/// One side of an edge, waiting for the other.
#[derive(Debug, Clone)]
struct HalfEdge {
    service: Arc<str>,
    seconds: f64,
    failed: bool,
    /// Where an unanswered client call went (its virtual server), if the span says.
    peer: Option<(String, &'static str)>,
    arrived_ms: i64,
}

/// An edge: tenant, client service, server service, connection type.
type EdgeKey = (TenantId, Arc<str>, Arc<str>, &'static str);

/// Calls and durations of one operation, per span kind and status seen.
type OperationRed = SmallVec<[(&'static str, &'static str, Red); 1]>;

#[derive(Debug, Default)]
struct State {
    /// RED tables by tenant, service and span name (looked up by `&str`, so a span of a
    /// known operation allocates nothing).
    red: HashMap<TenantId, HashMap<String, HashMap<String, OperationRed>>>,
    red_series: usize,
    edges: HashMap<EdgeKey, Edge>,
    /// Client spans by (trace id, span id); server spans by (trace id, parent span id).
    clients: HashMap<(TenantId, [u8; 16], [u8; 8]), HalfEdge>,
    servers: HashMap<(TenantId, [u8; 16], [u8; 8]), HalfEdge>,
    /// Service names of waiting half-edges, each held once.
    services: HashSet<Arc<str>>,
    dropped: u64,
}

impl State {
    fn service(&mut self, name: &str) -> Arc<str> {
        if let Some(s) = self.services.get(name) {
            return s.clone();
        }
        let s: Arc<str> = Arc::from(name);
        self.services.insert(s.clone());
        s
    }

    fn observe_red(&mut self, tenant: &TenantId, service: &str, s: &SpanView<'_>, seconds: f64) {
        let (kind, status) = (kind_name(s.kind), status_name(s.status_code));
        let known = self
            .red
            .get_mut(tenant)
            .and_then(|m| m.get_mut(service))
            .and_then(|m| m.get_mut(s.name))
            .and_then(|v| v.iter_mut().find(|(k, st, _)| *k == kind && *st == status));
        if let Some((_, _, red)) = known {
            red.calls += 1;
            red.duration.observe(seconds);
            return;
        }
        if self.red_series >= MAX_SERIES {
            self.dropped += 1;
            return;
        }
        self.red_series += 1;
        let mut red = Red::default();
        red.calls += 1;
        red.duration.observe(seconds);
        self.red
            .entry(tenant.clone())
            .or_default()
            .entry(service.to_string())
            .or_default()
            .entry(s.name.to_string())
            .or_default()
            .push((kind, status, red));
    }
}

/// The derived-signal tables.
#[derive(Debug)]
pub struct SpanSignals {
    state: Mutex<State>,
    pair_wait_ms: i64,
}

fn kind_name(kind: i32) -> &'static str {
    match span::SpanKind::try_from(kind) {
        Ok(span::SpanKind::Internal) => "SPAN_KIND_INTERNAL",
        Ok(span::SpanKind::Server) => "SPAN_KIND_SERVER",
        Ok(span::SpanKind::Client) => "SPAN_KIND_CLIENT",
        Ok(span::SpanKind::Producer) => "SPAN_KIND_PRODUCER",
        Ok(span::SpanKind::Consumer) => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

fn status_name(code: i32) -> &'static str {
    match status::StatusCode::try_from(code) {
        Ok(status::StatusCode::Error) => "STATUS_CODE_ERROR",
        Ok(status::StatusCode::Ok) => "STATUS_CODE_OK",
        _ => "STATUS_CODE_UNSET",
    }
}

/// The virtual server of a client call to something uninstrumented, and the connection type.
fn peer_of(s: &SpanView<'_>) -> Option<(String, &'static str)> {
    let keys = [
        "db.system",
        "db.system.name",
        "peer.service",
        "server.address",
        "net.peer.name",
    ];
    let [db, db_name, peer, address, peer_name] = s
        .attributes(keys)
        .ok()?
        .map(|v| v.map(|v| v.to_text()).filter(|v| !v.is_empty()));
    if let Some(db) = db.or(db_name) {
        return Some((peer.unwrap_or(db), "database"));
    }
    if let Some(p) = peer {
        return Some((p, ""));
    }
    address.or(peer_name).map(|a| (a, ""))
}

impl SpanSignals {
    /// Tables that pair client and server spans arriving up to `pair_wait_ms` apart.
    pub fn new(pair_wait_ms: i64) -> Self {
        Self {
            state: Mutex::new(State::default()),
            pair_wait_ms,
        }
    }

    /// Accounts for the stored spans of `batch` (those with valid ids), arrived at `now_ms`.
    pub fn observe(&self, batch: &SpanBatch, now_ms: i64) {
        let tenant = &batch.tenant;
        let mut st = self.state.lock();
        let walked = batch.for_each_span(|rs, _, s| {
            let (Some(trace), Some(id)) = (s.valid_trace_id(), s.valid_span_id()) else {
                return;
            };
            let service = rs.service.unwrap_or(UNKNOWN_SERVICE);
            let seconds = s.end_ns.saturating_sub(s.start_ns) as f64 / 1e9;
            st.observe_red(tenant, service, s, seconds);
            let kind = span::SpanKind::try_from(s.kind);
            let half = |st: &mut State| HalfEdge {
                service: st.service(service),
                seconds,
                failed: s.status_code == status::StatusCode::Error as i32,
                peer: None,
                arrived_ms: now_ms,
            };
            match kind {
                Ok(span::SpanKind::Client | span::SpanKind::Producer) => {
                    let k = (tenant.clone(), trace, id);
                    let half = half(&mut st);
                    match st.servers.remove(&k) {
                        Some(server) => record_edge(&mut st, tenant, &half, &server, ""),
                        None if st.clients.len() < MAX_PENDING => {
                            let peer = peer_of(s);
                            st.clients.insert(k, HalfEdge { peer, ..half });
                        }
                        None => st.dropped += 1,
                    }
                }
                Ok(span::SpanKind::Server | span::SpanKind::Consumer) => {
                    let Some(parent) = s.valid_parent_id() else {
                        return;
                    };
                    let k = (tenant.clone(), trace, parent);
                    let half = half(&mut st);
                    match st.clients.remove(&k) {
                        Some(client) => record_edge(&mut st, tenant, &client, &half, ""),
                        None if st.servers.len() < MAX_PENDING => {
                            st.servers.insert(k, half);
                        }
                        None => st.dropped += 1,
                    }
                }
                _ => {}
            }
        });
        if let Err(e) = walked {
            // Batches are validated on arrival; this would be a bug, not bad input.
            tracing::warn!(error = %e, "derived signals skipped an unreadable span batch");
        }
    }

    /// Resolves half-edges that waited long enough (client calls to uninstrumented peers
    /// become edges to virtual nodes; the rest are forgotten) and returns every derived
    /// series' current value at `now_ms`, one batch per tenant.
    pub fn flush(&self, now_ms: i64) -> Vec<MetricBatch> {
        let mut st = self.state.lock();
        let expired: Vec<_> = st
            .clients
            .iter()
            .filter(|(_, h)| now_ms - h.arrived_ms >= self.pair_wait_ms)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some(client) = st.clients.remove(&k) {
                if let Some((peer, connection)) = client.peer.clone() {
                    let server = HalfEdge {
                        service: st.service(&peer),
                        seconds: client.seconds,
                        failed: client.failed,
                        peer: None,
                        arrived_ms: now_ms,
                    };
                    record_edge(&mut st, &k.0, &client, &server, connection);
                }
            }
        }
        let wait = self.pair_wait_ms;
        st.servers.retain(|_, h| now_ms - h.arrived_ms < wait);
        // Names no waiting half-edge or edge uses any more.
        st.services.retain(|s| Arc::strong_count(s) > 1);
        let mut by_tenant: HashMap<TenantId, Vec<SeriesSamples>> = HashMap::new();
        let red = st.red.iter().flat_map(|(tenant, services)| {
            services.iter().flat_map(move |(service, names)| {
                names.iter().flat_map(move |(name, reds)| {
                    reds.iter()
                        .map(move |(kind, status, red)| (tenant, service, name, kind, status, red))
                })
            })
        });
        for (tenant, service, name, kind, status, red) in red {
            let base = [
                ("service_name", service.as_str()),
                ("span_name", name.as_str()),
                ("span_kind", *kind),
                ("status_code", *status),
            ];
            let out = by_tenant.entry(tenant.clone()).or_default();
            push(
                out,
                "traces_span_metrics_calls_total",
                &base,
                &[],
                now_ms,
                red.calls as f64,
            );
            push_histogram(
                out,
                "traces_span_metrics_duration_seconds",
                &base,
                &red.duration,
                now_ms,
            );
        }
        for ((tenant, client, server, connection), e) in &st.edges {
            let mut base = vec![("client", &**client), ("server", &**server)];
            if !connection.is_empty() {
                base.push(("connection_type", connection));
            }
            let out = by_tenant.entry(tenant.clone()).or_default();
            push(
                out,
                "traces_service_graph_request_total",
                &base,
                &[],
                now_ms,
                e.requests as f64,
            );
            push(
                out,
                "traces_service_graph_request_failed_total",
                &base,
                &[],
                now_ms,
                e.failed as f64,
            );
            push_histogram(
                out,
                "traces_service_graph_request_client_seconds",
                &base,
                &e.client,
                now_ms,
            );
            push_histogram(
                out,
                "traces_service_graph_request_server_seconds",
                &base,
                &e.server,
                now_ms,
            );
        }
        by_tenant
            .into_iter()
            .map(|(tenant, series)| MetricBatch::new(tenant, series))
            .collect()
    }

    /// Spans whose signals were dropped because a table was full.
    pub fn dropped(&self) -> u64 {
        self.state.lock().dropped
    }
}

fn record_edge(
    st: &mut State,
    tenant: &TenantId,
    client: &HalfEdge,
    server: &HalfEdge,
    connection: &'static str,
) {
    let key = (
        tenant.clone(),
        client.service.clone(),
        server.service.clone(),
        connection,
    );
    if !st.edges.contains_key(&key) && st.edges.len() >= MAX_SERIES {
        st.dropped += 1;
        return;
    }
    let e = st.edges.entry(key).or_default();
    e.requests += 1;
    if client.failed || server.failed {
        e.failed += 1;
    }
    e.client.observe(client.seconds);
    e.server.observe(server.seconds);
}

fn push(
    out: &mut Vec<SeriesSamples>,
    name: &str,
    base: &[(&str, &str)],
    extra: &[(&str, &str)],
    t: i64,
    v: f64,
) {
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(base.len() + extra.len() + 1);
    pairs.push(("__name__", name));
    pairs.extend_from_slice(base);
    pairs.extend_from_slice(extra);
    if let Ok(labels) = Labels::from_strs(&mut pairs) {
        out.push(SeriesSamples {
            labels,
            samples: smallvec::smallvec![Sample::new(t, v)],
        });
    }
}

fn push_histogram(
    out: &mut Vec<SeriesSamples>,
    name: &str,
    base: &[(&str, &str)],
    h: &Histogram,
    t: i64,
) {
    let bucket = format!("{name}_bucket");
    let mut cumulative = 0u64;
    for (b, c) in BUCKETS.iter().zip(h.counts) {
        cumulative += c;
        let le = format!("{b}");
        push(out, &bucket, base, &[("le", &le)], t, cumulative as f64);
    }
    push(out, &bucket, base, &[("le", "+Inf")], t, h.count as f64);
    push(out, &format!("{name}_sum"), base, &[], t, h.sum);
    push(out, &format!("{name}_count"), base, &[], t, h.count as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    fn rs(service: &str, spans: Vec<Span>) -> SpanBatch {
        SpanBatch::from_resource_spans(
            TenantId::default(),
            vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(service.into())),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        )
    }

    fn sp(
        id: u8,
        parent: u8,
        kind: span::SpanKind,
        ms: u64,
        error: bool,
        peer: Option<&str>,
    ) -> Span {
        Span {
            trace_id: vec![7; 16],
            span_id: vec![id; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            name: format!("op{id}"),
            kind: kind as i32,
            start_time_unix_nano: 1_000_000_000,
            end_time_unix_nano: 1_000_000_000 + ms * 1_000_000,
            status: error.then(|| Status {
                code: status::StatusCode::Error as i32,
                message: String::new(),
            }),
            attributes: peer
                .map(|p| {
                    vec![KeyValue {
                        key: "peer.service".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(p.into())),
                        }),
                        ..Default::default()
                    }]
                })
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    fn value(batches: &[MetricBatch], series: &str) -> Option<f64> {
        batches
            .iter()
            .flat_map(|b| b.series.iter())
            .find(|s| s.labels.to_string() == series)
            .map(|s| s.samples[0].value)
    }

    #[test]
    fn red_metrics_and_edges_including_virtual_peers() {
        let sig = SpanSignals::new(10_000);
        // The server side arrives before its client.
        sig.observe(
            &rs(
                "loan",
                vec![sp(2, 1, span::SpanKind::Server, 30, false, None)],
            ),
            0,
        );
        sig.observe(
            &rs(
                "gateway",
                vec![sp(1, 0, span::SpanKind::Client, 40, false, None)],
            ),
            1,
        );
        // A call to an uninstrumented bank channel, failing.
        sig.observe(
            &rs(
                "payment",
                vec![sp(3, 0, span::SpanKind::Client, 900, true, Some("bank-a"))],
            ),
            2,
        );
        let early = sig.flush(5_000);
        assert_eq!(
            value(
                &early,
                "traces_service_graph_request_total{client=\"gateway\", server=\"loan\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &early,
                "traces_service_graph_request_total{client=\"payment\", server=\"bank-a\"}"
            ),
            None,
            "still waiting for a server"
        );
        let later = sig.flush(20_000);
        assert_eq!(
            value(
                &later,
                "traces_service_graph_request_total{client=\"payment\", server=\"bank-a\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &later,
                "traces_service_graph_request_failed_total{client=\"payment\", server=\"bank-a\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&later, "traces_span_metrics_calls_total{service_name=\"loan\", span_kind=\"SPAN_KIND_SERVER\", span_name=\"op2\", status_code=\"STATUS_CODE_UNSET\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&later, "traces_span_metrics_duration_seconds_bucket{le=\"0.05\", service_name=\"loan\", span_kind=\"SPAN_KIND_SERVER\", span_name=\"op2\", status_code=\"STATUS_CODE_UNSET\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&later, "traces_service_graph_request_server_seconds_sum{client=\"gateway\", server=\"loan\"}"),
            Some(0.03)
        );
    }
}
