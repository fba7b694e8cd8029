//! The Matrix channel over plain HTTP, against a receiver on 127.0.0.1: the request, the
//! transaction id a resend repeats, alias lookup, and what each answer means for a retry.
//! The same channel against a real homeserver is in `synapse.rs`.

use crate::chat::{FIRING_EN, POSTURE_NL, check_answers, common_answers, posture};
use crate::support::{Answer, Receiver, channel, notice, notifier, refusing_address};
use continuo_core::Lang;
use continuo_notify::{NoticeEvent, Notifier, SendErrorKind, Templates};
use std::time::Duration;

/// A Matrix channel posting to room `!abc:example.org` on `receiver`.
fn matrix(receiver: &Receiver) -> Notifier {
    notifier(&channel(&format!(
        "id = \"room\"\nkind = \"matrix\"\nhomeserver = \"{}\"\naccess_token = \"syt_s3cret\"\nroom = \"!abc:example.org\"",
        receiver.url("")
    )))
}

/// The Matrix request over plain HTTP: the path, the token, the event and its
/// transaction id, which a resend repeats.
#[tokio::test]
async fn matrix_sends_an_event_with_a_stable_transaction() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(200, "{\"event_id\":\"$ev1\"}"));
    let matrix = matrix(&receiver);
    let mut firing = notice(NoticeEvent::Firing, Lang::En);
    firing.summary = "a < b & <i>c</i>".into();
    let delivered = matrix.send(&firing).await.expect("delivered");
    assert_eq!(delivered.detail, "HTTP 200 OK (event $ev1)");
    matrix.send(&firing).await.expect("delivered again");
    matrix.send(&posture(Lang::Nl)).await.expect("delivered");

    let requests = receiver.requests();
    let request = &requests[0];
    assert_eq!(request.method, "PUT");
    let txn = request
        .path
        .strip_prefix("/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/")
        .expect("the send path");
    assert!(txn.starts_with("continuo-") && txn.len() == 41, "{txn}");
    assert_eq!(
        requests[1].path, request.path,
        "a resend is the same transaction"
    );
    assert_ne!(
        requests[2].path, request.path,
        "another notice, another one"
    );
    assert_eq!(request.header("authorization"), "Bearer syt_s3cret");
    let content = request.json();
    assert_eq!(content["msgtype"], "m.text");
    assert_eq!(content["format"], "org.matrix.custom.html");
    assert_eq!(content["m.mentions"], serde_json::json!({}));
    assert!(
        content["body"]
            .as_str()
            .expect("body")
            .starts_with(&format!(
                "{FIRING_EN}\n\nPayments API is down: a < b & <i>c</i>\n"
            ))
    );
    assert!(
        content["formatted_body"]
            .as_str()
            .expect("html")
            .starts_with(&format!(
                "<strong>{FIRING_EN}</strong><br><br>Payments API is down: a &lt; b &amp; &lt;i&gt;c&lt;/i&gt;<br>"
            ))
    );

    // A posture notice is an m.notice: shown, not notified.
    let posture = requests[2].json();
    assert_eq!(posture["msgtype"], "m.notice");
    assert!(
        posture["body"]
            .as_str()
            .expect("body")
            .starts_with(POSTURE_NL)
    );
}

