//! Every HTTP channel against a real receiver on 127.0.0.1: method, path, headers and
//! payload as the receiver saw them, and what each kind of failure means for a retry.

use crate::support::{
    Answer, Receiver, TestCa, channel, https_server, notice, notifier, refusing_address,
    silent_server, text, with,
};
use base64::Engine as _;
use continuo_core::Lang;
use continuo_notify::{NoticeEvent, SendErrorKind};
use hmac::{KeyInit, Mac};
use std::time::Duration;

fn webhook(receiver: &Receiver, extra: &str) -> continuo_core::catalog::Channel {
    channel(&format!(
        "id = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n{extra}",
        receiver.url("/hooks/continuo")
    ))
}

#[tokio::test]
async fn webhook_posts_the_versioned_payload_signed() {
    let receiver = Receiver::start().await;
    let hook = notifier(&webhook(
        &receiver,
        "secret = \"s3cret\"\nheaders = { X-Team = \"ops\" }",
    ));
    let notice = notice(NoticeEvent::Firing, Lang::En);
    let delivered = hook.send(&notice).await.expect("delivered");
    assert_eq!(delivered.detail, "HTTP 200 OK");

    let request = receiver.only();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/continuo");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("idempotency-key"), "n-firing-en");
    assert_eq!(request.header("x-team"), "ops");
    assert_eq!(request.header("x-continuo-event"), "firing");
    assert!(request.header("user-agent").starts_with("Continuo/"));

    let body = request.json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["idempotency_key"], "n-firing-en");
    assert_eq!(body["alert_key"], "payments-42");
    assert_eq!(body["event"], "firing");
    assert_eq!(body["language"], "en");
    assert_eq!(body["organization"], "Acme Retail");
    assert_eq!(body["service"]["id"], "payments");
    assert_eq!(body["service"]["tier"], 1);
    assert_eq!(body["impacted"][1]["name"], "Webshop");
    assert_eq!(body["summary"], "connection refused");
    assert_eq!(body["started_at"], "2026-11-25T13:03:00Z");
    assert_eq!(body["started_ms"], 1_795_611_780_000_i64);
    assert_eq!(body["at"], "2026-11-25T13:15:05Z");
    assert_eq!(body["timezone"], "Europe/Amsterdam");
    assert_eq!(body["level"], 1);
    assert_eq!(
        body["ack_url"],
        "https://continuo.example.com/ack/example-token"
    );
    assert_eq!(body["recipient"]["phone"], "+31612345678");
    assert_eq!(
        body["title"],
        "[FIRING] Payments API is down — impacts Checkout, Webshop"
    );
    assert!(
        body["text"]
            .as_str()
            .expect("text")
            .starts_with("Payments API is down: connection refused")
    );

    // The signature verifies with the shared secret over "<timestamp>.<body>", computed
    // here independently of the crate.
    let timestamp = request.header("x-continuo-timestamp");
    let sent_at: i64 = timestamp.parse().expect("unix seconds");
    assert!((jiff::Timestamp::now().as_second() - sent_at).abs() < 300);
    let signature = request.header("x-continuo-signature");
    let hex = signature.strip_prefix("sha256=").expect("sha256= prefix");
    let expected: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").expect("key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    mac.verify_slice(&expected).expect("the signature verifies");
    let mut wrong = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"other").expect("key");
    wrong.update(timestamp.as_bytes());
    wrong.update(b".");
    wrong.update(&request.body);
    assert!(wrong.verify_slice(&expected).is_err());
}

#[tokio::test]
async fn webhook_method_override_and_no_signature_without_secret() {
    let receiver = Receiver::start().await;
    let hook = notifier(&webhook(&receiver, "method = \"PUT\""));
    let mut notice = notice(NoticeEvent::Resolved, Lang::Nl);
    notice.ack_url = None;
    notice.recipient = None;
    hook.send(&notice).await.expect("delivered");
    let request = receiver.only();
    assert_eq!(request.method, "PUT");
    assert!(request.headers.get("x-continuo-signature").is_none());
    assert!(request.headers.get("x-continuo-timestamp").is_none());
    let body = request.json();
    assert_eq!(body["event"], "resolved");
    assert_eq!(
        body["title"],
        "[OPGELOST] Payments API werkt weer na 12m 5s"
    );
    assert!(body["ack_url"].is_null() && body["recipient"].is_null());
}

