//! The `http` kind against a real HTTP server on 127.0.0.1.

use crate::servers::{HttpServer, SilentServer, closed_port};
use crate::support::{SHORT, TIMEOUT, assert_measured, check, run};
use continuo_core::state::Verdict;
use continuo_probe::ProbeContext;

/// Probes `path` on `server` with the extra check lines `extra`, and asserts the verdict
/// and message parts.
async fn case(server: &HttpServer, path: &str, extra: &str, verdict: Verdict, parts: &[&str]) {
    let fields = format!("kind = \"http\"\nurl = \"{}\"\n{extra}", server.url(path));
    let m = run(&fields, TIMEOUT).await;
    assert_eq!(
        m.verdict, verdict,
        "path {path} with {extra:?}: unexpected verdict: {m:#?}"
    );
    for part in parts {
        assert!(
            m.message.contains(part),
            "path {path} with {extra:?}: message {:?} lacks {part:?}",
            m.message
        );
    }
}

#[tokio::test]
async fn status_expectations() {
    let server = HttpServer::start().await;
    use Verdict::{Failure, Success};
    case(&server, "/ok", "", Success, &["status 200"]).await;
    case(&server, "/status/204", "", Success, &["status 204"]).await;
    case(
        &server,
        "/status/404",
        "",
        Failure,
        &["status 404, expected 200-399"],
    )
    .await;
    case(
        &server,
        "/status/503",
        "",
        Failure,
        &["status 503, expected 200-399"],
    )
    .await;
    let only_503 = "expect = { status = [503] }";
    case(&server, "/status/503", only_503, Success, &["status 503"]).await;
    case(
        &server,
        "/ok",
        only_503,
        Failure,
        &["status 200, expected 503"],
    )
    .await;
    let set = "expect = { status = [201, 204] }";
    case(&server, "/status/204", set, Success, &[]).await;
    case(
        &server,
        "/ok",
        set,
        Failure,
        &["status 200, expected 201, 204"],
    )
    .await;
}

#[tokio::test]
async fn status_code_is_recorded() {
    let server = HttpServer::start().await;
    let m = run(
        &format!("kind = \"http\"\nurl = \"{}\"", server.url("/status/503")),
        TIMEOUT,
    )
    .await;
    assert_eq!(m.code, Some(503));
}

#[tokio::test]
async fn body_expectations() {
    let server = HttpServer::start().await;
    use Verdict::{Failure, Success};
    let contains = |s: &str| format!("expect = {{ body_contains = {s:?} }}");
    let regex = |s: &str| format!("expect = {{ body_regex = {s:?} }}");
    case(&server, "/ok", &contains("test server"), Success, &[]).await;
    case(
        &server,
        "/ok",
        &contains("maintenance"),
        Failure,
        &["body does not contain \"maintenance\""],
    )
    .await;
    case(&server, "/ok", &regex(r"build \d+$"), Success, &[]).await;
    case(
        &server,
        "/ok",
        &regex(r"build [a-z]+"),
        Failure,
        &[r"body does not match /build [a-z]+/"],
    )
    .await;
    // The body is judged only after the status: a 404 page that contains the text is
    // still a failure.
    case(
        &server,
        "/nowhere",
        &contains("no such page"),
        Failure,
        &["status 404"],
    )
    .await;
}

