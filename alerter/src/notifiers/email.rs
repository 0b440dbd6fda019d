//! `email_configs`: mail over SMTP (through `lettre`), as Alertmanager sends it: a
//! multipart/alternative message with the text part (when `text` is set) and the HTML part,
//! every header a template, the envelope from `from` and `to`. Port 465 speaks TLS from the
//! first byte; any other port upgrades with STARTTLS when `require_tls` (the default) and
//! refuses a server that cannot.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use taishan_core::config::FieldError;

use super::Notification;
use super::{text_or_default, BuildContext, NotificationText, Notifier, NotifierKind, NotifyError};

/// The registration of email.
pub const KIND: NotifierKind = NotifierKind {
    name: "email",
    summary: "mail over SMTP: HTML (and text) parts, templated headers",
    build,
};

/// How long one SMTP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailConfig {
    #[serde(default)]
    send_resolved: bool,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    hello: Option<String>,
    #[serde(default)]
    smarthost: Option<String>,
    #[serde(default)]
    auth_username: Option<String>,
    #[serde(default)]
    auth_password: Option<String>,
    #[serde(default)]
    auth_password_file: Option<String>,
    #[serde(default)]
    auth_secret: Option<String>,
    #[serde(default, rename = "auth_identity")]
    _auth_identity: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    require_tls: Option<bool>,
    #[serde(default)]
    tls_config: Option<SmtpTlsConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpTlsConfig {
    #[serde(default)]
    ca_file: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    insecure_skip_verify: bool,
    #[serde(default)]
    min_version: Option<String>,
}

#[derive(Debug)]
struct Email {
    host: String,
    port: u16,
    hello: String,
    credentials: Option<Credentials>,
    tls: SmtpTls,
    send_resolved: bool,
    to: NotificationText,
    from: NotificationText,
    /// Every header but none twice, names in their canonical case.
    headers: BTreeMap<String, NotificationText>,
    html: Option<NotificationText>,
    text: Option<NotificationText>,
}

/// How the connection is protected.
#[derive(Clone)]
enum SmtpTls {
    /// Plain text all the way (`require_tls: false`).
    None,
    /// STARTTLS, refused when the server does not offer it.
    StartTls(TlsParameters),
    /// TLS from the first byte (port 465).
    Wrapper(TlsParameters),
}

impl std::fmt::Debug for SmtpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls(_) => "STARTTLS",
            SmtpTls::Wrapper(_) => "TLS",
        })
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Notifier>, Vec<FieldError>> {
    let c: EmailConfig = ctx.parse()?;
    let g = ctx.global;
    let Some(to) = c.to.clone().filter(|t| !t.is_empty()) else {
        return Err(ctx.error("to", "missing to address in email config"));
    };
    let Some(from) = c.from.clone().or_else(|| g.smtp_from.clone()) else {
        return Err(ctx.error("from", "missing, and no global smtp_from"));
    };
    let Some(smarthost) = c.smarthost.clone().or_else(|| g.smtp_smarthost.clone()) else {
        return Err(ctx.error("smarthost", "missing, and no global smtp_smarthost"));
    };
    let (host, port) = split_host_port(&smarthost)
        .ok_or_else(|| ctx.error("smarthost", format!("{smarthost:?}: expected host:port")))?;
    let credentials = credentials(ctx, &c)?;
    let require_tls = c.require_tls.unwrap_or(g.smtp_require_tls);
    let tls = tls(
        ctx,
        &host,
        port,
        require_tls,
        c.tls_config.as_ref().unwrap_or(&Default::default()),
    )?;

    let mut errors = Vec::new();
    let mut text = |field: &str, v: &str| ctx.template(field, v).map_err(|e| errors.extend(e)).ok();
    let mut headers = BTreeMap::new();
    for (name, value) in [
        ("From", from.clone()),
        ("To", to.clone()),
        ("Subject", text_or_default(&None, "email", "subject")),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v))
    .chain(
        c.headers
            .iter()
            .map(|(n, v)| (canonical_header(n), v.clone())),
    ) {
        if let Some(t) = text(&format!("headers.{name}"), &value) {
            headers.insert(name, t);
        }
    }
    let html = text("html", &text_or_default(&c.html, "email", "html"));
    let text_part = c.text.as_deref().and_then(|t| text("text", t));
    let (Some(to), Some(from)) = (text("to", &to), text("from", &from)) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Arc::new(Email {
        host,
        port,
        hello: c
            .hello
            .or_else(|| g.smtp_hello.clone())
            .unwrap_or_else(|| "localhost".into()),
        credentials,
        tls,
        send_resolved: c.send_resolved,
        to,
        from,
        headers,
        html: html.filter(|_| c.html.as_deref() != Some("")),
        text: text_part,
    }))
}

