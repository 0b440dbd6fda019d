//! The config as the status API shows it: every secret replaced by `<secret>`, as
//! Alertmanager shows its own, so reading the status (a viewer may) never gives away a
//! receiver's password, API key or token-bearing URL.

use serde_yaml_ng::Value;
use taishan_core::secret::MASK;

/// `original` (the file as written) with its secrets masked; a file that no longer parses
/// (it was checked when loaded, so never in practice) shows nothing rather than its text.
pub fn masked(original: &str) -> String {
    let Ok(mut root) = serde_yaml_ng::from_str::<Value>(original) else {
        return String::new();
    };
    mask(&mut root, None);
    serde_yaml_ng::to_string(&root).unwrap_or_default()
}

fn mask(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                mask(v, k.as_str());
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|v| mask(v, key)),
        Value::String(text) if key.is_some_and(|k| is_secret(k, text)) => {
            *value = Value::String(MASK.to_string());
        }
        _ => {}
    }
}

/// Passwords, keys, tokens and secrets by name (not their `_file` variants, which hold
/// paths); URLs that carry credentials (a robot's `access_token`, userinfo) or are
/// secrets in Alertmanager's own types (`api_url`, Slack's and WeChat's).
fn is_secret(key: &str, text: &str) -> bool {
    if key.ends_with("_file") {
        return false;
    }
    let named = ["password", "secret", "token", "credentials"]
        .iter()
        .any(|w| key.contains(w))
        || key.ends_with("_key")
        || key == "key"
        || key.ends_with("api_url");
    let url_with_credentials = key.ends_with("url") && (text.contains('?') || text.contains('@'));
    named || url_with_credentials
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_the_rest_kept() {
        let original = "global:\n  smtp_auth_password: hunter2\n  smtp_from: a@example.com\n  slack_api_url: https://hooks.slack.com/T/B/X\nreceivers:\n  - name: ops\n    webhook_configs:\n      - url: https://oapi.dingtalk.com/robot/send?access_token=abc\n      - url: http://127.0.0.1:5001/hook\n        http_config:\n          authorization: {credentials: tok}\n          basic_auth: {username: u, password: p, password_file: /etc/p}\n    pagerduty_configs:\n      - routing_key: rk\n";
        let shown = masked(original);
        for secret in [
            "hunter2",
            "slack.com/T",
            "access_token",
            "tok\n",
            "password: p\n",
            "rk",
        ] {
            assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
        }
        for kept in [
            "smtp_from: a@example.com",
            "http://127.0.0.1:5001/hook",
            "username: u",
            "/etc/p",
            "name: ops",
        ] {
            assert!(shown.contains(kept), "{kept} missing from:\n{shown}");
        }
        assert_eq!(shown.matches(MASK).count(), 6, "{shown}");
    }
}
