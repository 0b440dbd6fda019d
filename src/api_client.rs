//! Calls to a running Taishan's JSON APIs from the CLI: the tenant header, and the server's
//! error (Prometheus's `errorType` and `error`) as the message when it refuses.

use serde_json::Value;

use crate::cli::Server;

fn answer(url: &str, resp: reqwest::blocking::Response) -> Result<Value, String> {
    let status = resp.status();
    let body = resp.text().map_err(|e| format!("{url}: {e}"))?;
    let v: Value =
        serde_json::from_str(&body).map_err(|_| format!("{url} answered {status}: {body}"))?;
    if !status.is_success() {
        return Err(format!(
            "{} ({status}): {}",
            v["errorType"].as_str().unwrap_or("error"),
            v["error"].as_str().unwrap_or(&body)
        ));
    }
    Ok(v)
}

/// GETs `path` with `params`; the JSON answer, or the server's error.
pub fn get(server: &Server, path: &str, params: &[(&str, String)]) -> Result<Value, String> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let mut req = reqwest::blocking::Client::new().get(&url).query(params);
    if let Some(t) = &server.tenant {
        req = req.header(taishan_core::TENANT_HEADER, t);
    }
    let resp = req.send().map_err(|e| format!("{url}: {e}"))?;
    answer(&url, resp)
}

/// POSTs `body` as JSON to `path`; the JSON answer, or the server's error.
pub fn post(server: &Server, path: &str, body: &Value) -> Result<Value, String> {
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let mut req = reqwest::blocking::Client::new().post(&url).json(body);
    if let Some(t) = &server.tenant {
        req = req.header(taishan_core::TENANT_HEADER, t);
    }
    let resp = req.send().map_err(|e| format!("{url}: {e}"))?;
    answer(&url, resp)
}
