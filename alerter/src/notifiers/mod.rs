//! Notifiers: how a group's notification reaches a receiver's integrations.
//!
//! # The contract
//! A [`Notifier`] is one entry of a receiver's `<kind>_configs` list. It promises:
//! - **one attempt, whole**: [`Notifier::notify`] makes one delivery of the whole
//!   notification (every alert of the group, or the first `max_alerts`) and returns the
//!   peer's status when it was accepted; it never retries itself and never delivers half.
//! - **honest failures**: a failure says whether trying again can help
//!   ([`NotifyError::retryable`]: timeouts, 5xx, 429) and carries the peer's status and
//!   reason, so the pipeline can back off, record the attempt and tell an operator.
//! - **its own settings**: it reads its YAML entry itself ([`NotifierKind::build`]), every
//!   problem placed at the entry's path, falling back on `global` where Alertmanager does.
//!
//! The pipeline around it ([`crate::notify`]) dedups against the notification log, retries
//! with backoff until the group's next flush, and records every attempt.
//!
//! What members share lives here: [`BuildContext`] (settings and templates placed at their
//! path), [`NotificationText`] (a templated field), [`post_json`] (one POST, its status
//! mapped), [`robot_answer`] (the 200-with-a-code answers of chat robots) and
//! [`BuildContext::http_client`] (the entry's `http_config` applied).
//!
//! Adding a notifier: its file here, and one line in [`NOTIFIERS`].

mod data;
mod dingtalk;
mod email;
mod feishu;
mod http_config;
mod notification;
mod slack;
mod webhook;
mod wechat;
mod wecom_robot;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use taishan_core::config::FieldError;

use taishan_template::{Expansion, SetText, TemplateSet};

use crate::config::{GlobalConfig, IntegrationConfig};
pub use data::{AlertData, NotificationData, PageContext};
pub use http_config::HttpClientConfig;
pub use notification::Notification;

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Whether another attempt can succeed.
    pub retryable: bool,
    /// The peer's HTTP (or SMTP) status, when it answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
}

impl NotifyError {
    /// The error for a peer's answer with `status` and `body`: 5xx and 429 are worth
    /// retrying, other statuses are not.
    pub fn from_status(status: u16, body: &str) -> Self {
        let mut body = body.trim().to_string();
        body.truncate(512);
        Self {
            retryable: status >= 500 || status == 429,
            status: Some(status),
            message: format!("unexpected status code {status}: {body}"),
        }
    }

    /// The error for a request that got no answer (connection refused, timeout): retryable.
    pub fn unreachable(e: &dyn std::fmt::Display) -> Self {
        Self {
            retryable: true,
            status: None,
            message: e.to_string(),
        }
    }
}

/// POSTs `body` as JSON to `url`: the peer's status and answer when it is a 2xx, the
/// failure otherwise. The URL is left out of errors: webhook URLs carry keys and tokens.
pub async fn post_json<B: serde::Serialize + ?Sized>(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    body: &B,
) -> Result<(u16, String), NotifyError> {
    let resp = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| NotifyError::unreachable(&e.without_url()))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        Ok((status, text))
    } else {
        Err(NotifyError::from_status(status, &text))
    }
}

/// A chat robot's answer (DingTalk, Feishu, WeCom): HTTP 200 with a code of its own in the
/// first of `code_fields` present, 0 when delivered; `too_fast` is its rate-limit code,
/// worth a retry.
pub fn robot_answer(
    robot: &str,
    (status, text): (u16, String),
    code_fields: &[&str],
    too_fast: i64,
) -> Result<u16, NotifyError> {
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let code = code_fields.iter().find_map(|f| answer[*f].as_i64());
    if code == Some(0) {
        return Ok(status);
    }
    let reason = ["errmsg", "msg"]
        .iter()
        .find_map(|f| answer[*f].as_str())
        .unwrap_or(&text);
    Err(NotifyError {
        retryable: code == Some(too_fast),
        status: Some(status),
        message: format!(
            "{robot} refused the message: {} {}: {reason}",
            code_fields[0],
            code.map_or("missing".to_string(), |c| c.to_string()),
        ),
    })
}

/// One integration of a receiver.
#[async_trait]
pub trait Notifier: Send + Sync + Debug {
    /// Its kind (`webhook`).
    fn kind(&self) -> &'static str;
    /// Whether resolved alerts are sent to it.
    fn send_resolved(&self) -> bool;
    /// Makes one delivery attempt; the peer's success status (an HTTP 2xx, SMTP's 250).
    async fn notify(&self, notification: &Notification) -> Result<u16, NotifyError>;
}

