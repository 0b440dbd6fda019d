//! `global`: defaults that receivers and alerts fall back on.

use serde::{Deserialize, Serialize};

use super::PromDuration;

/// The `global` section. Fields Alertmanager has for integrations Taishan does not deliver
/// to are accepted and kept so an unchanged file loads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// How long an alert posted without `endsAt` stays firing unless posted again
    /// (default 5m).
    #[serde(default = "default_resolve_timeout")]
    pub resolve_timeout: PromDuration,
    /// The HTTP client settings of every integration (accepted; proxies and TLS options
    /// are not applied yet).
    #[serde(default)]
    pub http_config: Option<serde_yaml_ng::Value>,
    /// Default sender address of email.
    #[serde(default)]
    pub smtp_from: Option<String>,
    /// Host name announced to the SMTP server (default localhost).
    #[serde(default)]
    pub smtp_hello: Option<String>,
    /// Default SMTP server, `host:port`.
    #[serde(default)]
    pub smtp_smarthost: Option<String>,
    /// Default SMTP user.
    #[serde(default)]
    pub smtp_auth_username: Option<String>,
    /// Default SMTP password.
    #[serde(default)]
    pub smtp_auth_password: Option<String>,
    /// Default SMTP password, read from a file.
    #[serde(default)]
    pub smtp_auth_password_file: Option<String>,
    /// Default CRAM-MD5 secret.
    #[serde(default)]
    pub smtp_auth_secret: Option<String>,
    /// Default PLAIN identity.
    #[serde(default)]
    pub smtp_auth_identity: Option<String>,
    /// Whether SMTP requires STARTTLS (default true).
    #[serde(default = "yes")]
    pub smtp_require_tls: bool,
    /// Default Slack webhook URL.
    #[serde(default)]
    pub slack_api_url: Option<String>,
    /// Default Slack webhook URL, read from a file.
    #[serde(default)]
    pub slack_api_url_file: Option<String>,
    /// Default WeChat (WeCom) API URL.
    #[serde(default)]
    pub wechat_api_url: Option<String>,
    /// Default WeChat (WeCom) API secret.
    #[serde(default)]
    pub wechat_api_secret: Option<String>,
    /// Default WeChat (WeCom) corp id.
    #[serde(default)]
    pub wechat_api_corp_id: Option<String>,
    /// PagerDuty URL (not delivered to by Taishan).
    #[serde(default)]
    pub pagerduty_url: Option<String>,
    /// OpsGenie URL (not delivered to by Taishan).
    #[serde(default)]
    pub opsgenie_api_url: Option<String>,
    /// OpsGenie key (not delivered to by Taishan).
    #[serde(default)]
    pub opsgenie_api_key: Option<String>,
    /// OpsGenie key file (not delivered to by Taishan).
    #[serde(default)]
    pub opsgenie_api_key_file: Option<String>,
    /// VictorOps URL (not delivered to by Taishan).
    #[serde(default)]
    pub victorops_api_url: Option<String>,
    /// VictorOps key (not delivered to by Taishan).
    #[serde(default)]
    pub victorops_api_key: Option<String>,
    /// VictorOps key file (not delivered to by Taishan).
    #[serde(default)]
    pub victorops_api_key_file: Option<String>,
    /// Telegram API URL (not delivered to by Taishan).
    #[serde(default)]
    pub telegram_api_url: Option<String>,
    /// Webex API URL (not delivered to by Taishan).
    #[serde(default)]
    pub webex_api_url: Option<String>,
}

fn default_resolve_timeout() -> PromDuration {
    PromDuration::from_secs(300)
}

fn yes() -> bool {
    true
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            resolve_timeout: default_resolve_timeout(),
            http_config: None,
            smtp_from: None,
            smtp_hello: None,
            smtp_smarthost: None,
            smtp_auth_username: None,
            smtp_auth_password: None,
            smtp_auth_password_file: None,
            smtp_auth_secret: None,
            smtp_auth_identity: None,
            smtp_require_tls: true,
            slack_api_url: None,
            slack_api_url_file: None,
            wechat_api_url: None,
            wechat_api_secret: None,
            wechat_api_corp_id: None,
            pagerduty_url: None,
            opsgenie_api_url: None,
            opsgenie_api_key: None,
            opsgenie_api_key_file: None,
            victorops_api_url: None,
            victorops_api_key: None,
            victorops_api_key_file: None,
            telegram_api_url: None,
            webex_api_url: None,
        }
    }
}
