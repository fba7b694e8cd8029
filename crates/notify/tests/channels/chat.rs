//! The webhook chat kinds of issue 17 (Mattermost, Rocket.Chat, Discord, Google Chat)
//! against a real receiver on 127.0.0.1: what arrives, in both languages, the posture
//! notice, and what each answer means for a retry. Matrix is in `matrix.rs`.

use crate::support::{Answer, Receiver, channel, notice, notifier, refusing_address};
use continuo_core::Lang;
use continuo_notify::{Notice, NoticeEvent, Notifier, SendErrorKind, Templates};
use std::time::Duration;

pub(crate) const FIRING_EN: &str = "[FIRING] Payments API is down — impacts Checkout, Webshop";
pub(crate) const FIRING_NL: &str = "[STORING] Payments API ligt eruit — raakt Checkout, Webshop";
pub(crate) const POSTURE_EN: &str =
    "[CONTINUITY] Payments API — RTO breached: 2 h 5 min against 1 h (incident INC-3)";
pub(crate) const POSTURE_NL: &str =
    "[CONTINUITEIT] Payments API — RTO geschonden: 2 h 5 min tegenover 1 h (incident INC-3)";

/// A posture notice as the engine makes it: the claim in the alert key, nobody paged.
pub(crate) fn posture(lang: Lang) -> Notice {
    let mut notice = notice(NoticeEvent::Posture, lang);
    notice.alert_key = "posture/rto/payments".into();
    notice.recipient = None;
    notice
}

/// A channel of `kind` whose webhook is `path` on `receiver`, with `extra` settings.
fn hook(kind: &str, receiver: &Receiver, path: &str, extra: &str) -> Notifier {
    notifier(&channel(&format!(
        "id = \"chat\"\nkind = \"{kind}\"\nurl = \"{}\"\n{extra}",
        receiver.url(path)
    )))
}

/// The Google Chat webhook path with its key and token, as the space shows it.
const GOOGLE_PATH: &str = "/v1/spaces/AAAA/messages?key=k3y&token=t0k%3D";

#[tokio::test]
async fn mattermost_incoming_webhook() {
    let receiver = Receiver::start().await;
    let mattermost = hook(
        "mattermost",
        &receiver,
        "/hooks/xyz",
        "username = \"Continuo\"\nicon_url = \"https://continuo.example.com/icon.png\"\nchannel = \"ops\"",
    );
    let mut firing = notice(NoticeEvent::Firing, Lang::Nl);
    firing.summary = "@channel @all kijk even, mail alice@example.com".into();
    let delivered = mattermost.send(&firing).await.expect("delivered");
    assert_eq!(delivered.detail, "HTTP 200 OK");
    mattermost
        .send(&posture(Lang::En))
        .await
        .expect("delivered");

    let requests = receiver.requests();
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/xyz");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("idempotency-key"), "n-firing-nl");
    let body = request.json();
    assert_eq!(body["text"], format!("**{FIRING_NL}**"));
    assert_eq!(body["username"], "Continuo");
    assert_eq!(body["icon_url"], "https://continuo.example.com/icon.png");
    assert_eq!(body["channel"], "ops");
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["fallback"], FIRING_NL);
    assert_eq!(attachment["color"], "#d93025");
    let text = attachment["text"].as_str().expect("text");
    // Mentions arrive inert (a word joiner after the @), addresses untouched.
    assert!(
        text.starts_with(
            "Payments API ligt eruit: @\u{2060}channel @\u{2060}all kijk even, mail alice@example.com"
        ),
        "{text}"
    );
    assert!(text.contains("Bevestigen: https://continuo.example.com/ack/example-token"));

    let posture = requests[1].json();
    assert_eq!(posture["text"], format!("**{POSTURE_EN}**"));
    assert_eq!(posture["attachments"][0]["color"], "#1a73e8");
    assert!(
        posture["attachments"][0]["text"]
            .as_str()
            .expect("text")
            .contains("This is a notice; nobody is paged.")
    );
}

