//! `slack_configs`: Slack's incoming webhooks (or `chat.postMessage` with a bot token's
//! URL), one attachment per notification, every text field a template, as Alertmanager
//! builds the message.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use taishan_core::config::FieldError;

use super::Notification;
use super::{
    post_json, text_or_default, BuildContext, NotificationText, Notifier, NotifierKind, NotifyError,
};

/// The registration of Slack.
pub const KIND: NotifierKind = NotifierKind {
    name: "slack",
    summary: "Slack incoming webhook, one attachment per notification",
    build,
};

/// Slack refuses titles longer than this many characters.
const MAX_TITLE_CHARS: usize = 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlackConfig {
    #[serde(default)]
    send_resolved: bool,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    api_url_file: Option<String>,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default = "color")]
    color: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    title_link: Option<String>,
    #[serde(default)]
    pretext: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    callback_id: Option<String>,
    #[serde(default)]
    footer: Option<String>,
    #[serde(default)]
    icon_emoji: Option<String>,
    #[serde(default)]
    icon_url: Option<String>,
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    thumb_url: String,
    #[serde(default)]
    link_names: bool,
    #[serde(default)]
    short_fields: bool,
    #[serde(default)]
    mrkdwn_in: Vec<String>,
    #[serde(default)]
    fields: Vec<FieldConfig>,
    /// Credentials, proxy and TLS of its requests ([`super::HttpClientConfig`]).
    #[serde(default)]
    http_config: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldConfig {
    title: String,
    value: String,
    #[serde(default)]
    short: Option<bool>,
}

fn color() -> String {
    r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#.into()
}

#[derive(Debug)]
struct Field {
    title: NotificationText,
    value: NotificationText,
    short: bool,
}

/// Every text of the message, parsed once.
#[derive(Debug)]
struct Texts {
    channel: NotificationText,
    username: NotificationText,
    color: NotificationText,
    title: NotificationText,
    title_link: NotificationText,
    pretext: NotificationText,
    text: NotificationText,
    fallback: NotificationText,
    callback_id: NotificationText,
    footer: NotificationText,
    icon_emoji: NotificationText,
    icon_url: NotificationText,
    image_url: NotificationText,
    thumb_url: NotificationText,
}

#[derive(Debug)]
struct Slack {
    url: String,
    send_resolved: bool,
    link_names: bool,
    mrkdwn_in: Vec<String>,
    texts: Texts,
    fields: Vec<Field>,
    http: reqwest::Client,
}

#[derive(Debug, Serialize)]
struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    link_names: bool,
    attachments: Vec<Attachment>,
}

#[derive(Debug, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldOut>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    mrkdwn_in: Vec<String>,
}

