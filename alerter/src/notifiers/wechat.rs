//! `wechat_configs`: WeCom (企业微信) application messages, as Alertmanager sends them: an
//! access token from `gettoken` (corp id and secret), kept two hours and fetched again
//! when WeCom says it expired, then `message/send` to users, parties or tags.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use taishan_core::config::FieldError;

use super::Notification;
use super::{
    post_json, robot_answer, text_or_default, BuildContext, NotificationText, Notifier,
    NotifierKind, NotifyError,
};

/// The registration of WeCom application messages.
pub const KIND: NotifierKind = NotifierKind {
    name: "wechat",
    summary: "WeCom application message (gettoken, then message/send)",
    build,
};

const DEFAULT_API_URL: &str = "https://qyapi.weixin.qq.com/cgi-bin/";
/// How long a token is used before a new one is fetched (WeCom's tokens last 2 hours).
const TOKEN_LIFETIME: Duration = Duration::from_secs(2 * 3600);
/// WeCom's answer for an expired access token.
const TOKEN_EXPIRED: i64 = 42_001;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WechatConfig {
    #[serde(default)]
    send_resolved: bool,
    #[serde(default)]
    api_secret: Option<String>,
    #[serde(default)]
    corp_id: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default = "message_type")]
    message_type: String,
    #[serde(default)]
    to_user: Option<String>,
    #[serde(default)]
    to_party: Option<String>,
    #[serde(default)]
    to_tag: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    /// Credentials, proxy and TLS of its requests ([`super::HttpClientConfig`]).
    #[serde(default)]
    http_config: Option<serde_yaml_ng::Value>,
}

fn message_type() -> String {
    "text".into()
}
#[derive(Debug)]
struct Texts {
    message: NotificationText,
    to_user: NotificationText,
    to_party: NotificationText,
    to_tag: NotificationText,
    agent_id: NotificationText,
}

#[derive(Debug)]
struct Wechat {
    api_url: String,
    corp_id: String,
    api_secret: String,
    markdown: bool,
    send_resolved: bool,
    texts: Texts,
    token: Mutex<Option<(String, Instant)>>,
    http: reqwest::Client,
}

#[derive(Debug, Serialize)]
struct Content {
    content: String,
}

/// The message as Alertmanager encodes it: both `text` and `markdown` are always present,
/// the one not in use empty.
#[derive(Debug, Serialize)]
struct Message {
    text: Content,
    #[serde(skip_serializing_if = "String::is_empty")]
    touser: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    toparty: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    totag: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    agentid: String,
    safe: &'static str,
    msgtype: String,
    markdown: Content,
}

fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>> {
    let c: WechatConfig = ctx.parse()?;
    let g = ctx.global;
    let api_url = c
        .api_url
        .or_else(|| g.wechat_api_url.clone())
        .unwrap_or_else(|| DEFAULT_API_URL.into());
    if !matches!(
        reqwest::Url::parse(&api_url)
            .map(|u| u.scheme().to_string())
            .as_deref(),
        Ok("http" | "https")
    ) {
        return Err(ctx.error("api_url", format!("invalid URL {api_url:?}")));
    }
    let Some(api_secret) = c.api_secret.or_else(|| g.wechat_api_secret.clone()) else {
        return Err(ctx.error("api_secret", "missing, and no global wechat_api_secret"));
    };
    let Some(corp_id) = c.corp_id.or_else(|| g.wechat_api_corp_id.clone()) else {
        return Err(ctx.error("corp_id", "missing, and no global wechat_api_corp_id"));
    };
    if !matches!(c.message_type.as_str(), "text" | "markdown") {
        return Err(ctx.error(
            "message_type",
            format!("{:?}: must be text or markdown", c.message_type),
        ));
    }
    let mut errors = Vec::new();
    let mut text = |field: &str, v: &str| ctx.template(field, v).map_err(|e| errors.extend(e)).ok();
    let texts = (|| {
        Some(Texts {
            message: text("message", &text_or_default(&c.message, "wechat", "message"))?,
            to_user: text("to_user", &text_or_default(&c.to_user, "wechat", "to_user"))?,
            to_party: text(
                "to_party",
                &text_or_default(&c.to_party, "wechat", "to_party"),
            )?,
            to_tag: text("to_tag", &text_or_default(&c.to_tag, "wechat", "to_tag"))?,
            agent_id: text(
                "agent_id",
                &text_or_default(&c.agent_id, "wechat", "agent_id"),
            )?,
        })
    })();
    let Some(texts) = texts else {
        return Err(errors);
    };
    Ok(Arc::new(Wechat {
        api_url: if api_url.ends_with('/') {
            api_url
        } else {
            format!("{api_url}/")
        },
        corp_id,
        api_secret,
        markdown: c.message_type == "markdown",
        send_resolved: c.send_resolved,
        texts,
        token: Mutex::new(None),
        http: ctx.http_client(&c.http_config)?,
    }))
}

fn wecom_error(what: &str, status: u16, answer: &serde_json::Value, body: &str) -> NotifyError {
    NotifyError {
        retryable: answer["errcode"].as_i64() == Some(TOKEN_EXPIRED),
        status: Some(status),
        message: format!(
            "WeCom {what}: errcode {}: {}",
            answer["errcode"],
            answer["errmsg"].as_str().unwrap_or(body)
        ),
    }
}

impl Wechat {
    async fn access_token(&self) -> Result<String, NotifyError> {
        if let Some((token, at)) = self.token.lock().clone() {
            if at.elapsed() < TOKEN_LIFETIME {
                return Ok(token);
            }
        }
        let resp = self
            .http
            .get(format!("{}gettoken", self.api_url))
            .query(&[("corpid", &self.corp_id), ("corpsecret", &self.api_secret)])
            .send()
            .await
            .map_err(|e| NotifyError::unreachable(&e.without_url()))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        match answer["access_token"].as_str() {
            Some(token) if !token.is_empty() => {
                *self.token.lock() = Some((token.to_string(), Instant::now()));
                Ok(token.to_string())
            }
            _ => Err(wecom_error(
                &format!("gave no access token for corp {}", self.corp_id),
                status,
                &answer,
                &body,
            )),
        }
    }

    fn message(&self, n: &Notification) -> Result<Message, NotifyError> {
        let t = &self.texts;
        let content = t.message.render(n)?;
        let (text, markdown) = if self.markdown {
            (String::new(), content)
        } else {
            (content, String::new())
        };
        Ok(Message {
            text: Content { content: text },
            touser: t.to_user.render(n)?,
            toparty: t.to_party.render(n)?,
            totag: t.to_tag.render(n)?,
            agentid: t.agent_id.render(n)?,
            safe: "0",
            msgtype: if self.markdown { "markdown" } else { "text" }.into(),
            markdown: Content { content: markdown },
        })
    }
}

#[async_trait]
impl Notifier for Wechat {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    async fn notify(&self, n: &Notification) -> Result<u16, NotifyError> {
        let message = self.message(n)?;
        let token = self.access_token().await?;
        let mut url =
            reqwest::Url::parse(&format!("{}message/send", self.api_url)).map_err(|e| {
                NotifyError {
                    retryable: false,
                    status: None,
                    message: format!("the WeCom API URL: {e}"),
                }
            })?;
        url.query_pairs_mut().append_pair("access_token", &token);
        let answer = post_json(&self.http, url, &message).await?;
        // An expired token (the one code worth a retry) is fetched again at the retry.
        let result = robot_answer("WeCom", answer, &["errcode"], TOKEN_EXPIRED);
        if result.as_ref().is_err_and(|e| e.retryable) {
            *self.token.lock() = None;
        }
        result
    }
}