#[tokio::test]
async fn rocketchat_incoming_webhook() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(200, "{\"success\":true}"));
    let rocket = hook(
        "rocketchat",
        &receiver,
        "/hooks/abc/t0ken",
        "alias = \"Continuo\"\navatar = \"https://continuo.example.com/icon.png\"\nchannel = \"#ops\"",
    );
    let mut firing = notice(NoticeEvent::Firing, Lang::En);
    firing.summary = "@here look".into();
    rocket.send(&firing).await.expect("delivered");
    rocket.send(&posture(Lang::Nl)).await.expect("delivered");

    let requests = receiver.requests();
    assert_eq!(requests[0].path, "/hooks/abc/t0ken");
    assert_eq!(requests[0].header("idempotency-key"), "n-firing-en");
    let body = requests[0].json();
    assert_eq!(body["text"], format!("*{FIRING_EN}*"));
    assert_eq!(body["alias"], "Continuo");
    assert_eq!(body["avatar"], "https://continuo.example.com/icon.png");
    assert_eq!(body["channel"], "#ops");
    assert_eq!(body["attachments"][0]["color"], "#d93025");
    assert!(
        body["attachments"][0]["text"]
            .as_str()
            .expect("text")
            .starts_with("Payments API is down: @\u{2060}here look")
    );
    let posture = requests[1].json();
    assert_eq!(posture["text"], format!("*{POSTURE_NL}*"));
    assert!(
        posture["attachments"][0]["text"]
            .as_str()
            .expect("text")
            .contains("Dit is een melding; er wordt niemand opgeroepen.")
    );
}

/// An integration script can refuse with a 200; that is no delivery.
#[tokio::test]
async fn rocketchat_success_false_is_a_refusal() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(
        200,
        "{\"success\":false,\"error\":\"invalid-channel\"}",
    ));
    let rocket = hook("rocketchat", &receiver, "/hooks/abc/t0ken", "");
    let error = rocket
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect_err("refused");
    assert_eq!(error.kind, SendErrorKind::Permanent);
    assert_eq!(
        error.message,
        "HTTP 200 OK but refused: {\"success\":false,\"error\":\"invalid-channel\"}"
    );
}

#[tokio::test]
async fn discord_webhook_never_pings() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(204, ""));
    let discord = hook(
        "discord",
        &receiver,
        "/api/webhooks/123/t0ken",
        "username = \"Continuo\"\navatar_url = \"https://continuo.example.com/icon.png\"",
    );
    let mut firing = notice(NoticeEvent::Firing, Lang::En);
    firing.summary = "@everyone <@&42> look".into();
    let delivered = discord.send(&firing).await.expect("delivered");
    assert_eq!(delivered.detail, "HTTP 204 No Content");
    discord.send(&posture(Lang::Nl)).await.expect("delivered");

    let requests = receiver.requests();
    assert_eq!(requests[0].path, "/api/webhooks/123/t0ken");
    assert_eq!(
        requests[0].query, None,
        "no ?wait: the answer is not needed"
    );
    let body = requests[0].json();
    assert_eq!(body["content"], format!("**{FIRING_EN}**"));
    assert_eq!(body["allowed_mentions"], serde_json::json!({ "parse": [] }));
    assert_eq!(body["username"], "Continuo");
    assert_eq!(body["avatar_url"], "https://continuo.example.com/icon.png");
    assert!(body.get("flags").is_none(), "a page notifies: {body}");
    let embed = &body["embeds"][0];
    assert_eq!(embed["color"], 0xD9_30_25);
    assert_eq!(embed["timestamp"], "2026-11-25T13:15:05Z");
    assert!(
        embed["description"]
            .as_str()
            .expect("description")
            .starts_with("Payments API is down: @everyone <@&42> look")
    );

    // A posture notice arrives without a notification.
    let posture = requests[1].json();
    assert_eq!(posture["content"], format!("**{POSTURE_NL}**"));
    assert_eq!(posture["flags"], 4096);
    assert_eq!(posture["embeds"][0]["color"], 0x1A_73_E8);
}

/// Discord's text is cut to what it accepts rather than refused.
#[tokio::test]
async fn discord_cuts_long_texts() {
    let receiver = Receiver::start().await;
    let discord = hook("discord", &receiver, "/api/webhooks/1/t", "");
    let mut firing = notice(NoticeEvent::Firing, Lang::En);
    firing.summary = "x".repeat(10_000);
    firing.service.name = "y".repeat(3_000);
    discord.send(&firing).await.expect("delivered");
    let body = receiver.only().json();
    let content = body["content"].as_str().expect("content");
    assert!(content.chars().count() <= 2_000, "{}", content.len());
    assert!(content.ends_with("…**"));
    let description = body["embeds"][0]["description"].as_str().expect("text");
    assert!(description.chars().count() <= 4_096);
}

