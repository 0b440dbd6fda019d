//! The role table: what every route of every listener needs, in one place.
//!
//! A route is named as its router declares it (axum's matched path, `{param}` and all).
//! A request to a route missing from this table is refused (and logged as a bug), so a
//! route added without a role fails closed; `taishan`'s route-table test walks every
//! router's declarations and fails on one missing here.

use axum::http::Method;
use taishan_core::Role;

use crate::ListenerKind;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: health probes, static assets, signed links.
    Public,
    /// A credential holding this role (or `admin`).
    Role(Role),
}

/// The switches some routes exist behind, as Prometheus has them: off, a route answers
/// 403 whoever asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// TSDB administration (Prometheus's `--web.enable-admin-api`).
    AdminApi,
    /// Reload over HTTP (Prometheus's `--web.enable-lifecycle`).
    Lifecycle,
}

/// Which switches are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Switches {
    /// TSDB administration.
    pub admin_api: bool,
    /// Reload over HTTP.
    pub lifecycle: bool,
}

impl Switches {
    /// Every switch on.
    pub const ON: Switches = Switches {
        admin_api: true,
        lifecycle: true,
    };

    /// Why a route behind `switch` is refused, when the switch is off.
    pub fn refuses(self, switch: Switch) -> Option<&'static str> {
        match switch {
            Switch::AdminApi if !self.admin_api => Some(
                "the admin API is not enabled: start Taishan with --enable-admin-api or set server.enable_admin_api",
            ),
            Switch::Lifecycle if !self.lifecycle => Some(
                "the lifecycle API is not enabled: start Taishan with --enable-lifecycle or set server.enable_lifecycle (SIGHUP reloads either way)",
            ),
            _ => None,
        }
    }
}

/// What a route needs for reads (GET, HEAD, OPTIONS) and for everything else, and the
/// switch it exists behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    read: Need,
    write: Need,
    switch: Option<Switch>,
}

impl Access {
    /// What `method` needs on this route.
    pub fn need(self, method: &Method) -> Need {
        match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => self.read,
            _ => self.write,
        }
    }

    /// The switch the route exists behind, if any.
    pub fn switch(self) -> Option<Switch> {
        self.switch
    }

    /// The same, behind `switch`.
    const fn behind(self, switch: Switch) -> Self {
        Self {
            switch: Some(switch),
            ..self
        }
    }
}

const PUBLIC: Access = Access {
    read: Need::Public,
    write: Need::Public,
    switch: None,
};

/// Reads and writes (a query sent as a POST form) need `role`.
const fn all(role: Role) -> Access {
    Access {
        read: Need::Role(role),
        write: Need::Role(role),
        switch: None,
    }
}

/// Reads need `viewer`, changes need `role`.
const fn changes(role: Role) -> Access {
    Access {
        read: Need::Role(Role::Viewer),
        write: Need::Role(role),
        switch: None,
    }
}

use Role::{Admin, Operator, Viewer, Writer};

/// The API address (7070); the alerter's routes are also there under [`ALERTER_PREFIX`].
const API: &[(&str, Access)] = &[
    ("/-/healthy", PUBLIC),
    ("/-/ready", PUBLIC),
    ("/-/reload", all(Admin).behind(Switch::Lifecycle)),
    ("/metrics", all(Viewer)),
    // Pages.
    ("/", all(Viewer)),
    ("/d/{name}", all(Viewer)),
    ("/ui/assets/{*path}", PUBLIC),
    ("/ui/{view}", all(Viewer)),
    ("/ui/live/{name}", all(Viewer)),
    ("/ui/data/{name}", all(Viewer)),
    ("/login", PUBLIC),
    ("/logout", PUBLIC),
    // The Prometheus query API (POST is a query too).
    ("/api/v1/query", all(Viewer)),
    ("/api/v1/query_range", all(Viewer)),
    ("/api/v1/query_exemplars", all(Viewer)),
    ("/api/v1/format_query", all(Viewer)),
    ("/api/v1/parse_query", all(Viewer)),
    ("/api/v1/series", all(Viewer)),
    ("/api/v1/labels", all(Viewer)),
    ("/api/v1/label/{name}/values", all(Viewer)),
    ("/api/v1/metadata", all(Viewer)),
    ("/api/v1/status/buildinfo", all(Viewer)),
    ("/api/v1/status/runtimeinfo", all(Viewer)),
    ("/api/v1/status/tsdb", all(Viewer)),
    ("/api/v1/status/config", all(Admin)),
    ("/api/v1/status/flags", all(Admin)),
    ("/api/v1/rules", all(Viewer)),
    ("/api/v1/alerts", all(Viewer)),
    // Traces, logs, topology.
    ("/api/traces/{trace_id}", all(Viewer)),
    ("/api/search", all(Viewer)),
    ("/api/services", all(Viewer)),
    ("/api/services/{service}/operations", all(Viewer)),
    ("/api/topology", all(Viewer)),
    ("/api/logs/search", all(Viewer)),
    // Ingest.
    ("/api/v1/write", all(Writer)),
    ("/api/v2/write", all(Writer)),
    ("/write", all(Writer)),
    ("/api/v1/logs", all(Writer)),
    ("/loki/api/v1/push", all(Writer)),
    // Guards: followers report and read directives with a writer's credential.
    ("/api/v1/guards", all(Viewer)),
    ("/api/v1/guards/audit", all(Viewer)),
    ("/api/v1/guards/directives", all(Writer)),
    ("/api/v1/guards/report", all(Writer)),
    ("/api/v1/guards/{service}/{guard}", changes(Operator)),
    // Chaos: drills are an operator's; raw faults an admin's.
    ("/api/v1/chaos/books", all(Viewer)),
    ("/api/v1/chaos/drills", all(Viewer)),
    ("/api/v1/chaos/drills/{name}/run", changes(Operator)),
    ("/api/v1/chaos/drills/stop", changes(Operator)),
    ("/api/v1/chaos/abort", changes(Operator)),
    ("/api/v1/chaos/faults", changes(Admin)),
    ("/api/v1/chaos/faults/{id}", changes(Admin)),
    ("/api/v1/chaos/faults/{id}/renew", changes(Admin)),
    ("/api/v1/chaos/reports", changes(Operator)),
    ("/api/v1/chaos/reports/{id}", all(Viewer)),
    ("/api/v1/chaos/reports/{id}/export", all(Viewer)),
    // The analyzer.
    ("/api/v1/analyzer/forecast", all(Viewer)),
    ("/api/v1/analyzer/rca", all(Viewer)),
    ("/api/v1/analyzer/series", all(Viewer)),
    ("/api/v1/analyzer/watches", all(Viewer)),
    // TSDB admin.
    (
        "/api/v1/admin/tsdb/compact",
        all(Admin).behind(Switch::AdminApi),
    ),
    (
        "/api/v1/admin/tsdb/flush",
        all(Admin).behind(Switch::AdminApi),
    ),
    ("/api/v1/audit", all(Admin)),
];

