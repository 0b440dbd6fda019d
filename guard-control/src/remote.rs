//! An external app following the control plane over HTTP: long-poll
//! `/api/v1/guards/directives` for what changed, carry it out on the app's guards, report
//! states and outcomes to `/api/v1/guards/report`. Any Rust service embedding
//! `taishan-guard` runs this; other languages speak the same two JSON endpoints.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use taishan_core::GuardTarget;
use taishan_guard::Guards;

use crate::api::{AppliedDirective, DirectivesAnswer, RemoteDirective, Report};
use crate::follower::states;
use crate::plane::Directive;

/// How long each long-poll waits for a change.
const POLL_WAIT: &str = "25s";
/// Pause after a failed call before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Follows the control plane at `base_url` (e.g. `http://127.0.0.1:7070`) for `service`'s
/// `guards` until `cancel`, sending `authorization` (a `writer` token of the plane's web
/// config, e.g. `Bearer ...`) with every call when the plane asks for credentials.
pub fn follow_remote(
    base_url: &str,
    authorization: Option<taishan_core::Secret>,
    service: &str,
    guards: Arc<Guards>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let base = base_url.trim_end_matches('/').to_string();
    let service = service.to_string();
    tokio::spawn(async move {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(value) =
            authorization.and_then(|a| reqwest::header::HeaderValue::from_str(a.expose()).ok())
        {
            let mut value = value;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .default_headers(headers)
            .build()
            .unwrap_or_default();
        let mut since = 0u64;
        let mut applied: Vec<AppliedDirective> = Vec::new();
        loop {
            let report = Report {
                service: service.clone(),
                guards: states(&guards),
                applied: applied.clone(),
            };
            let sent = client
                .post(format!("{base}/api/v1/guards/report"))
                .json(&report)
                .send()
                .await;
            match sent.and_then(|r| r.error_for_status()) {
                Ok(_) => applied.clear(),
                // Kept, and sent again with the next report, so the plane audits them.
                Err(e) => {
                    tracing::warn!(error = %e, "could not report guard states to the control plane")
                }
            }
            let poll = client
                .get(format!("{base}/api/v1/guards/directives"))
                .query(&[
                    ("service", service.as_str()),
                    ("since", &since.to_string()),
                    ("wait", POLL_WAIT),
                ])
                .send();
            let answer = tokio::select! {
                _ = cancel.cancelled() => return,
                r = poll => r,
            };
            let parsed = match answer.and_then(|r| r.error_for_status()) {
                Ok(r) => r.json::<serde_json::Value>().await,
                Err(e) => Err(e),
            };
            let body = match parsed {
                Ok(v) => serde_json::from_value::<DirectivesAnswer>(v["data"].clone()),
                Err(e) => {
                    tracing::warn!(error = %e, "control plane unreachable; guards keep their state");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(RETRY_AFTER) => continue,
                    }
                }
            };
            let Ok(answer) = body else {
                tracing::warn!("control plane answered in an unknown shape");
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            };
            let directives: Vec<Directive> = answer
                .directives
                .into_iter()
                .map(|d: RemoteDirective| Directive {
                    target: GuardTarget {
                        service: service.clone(),
                        guard: d.guard,
                    },
                    command: d.command,
                    reason: d.reason,
                    version: d.version,
                })
                .collect();
            for o in crate::follower::apply(&guards, &directives) {
                applied.push(AppliedDirective {
                    guard: o.directive.target.guard,
                    command: o.directive.command,
                    error: o.error,
                });
            }
            since = answer.version;
        }
    })
}
