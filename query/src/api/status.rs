//! Status endpoints: `buildinfo`, `config`, `flags`, `runtimeinfo`, `tsdb`.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::common::timed;
use super::response;
use super::QueryState;

/// `/api/v1/status/buildinfo`
pub async fn buildinfo(State(s): State<QueryState>) -> Response {
    timed(&s, "buildinfo", async {
        Ok(response::success(json!({
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("TAISHAN_REVISION").unwrap_or("unknown"),
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "n/a (Rust)",
        })))
    })
    .await
}

/// `/api/v1/status/config`: the running configuration as YAML.
pub async fn config(State(s): State<QueryState>) -> Response {
    timed(&s, "status_config", async {
        Ok(response::success(json!({"yaml": s.status.config_yaml})))
    })
    .await
}

/// `/api/v1/status/flags`: the command-line settings in force.
pub async fn flags(State(s): State<QueryState>) -> Response {
    timed(&s, "status_flags", async {
        Ok(response::success(json!(s.status.flags)))
    })
    .await
}

/// `/api/v1/status/runtimeinfo`: process facts, in Prometheus's field names.
pub async fn runtimeinfo(State(s): State<QueryState>) -> Response {
    timed(&s, "status_runtimeinfo", async {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(response::success(json!({
            "startTime": rfc3339(s.status.start_time_ms),
            "CWD": std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
            "reloadConfigSuccess": true,
            "lastConfigTime": rfc3339(s.status.start_time_ms),
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": threads,
            "GOMEMLIMIT": 0,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": s.status.retention,
        })))
    })
    .await
}

/// `/api/v1/status/tsdb`: cardinality of the tenant's series (top `limit`, default 10).
pub async fn tsdb(
    State(s): State<QueryState>,
    headers: axum::http::HeaderMap,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    timed(&s, "status_tsdb", async {
        let p = super::params::Params::from_parts(q.as_deref(), None);
        let tenant = super::common::tenant(&headers)?;
        let limit = match p.get("limit") {
            None => 10,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                response::ApiError::bad_data(format!(
                    "invalid parameter \"limit\": {v:?} must be a positive number"
                ))
            })?,
        };
        let db = s.db.clone();
        let stats = super::common::gated(&s, tenant.clone(), move || {
            Ok(super::cardinality::stats(&db, &tenant, limit))
        })
        .await?;
        Ok(response::success(stats))
    })
    .await
}

fn rfc3339(ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}