#[tokio::test]
async fn google_chat_threads_by_alert() {
    let receiver = Receiver::start().await;
    let chat = hook("googlechat", &receiver, GOOGLE_PATH, "");
    let mut firing = notice(NoticeEvent::Firing, Lang::Nl);
    firing.summary = "<users/all> kijk".into();
    chat.send(&firing).await.expect("delivered");
    let mut resolved = notice(NoticeEvent::Resolved, Lang::Nl);
    resolved.ack_url = None;
    resolved.dashboard_url = None;
    chat.send(&resolved).await.expect("delivered");
    chat.send(&posture(Lang::En)).await.expect("delivered");

    let requests = receiver.requests();
    assert_eq!(requests[0].path, "/v1/spaces/AAAA/messages");
    assert_eq!(
        requests[0].query.as_deref(),
        Some("key=k3y&token=t0k%3D&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
    );
    let body = requests[0].json();
    let text = body["text"].as_str().expect("text");
    assert!(
        text.starts_with(&format!(
            "*{FIRING_NL}*\n\nPayments API ligt eruit: <\u{2060}users/all> kijk"
        )),
        "{text}"
    );
    assert_eq!(body["thread"]["threadKey"], "payments-42");
    let buttons = &body["cardsV2"][0]["card"]["sections"][0]["widgets"][0]["buttonList"]["buttons"];
    assert_eq!(buttons[0]["text"], "Bevestigen");
    assert_eq!(
        buttons[0]["onClick"]["openLink"]["url"],
        "https://continuo.example.com/ack/example-token"
    );
    assert_eq!(buttons[1]["text"], "Open dashboard");

    // The same alert, the same thread; no links, no card.
    let resolved = requests[1].json();
    assert_eq!(resolved["thread"]["threadKey"], "payments-42");
    assert!(resolved.get("cardsV2").is_none(), "{resolved}");

    // Each posture claim has a thread of its own, with only the dashboard button.
    let posture = requests[2].json();
    assert_eq!(posture["thread"]["threadKey"], "posture/rto/payments");
    assert!(
        posture["text"]
            .as_str()
            .expect("text")
            .starts_with(&format!("*{POSTURE_EN}*"))
    );
    let buttons =
        &posture["cardsV2"][0]["card"]["sections"][0]["widgets"][0]["buttonList"]["buttons"];
    assert_eq!(buttons.as_array().map(Vec::len), Some(1));
}

/// Every event in both languages reaches every webhook chat kind, its subject in it.
#[tokio::test]
async fn every_event_in_both_languages() {
    let receiver = Receiver::start().await;
    let templates = Templates::builtin();
    for (kind, path) in [
        ("mattermost", "/hooks/x"),
        ("rocketchat", "/hooks/x/y"),
        ("discord", "/api/webhooks/1/t"),
        ("googlechat", GOOGLE_PATH),
    ] {
        let sender = hook(kind, &receiver, path, "");
        for lang in Lang::ALL {
            for event in NoticeEvent::ALL {
                let notice = notice(event, lang);
                sender
                    .send(&notice)
                    .await
                    .unwrap_or_else(|e| panic!("{kind} {event:?} {lang:?}: {e}"));
                let subject = templates.render(&notice).expect("renders").subject;
                let body = receiver.requests().last().expect("a request").json();
                assert!(
                    body.to_string().contains(&subject),
                    "{kind} {event:?} {lang:?}: {subject} not in {body}"
                );
            }
        }
    }
}

/// What each answer means, the same for every chat kind: (answer, kind, retry_after).
pub(crate) fn common_answers() -> Vec<(Answer, SendErrorKind, Option<Duration>)> {
    vec![
        (
            Answer::new(429, "slow down").header("retry-after", "7"),
            SendErrorKind::Retryable,
            Some(Duration::from_secs(7)),
        ),
        (Answer::new(500, "oops"), SendErrorKind::Retryable, None),
        (
            Answer::new(503, "").header("retry-after", "2"),
            SendErrorKind::Retryable,
            Some(Duration::from_secs(2)),
        ),
        (
            Answer::new(400, "{\"error\":\"bad payload\"}"),
            SendErrorKind::Permanent,
            None,
        ),
        (
            Answer::new(404, "no such hook"),
            SendErrorKind::Permanent,
            None,
        ),
        (
            Answer::new(403, "forbidden"),
            SendErrorKind::Permanent,
            None,
        ),
    ]
}

/// Sends one notice per answer and checks what each failure means; nothing is retried
/// inside the crate.
pub(crate) async fn check_answers(
    kind: &str,
    receiver: &Receiver,
    sender: &Notifier,
    cases: Vec<(Answer, SendErrorKind, Option<Duration>)>,
) {
    let before = receiver.requests().len();
    let count = cases.len();
    let notice = notice(NoticeEvent::Firing, Lang::En);
    for (answer, expected_kind, retry_after) in cases {
        let status = format!("{answer:?}");
        receiver.answer(answer);
        let error = sender.send(&notice).await.expect_err("not delivered");
        assert_eq!(error.kind, expected_kind, "{kind} {status}: {error:?}");
        assert_eq!(error.retry_after, retry_after, "{kind} {status}: {error:?}");
        assert!(
            error.message.starts_with("HTTP "),
            "{kind}: {}",
            error.message
        );
    }
    assert_eq!(receiver.requests().len() - before, count, "{kind}");
}

#[tokio::test]
async fn answers_decide_whether_to_retry_on_every_chat_kind() {
    let receiver = Receiver::start().await;
    for (kind, path) in [
        ("mattermost", "/hooks/x"),
        ("rocketchat", "/hooks/x/y"),
        ("discord", "/api/webhooks/1/t"),
        ("googlechat", GOOGLE_PATH),
    ] {
        let sender = hook(kind, &receiver, path, "");
        check_answers(kind, &receiver, &sender, common_answers()).await;
    }
}

/// Discord says how long to wait in the body too; the header still wins.
#[tokio::test]
async fn discord_wait_named_in_the_body() {
    let receiver = Receiver::start().await;
    let discord = hook("discord", &receiver, "/api/webhooks/1/t", "");
    check_answers(
        "discord",
        &receiver,
        &discord,
        vec![
            (
                Answer::new(
                    429,
                    "{\"message\":\"You are being rate limited.\",\"retry_after\":0.75,\"global\":false}",
                ),
                SendErrorKind::Retryable,
                Some(Duration::from_millis(750)),
            ),
            (
                Answer::new(429, "{\"retry_after\":0.75}").header("retry-after", "1"),
                SendErrorKind::Retryable,
                Some(Duration::from_secs(1)),
            ),
        ],
    )
    .await;
}

/// Nothing listening is worth a retry, and no webhook token shows in the message.
#[tokio::test]
async fn connection_refused_keeps_secrets_out() {
    let addr = refusing_address().await;
    let senders = [
        format!("id = \"c\"\nkind = \"mattermost\"\nurl = \"http://{addr}/hooks/SECRET\""),
        format!("id = \"c\"\nkind = \"rocketchat\"\nurl = \"http://{addr}/hooks/a/SECRET\""),
        format!("id = \"c\"\nkind = \"discord\"\nurl = \"http://{addr}/api/webhooks/1/SECRET\""),
        format!(
            "id = \"c\"\nkind = \"googlechat\"\nurl = \"http://{addr}/v1/spaces/A/messages?key=k&token=SECRET\""
        ),
    ];
    for fields in senders {
        let error = notifier(&channel(&fields))
            .send(&notice(NoticeEvent::Firing, Lang::En))
            .await
            .expect_err("nothing listens");
        assert_eq!(error.kind, SendErrorKind::Retryable, "{fields}: {error:?}");
        assert!(!error.message.contains("SECRET"), "{}", error.message);
    }
}

/// Each kind's pacing follows its receiver's published limit.
#[test]
fn spacing_follows_published_limits() {
    use continuo_core::catalog::ChannelKind;
    let cases = [
        (ChannelKind::Discord, 400),
        (ChannelKind::GoogleChat, 1_000),
        (ChannelKind::Mattermost, 100),
        (ChannelKind::RocketChat, 100),
    ];
    for (kind, ms) in cases {
        assert_eq!(
            Notifier::spacing_of(kind),
            Duration::from_millis(ms),
            "{kind:?}"
        );
    }
}
