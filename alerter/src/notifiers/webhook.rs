//! `webhook_configs`: Alertmanager's generic webhook, version 4 of its JSON (the template
//! data plus `version`, `groupKey`, `truncatedAlerts`), POSTed to `url`.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use taishan_core::config::FieldError;

use super::{post_json, BuildContext, Notifier, NotifierKind, NotifyError};
use super::{Notification, NotificationData};

/// The registration of webhooks.
pub const KIND: NotifierKind = NotifierKind {
    name: "webhook",
    summary: "Alertmanager's webhook JSON (version 4) POSTed to a URL",
    build,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookConfig {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    url_file: Option<String>,
    #[serde(default = "yes")]
    send_resolved: bool,
    #[serde(default)]
    max_alerts: u64,
    /// Credentials, proxy and TLS of its requests ([`super::HttpClientConfig`]).
    #[serde(default)]
    http_config: Option<serde_yaml_ng::Value>,
}

fn yes() -> bool {
    true
}

/// The body Alertmanager's webhook sends.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    #[serde(flatten)]
    data: NotificationData,
    version: &'static str,
    group_key: String,
    truncated_alerts: u64,
}

#[derive(Debug)]
struct Webhook {
    url: String,
    send_resolved: bool,
    max_alerts: u64,
    http: reqwest::Client,
}

fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>> {
    let c: WebhookConfig = ctx.parse()?;
    let url = match (c.url, c.url_file) {
        (Some(_), Some(_)) => {
            return Err(ctx.error("url", "at most one of url & url_file must be configured"))
        }
        (Some(u), None) => u,
        (None, Some(f)) => std::fs::read_to_string(&f)
            .map(|t| t.trim().to_string())
            .map_err(|e| ctx.error("url_file", format!("cannot read {f}: {e}")))?,
        (None, None) => return Err(ctx.error("url", "one of url or url_file must be configured")),
    };
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        Ok(u) => {
            return Err(ctx.error(
                "url",
                format!("unsupported scheme {:?} for URL", u.scheme()),
            ))
        }
        Err(e) => return Err(ctx.error("url", format!("invalid URL {url:?}: {e}"))),
    }
    Ok(Arc::new(Webhook {
        url,
        send_resolved: c.send_resolved,
        max_alerts: c.max_alerts,
        http: ctx.http_client(&c.http_config)?,
    }))
}

#[async_trait]
impl Notifier for Webhook {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    async fn notify(&self, n: &Notification) -> Result<u16, NotifyError> {
        let mut n = n.clone();
        let total = n.alerts.len() as u64;
        let mut truncated = 0;
        if self.max_alerts > 0 && total > self.max_alerts {
            n.alerts
                .truncate(usize::try_from(self.max_alerts).unwrap_or(usize::MAX));
            truncated = total - self.max_alerts;
        }
        let message = Message {
            data: n.data(),
            version: "4",
            group_key: n.group_key.clone(),
            truncated_alerts: truncated,
        };
        post_json(&self.http, &self.url, &message)
            .await
            .map(|(status, _)| status)
    }
}