/// An alias is looked up once; a missing one is a permanent, named failure.
#[tokio::test]
async fn matrix_resolves_an_alias_once() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::new(
        200,
        "{\"room_id\":\"!xyz:example.org\",\"servers\":[\"example.org\"]}",
    ));
    let fields = format!(
        "id = \"room\"\nkind = \"matrix\"\nhomeserver = \"{}\"\naccess_token = \"syt_s3cret\"\nroom = \"#ops:example.org\"",
        receiver.url("")
    );
    let matrix = notifier(&channel(&fields));
    for event in [NoticeEvent::Firing, NoticeEvent::Resolved] {
        matrix
            .send(&notice(event, Lang::En))
            .await
            .expect("delivered");
    }
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        "/_matrix/client/v3/directory/room/%23ops:example.org"
    );
    assert_eq!(requests[0].header("authorization"), "Bearer syt_s3cret");
    for send in &requests[1..] {
        assert!(
            send.path
                .starts_with("/_matrix/client/v3/rooms/!xyz:example.org/send/m.room.message/"),
            "{}",
            send.path
        );
    }

    let missing = Receiver::start().await;
    missing.answer(Answer::new(
        404,
        "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"Room alias #ops:example.org not found\"}",
    ));
    let matrix = notifier(&channel(
        &fields.replace(&receiver.url(""), &missing.url("")),
    ));
    let error = matrix
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect_err("no such alias");
    assert_eq!(error.kind, SendErrorKind::Permanent);
    assert_eq!(
        error.message,
        "cannot resolve the room alias #ops:example.org: HTTP 404 Not Found: {\"errcode\":\"M_NOT_FOUND\",\"error\":\"Room alias #ops:example.org not found\"}"
    );
    assert_eq!(missing.requests().len(), 1, "nothing was sent");
}

/// Every event in both languages becomes an event in the room, its subject in the body;
/// only the posture notice is an `m.notice`.
#[tokio::test]
async fn matrix_every_event_in_both_languages() {
    let receiver = Receiver::start().await;
    let matrix = matrix(&receiver);
    let templates = Templates::builtin();
    for lang in Lang::ALL {
        for event in NoticeEvent::ALL {
            let notice = notice(event, lang);
            matrix
                .send(&notice)
                .await
                .unwrap_or_else(|e| panic!("{event:?} {lang:?}: {e}"));
            let subject = templates.render(&notice).expect("renders").subject;
            let content = receiver.requests().last().expect("a request").json();
            let body = content["body"].as_str().expect("body");
            assert!(body.starts_with(&subject), "{event:?} {lang:?}: {body}");
            let expected = if event == NoticeEvent::Posture {
                "m.notice"
            } else {
                "m.text"
            };
            assert_eq!(content["msgtype"], expected, "{event:?}");
        }
    }
}

/// The same answers mean the same as on every channel; Matrix also names the wait in its
/// body (`retry_after_ms`), and a token it does not know is not worth a retry.
#[tokio::test]
async fn matrix_answers_decide_whether_to_retry() {
    let receiver = Receiver::start().await;
    let matrix = matrix(&receiver);
    check_answers("matrix", &receiver, &matrix, common_answers()).await;
    check_answers(
        "matrix",
        &receiver,
        &matrix,
        vec![
            (
                Answer::new(
                    429,
                    "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too Many Requests\",\"retry_after_ms\":2500}",
                ),
                SendErrorKind::Retryable,
                Some(Duration::from_millis(2_500)),
            ),
            (
                Answer::new(
                    401,
                    "{\"errcode\":\"M_UNKNOWN_TOKEN\",\"error\":\"Invalid access token passed.\"}",
                ),
                SendErrorKind::Permanent,
                None,
            ),
        ],
    )
    .await;
}

/// Nothing listening (at the alias lookup) is worth a retry; the token stays out of the
/// message.
#[tokio::test]
async fn matrix_connection_refused_keeps_the_token_out() {
    let addr = refusing_address().await;
    let matrix = notifier(&channel(&format!(
        "id = \"c\"\nkind = \"matrix\"\nhomeserver = \"http://{addr}\"\naccess_token = \"SECRET\"\nroom = \"#ops:example.org\""
    )));
    let error = matrix
        .send(&notice(NoticeEvent::Firing, Lang::En))
        .await
        .expect_err("nothing listens");
    assert_eq!(error.kind, SendErrorKind::Retryable, "{error:?}");
    assert!(
        error
            .message
            .starts_with("cannot resolve the room alias #ops:example.org: cannot connect"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("SECRET"), "{}", error.message);
}

/// A homeserver sets its own limit and says it in its 429: no fixed spacing.
#[test]
fn matrix_is_not_paced() {
    assert_eq!(
        Notifier::spacing_of(continuo_core::catalog::ChannelKind::Matrix),
        Duration::ZERO
    );
}
