//! `feishu_configs` (Taishan's addition; Alertmanager has no Feishu/Lark receiver): a
//! Feishu (Lark) group bot. The message is text (or a `post` with a title) from templates;
//! with a `secret` each message carries Feishu's signature: `timestamp` (seconds) and
//! `sign` = base64(HMAC-SHA256 keyed by "<timestamp>\n<secret>" over nothing).

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use taishan_core::config::FieldError;
use taishan_core::signer::Signer;

use super::Notification;
use super::{
    post_json, robot_answer, text_or_default, BuildContext, NotificationText, Notifier,
    NotifierKind, NotifyError,
};

/// The registration of Feishu bots.
pub const KIND: NotifierKind = NotifierKind {
    name: "feishu",
    summary: "Feishu/Lark group bot, signed with its secret",
    build,
};

/// Feishu's answer when a bot sends faster than its limit: worth a retry.
const TOO_FAST: i64 = 9499;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeishuConfig {
    #[serde(default = "yes")]
    send_resolved: bool,
    /// The bot's webhook, `https://open.feishu.cn/open-apis/bot/v2/hook/...`.
    webhook_url: String,
    /// The bot's signing secret; unsigned when absent.
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// Credentials, proxy and TLS of its requests ([`super::HttpClientConfig`]).
    #[serde(default)]
    http_config: Option<serde_yaml_ng::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Debug)]
struct Feishu {
    url: String,
    secret: Option<String>,
    send_resolved: bool,
    title: NotificationText,
    text: NotificationText,
    http: reqwest::Client,
}

fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>> {
    let c: FeishuConfig = ctx.parse()?;
    match reqwest::Url::parse(&c.webhook_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(ctx.error("webhook_url", format!("invalid URL {:?}", c.webhook_url))),
    }
    if c.secret.as_deref().is_some_and(str::is_empty) {
        return Err(ctx.error("secret", "empty; leave it out for an unsigned bot"));
    }
    let (title, text) = match (
        ctx.template("title", &text_or_default(&c.title, "feishu", "title")),
        ctx.template("text", &text_or_default(&c.text, "feishu", "text")),
    ) {
        (Ok(t), Ok(x)) => (t, x),
        (t, x) => return Err(t.err().into_iter().chain(x.err()).flatten().collect()),
    };
    Ok(Arc::new(Feishu {
        url: c.webhook_url,
        secret: c.secret,
        send_resolved: c.send_resolved,
        title,
        text,
        http: ctx.http_client(&c.http_config)?,
    }))
}

/// Feishu's signature of a message sent at `timestamp_s` (Unix seconds).
pub fn sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    // Feishu signs nothing with the timestamp and secret as the key.
    Signer::new(key.into_bytes()).sign_base64(b"")
}

impl Feishu {
    fn body(&self, n: &Notification) -> Result<serde_json::Value, NotifyError> {
        let (title, text) = (self.title.render(n)?, self.text.render(n)?);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| json!([{"tag": "text", "text": l}]))
            .collect();
        let mut body = json!({
            "msg_type": "post",
            "content": {"post": {"zh_cn": {"title": title, "content": lines}}},
        });
        if let Some(secret) = &self.secret {
            let ts = n.at_ms.div_euclid(1000);
            body["timestamp"] = json!(ts.to_string());
            body["sign"] = json!(sign(secret, ts));
        }
        Ok(body)
    }
}

#[async_trait]
impl Notifier for Feishu {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    async fn notify(&self, n: &Notification) -> Result<u16, NotifyError> {
        let body = self.body(n)?;
        let answer = post_json(&self.http, &self.url, &body).await?;
        // Older bots answer `StatusCode` rather than `code`.
        robot_answer("Feishu", answer, &["code", "StatusCode"], TOO_FAST)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_feishus() {
        // Computed independently (Python's hmac and base64) for this secret and time.
        assert_eq!(
            super::sign("feishu-secret", 1_796_205_600),
            "Pepm/2DMFfFJC92EqUKTJ/nFE5vg1+fRB3n42IDMNDQ="
        );
    }
}