fn split_host_port(smarthost: &str) -> Option<(String, u16)> {
    let (host, port) = smarthost.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some(())?;
    Some((host.to_string(), port.parse().ok()?))
}

fn credentials(
    ctx: &BuildContext<'_>,
    c: &EmailConfig,
) -> Result<Option<Credentials>, Vec<FieldError>> {
    let g = ctx.global;
    let username = c
        .auth_username
        .clone()
        .or_else(|| g.smtp_auth_username.clone());
    let password = match (&c.auth_password, &c.auth_password_file) {
        (Some(_), Some(_)) => {
            return Err(ctx.error(
                "auth_password",
                "at most one of auth_password & auth_password_file must be configured",
            ))
        }
        (Some(p), None) => Some(p.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map(|t| t.trim().to_string())
                .map_err(|e| ctx.error("auth_password_file", format!("cannot read {f}: {e}")))?,
        ),
        (None, None) => g.smtp_auth_password.clone().or_else(|| {
            g.smtp_auth_password_file
                .as_ref()
                .and_then(|f| std::fs::read_to_string(f).ok())
                .map(|t| t.trim().to_string())
        }),
    };
    let secret = c.auth_secret.clone().or_else(|| g.smtp_auth_secret.clone());
    match (username, password) {
        (None, _) => Ok(None),
        // auth_identity (PLAIN's authorization identity) is accepted and not sent: lettre
        // authenticates as the user, which is what an empty identity means.
        (Some(user), Some(password)) => Ok(Some(Credentials::new(user, password))),
        (Some(_), None) if secret.is_some() => Err(ctx.error(
            "auth_secret",
            "CRAM-MD5 is not supported by Taishan; set auth_password (PLAIN or LOGIN) instead",
        )),
        (Some(_), None) => {
            Err(ctx.error("auth_password", "auth_username is set without a password"))
        }
    }
}

fn tls(
    ctx: &BuildContext<'_>,
    host: &str,
    port: u16,
    require_tls: bool,
    t: &SmtpTlsConfig,
) -> Result<SmtpTls, Vec<FieldError>> {
    if port != 465 && !require_tls {
        return Ok(SmtpTls::None);
    }
    if t.cert_file.is_some() || t.key_file.is_some() {
        return Err(ctx.error(
            "tls_config",
            "client certificates for SMTP are not supported by Taishan",
        ));
    }
    if t.min_version
        .as_deref()
        .is_some_and(|v| v != "TLS12" && v != "TLS13")
    {
        return Err(ctx.error("tls_config.min_version", "Taishan speaks TLS12 and TLS13"));
    }
    let mut b = TlsParameters::builder(t.server_name.clone().unwrap_or_else(|| host.to_string()))
        .dangerous_accept_invalid_certs(t.insecure_skip_verify);
    if let Some(file) = &t.ca_file {
        let pem = std::fs::read(file)
            .map_err(|e| ctx.error("tls_config.ca_file", format!("cannot read {file}: {e}")))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            ctx.error(
                "tls_config.ca_file",
                format!("{file}: not a PEM certificate: {e}"),
            )
        })?;
        b = b.add_root_certificate(cert);
    }
    let params = b
        .build_rustls()
        .map_err(|e| ctx.error("tls_config", format!("cannot set up TLS: {e}")))?;
    Ok(if port == 465 {
        SmtpTls::Wrapper(params)
    } else {
        SmtpTls::StartTls(params)
    })
}