/// A resend of the same notice carries the same key, so the receiver can deduplicate.
#[tokio::test]
async fn resend_carries_the_same_idempotency_key() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(503, "busy"));
    let hook = notifier(&webhook(&receiver, ""));
    let notice = notice(NoticeEvent::Firing, Lang::En);
    assert!(hook.send(&notice).await.is_err());
    hook.send(&notice)
        .await
        .expect("delivered on the second try");
    let keys: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| {
            r.json()["idempotency_key"]
                .as_str()
                .expect("key")
                .to_string()
        })
        .collect();
    let headers: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| r.header("idempotency-key").to_string())
        .collect();
    assert_eq!(keys, ["n-firing-en", "n-firing-en"]);
    assert_eq!(headers, keys);
}

/// What each answer means: (answer, kind, retry_after, words in the message).
#[tokio::test]
async fn answers_decide_whether_to_retry() {
    let cases = [
        (
            Answer::new(429, "slow down").header("retry-after", "7"),
            SendErrorKind::Retryable,
            Some(Duration::from_secs(7)),
            "HTTP 429 Too Many Requests: slow down",
        ),
        (
            Answer::new(500, "oops"),
            SendErrorKind::Retryable,
            None,
            "HTTP 500 Internal Server Error: oops",
        ),
        (
            Answer::new(503, "").header("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"),
            SendErrorKind::Retryable,
            Some(Duration::ZERO),
            "HTTP 503 Service Unavailable",
        ),
        (
            Answer::new(408, ""),
            SendErrorKind::Retryable,
            None,
            "HTTP 408 Request Timeout",
        ),
        (
            Answer::new(400, "{\"error\": \"invalid payload\"}"),
            SendErrorKind::Permanent,
            None,
            "HTTP 400 Bad Request: {\"error\": \"invalid payload\"}",
        ),
        (
            Answer::new(404, "no such hook"),
            SendErrorKind::Permanent,
            None,
            "HTTP 404 Not Found: no such hook",
        ),
        (
            Answer::new(301, "").header("location", "https://new.example.com/hook"),
            SendErrorKind::Permanent,
            None,
            "HTTP 301 Moved Permanently: redirected to https://new.example.com/hook; set the channel's url to the final address",
        ),
    ];
    let receiver = Receiver::start().await;
    let hook = notifier(&webhook(&receiver, ""));
    let notice = notice(NoticeEvent::Firing, Lang::En);
    for (answer, kind, retry_after, message) in cases {
        receiver.answer(answer);
        let error = hook.send(&notice).await.expect_err("not delivered");
        assert_eq!(error.kind, kind, "{error:?}");
        assert_eq!(error.retry_after, retry_after, "{error:?}");
        assert_eq!(error.message, message);
    }
    // Every answer came from a request: nothing was retried inside the crate.
    assert_eq!(receiver.requests().len(), 7);
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    let addr = refusing_address().await;
    let hook = notifier(&channel(&format!(
        "id = \"hook\"\nkind = \"webhook\"\nurl = \"http://{addr}/secret-path\""
    )));
    let error = hook
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect_err("nothing listens");
    assert_eq!(error.kind, SendErrorKind::Retryable, "{error:?}");
    assert!(
        error.message.starts_with("cannot connect"),
        "{}",
        error.message
    );
    // Webhook URLs are secrets: they stay out of messages that end up in logs.
    assert!(!error.message.contains("secret-path"), "{}", error.message);
}

#[tokio::test]
async fn a_silent_receiver_times_out_retryably() {
    let (addr, _server) = silent_server().await;
    let hook = notifier(&with(
        channel(&format!(
            "id = \"hook\"\nkind = \"webhook\"\nurl = \"http://{addr}/\""
        )),
        "timeout",
        text("300ms"),
    ));
    assert_eq!(hook.timeout(), Duration::from_millis(300));
    let error = hook
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect_err("no answer");
    assert_eq!(error.kind, SendErrorKind::Retryable, "{error:?}");
    assert!(error.message.contains("timed out"), "{}", error.message);
}

