//! The email channel against a real SMTP sink on 127.0.0.1 that speaks STARTTLS (or
//! implicit TLS) with a certificate from a test CA, which the channel trusts through
//! `ca_file`. Messages are read back with a real MIME parser.

use crate::support::{
    Captured, SinkTls, SmtpSink, TestCa, channel, notice, notifier, refusing_address, text, with,
};
use continuo_core::Lang;
use continuo_core::catalog::Channel;
use continuo_notify::{NoticeEvent, SendErrorKind};
use mail_parser::{MessageParser, MimeHeaders};

/// An email channel to `sink`, trusting `ca`, with extra `fields`.
fn email_channel(sink: &SmtpSink, ca_file: Option<&std::path::Path>, fields: &str) -> Channel {
    let channel = channel(&format!(
        "id = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nfrom = \"Continuo <alerts@example.com>\"\nto = [\"ops@example.com\", \"Duty Manager <duty@example.com>\"]\n{fields}",
        sink.addr.port()
    ));
    match ca_file {
        Some(path) => with(channel, "ca_file", text(&path.display().to_string())),
        None => channel,
    }
}

/// The one message the sink has.
#[track_caller]
fn only(sink: &SmtpSink) -> Captured {
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "expected one message: {messages:#?}");
    messages[0].clone()
}

fn header<'a>(message: &'a mail_parser::Message<'a>, name: &'a str) -> &'a str {
    message
        .header_raw(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .trim()
}

#[tokio::test]
async fn dutch_email_to_the_recipient_over_starttls() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca_file = ca.write(dir.path());
    let sink = SmtpSink::start(&ca, SinkTls::StartTls, None).await;
    let mail = notifier(&email_channel(
        &sink,
        Some(&ca_file),
        "username = \"continuo\"\npassword = \"pa55\"",
    ));
    let notice = notice(NoticeEvent::Firing, Lang::Nl);
    let delivered = mail.send(&notice).await.expect("delivered");
    assert_eq!(delivered.detail, "250 2.0.0 Ok: queued as Q1");

    let captured = only(&sink);
    assert!(captured.over_tls, "STARTTLS was used");
    assert_eq!(
        captured.auth,
        Some(("continuo".to_string(), "pa55".to_string()))
    );
    assert_eq!(captured.mail_from, "<alerts@example.com>");
    // The person, not the channel's list.
    assert_eq!(captured.rcpt_to, ["<alice@example.com>"]);

    let raw = String::from_utf8_lossy(&captured.data);
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let message = MessageParser::default()
        .parse(&captured.data)
        .expect("a MIME message");
    assert_eq!(
        message.subject(),
        Some("[STORING] Payments API ligt eruit — raakt Checkout, Webshop")
    );
    let to = message.to().and_then(|a| a.first()).expect("a To address");
    assert_eq!(to.address(), Some("alice@example.com"));
    assert_eq!(to.name(), Some("Alice de Vries"));
    assert_eq!(message.message_id(), Some("n.n-firing-nl@example.com"));
    assert_eq!(
        header(&message, "References"),
        "<alert.payments-42@example.com>"
    );
    assert_eq!(header(&message, "Content-Language"), "nl");
    assert_eq!(header(&message, "Auto-Submitted"), "auto-generated");
    assert_eq!(header(&message, "X-Continuo-Event"), "firing");

    // One text/plain and one text/html part, both in Dutch.
    let parts: Vec<String> = message
        .parts
        .iter()
        .filter_map(|p| p.content_type())
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
        .collect();
    assert_eq!(parts, ["multipart/alternative", "text/plain", "text/html"]);
    let plain = message.body_text(0).expect("text part");
    assert!(
        plain.starts_with("Payments API ligt eruit: connection refused"),
        "{plain}"
    );
    assert!(plain.contains("Bevestigen: https://continuo.example.com/ack/example-token"));
    let html = message.body_html(0).expect("html part");
    assert!(html.contains("<html lang=\"nl\">"), "{html}");
    assert!(html.contains("Bevestigen"));
}

#[tokio::test]
async fn english_email_without_recipient_goes_to_the_channel_list() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca_file = ca.write(dir.path());
    let sink = SmtpSink::start(&ca, SinkTls::StartTls, None).await;
    let mail = notifier(&email_channel(&sink, Some(&ca_file), ""));
    let mut notice = notice(NoticeEvent::Resolved, Lang::En);
    notice.recipient = None;
    mail.send(&notice).await.expect("delivered");

    let captured = only(&sink);
    assert_eq!(captured.auth, None);
    assert_eq!(
        captured.rcpt_to,
        ["<ops@example.com>", "<duty@example.com>"]
    );
    let message = MessageParser::default()
        .parse(&captured.data)
        .expect("a MIME message");
    assert_eq!(
        message.subject(),
        Some("[RESOLVED] Payments API is back up after 12m 5s")
    );
    let to: Vec<&str> = message
        .to()
        .expect("To")
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, ["ops@example.com", "duty@example.com"]);
    assert!(
        message
            .body_text(0)
            .expect("text")
            .contains("It was down for 12m 5s")
    );
    assert!(
        message
            .body_html(0)
            .expect("html")
            .contains("<html lang=\"en\">")
    );
}