/// What a notifier is built from.
#[derive(Debug, Clone)]
pub struct BuildContext<'a> {
    /// Its YAML entry.
    pub entry: &'a serde_yaml_ng::Value,
    /// Where the entry is (`receivers[0].webhook_configs[1]`).
    pub path: String,
    /// `global`.
    pub global: &'a GlobalConfig,
    /// The HTTP client every integration shares.
    pub http: reqwest::Client,
    /// The templates its text fields may call.
    pub templates: Arc<TemplateSet>,
}

impl BuildContext<'_> {
    /// The entry as `T`, a serde error placed at its field.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Vec<FieldError>> {
        serde_path_to_error::deserialize(self.entry.clone()).map_err(|e| {
            let inner = e.path().to_string();
            let path = if inner == "." {
                self.path.clone()
            } else {
                format!("{}.{inner}", self.path)
            };
            vec![FieldError::new(path, e.into_inner().to_string())]
        })
    }

    /// Parses a text field (a template) against the set, a mistake placed at the field.
    pub fn template(&self, field: &str, text: &str) -> Result<NotificationText, Vec<FieldError>> {
        self.templates
            .parse(text)
            .map(|t| NotificationText {
                text: t,
                templates: self.templates.clone(),
            })
            .map_err(|e| self.error(field, format!("template {text:?}: {e}")))
    }

    /// The HTTP client of the entry: built from its own `http_config`, else from the
    /// global one, else the client every integration shares.
    pub fn http_client(
        &self,
        own: &Option<serde_yaml_ng::Value>,
    ) -> Result<reqwest::Client, Vec<FieldError>> {
        let (value, path) = match (own, &self.global.http_config) {
            (Some(v), _) => (v, format!("{}.http_config", self.path)),
            (None, Some(v)) => (v, "global.http_config".to_string()),
            (None, None) => return Ok(self.http.clone()),
        };
        HttpClientConfig::from_yaml(value)
            .and_then(|c| c.client())
            .map_err(|(field, message)| {
                let at = if field.is_empty() {
                    path
                } else {
                    format!("{path}.{field}")
                };
                vec![FieldError::new(at, message)]
            })
    }

    /// An error at `field` of the entry.
    pub fn error(&self, field: &str, message: impl Into<String>) -> Vec<FieldError> {
        vec![FieldError::new(format!("{}.{field}", self.path), message)]
    }
}

/// A text field of a notifier: a template expanded with each notification's data.
#[derive(Debug, Clone)]
pub struct NotificationText {
    text: SetText,
    templates: Arc<TemplateSet>,
}

impl NotificationText {
    /// The text for `n`.
    pub fn render(&self, n: &Notification) -> Result<String, NotifyError> {
        self.expand(n, false)
    }

    /// The text for `n` as an HTML body: what the template's actions print is escaped.
    pub fn render_html(&self, n: &Notification) -> Result<String, NotifyError> {
        self.expand(n, true)
    }

    fn expand(&self, n: &Notification, html: bool) -> Result<String, NotifyError> {
        let ctx = Expansion {
            query: None,
            external_url: &n.external_url,
            time_ms: n.at_ms,
        };
        let data = n.data().template_value();
        let expanded = if html {
            self.templates.expand_html(&self.text, &data, &ctx)
        } else {
            self.templates.expand(&self.text, &data, &ctx)
        };
        expanded.map_err(|e| NotifyError {
            retryable: false,
            status: None,
            message: format!("expanding a template: {e}"),
        })
    }
}

/// A text field's template as written, or when left unset
/// `{{ template "<kind>.default.<name>" . }}`: the default template of its kind, as in
/// Alertmanager.
pub fn text_or_default(value: &Option<String>, kind: &str, name: &str) -> String {
    value
        .clone()
        .unwrap_or_else(|| format!("{{{{ template \"{kind}.default.{name}\" . }}}}"))
}

/// A kind of notifier: its `<name>_configs` key and how to build one.
#[derive(Debug)]
pub struct NotifierKind {
    /// The key without `_configs`.
    pub name: &'static str,
    /// One line for people.
    pub summary: &'static str,
    /// Builds one from its entry.
    pub build: BuildNotifier,
}

/// Builds a notifier from its YAML entry, or says every problem of the entry.
pub type BuildNotifier = fn(&BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>>;

/// Every notifier Taishan delivers to: the one registration point.
pub static NOTIFIERS: &[NotifierKind] = &[
    webhook::KIND,
    slack::KIND,
    wechat::KIND,
    wecom_robot::KIND,
    dingtalk::KIND,
    feishu::KIND,
    email::KIND,
];

/// Integrations Alertmanager has and Taishan does not deliver to: accepted so an unchanged
/// file loads, reported as warnings, skipped.
pub const NOT_DELIVERED: &[&str] = &[
    "pagerduty",
    "opsgenie",
    "pushover",
    "victorops",
    "sns",
    "telegram",
    "webex",
    "discord",
];

/// The kind named `name`.
pub fn lookup(name: &str) -> Option<&'static NotifierKind> {
    NOTIFIERS.iter().find(|k| k.name == name)
}