/// HTTPS to a server whose certificate a private CA signed: trusted with `ca_file`, and
/// refused (retryably, the certificate may be fixed) without it.
#[tokio::test]
async fn https_with_a_private_ca() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca_file = ca.write(dir.path());
    let (addr, heads) = https_server(&ca).await;
    let fields = format!(
        "id = \"hook\"\nkind = \"webhook\"\nurl = \"https://127.0.0.1:{}/tls\"",
        addr.port()
    );

    let trusted = notifier(&with(
        channel(&fields),
        "ca_file",
        text(&ca_file.display().to_string()),
    ));
    let delivered = trusted
        .send(&notice(NoticeEvent::Test, Lang::En))
        .await
        .expect("delivered over TLS");
    assert_eq!(delivered.detail, "HTTP 200 OK");
    assert!(heads.lock().expect("lock")[0].starts_with("POST /tls HTTP/1.1"));

    let untrusted = notifier(&channel(&fields));
    let error = untrusted
        .send(&notice(NoticeEvent::Test, Lang::En))
        .await
        .expect_err("unknown issuer");
    assert_eq!(error.kind, SendErrorKind::Retryable, "{error:?}");
    assert!(
        error.message.to_lowercase().contains("certificate"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn slack_incoming_webhook() {
    let receiver = Receiver::start().await;
    let slack = notifier(&channel(&format!(
        "id = \"chat\"\nkind = \"slack\"\nurl = \"{}\"",
        receiver.url("/services/T0/B0/XYZ")
    )));
    let mut notice = notice(NoticeEvent::Firing, Lang::Nl);
    notice.summary = "<!channel> & <https://evil.example|click>".into();
    slack.send(&notice).await.expect("delivered");
    let request = receiver.only();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/services/T0/B0/XYZ");
    assert_eq!(request.header("idempotency-key"), "n-firing-nl");
    let body = request.json();
    assert_eq!(
        body["text"],
        "[STORING] Payments API ligt eruit — raakt Checkout, Webshop"
    );
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body["blocks"][0]["text"]["text"], body["text"]);
    let section = body["blocks"][1]["text"]["text"].as_str().expect("section");
    assert!(
        section.starts_with(
            "Payments API ligt eruit: &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
        ),
        "{section}"
    );
    assert!(section.contains("Bevestigen: https://continuo.example.com/ack/example-token"));
    let button = &body["blocks"][2]["elements"][0];
    assert_eq!(button["text"]["text"], "Bevestigen");
    assert_eq!(
        button["url"],
        "https://continuo.example.com/ack/example-token"
    );
}

#[tokio::test]
async fn teams_adaptive_card() {
    let receiver = Receiver::start().await;
    let teams = notifier(&channel(&format!(
        "id = \"teams\"\nkind = \"teams\"\nurl = \"{}\"",
        receiver.url("/workflows/abc/triggers/manual/paths/invoke?sig=s")
    )));
    teams
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect("delivered");
    teams
        .send(&notice(NoticeEvent::Resolved, Lang::Nl))
        .await
        .expect("delivered");
    let requests = receiver.requests();
    assert_eq!(
        requests[0].path,
        "/workflows/abc/triggers/manual/paths/invoke"
    );
    assert_eq!(requests[0].query.as_deref(), Some("sig=s"));
    let body = requests[0].json();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(
        card["body"][0]["text"],
        "[FIRING] Payments API is down — impacts Checkout, Webshop"
    );
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(
        card["body"][1]["text"],
        "Payments API is down: connection refused"
    );
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["actions"][0]["title"], "Acknowledge");
    assert_eq!(
        card["actions"][0]["url"],
        "https://continuo.example.com/ack/example-token"
    );
    let resolved = &requests[1].json()["attachments"][0]["content"];
    assert_eq!(resolved["body"][0]["color"], "Good");
    assert_eq!(
        resolved["body"][0]["text"],
        "[OPGELOST] Payments API werkt weer na 12m 5s"
    );
    assert_eq!(resolved["actions"][0]["title"], "Bevestigen");
}