/// Where the API address serves the alerter's routes.
pub const ALERTER_PREFIX: &str = "/alerter";

/// The alerter's API (9093, and 7070 under [`ALERTER_PREFIX`]).
const ALERTER: &[(&str, Access)] = &[
    ("/-/healthy", PUBLIC),
    ("/-/ready", PUBLIC),
    ("/-/reload", all(Admin).behind(Switch::Lifecycle)),
    // Prometheus posts its alerts: ingest.
    ("/api/v2/alerts", changes(Writer)),
    ("/api/v2/alerts/groups", all(Viewer)),
    ("/api/v2/silences", changes(Operator)),
    ("/api/v2/silence/{id}", changes(Operator)),
    ("/api/v2/status", all(Viewer)),
    ("/api/v2/receivers", all(Viewer)),
    ("/api/taishan/v1/notifications", all(Viewer)),
    ("/api/taishan/v1/history", all(Viewer)),
    // Served only on a replica with peers; the alerter checks the peers' shared secret
    // itself (a peer holds no user credential).
    ("/api/taishan/v1/cluster/state", PUBLIC),
    ("/api/taishan/v1/oncall", all(Viewer)),
    ("/api/taishan/v1/incidents", all(Viewer)),
    ("/api/taishan/v1/incidents/{id}/ack", changes(Operator)),
    ("/api/taishan/v1/incidents/{id}/resolve", changes(Operator)),
    ("/api/taishan/v1/alerts/ack", changes(Operator)),
    ("/api/taishan/v1/alerts/resolve", changes(Operator)),
    // The page's link carries its own signature: whoever holds the page may act on it.
    ("/api/taishan/v1/link", PUBLIC),
];

/// OTLP over HTTP (4318).
const OTLP_HTTP: &[(&str, Access)] = &[
    ("/v1/traces", all(Writer)),
    ("/v1/metrics", all(Writer)),
    ("/v1/logs", all(Writer)),
];

/// What `path` (as its router declares it) needs on `listener`; `None` for a route the
/// table does not know.
pub fn access(listener: ListenerKind, path: &str) -> Option<Access> {
    let find = |table: &[(&str, Access)], path: &str| {
        table.iter().find(|(p, _)| *p == path).map(|(_, a)| *a)
    };
    match listener {
        ListenerKind::Api => find(API, path).or_else(|| {
            let inner = path.strip_prefix(ALERTER_PREFIX)?;
            find(ALERTER, inner)
        }),
        ListenerKind::Alerter => find(ALERTER, path),
        ListenerKind::OtlpHttp => find(OTLP_HTTP, path),
        // Every OTLP/gRPC service exports.
        ListenerKind::OtlpGrpc => Some(all(Writer)),
    }
}

/// Every route the table declares, per listener (for the route-table test).
pub fn declared() -> Vec<(ListenerKind, String)> {
    let mut out = Vec::new();
    out.extend(API.iter().map(|(p, _)| (ListenerKind::Api, p.to_string())));
    out.extend(
        ALERTER
            .iter()
            .map(|(p, _)| (ListenerKind::Api, format!("{ALERTER_PREFIX}{p}"))),
    );
    out.extend(
        ALERTER
            .iter()
            .map(|(p, _)| (ListenerKind::Alerter, p.to_string())),
    );
    out.extend(
        OTLP_HTTP
            .iter()
            .map(|(p, _)| (ListenerKind::OtlpHttp, p.to_string())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_changes_need_their_roles() {
        let guard = access(ListenerKind::Api, "/api/v1/guards/{service}/{guard}").unwrap();
        assert_eq!(guard.need(&Method::GET), Need::Role(Viewer));
        assert_eq!(guard.need(&Method::POST), Need::Role(Operator));
        let silences = access(ListenerKind::Api, "/alerter/api/v2/silences").unwrap();
        assert_eq!(silences.need(&Method::POST), Need::Role(Operator));
        assert_eq!(
            access(ListenerKind::Alerter, "/api/v2/alerts")
                .unwrap()
                .need(&Method::POST),
            Need::Role(Writer)
        );
        assert_eq!(access(ListenerKind::Api, "/nowhere"), None);
        assert_eq!(access(ListenerKind::Alerter, "/api/v1/query"), None);
    }

    #[test]
    fn no_route_is_declared_twice() {
        let mut all = declared();
        let n = all.len();
        all.sort_by(|a, b| (a.0 as u8, &a.1).cmp(&(b.0 as u8, &b.1)));
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