/// A built integration: its place in the receiver and its notifier.
#[derive(Debug, Clone)]
pub struct Integration {
    /// Its kind and index (`webhook[0]`), the notification log's key.
    pub name: String,
    /// The notifier.
    pub notifier: Arc<dyn Notifier>,
}

/// Builds one integration of receiver `receiver_index`; `Ok(None)` for a kind Taishan
/// accepts but does not deliver to.
pub fn build(
    receiver_index: usize,
    integration: &IntegrationConfig,
    global: &GlobalConfig,
    http: &reqwest::Client,
    templates: &Arc<TemplateSet>,
) -> Result<Option<Integration>, Vec<FieldError>> {
    let kind = &integration.kind;
    let entry = Entry {
        kind,
        value: &integration.value,
        path: format!(
            "receivers[{receiver_index}].{kind}_configs[{}]",
            integration.index
        ),
        name: format!("{kind}[{}]", integration.index),
        key_suffix: "_configs",
    };
    build_entry(&entry, global, http, templates).map_err(|mut e| {
        // An unknown kind is placed at its list, where a user wrote the key.
        for err in &mut e {
            if err.path.is_empty() {
                err.path = format!("receivers[{receiver_index}].{kind}_configs");
            }
        }
        e
    })
}

/// One notifier entry to build, wherever it is written (a receiver's `<kind>_configs` list,
/// an on-call member's contacts).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Its kind (`webhook`).
    pub kind: &'a str,
    /// Its settings.
    pub value: &'a serde_yaml_ng::Value,
    /// Where it is, for errors.
    pub path: String,
    /// The integration's name in the notification log.
    pub name: String,
    /// What follows the kind in the key as written (`_configs` in receivers).
    pub key_suffix: &'a str,
}

/// Builds `entry`; `Ok(None)` for a kind Taishan accepts but does not deliver to. An
/// unknown kind's error has an empty path, for the caller to place.
pub fn build_entry(
    entry: &Entry<'_>,
    global: &GlobalConfig,
    http: &reqwest::Client,
    templates: &Arc<TemplateSet>,
) -> Result<Option<Integration>, Vec<FieldError>> {
    let Some(kind) = lookup(entry.kind) else {
        if NOT_DELIVERED.contains(&entry.kind) {
            return Ok(None);
        }
        let known: Vec<String> = NOTIFIERS
            .iter()
            .map(|k| k.name)
            .chain(NOT_DELIVERED.iter().copied())
            .map(|n| format!("{n}{}", entry.key_suffix))
            .collect();
        return Err(vec![FieldError::new(
            "",
            format!(
                "unknown integration `{}{}`; known: {}",
                entry.kind,
                entry.key_suffix,
                known.join(", ")
            ),
        )]);
    };
    let ctx = BuildContext {
        entry: entry.value,
        path: entry.path.clone(),
        global,
        http: http.clone(),
        templates: templates.clone(),
    };
    let notifier = (kind.build)(&ctx)?;
    Ok(Some(Integration {
        name: entry.name.clone(),
        notifier,
    }))
}

#[cfg(test)]
mod member_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_lists_every_notifier_and_an_unknown_kind_names_them() {
        let names: Vec<&str> = NOTIFIERS.iter().map(|k| k.name).collect();
        assert_eq!(
            names,
            [
                "webhook",
                "slack",
                "wechat",
                "wecom_robot",
                "dingtalk",
                "feishu",
                "email"
            ]
        );
        let unknown = IntegrationConfig {
            kind: "carrier_pigeon".into(),
            index: 0,
            value: serde_yaml_ng::Value::Null,
        };
        let err = build(
            2,
            &unknown,
            &GlobalConfig::default(),
            &reqwest::Client::new(),
            &Default::default(),
        )
        .unwrap_err();
        assert_eq!(err[0].path, "receivers[2].carrier_pigeon_configs");
        assert!(
            err[0].message.contains("webhook_configs"),
            "{}",
            err[0].message
        );
        let skipped = IntegrationConfig {
            kind: "pagerduty".into(),
            ..unknown
        };
        assert!(build(
            0,
            &skipped,
            &GlobalConfig::default(),
            &reqwest::Client::new(),
            &Default::default()
        )
        .unwrap()
        .is_none());
    }
}