#[tokio::test]
async fn pagerduty_events_v2() {
    let receiver = Receiver::start().await;
    for _ in 0..4 {
        receiver.answer(Answer::new(
            202,
            "{\"status\":\"success\",\"message\":\"Event processed\",\"dedup_key\":\"payments-42\"}",
        ));
    }
    let pd = notifier(&channel(&format!(
        "id = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"R0UT1NG\"\nurl = \"{}\"",
        receiver.url("")
    )));
    let delivered = pd
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect("delivered");
    assert_eq!(delivered.detail, "HTTP 202 Accepted");
    for event in [
        NoticeEvent::Acknowledged,
        NoticeEvent::Resolved,
        NoticeEvent::Test,
    ] {
        pd.send(&notice(event, Lang::En)).await.expect("delivered");
    }
    let requests = receiver.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.path == "/v2/enqueue" && r.method == "POST")
    );
    let trigger = requests[0].json();
    assert_eq!(trigger["routing_key"], "R0UT1NG");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "payments-42");
    let payload = &trigger["payload"];
    assert_eq!(
        payload["summary"],
        "[FIRING] Payments API is down — impacts Checkout, Webshop"
    );
    assert_eq!(payload["source"], "payments");
    assert_eq!(payload["severity"], "critical");
    assert_eq!(payload["timestamp"], "2026-11-25T13:03:00Z");
    assert_eq!(payload["custom_details"]["impacted"][0], "Checkout");
    assert_eq!(
        trigger["links"][0]["href"],
        "https://continuo.example.com/ack/example-token"
    );

    let ack = requests[1].json();
    assert_eq!(ack["event_action"], "acknowledge");
    assert_eq!(ack["dedup_key"], "payments-42");
    assert!(ack.get("payload").is_none());
    assert_eq!(requests[2].json()["event_action"], "resolve");
    let test = requests[3].json();
    assert_eq!(test["event_action"], "trigger");
    assert_eq!(test["payload"]["severity"], "info");
}

#[tokio::test]
async fn opsgenie_alert_lifecycle_by_alias() {
    let receiver = Receiver::start().await;
    let og = notifier(&channel(&format!(
        "id = \"og\"\nkind = \"opsgenie\"\napi_key = \"g3n13\"\nurl = \"{}\"",
        receiver.url("")
    )));
    for event in [
        NoticeEvent::Firing,
        NoticeEvent::Acknowledged,
        NoticeEvent::Reminder,
        NoticeEvent::Resolved,
    ] {
        let mut notice = notice(event, Lang::En);
        notice.alert_key = "payments/42 #1".into();
        og.send(&notice).await.expect("delivered");
    }
    let requests = receiver.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.method == "POST" && r.header("authorization") == "GenieKey g3n13")
    );

    assert_eq!(requests[0].path, "/v2/alerts");
    let create = requests[0].json();
    assert_eq!(create["alias"], "payments/42 #1");
    assert_eq!(
        create["message"],
        "[FIRING] Payments API is down — impacts Checkout, Webshop"
    );
    assert_eq!(create["priority"], "P1");
    assert_eq!(create["entity"], "Payments API");
    assert_eq!(create["details"]["impacted"], "Checkout, Webshop");
    assert_eq!(create["tags"][1], "firing");

    let alias = "/v2/alerts/payments%2F42%20%231";
    assert_eq!(requests[1].path, format!("{alias}/acknowledge"));
    assert_eq!(requests[1].query.as_deref(), Some("identifierType=alias"));
    assert_eq!(requests[1].json()["user"], "Alice de Vries");
    assert_eq!(requests[2].path, format!("{alias}/notes"));
    assert!(
        requests[2].json()["note"]
            .as_str()
            .expect("note")
            .contains("still down")
    );
    assert_eq!(requests[3].path, format!("{alias}/close"));
    assert_eq!(requests[3].query.as_deref(), Some("identifierType=alias"));
}

#[tokio::test]
async fn telegram_send_message() {
    let receiver = Receiver::start().await;
    let fields = format!(
        "id = \"tg\"\nkind = \"telegram\"\nbot_token = \"123456:SECRET-token\"\nchat_id = -1001234\nurl = \"{}\"",
        receiver.url("")
    );
    let tg = notifier(&channel(&fields));
    let mut notice = notice(NoticeEvent::Firing, Lang::En);
    notice.summary = "a < b & <i>c</i>".into();
    tg.send(&notice).await.expect("delivered");
    let request = receiver.only();
    assert_eq!(request.path, "/bot123456:SECRET-token/sendMessage");
    let body = request.json();
    assert_eq!(body["chat_id"], "-1001234");
    assert_eq!(body["parse_mode"], "HTML");
    let sent = body["text"].as_str().expect("text");
    assert!(
        sent.starts_with(
            "<b>[FIRING] Payments API is down — impacts Checkout, Webshop</b>\n\nPayments API is down: a &lt; b &amp; &lt;i&gt;c&lt;/i&gt;\n"
        ),
        "{sent}"
    );

    // Plain text: sent as is, no parse mode.
    let plain_receiver = Receiver::start().await;
    let plain = notifier(&with(
        channel(&fields.replace(&receiver.url(""), &plain_receiver.url(""))),
        "parse_mode",
        text("none"),
    ));
    plain.send(&notice).await.expect("delivered");
    let body = plain_receiver.only().json();
    assert!(body.get("parse_mode").is_none());
    assert!(
        body["text"]
            .as_str()
            .expect("text")
            .contains("a < b & <i>c</i>")
    );
}

