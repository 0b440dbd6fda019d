//! `wecom_robot_configs` (Taishan's addition; Alertmanager has only WeCom application
//! messages): a WeCom (企业微信) group robot, markdown or text from templates, posted to its
//! webhook key.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use taishan_core::config::FieldError;

use super::Notification;
use super::{
    post_json, robot_answer, text_or_default, BuildContext, NotificationText, Notifier,
    NotifierKind, NotifyError,
};

/// The registration of WeCom group robots.
pub const KIND: NotifierKind = NotifierKind {
    name: "wecom_robot",
    summary: "WeCom group robot (webhook key), markdown or text",
    build,
};

/// WeCom's answer when a robot sends faster than its limit (20 a minute): worth a retry.
const TOO_FAST: i64 = 45_009;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RobotConfig {
    #[serde(default = "yes")]
    send_resolved: bool,
    /// `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...`.
    webhook_url: String,
    #[serde(default = "markdown")]
    message_type: String,
    #[serde(default)]
    message: Option<String>,
    /// Mobile numbers to @ (text messages only; `@all` for everyone).
    #[serde(default)]
    mentioned_mobile_list: Vec<String>,
    /// Credentials, proxy and TLS of its requests ([`super::HttpClientConfig`]).
    #[serde(default)]
    http_config: Option<serde_yaml_ng::Value>,
}

fn yes() -> bool {
    true
}
fn markdown() -> String {
    "markdown".into()
}

#[derive(Debug)]
struct Robot {
    url: String,
    markdown: bool,
    send_resolved: bool,
    message: NotificationText,
    mentioned: Vec<String>,
    http: reqwest::Client,
}

fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>> {
    let c: RobotConfig = ctx.parse()?;
    match reqwest::Url::parse(&c.webhook_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(ctx.error("webhook_url", format!("invalid URL {:?}", c.webhook_url))),
    }
    let markdown = match c.message_type.as_str() {
        "markdown" => true,
        "text" => false,
        other => {
            return Err(ctx.error(
                "message_type",
                format!("{other:?}: must be markdown or text"),
            ))
        }
    };
    if markdown && !c.mentioned_mobile_list.is_empty() {
        return Err(ctx.error(
            "mentioned_mobile_list",
            "WeCom mentions people in text messages only; set message_type: text",
        ));
    }
    Ok(Arc::new(Robot {
        url: c.webhook_url,
        markdown,
        send_resolved: c.send_resolved,
        message: ctx.template(
            "message",
            &text_or_default(&c.message, "wecom_robot", "message"),
        )?,
        mentioned: c.mentioned_mobile_list,
        http: ctx.http_client(&c.http_config)?,
    }))
}

#[async_trait]
impl Notifier for Robot {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    async fn notify(&self, n: &Notification) -> Result<u16, NotifyError> {
        let content = self.message.render(n)?;
        let body = if self.markdown {
            json!({"msgtype": "markdown", "markdown": {"content": content}})
        } else {
            json!({"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": self.mentioned}})
        };
        let answer = post_json(&self.http, &self.url, &body).await?;
        robot_answer("the WeCom robot", answer, &["errcode"], TOO_FAST)
    }
}
