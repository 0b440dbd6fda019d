//! A running Taishan as a drill's platform, over its HTTP API: PromQL (`/api/v1/query`),
//! the chaos API (faults, books), the rule alerts (`/api/v1/alerts`), the alerter's history
//! (`/alerter/api/taishan/v1/history`) and the guards (`/api/v1/guards`).

use std::time::Duration;

use crate::drill::{Books, Platform, PlatformError, ScheduledFault};
use async_trait::async_trait;
use serde_json::{json, Value};

/// Time one call of a drill may take.
const CALL_TIME: Duration = Duration::from_secs(60);

/// Taishan at `base` (`http://127.0.0.1:7070`).
#[derive(Clone)]
pub struct HttpPlatform {
    base: String,
    client: reqwest::Client,
    authorization: Option<taishan_core::Secret>,
}

impl HttpPlatform {
    /// A platform at `base`, reached with `client` (its TLS settings; a drill's calls
    /// are given 60 s each).
    pub fn new(base: &str, client: reqwest::Client) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            client,
            authorization: None,
        }
    }

    /// Every call sends `authorization` (a Taishan behind a web config).
    pub fn with_authorization(mut self, authorization: Option<taishan_core::Secret>) -> Self {
        self.authorization = authorization;
        self
    }

    async fn call(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value, PlatformError> {
        let fail = |e: String| PlatformError(format!("{what}: {e}"));
        let mut req = req.timeout(CALL_TIME);
        if let Some(authorization) = &self.authorization {
            req = req.header(reqwest::header::AUTHORIZATION, authorization.expose());
        }
        let resp = req.send().await.map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| fail(e.to_string()))?;
        let v: Value =
            serde_json::from_str(&body).map_err(|_| fail(format!("answered {status}: {body}")))?;
        if !status.is_success() {
            let why = v["error"].as_str().unwrap_or(&body).to_string();
            return Err(fail(format!("{status}: {why}")));
        }
        Ok(v)
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Value, PlatformError> {
        let url = format!("{}{path}", self.base);
        self.call(self.client.get(&url).query(params), &url).await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, PlatformError> {
        let url = format!("{}{path}", self.base);
        self.call(self.client.post(&url).json(body), &url).await
    }

    async fn query(&self, expr: &str) -> Result<Value, PlatformError> {
        let v = self
            .get("/api/v1/query", &[("query", expr.to_string())])
            .await?;
        Ok(v["data"].clone())
    }
}

/// The samples' values of a query's answer (a scalar counts as one).
fn values(data: &Value) -> Vec<f64> {
    let number = |v: &Value| v[1].as_str().and_then(|s| s.parse::<f64>().ok());
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .map(|rows| rows.iter().filter_map(|r| number(&r["value"])).collect())
            .unwrap_or_default(),
        Some("scalar") => number(&data["result"]).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn lease(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[async_trait]
impl Platform for HttpPlatform {
    async fn holds(&self, expr: &str) -> Result<bool, PlatformError> {
        Ok(!values(&self.query(expr).await?).is_empty())
    }

    async fn value(&self, expr: &str) -> Result<Option<f64>, PlatformError> {
        let v = values(&self.query(expr).await?);
        Ok((!v.is_empty()).then(|| v.iter().sum()))
    }

    async fn arm(
        &self,
        f: &ScheduledFault,
        d: Duration,
        by: &str,
    ) -> Result<String, PlatformError> {
        let body = json!({"fault": f.fault, "scope": f.scope, "lease": lease(d), "by": by});
        let v = self.post("/api/v1/chaos/faults", &body).await?;
        v["data"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| PlatformError(format!("the fault API gave no id: {v}")))
    }

    async fn renew(&self, id: &str, d: Duration) -> Result<(), PlatformError> {
        let path = format!("/api/v1/chaos/faults/{id}/renew");
        self.post(&path, &json!({"lease": lease(d)}))
            .await
            .map(drop)
    }

    async fn disarm(&self, id: &str) -> Result<(), PlatformError> {
        let url = format!("{}/api/v1/chaos/faults/{id}", self.base);
        let resp = self
            .client
            .delete(&url)
            .send()
            .await
            .map_err(|e| PlatformError(format!("{url}: {e}")))?;
        match resp.status().as_u16() {
            200..=299 | 404 => Ok(()),
            s => Err(PlatformError(format!("{url}: answered {s}"))),
        }
    }

    async fn firing(&self, alertname: &str) -> Result<bool, PlatformError> {
        let v = self.get("/api/v1/alerts", &[]).await?;
        let alerts = v["data"]["alerts"].as_array().cloned().unwrap_or_default();
        Ok(alerts.iter().any(|a| {
            a["state"] == "firing"
                && (alertname.is_empty() || a["labels"]["alertname"] == alertname)
        }))
    }

    async fn notified(&self, alertname: &str, since_ms: i64) -> Result<Option<i64>, PlatformError> {
        let since = std::time::UNIX_EPOCH + Duration::from_millis(since_ms.max(0) as u64);
        let mut first = None;
        // Delivered to a receiver, or paged to an on-call person: whichever came first.
        for kind in ["notified", "paged"] {
            let mut params = vec![
                ("kind", kind.to_string()),
                ("since", humantime::format_rfc3339_millis(since).to_string()),
            ];
            if !alertname.is_empty() {
                params.push(("alert", alertname.to_string()));
            }
            let v = self.get("/alerter/api/taishan/v1/history", &params).await?;
            let events = v["data"]["events"].as_array().cloned().unwrap_or_default();
            let at = events.iter().filter_map(|e| e["atMs"].as_i64()).min();
            first = first.into_iter().chain(at).min();
        }
        Ok(first)
    }

    async fn guard_state(
        &self,
        service: &str,
        guard: &str,
    ) -> Result<Option<String>, PlatformError> {
        let v = self.get("/api/v1/guards", &[]).await?;
        let guards = v["data"]["guards"].as_array().cloned().unwrap_or_default();
        Ok(guards
            .iter()
            .find(|g| g["target"]["service"] == service && g["target"]["guard"] == guard)
            .and_then(|g| g["reported"]["state"].as_str().map(str::to_string)))
    }

    async fn books(
        &self,
        from_ms: i64,
        to_ms: i64,
        reconcile: bool,
    ) -> Result<Books, PlatformError> {
        let body = json!({"from_ms": from_ms, "to_ms": to_ms, "reconcile": reconcile});
        let v = self.post("/api/v1/chaos/books", &body).await?;
        serde_json::from_value(v["data"].clone())
            .map_err(|e| PlatformError(format!("the books answer: {e}")))
    }

    async fn root_cause(&self, alertname: &str, at_ms: i64) -> Result<Vec<String>, PlatformError> {
        let params = [
            ("alertname", alertname.to_string()),
            ("at", format!("{:.3}", at_ms as f64 / 1000.0)),
        ];
        let answer = self.get("/api/v1/analyzer/rca", &params).await?;
        Ok(answer["data"]["ranking"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect())
    }
}