/// Telegram says how long to wait in its JSON; the token never shows in a message.
#[tokio::test]
async fn telegram_rate_limit_and_errors_keep_the_token_secret() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(
        429,
        "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 3\",\"parameters\":{\"retry_after\":3}}",
    ));
    receiver.answer(Answer::new(
        400,
        "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}",
    ));
    let tg = notifier(&channel(&format!(
        "id = \"tg\"\nkind = \"telegram\"\nbot_token = \"123456:SECRET-token\"\nchat_id = \"@ops\"\nurl = \"{}\"",
        receiver.url("")
    )));
    let notice = notice(NoticeEvent::Firing, Lang::En);
    let limited = tg.send(&notice).await.expect_err("rate limited");
    assert_eq!(limited.kind, SendErrorKind::Retryable);
    assert_eq!(limited.retry_after, Some(Duration::from_secs(3)));
    let refused = tg.send(&notice).await.expect_err("chat not found");
    assert_eq!(refused.kind, SendErrorKind::Permanent);
    assert!(
        refused.message.contains("chat not found"),
        "{}",
        refused.message
    );

    let addr = refusing_address().await;
    let down = notifier(&channel(&format!(
        "id = \"tg\"\nkind = \"telegram\"\nbot_token = \"123456:SECRET-token\"\nchat_id = \"@ops\"\nurl = \"http://{addr}\""
    )));
    let error = down.send(&notice).await.expect_err("nothing listens");
    for message in [&limited.message, &refused.message, &error.message] {
        assert!(!message.contains("SECRET"), "{message}");
    }
}

/// Decodes an RFC 2047 `=?UTF-8?B?...?=` word, or returns the text as it is.
fn decode_word(value: &str) -> String {
    match value
        .strip_prefix("=?UTF-8?B?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(b64) => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64"),
        )
        .expect("UTF-8"),
        None => value.to_string(),
    }
}

#[tokio::test]
async fn ntfy_publish_with_headers() {
    let receiver = Receiver::start().await;
    let fields = format!(
        "id = \"push\"\nkind = \"ntfy\"\nurl = \"{}\"\ntopic = \"ops-alerts\"\ntoken = \"tk_abc\"",
        receiver.url("")
    );
    let ntfy = notifier(&channel(&fields));
    ntfy.send(&notice(NoticeEvent::Firing, Lang::Nl))
        .await
        .expect("delivered");
    ntfy.send(&notice(NoticeEvent::Resolved, Lang::En))
        .await
        .expect("delivered");
    let requests = receiver.requests();
    let firing = &requests[0];
    assert_eq!(firing.method, "POST");
    assert_eq!(firing.path, "/ops-alerts");
    assert_eq!(firing.header("authorization"), "Bearer tk_abc");
    assert_eq!(
        decode_word(firing.header("title")),
        "[STORING] Payments API ligt eruit — raakt Checkout, Webshop"
    );
    assert_eq!(firing.header("priority"), "5");
    assert_eq!(firing.header("tags"), "rotating_light,payments");
    assert_eq!(
        firing.header("click"),
        "https://continuo.example.com/services/payments"
    );
    assert_eq!(
        firing.header("actions"),
        "view, Bevestigen, https://continuo.example.com/ack/example-token, clear=true"
    );
    assert!(
        firing
            .text()
            .starts_with("Payments API ligt eruit: connection refused")
    );
    let resolved = &requests[1];
    assert_eq!(resolved.header("priority"), "3");
    assert_eq!(resolved.header("tags"), "white_check_mark,payments");
    assert_eq!(
        resolved.header("title"),
        "[RESOLVED] Payments API is back up after 12m 5s"
    );

    // A configured priority applies to firing messages.
    let high_receiver = Receiver::start().await;
    let high = notifier(&channel(&format!(
        "{}\npriority = \"high\"",
        fields.replace(&receiver.url(""), &high_receiver.url(""))
    )));
    high.send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect("delivered");
    assert_eq!(high_receiver.only().header("priority"), "4");
}