/// A resend carries the same Message-ID, so mail systems and readers can drop it.
#[tokio::test]
async fn resend_has_the_same_message_id() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca_file = ca.write(dir.path());
    let sink = SmtpSink::start(&ca, SinkTls::StartTls, None).await;
    let mail = notifier(&email_channel(&sink, Some(&ca_file), ""));
    let notice = notice(NoticeEvent::Firing, Lang::En);
    mail.send(&notice).await.expect("delivered");
    mail.send(&notice).await.expect("delivered");
    let ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(&m.data)
                .and_then(|p| p.message_id().map(str::to_string))
                .expect("a Message-ID")
        })
        .collect();
    assert_eq!(
        ids,
        ["n.n-firing-en@example.com", "n.n-firing-en@example.com"]
    );
}

#[tokio::test]
async fn implicit_tls() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca_file = ca.write(dir.path());
    let sink = SmtpSink::start(&ca, SinkTls::Implicit, None).await;
    let mail = notifier(&email_channel(
        &sink,
        Some(&ca_file),
        "tls = \"tls\"\nusername = \"u\"\npassword = \"p\"",
    ));
    mail.send(&notice(NoticeEvent::Test, Lang::En))
        .await
        .expect("delivered");
    let captured = only(&sink);
    assert!(captured.over_tls);
    assert_eq!(captured.auth, Some(("u".to_string(), "p".to_string())));
}

#[tokio::test]
async fn plain_relay_without_tls() {
    let ca = TestCa::new();
    let sink = SmtpSink::start(&ca, SinkTls::None, None).await;
    let mail = notifier(&email_channel(&sink, None, "tls = \"none\""));
    mail.send(&notice(NoticeEvent::Test, Lang::Nl))
        .await
        .expect("delivered");
    let captured = only(&sink);
    assert!(!captured.over_tls);
    let message = MessageParser::default()
        .parse(&captured.data)
        .expect("a MIME message");
    assert_eq!(
        message.subject(),
        Some("[TEST] Testmelding van Continuo voor Acme Retail")
    );
}

/// SMTP's own answer decides: 5xx is final, 4xx is worth another try.
#[tokio::test]
async fn smtp_replies_decide_whether_to_retry() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca_file = ca.write(dir.path());
    let cases = [
        ("550 5.1.1 no such user", SendErrorKind::Permanent),
        ("451 4.3.0 try again later", SendErrorKind::Retryable),
    ];
    for (reply, kind) in cases {
        let sink = SmtpSink::start(&ca, SinkTls::StartTls, Some(reply)).await;
        let mail = notifier(&email_channel(&sink, Some(&ca_file), ""));
        let error = mail
            .send(&notice(NoticeEvent::Firing, Lang::En))
            .await
            .expect_err("refused");
        assert_eq!(error.kind, kind, "{reply}: {error:?}");
        let text = reply.split_once(' ').map(|(_, t)| t).unwrap_or(reply);
        assert!(error.message.contains(text), "{reply}: {}", error.message);
        assert!(sink.messages().is_empty());
    }
}

/// Without `ca_file` the test CA is unknown: STARTTLS fails, and nothing is sent in
/// plain text instead.
#[tokio::test]
async fn untrusted_certificate_is_not_bypassed() {
    let ca = TestCa::new();
    let sink = SmtpSink::start(&ca, SinkTls::StartTls, None).await;
    let mail = notifier(&email_channel(&sink, None, ""));
    let error = mail
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect_err("untrusted");
    assert_eq!(error.kind, SendErrorKind::Retryable, "{error:?}");
    assert!(
        error.message.to_lowercase().contains("certificate"),
        "{}",
        error.message
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn unreachable_server_is_retryable() {
    let addr = refusing_address().await;
    let mail = notifier(&channel(&format!(
        "id = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nfrom = \"alerts@example.com\"\nto = \"ops@example.com\"",
        addr.port()
    )));
    let error = mail
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect_err("nothing listens");
    assert_eq!(error.kind, SendErrorKind::Retryable, "{error:?}");
}