#[tokio::test]
async fn json_expectations() {
    let server = HttpServer::start().await;
    use Verdict::{Failure, Success};
    let json = |pairs: &str| format!("expect = {{ json = {{ {pairs} }} }}");
    case(&server, "/json", &json(r#""/status" = "ok""#), Success, &[]).await;
    // Non-string values compare as their JSON text.
    case(
        &server,
        "/json",
        &json(r#""/db/up" = "true", "/db/replicas" = "2""#),
        Success,
        &[],
    )
    .await;
    case(
        &server,
        "/json",
        &json(r#""/version" = "2.0.0""#),
        Failure,
        &[r#"JSON /version is "1.2.3", expected "2.0.0""#],
    )
    .await;
    case(
        &server,
        "/json",
        &json(r#""/db/primary" = "a""#),
        Failure,
        &["JSON has nothing at /db/primary"],
    )
    .await;
    case(
        &server,
        "/ok",
        &json(r#""/status" = "ok""#),
        Failure,
        &["body is not JSON"],
    )
    .await;
}

#[tokio::test]
async fn header_expectations() {
    let server = HttpServer::start().await;
    use Verdict::{Failure, Success};
    let header = |pairs: &str| format!("expect = {{ headers = {{ {pairs} }} }}");
    case(
        &server,
        "/ok",
        &header(r#"x-app = "continuo-test""#),
        Success,
        &[],
    )
    .await;
    // Header names are case-insensitive.
    case(
        &server,
        "/ok",
        &header(r#"X-App = "/1.2", Content-Type = "text/""#),
        Success,
        &[],
    )
    .await;
    case(
        &server,
        "/ok",
        &header(r#"x-app = "other-app""#),
        Failure,
        &[r#"header x-app is "continuo-test/1.2", expected it to contain "other-app""#],
    )
    .await;
    case(
        &server,
        "/ok",
        &header(r#"x-request-id = "a""#),
        Failure,
        &["header x-request-id is missing"],
    )
    .await;
}

#[tokio::test]
async fn slower_than_max_latency_is_degraded_not_down() {
    let server = HttpServer::start().await;
    // `/slow` waits 300ms, so it cannot finish within 50ms whatever the machine.
    case(
        &server,
        "/slow",
        "expect = { max_latency = \"50ms\" }",
        Verdict::Degraded,
        &["status 200", "slower than 50ms"],
    )
    .await;
    // A failed expectation wins over slowness: that is down, not degraded.
    case(
        &server,
        "/slow",
        "expect = { max_latency = \"50ms\", body_contains = \"fast\" }",
        Verdict::Failure,
        &["body does not contain"],
    )
    .await;
}

#[tokio::test]
async fn method_headers_and_body_are_sent() {
    let server = HttpServer::start().await;
    let fields = format!(
        r#"kind = "http"
url = "{}"
method = "post"
headers = {{ Authorization = "Bearer t0ken", "Content-Type" = "application/json" }}
body = '{{"ping":true}}'"#,
        server.url("/ok?from=continuo")
    );
    let m = run(&fields, TIMEOUT).await;
    assert_measured(&m, Verdict::Success, &["status 200"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/ok?from=continuo");
    assert_eq!(r.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("host"), Some(server.addr.to_string().as_str()));
    assert!(
        r.header("user-agent")
            .is_some_and(|ua| ua.starts_with("Continuo/")),
        "{r:#?}"
    );
    assert_eq!(r.body, br#"{"ping":true}"#);
}

/// As browsers and curl do: 303 (and 301/302 after a POST) continue with a GET without
/// the body; 307 and 308 repeat the request as it was.
#[tokio::test]
async fn redirects_change_the_method_as_http_says() {
    let server = HttpServer::start().await;
    let post = "method = \"POST\"\nbody = \"payload\"\nfollow_redirects = true\nexpect = { status = [200] }";
    for (code, method, body) in [
        ("303", "GET", ""),
        ("302", "GET", ""),
        ("301", "GET", ""),
        ("307", "POST", "payload"),
        ("308", "POST", "payload"),
    ] {
        let before = server.requests().len();
        case(
            &server,
            &format!("/redirect/{code}"),
            post,
            Verdict::Success,
            &["status 200"],
        )
        .await;
        let seen = server.requests();
        let followed = &seen[before + 1];
        assert_eq!(followed.target, "/hop/0", "after {code}");
        assert_eq!(followed.method, method, "after {code}");
        assert_eq!(
            String::from_utf8_lossy(&followed.body),
            body,
            "after {code}"
        );
    }
}

#[tokio::test]
async fn redirects_are_followed_only_when_asked() {
    let server = HttpServer::start().await;
    use Verdict::{Failure, Success};
    // Not following: the redirect is the response, and 3xx is within the default 200-399.
    case(&server, "/hop/2", "", Success, &["status 302"]).await;
    case(
        &server,
        "/hop/2",
        "expect = { status = [200] }",
        Failure,
        &["status 302, expected 200"],
    )
    .await;
    case(
        &server,
        "/hop/2",
        "follow_redirects = true\nexpect = { status = [200], body_contains = \"arrived\" }",
        Success,
        &["status 200"],
    )
    .await;
    // A limit stops the chain where it is reached.
    case(
        &server,
        "/hop/3",
        "follow_redirects = 1\nexpect = { status = [200] }",
        Failure,
        &["status 302, expected 200"],
    )
    .await;
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/hop/2", "/hop/2", "/hop/2", "/hop/1", "/hop/0", "/hop/3", "/hop/2"
        ]
    );
}

#[tokio::test]
async fn every_probe_opens_a_fresh_connection() {
    let server = HttpServer::start().await;
    let check = check(&format!("kind = \"http\"\nurl = \"{}\"", server.url("/ok")));
    let probe = continuo_probe::build(&check, &ProbeContext::new("."))
        .expect("builds")
        .expect("active");
    for _ in 0..3 {
        let m = probe.run(TIMEOUT).await;
        assert_measured(&m, Verdict::Success, &["status 200"]);
    }
    assert_eq!(server.connections(), 3);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn refused_connection_is_down_with_the_reason() {
    let addr = closed_port().await;
    let m = run(
        &format!("kind = \"http\"\nurl = \"http://{addr}/\""),
        TIMEOUT,
    )
    .await;
    assert_measured(
        &m,
        Verdict::Failure,
        &[&format!("cannot connect to {addr}"), "refused"],
    );
    assert_eq!(m.code, None);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = SilentServer::start().await;
    let m = run(
        &format!("kind = \"http\"\nurl = \"http://{}/\"", server.addr),
        SHORT,
    )
    .await;
    assert_measured(&m, Verdict::Failure, &["timed out after 300ms"]);
}

#[tokio::test]
async fn phase_timings_are_measured() {
    let server = HttpServer::start().await;
    let m = run(
        &format!("kind = \"http\"\nurl = \"{}\"", server.url("/ok")),
        TIMEOUT,
    )
    .await;
    assert_measured(&m, Verdict::Success, &[]);
    let t = m.timings;
    assert_eq!(t.dns_us, None, "an IP literal needs no lookup: {t:?}");
    assert_eq!(t.tls_us, None, "plain HTTP has no handshake: {t:?}");
    let connect = t.connect_us.expect("connect time");
    let first_byte = t.first_byte_us.expect("first byte time");
    assert!(t.total_us >= connect, "{t:?}");
    assert!(t.total_us >= first_byte, "{t:?}");

    // A name is resolved, and the lookup is timed.
    let by_name = server.url("/ok").replace("127.0.0.1", "localhost");
    let m = run(&format!("kind = \"http\"\nurl = \"{by_name}\""), TIMEOUT).await;
    assert_measured(&m, Verdict::Success, &[]);
    assert!(m.timings.dns_us.is_some(), "{:?}", m.timings);
}