/// An SMS gateway: URL, headers and body rendered from the notice and its recipient.
#[tokio::test]
async fn http_template_for_an_sms_gateway() {
    let receiver = Receiver::start().await;
    let sms = notifier(&channel(&format!(
        "id = \"sms\"\nkind = \"http_template\"\nurl = \"{}/sms?to={{{{ recipient.phone|urlencode }}}}\"\nheaders = {{ Authorization = \"Bearer t0ken\", X-Service = \"{{{{ service.id }}}}\" }}\nbody = '{{\"to\": {{{{ recipient.phone|tojson }}}}, \"text\": {{{{ subject|tojson }}}}, \"ack\": {{{{ ack_url|tojson }}}}}}'",
        receiver.url("")
    )));
    sms.send(&notice(NoticeEvent::Firing, Lang::Nl))
        .await
        .expect("delivered");
    let request = receiver.only();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/sms");
    assert_eq!(request.query.as_deref(), Some("to=%2B31612345678"));
    assert_eq!(request.header("authorization"), "Bearer t0ken");
    assert_eq!(request.header("x-service"), "payments");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("idempotency-key"), "n-firing-nl");
    let body = request.json();
    assert_eq!(body["to"], "+31612345678");
    assert_eq!(
        body["text"],
        "[STORING] Payments API ligt eruit — raakt Checkout, Webshop"
    );
    assert_eq!(
        body["ack"],
        "https://continuo.example.com/ack/example-token"
    );
}

#[tokio::test]
async fn http_template_get_sends_no_body() {
    let receiver = Receiver::start().await;
    let gateway = notifier(&channel(&format!(
        "id = \"sms\"\nkind = \"http_template\"\nmethod = \"GET\"\nurl = \"{}/send?msg={{{{ subject|urlencode }}}}\"\nbody = \"\"",
        receiver.url("")
    )));
    gateway
        .send(&notice(NoticeEvent::Test, Lang::En))
        .await
        .expect("delivered");
    let request = receiver.only();
    assert_eq!(request.method, "GET");
    assert!(request.body.is_empty());
    assert!(request.headers.get("content-type").is_none());
    assert_eq!(
        request.query.as_deref(),
        Some("msg=%5BTEST%5D%20Test%20notification%20from%20Continuo%20for%20Acme%20Retail")
    );
}

/// A posture notice as the engine makes it: the claim in the alert key, nobody paged.
fn posture(lang: Lang) -> continuo_notify::Notice {
    let mut notice = notice(NoticeEvent::Posture, lang);
    notice.alert_key = "posture/rto/payments".into();
    notice.recipient = None;
    notice
}

/// A PagerDuty trigger opens an incident even with severity `info`, so a posture notice
/// is a change event: on the service's timeline, paging nobody.
#[tokio::test]
async fn pagerduty_posture_is_a_change_event() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(
        202,
        "{\"status\":\"success\",\"message\":\"Change event processed\"}",
    ));
    let pd = notifier(&channel(&format!(
        "id = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"R0UT1NG\"\nurl = \"{}\"",
        receiver.url("")
    )));
    let delivered = pd.send(&posture(Lang::En)).await.expect("delivered");
    assert_eq!(delivered.detail, "HTTP 202 Accepted");

    let request = receiver.only();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v2/change/enqueue");
    assert_eq!(request.header("idempotency-key"), "n-posture-en");
    let change = request.json();
    assert_eq!(change["routing_key"], "R0UT1NG");
    assert!(change.get("event_action").is_none(), "{change}");
    assert!(change.get("dedup_key").is_none(), "{change}");
    let payload = &change["payload"];
    assert_eq!(
        payload["summary"],
        "[CONTINUITY] Payments API — RTO breached: 2 h 5 min against 1 h (incident INC-3)"
    );
    assert_eq!(payload["source"], "payments");
    assert_eq!(payload["timestamp"], "2026-11-25T13:03:00Z");
    assert!(payload.get("severity").is_none(), "{payload}");
    let details = &payload["custom_details"];
    assert_eq!(
        details["summary"],
        "RTO breached: 2 h 5 min against 1 h (incident INC-3)"
    );
    assert_eq!(details["alert_key"], "posture/rto/payments");
    assert_eq!(details["tier"], 1);
    assert_eq!(
        change["links"],
        serde_json::json!([{
            "href": "https://continuo.example.com/posture/payments",
            "text": "Open dashboard",
        }])
    );
}