/// `x-priority` → `X-Priority`, as Go's textproto canonicalizes header names.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn refused(message: String) -> NotifyError {
    NotifyError {
        retryable: false,
        status: None,
        message,
    }
}

impl Email {
    fn message(&self, n: &Notification) -> Result<Message, NotifyError> {
        let from_text = self.from.render(n)?;
        let to_text = self.to.render(n)?;
        let envelope_from: Mailbox = from_text
            .parse()
            .map_err(|e| refused(format!("parse 'from' address {from_text:?}: {e}")))?;
        let recipients: Mailboxes = to_text
            .parse()
            .map_err(|e| refused(format!("parse 'to' addresses {to_text:?}: {e}")))?;
        let envelope = Envelope::new(
            Some(envelope_from.email.clone()),
            recipients.iter().map(|m| m.email.clone()).collect(),
        )
        .map_err(|e| refused(format!("the envelope: {e}")))?;

        // A fresh Message-ID each time, as Alertmanager does: a repeat is a new mail.
        let mut builder = Message::builder()
            .envelope(envelope)
            .message_id(None)
            .date(UNIX_EPOCH + Duration::from_millis(u64::try_from(n.at_ms).unwrap_or(0)));
        let mut raw = Vec::new();
        for (name, text) in &self.headers {
            let value = text.render(n)?;
            builder = match name.as_str() {
                "From" => builder.from(
                    value
                        .parse()
                        .map_err(|e| refused(format!("the From header {value:?}: {e}")))?,
                ),
                "To" => {
                    let to: Mailboxes = value
                        .parse()
                        .map_err(|e| refused(format!("the To header {value:?}: {e}")))?;
                    to.into_iter().fold(builder, |b, m| b.to(m))
                }
                "Subject" => builder.subject(value),
                _ => {
                    raw.push((name.clone(), value));
                    builder
                }
            };
        }
        let body = self.body(n)?;
        let mut message = builder
            .multipart(body)
            .map_err(|e| refused(format!("building the message: {e}")))?;
        for (name, value) in raw {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| refused(format!("{name:?} is not a header name")))?;
            message
                .headers_mut()
                .insert_raw(HeaderValue::new(name, value));
        }
        Ok(message)
    }

    fn body(&self, n: &Notification) -> Result<MultiPart, NotifyError> {
        let mut parts = MultiPart::alternative().build();
        if let Some(text) = &self.text {
            parts = parts.singlepart(SinglePart::plain(text.render(n)?));
        }
        if let Some(html) = &self.html {
            parts = parts.singlepart(SinglePart::html(html.render_html(n)?));
        }
        Ok(parts)
    }

    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .hello_name(ClientId::Domain(self.hello.clone()))
            .timeout(Some(COMMAND_TIMEOUT))
            .tls(match &self.tls {
                SmtpTls::None => Tls::None,
                SmtpTls::StartTls(p) => Tls::Required(p.clone()),
                SmtpTls::Wrapper(p) => Tls::Wrapper(p.clone()),
            });
        if let Some(c) = &self.credentials {
            b = b
                .credentials(c.clone())
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        b.build()
    }
}

#[async_trait]
impl Notifier for Email {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    async fn notify(&self, n: &Notification) -> Result<u16, NotifyError> {
        let message = self.message(n)?;
        match self.transport().send(message).await {
            Ok(response) => Ok(u16::from(response.code())),
            Err(e) => Err(NotifyError {
                // A 5xx answer (a refused recipient, bad credentials) will not change.
                retryable: !e.is_permanent(),
                status: e.status().map(u16::from),
                message: format!("SMTP {}:{}: {e}", self.host, self.port),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smarthosts_and_header_names_read_as_alertmanager_reads_them() {
        assert_eq!(
            split_host_port("smtp.example.org:587"),
            Some(("smtp.example.org".into(), 587))
        );
        assert_eq!(split_host_port("[::1]:25"), Some(("::1".into(), 25)));
        assert_eq!(split_host_port("smtp.example.org"), None);
        assert_eq!(split_host_port(":25"), None);
        assert_eq!(canonical_header("x-priority"), "X-Priority");
        assert_eq!(canonical_header("REPLY-TO"), "Reply-To");
    }
}
