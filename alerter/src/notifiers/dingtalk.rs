//! `dingtalk_configs` (Taishan's addition; Alertmanager has no DingTalk receiver): a
//! DingTalk group robot. The message is markdown (or text) from templates; with a `secret`
//! each request is signed as DingTalk's "加签" security setting requires: `timestamp` (ms) and
//! `sign` = base64(HMAC-SHA256(secret, "<timestamp>\n<secret>")) added to the URL.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use taishan_core::config::FieldError;
use taishan_core::signer::Signer;

use super::Notification;
use super::{
    post_json, robot_answer, text_or_default, BuildContext, NotificationText, Notifier,
    NotifierKind, NotifyError,
};

/// The registration of DingTalk robots.
pub const KIND: NotifierKind = NotifierKind {
    name: "dingtalk",
    summary: "DingTalk group robot, markdown, signed with its secret",
    build,
};

/// DingTalk's answer when a robot sends faster than its limit (20 a minute): worth a retry.
const TOO_FAST: i64 = 130_101;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DingTalkConfig {
    #[serde(default = "yes")]
    send_resolved: bool,
    /// The robot's webhook, `https://oapi.dingtalk.com/robot/send?access_token=...`.
    webhook_url: String,
    /// The robot's signing secret (`SEC...`); unsigned when absent.
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    message_type: MessageType,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    at_mobiles: Vec<String>,
    #[serde(default)]
    at_user_ids: Vec<String>,
    #[serde(default)]
    is_at_all: bool,
    /// Credentials, proxy and TLS of its requests ([`super::HttpClientConfig`]).
    #[serde(default)]
    http_config: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum MessageType {
    #[default]
    Markdown,
    Text,
}

fn yes() -> bool {
    true
}

#[derive(Debug)]
struct DingTalk {
    url: reqwest::Url,
    secret: Option<String>,
    send_resolved: bool,
    message_type: MessageType,
    title: NotificationText,
    text: NotificationText,
    at: serde_json::Value,
    http: reqwest::Client,
}

fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>> {
    let c: DingTalkConfig = ctx.parse()?;
    let url = match reqwest::Url::parse(&c.webhook_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return Err(ctx.error("webhook_url", format!("invalid URL {:?}", c.webhook_url))),
    };
    if c.secret.as_deref().is_some_and(str::is_empty) {
        return Err(ctx.error("secret", "empty; leave it out for an unsigned robot"));
    }
    let title = ctx.template("title", &text_or_default(&c.title, "dingtalk", "title"));
    let text = ctx.template("text", &text_or_default(&c.text, "dingtalk", "text"));
    let (title, text) = match (title, text) {
        (Ok(t), Ok(x)) => (t, x),
        (t, x) => return Err(t.err().into_iter().chain(x.err()).flatten().collect()),
    };
    Ok(Arc::new(DingTalk {
        url,
        secret: c.secret,
        send_resolved: c.send_resolved,
        message_type: c.message_type,
        title,
        text,
        at: json!({"atMobiles": c.at_mobiles, "atUserIds": c.at_user_ids, "isAtAll": c.is_at_all}),
        http: ctx.http_client(&c.http_config)?,
    }))
}

/// DingTalk's signature of a request made at `timestamp_ms`.
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    Signer::new(secret.as_bytes()).sign_base64(format!("{timestamp_ms}\n{secret}").as_bytes())
}

impl DingTalk {
    fn request_url(&self, timestamp_ms: i64) -> reqwest::Url {
        let mut url = self.url.clone();
        if let Some(secret) = &self.secret {
            url.query_pairs_mut()
                .append_pair("timestamp", &timestamp_ms.to_string())
                .append_pair("sign", &sign(secret, timestamp_ms));
        }
        url
    }

    fn body(&self, n: &Notification) -> Result<serde_json::Value, NotifyError> {
        let (title, text) = (self.title.render(n)?, self.text.render(n)?);
        Ok(match self.message_type {
            MessageType::Markdown => json!({
                "msgtype": "markdown",
                "markdown": {"title": title, "text": text},
                "at": self.at,
            }),
            MessageType::Text => json!({
                "msgtype": "text",
                "text": {"content": format!("{title}\n{text}")},
                "at": self.at,
            }),
        })
    }
}

#[async_trait]
impl Notifier for DingTalk {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    async fn notify(&self, n: &Notification) -> Result<u16, NotifyError> {
        let body = self.body(n)?;
        let answer = post_json(&self.http, self.request_url(n.at_ms), &body).await?;
        robot_answer("DingTalk", answer, &["errcode"], TOO_FAST)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_dingtalks() {
        // Computed independently (Python's hmac and base64) for this secret and time.
        assert_eq!(
            super::sign("SECtest", 1_796_205_600_000),
            "+LLJp+v+Gn7G7YDUVUaZRycDjnWmT0CMOL3ddJWdSeY="
        );
    }
}
