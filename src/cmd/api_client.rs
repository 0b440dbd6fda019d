//! Calls to a running Taishan's JSON APIs from the CLI: the tenant header, and the server's
//! error (Prometheus's `errorType` and `error`) as the message when it refuses.

use anyhow::{bail, Context};
use serde_json::Value;

use super::Server;

fn answer(url: &str, resp: reqwest::blocking::Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let body = resp.text().with_context(|| url.to_string())?;
    let v: Value =
        serde_json::from_str(&body).with_context(|| format!("{url} answered {status}: {body}"))?;
    if !status.is_success() {
        bail!(
            "{} ({status}): {}",
            v["errorType"].as_str().unwrap_or("error"),
            v["error"].as_str().unwrap_or(&body)
        );
    }
    Ok(v)
}

/// GETs `path` with `params`; the JSON answer, or the server's error.
pub fn get(server: &Server, path: &str, params: &[(&str, String)]) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let mut req = server
        .auth
        .apply(server.auth.client(None)?.get(&url).query(params))?;
    if let Some(t) = &server.tenant {
        req = req.header(taishan_core::TENANT_HEADER, t);
    }
    let resp = req.send().with_context(|| url.clone())?;
    answer(&url, resp)
}

/// POSTs `body` as JSON to `path`; the JSON answer, or the server's error.
pub fn post(server: &Server, path: &str, body: &Value) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let mut req = server
        .auth
        .apply(server.auth.client(None)?.post(&url).json(body))?;
    if let Some(t) = &server.tenant {
        req = req.header(taishan_core::TENANT_HEADER, t);
    }
    let resp = req.send().with_context(|| url.clone())?;
    answer(&url, resp)
}