#[derive(Debug, Serialize)]
struct FieldOut {
    title: String,
    value: String,
    short: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>> {
    let c: SlackConfig = ctx.parse()?;
    let url = api_url(ctx, &c)?;
    let mut errors = Vec::new();
    let mut text = |field: &str, value: &str| match ctx.template(field, value) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let texts = (|| {
        Some(Texts {
            channel: text("channel", &c.channel)?,
            username: text(
                "username",
                &text_or_default(&c.username, "slack", "username"),
            )?,
            color: text("color", &c.color)?,
            title: text("title", &text_or_default(&c.title, "slack", "title"))?,
            title_link: text(
                "title_link",
                &text_or_default(&c.title_link, "slack", "titlelink"),
            )?,
            pretext: text("pretext", &text_or_default(&c.pretext, "slack", "pretext"))?,
            text: text("text", &text_or_default(&c.text, "slack", "text"))?,
            fallback: text(
                "fallback",
                &text_or_default(&c.fallback, "slack", "fallback"),
            )?,
            callback_id: text(
                "callback_id",
                &text_or_default(&c.callback_id, "slack", "callbackid"),
            )?,
            footer: text("footer", &text_or_default(&c.footer, "slack", "footer"))?,
            icon_emoji: text(
                "icon_emoji",
                &text_or_default(&c.icon_emoji, "slack", "iconemoji"),
            )?,
            icon_url: text(
                "icon_url",
                &text_or_default(&c.icon_url, "slack", "iconurl"),
            )?,
            image_url: text("image_url", &c.image_url)?,
            thumb_url: text("thumb_url", &c.thumb_url)?,
        })
    })();
    let mut fields = Vec::new();
    for (i, f) in c.fields.iter().enumerate() {
        let (t, v) = (
            text(&format!("fields[{i}].title"), &f.title),
            text(&format!("fields[{i}].value"), &f.value),
        );
        if let (Some(title), Some(value)) = (t, v) {
            fields.push(Field {
                title,
                value,
                short: f.short.unwrap_or(c.short_fields),
            });
        }
    }
    let Some(texts) = texts.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let mrkdwn_in = if c.mrkdwn_in.is_empty() {
        vec!["fallback".into(), "pretext".into(), "text".into()]
    } else {
        c.mrkdwn_in
    };
    Ok(Arc::new(Slack {
        url,
        send_resolved: c.send_resolved,
        link_names: c.link_names,
        mrkdwn_in,
        texts,
        fields,
        http: ctx.http_client(&c.http_config)?,
    }))
}

fn api_url(ctx: &BuildContext<'_>, c: &SlackConfig) -> Result<String, Vec<FieldError>> {
    let read = |f: &str| {
        std::fs::read_to_string(f)
            .map(|t| t.trim().to_string())
            .map_err(|e| ctx.error("api_url_file", format!("cannot read {f}: {e}")))
    };
    let url = match (&c.api_url, &c.api_url_file) {
        (Some(_), Some(_)) => {
            return Err(ctx.error(
                "api_url",
                "at most one of api_url & api_url_file must be configured",
            ))
        }
        (Some(u), None) => u.clone(),
        (None, Some(f)) => read(f)?,
        (None, None) => match (&ctx.global.slack_api_url, &ctx.global.slack_api_url_file) {
            (Some(u), _) => u.clone(),
            (None, Some(f)) => read(f)?,
            (None, None) => {
                return Err(ctx.error(
                    "api_url",
                    "no global Slack API URL set either inline or in a file",
                ))
            }
        },
    };
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url),
        _ => Err(ctx.error("api_url", format!("invalid URL {url:?}"))),
    }
}

impl Slack {
    fn message(&self, n: &Notification) -> Result<Message, NotifyError> {
        let t = &self.texts;
        let title: String = t.title.render(n)?.chars().take(MAX_TITLE_CHARS).collect();
        let fields = self
            .fields
            .iter()
            .map(|f| {
                Ok(FieldOut {
                    title: f.title.render(n)?,
                    value: f.value.render(n)?,
                    short: f.short,
                })
            })
            .collect::<Result<Vec<_>, NotifyError>>()?;
        Ok(Message {
            channel: t.channel.render(n)?,
            username: t.username.render(n)?,
            icon_emoji: t.icon_emoji.render(n)?,
            icon_url: t.icon_url.render(n)?,
            link_names: self.link_names,
            attachments: vec![Attachment {
                title,
                title_link: t.title_link.render(n)?,
                pretext: t.pretext.render(n)?,
                text: t.text.render(n)?,
                fallback: t.fallback.render(n)?,
                callback_id: t.callback_id.render(n)?,
                fields,
                image_url: t.image_url.render(n)?,
                thumb_url: t.thumb_url.render(n)?,
                footer: t.footer.render(n)?,
                color: t.color.render(n)?,
                mrkdwn_in: self.mrkdwn_in.clone(),
            }],
        })
    }
}

#[async_trait]
impl Notifier for Slack {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    async fn notify(&self, n: &Notification) -> Result<u16, NotifyError> {
        let message = self.message(n)?;
        let (status, body) = post_json(&self.http, &self.url, &message).await?;
        // Slack's webhook answers 200 "ok"; chat.postMessage answers 200 with {"ok": false}
        // when it refuses.
        if body.contains("\"ok\":false") {
            return Err(NotifyError::from_status(status, &body));
        }
        Ok(status)
    }
}
