//! The email notifier against a real SMTP server (aiosmtpd, from the test venv): the
//! envelope, the login, the headers and both MIME parts exactly, HTML escaping of what
//! alerts carry, the resolved notice, and a refused recipient recorded as a failed attempt
//! that is not retried within its flush.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::{client, free_port, otel_python, wait_for, with_retries, StartError, Taishan};

/// aiosmtpd on a free loopback port, its messages collected as they arrive.
struct SmtpSink {
    child: Child,
    port: u16,
    messages: Arc<Mutex<Vec<Value>>>,
}

impl SmtpSink {
    fn start(user: &str, password: &str) -> Self {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let (child, port, lines) = with_retries("the SMTP sink", || {
            let port = free_port();
            let mut child = Command::new(otel_python())
                .arg(&script)
                .args([&port.to_string(), user, password])
                .stdout(Stdio::piped())
                .spawn()
                .expect("starting the SMTP sink");
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            match lines.next().and_then(Result::ok).as_deref() {
                Some("ready") => Ok((child, port, lines)),
                Some("port-taken") => {
                    let _ = child.wait();
                    Err(StartError::PortTaken(format!("127.0.0.1:{port} in use")))
                }
                other => panic!("the SMTP sink did not start: {other:?}"),
            }
        });
        let messages = Arc::new(Mutex::new(Vec::new()));
        let collected = messages.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                collected
                    .lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        Self {
            child,
            port,
            messages,
        }
    }

    fn message(&self, n: usize) -> Value {
        wait_for(
            &format!("mail number {}", n + 1),
            Duration::from_secs(30),
            || self.messages.lock().unwrap().get(n).cloned(),
        )
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header<'a>(m: &'a Value, name: &str) -> &'a str {
    m["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == name)
        .and_then(|h| h[1].as_str())
        .unwrap_or_else(|| panic!("no {name} header in {m}"))
}

fn post_alerts(t: &Taishan, alerts: Value) {
    let resp = client()
        .post(format!("{}/api/v2/alerts", t.alerter))
        .json(&alerts)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().unwrap());
}

#[test]
fn mail_reaches_an_smtp_server_with_alertmanagers_message() {
    let smtp = SmtpSink::start("alerter", "s3cret");
    let dir = tempfile::tempdir().unwrap();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am,
        format!(
            r#"global:
  smtp_smarthost: 127.0.0.1:{port}
  smtp_from: Taishan <taishan@bank.example>
  smtp_auth_username: alerter
  smtp_auth_password: s3cret
  smtp_require_tls: false
  smtp_hello: alerter.bank.example
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  routes:
    - matchers: [team="nobody"]
      receiver: refused
receivers:
  - name: mail
    email_configs:
      - to: oncall@bank.example, sre@bank.example
        send_resolved: true
        headers:
          x-priority: '{{{{ if eq .Status "firing" }}}}1{{{{ else }}}}5{{{{ end }}}}'
        text: |-
          {{{{ range .Alerts }}}}{{{{ .Labels.alertname }}}} on {{{{ .Labels.instance }}}} since {{{{ .StartsAt.Format "2006-01-02 15:04:05" }}}}: {{{{ .Annotations.summary }}}}
          {{{{ end }}}}
  - name: refused
    email_configs:
      - to: refuse@bank.example
"#,
            port = smtp.port
        ),
    )
    .unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        &format!("alerter:\n  config_file: {}\n", am.display()),
    );

    post_alerts(
        &t,
        json!([{
            "labels": {"alertname": "PaymentsFailing", "instance": "pay-1"},
            "annotations": {"summary": "<b>bank-a</b> refuses transfers"},
            "startsAt": "2026-12-02T10:11:12Z",
        }]),
    );
    let m = smtp.message(0);
    assert_eq!(m["mail_from"], "taishan@bank.example", "{m}");
    assert_eq!(
        m["rcpt_tos"],
        json!(["oncall@bank.example", "sre@bank.example"])
    );
    assert_eq!(m["login"], "alerter");
    assert_eq!(m["hello"], "alerter.bank.example");
    assert_eq!(header(&m, "Subject"), "[FIRING:1] PaymentsFailing (pay-1)");
    assert_eq!(header(&m, "From"), "Taishan <taishan@bank.example>");
    assert_eq!(header(&m, "To"), "oncall@bank.example, sre@bank.example");
    assert_eq!(header(&m, "X-Priority"), "1");
    assert!(!header(&m, "Message-ID").is_empty());
    assert_eq!(m["content_type"], "multipart/alternative");
    let parts = m["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{m}");
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(
        parts[0]["body"].as_str().unwrap().trim_end(),
        "PaymentsFailing on pay-1 since 2026-12-02 10:11:12: <b>bank-a</b> refuses transfers"
    );
    assert_eq!(parts[1]["type"], "text/html");
    let html = parts[1]["body"].as_str().unwrap();
    assert!(
        html.contains("&lt;b&gt;bank-a&lt;/b&gt; refuses transfers"),
        "the annotation is escaped in HTML: {html}"
    );
    assert!(!html.contains("<b>bank-a"), "{html}");
    assert!(html.contains("since 2026-12-02 10:11:12 UTC"), "{html}");
    assert!(html.contains("1 firing"), "{html}");

    // Resolved: a second mail, with the resolved subject and priority.
    post_alerts(
        &t,
        json!([{
            "labels": {"alertname": "PaymentsFailing", "instance": "pay-1"},
            "annotations": {"summary": "<b>bank-a</b> refuses transfers"},
            "startsAt": "2026-12-02T10:11:12Z",
            "endsAt": "2026-12-02T10:20:00Z",
        }]),
    );
    let resolved = smtp.message(1);
    assert_eq!(
        header(&resolved, "Subject"),
        "[RESOLVED] PaymentsFailing (pay-1)"
    );
    assert_eq!(header(&resolved, "X-Priority"), "5");

    // A recipient the server refuses (550): recorded with SMTP's status and reason, never
    // retried within a flush (a permanent error), tried again only at the group's next
    // flush, as Alertmanager does; nothing is mailed.
    post_alerts(
        &t,
        json!([{"labels": {"alertname": "Orphan", "team": "nobody"}}]),
    );
    let attempts = wait_for("two flushes' attempts", Duration::from_secs(30), || {
        let all: Value = client()
            .get(format!("{}/api/taishan/v1/notifications", t.alerter))
            .query(&[("receiver", "refused")])
            .send()
            .unwrap()
            .json()
            .unwrap();
        let rows = all["data"]["attempts"].as_array()?.clone();
        (rows.len() >= 2).then_some(rows)
    });
    for a in &attempts {
        assert_eq!(a["status"], 550, "{a}");
        assert_eq!(a["attempt"], 1, "a permanent error is not retried: {a}");
        assert!(
            a["error"].as_str().unwrap().contains("no such mailbox"),
            "{a}"
        );
    }
    let gap = attempts[0]["atMs"].as_i64().unwrap() - attempts[1]["atMs"].as_i64().unwrap();
    assert!(gap >= 900, "one attempt per group interval, {gap} ms apart");
    assert_eq!(smtp.messages.lock().unwrap().len(), 2);
}