#[tokio::test]
async fn opsgenie_posture_is_an_informational_alert() {
    let receiver = Receiver::start().await;
    let og = notifier(&channel(&format!(
        "id = \"og\"\nkind = \"opsgenie\"\napi_key = \"g3n13\"\nurl = \"{}\"",
        receiver.url("")
    )));
    og.send(&posture(Lang::Nl)).await.expect("delivered");
    let request = receiver.only();
    assert_eq!(request.path, "/v2/alerts");
    assert_eq!(request.query, None);
    let create = request.json();
    assert_eq!(create["priority"], "P5");
    assert_eq!(create["alias"], "posture/rto/payments");
    assert_eq!(
        create["message"],
        "[CONTINUITEIT] Payments API — RTO geschonden: 2 h 5 min tegenover 1 h (incident INC-3)"
    );
    assert_eq!(
        create["tags"],
        serde_json::json!(["continuo", "posture", "tier-1"])
    );
    assert!(create["details"].get("level").is_none(), "{create}");
    assert!(create["details"].get("ack_url").is_none(), "{create}");
    assert!(
        create["description"]
            .as_str()
            .expect("description")
            .contains("Dit is een melding; er wordt niemand opgeroepen."),
        "{create}"
    );
}

/// Low priority whatever the channel's `priority` (that one is for firing messages).
#[tokio::test]
async fn ntfy_posture_is_low_priority() {
    let receiver = Receiver::start().await;
    let ntfy = notifier(&channel(&format!(
        "id = \"push\"\nkind = \"ntfy\"\nurl = \"{}\"\ntopic = \"ops-alerts\"\npriority = \"urgent\"",
        receiver.url("")
    )));
    ntfy.send(&posture(Lang::En)).await.expect("delivered");
    let request = receiver.only();
    assert_eq!(request.header("priority"), "2");
    assert_eq!(request.header("tags"), "clipboard,payments");
    assert_eq!(
        decode_word(request.header("title")),
        "[CONTINUITY] Payments API — RTO breached: 2 h 5 min against 1 h (incident INC-3)"
    );
    assert_eq!(
        request.header("click"),
        "https://continuo.example.com/posture/payments"
    );
    assert!(
        request.headers.get("actions").is_none(),
        "no acknowledge button"
    );
    assert!(request.text().starts_with(
        "RTO breached: 2 h 5 min against 1 h (incident INC-3)\nThis is a notice; nobody is paged."
    ));
}

#[tokio::test]
async fn posture_on_chat_channels_and_the_webhook() {
    let receiver = Receiver::start().await;
    let teams = notifier(&channel(&format!(
        "id = \"teams\"\nkind = \"teams\"\nurl = \"{}\"",
        receiver.url("/teams")
    )));
    let slack = notifier(&channel(&format!(
        "id = \"chat\"\nkind = \"slack\"\nurl = \"{}\"",
        receiver.url("/slack")
    )));
    let hook = notifier(&webhook(&receiver, ""));
    let notice = posture(Lang::Nl);
    for channel in [&teams, &slack, &hook] {
        channel.send(&notice).await.expect("delivered");
    }
    let requests = receiver.requests();
    let subject =
        "[CONTINUITEIT] Payments API — RTO geschonden: 2 h 5 min tegenover 1 h (incident INC-3)";

    let card = &requests[0].json()["attachments"][0]["content"];
    assert_eq!(card["body"][0]["text"], subject);
    assert_eq!(card["body"][0]["color"], "Accent");
    assert_eq!(
        card["body"][2]["text"],
        "Dit is een melding; er wordt niemand opgeroepen."
    );
    assert_eq!(card["actions"][0]["title"], "Open dashboard");
    assert_eq!(card["actions"].as_array().map(Vec::len), Some(1));

    let slack = requests[1].json();
    assert_eq!(slack["text"], subject);
    assert_eq!(
        slack["blocks"][2]["elements"].as_array().map(Vec::len),
        Some(1)
    );

    assert_eq!(requests[2].header("x-continuo-event"), "posture");
    let body = requests[2].json();
    assert_eq!(body["event"], "posture");
    assert_eq!(body["alert_key"], "posture/rto/payments");
    assert_eq!(body["level"], 0);
    assert!(body["ack_url"].is_null());
    assert_eq!(body["title"], subject);
    assert_eq!(body["started_at"], "2026-11-25T13:03:00Z");
}
