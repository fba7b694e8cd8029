//! One language negotiation on every surface: `Accept-Language: de, nl;q=0.9` asks for
//! German first, which is not spoken here, then Dutch; every surface answers in Dutch
//! (the status page, the sign-in page, API errors, the postmortem, an acknowledge link's
//! page). The real router over real sockets.

mod common;

use serde_json::Value;

const ADMIN: &str = "admin-s3cret";
const GERMAN_THEN_DUTCH: &str = "de, nl;q=0.9";

#[tokio::test]
async fn german_then_dutch_is_dutch_on_every_surface() {
    let config = "[organization]\nname = \"Acme\"\nlanguages = [\"en\", \"nl\"]\n\
         [[person]]\nid = \"anna\"\nname = \"Anna\"\n\
         [[team]]\nid = \"ops\"\nmembers = [\"anna\"]\n\
         [[service]]\nid = \"db\"\nname = \"Order database\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\n";
    let served = common::serve_with_alerting(config, ADMIN).await;
    let (base, client) = (&served.base, &served.client);
    let get = |path: &str, bearer: Option<&str>| {
        let mut request = client
            .get(format!("{base}{path}"))
            .header("accept-language", GERMAN_THEN_DUTCH);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    // The status page.
    let page = get("/status", None).await.expect("status page");
    let html = page.text().await.expect("body");
    assert!(html.contains("lang=\"nl\""), "status page: {html}");

    // The sign-in page (this server has no database: it says so, in Dutch).
    let login = get("/login", None).await.expect("login page");
    let html = login.text().await.expect("body");
    assert!(
        html.contains("<html lang=\"nl\">") && html.contains("Inloggen"),
        "login page: {html}"
    );

    // API errors: unauthenticated, a bad query, an unknown incident.
    let refused = get("/api/v1/alerts", None).await.expect("alerts");
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().await.expect("JSON");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("log in op /login")),
        "{body}"
    );
    let bad = get("/api/v1/incidents?status=bogus", Some(ADMIN))
        .await
        .expect("incidents");
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().await.expect("JSON");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.ends_with("niet `bogus`")),
        "{body}"
    );
    let missing = get("/api/v1/incidents/INC-404", Some(ADMIN))
        .await
        .expect("incident");
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value = missing.json().await.expect("JSON");
    assert_eq!(body["error"], "geen incident met id `INC-404`", "{body}");

    // `?lang=` chooses over Accept-Language, for errors too.
    let english = get("/api/v1/incidents/INC-404/postmortem?lang=en", Some(ADMIN))
        .await
        .expect("postmortem");
    assert_eq!(english.status().as_u16(), 404);
    let body: Value = english.json().await.expect("JSON");
    assert_eq!(body["error"], "no incident with id `INC-404`", "{body}");

    // The postmortem of a declared incident.
    let declared = client
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(r#"{"title": "Orders are slow", "services": ["db"], "severity": "SEV2"}"#)
        .send()
        .await
        .expect("declare");
    assert_eq!(declared.status().as_u16(), 201);
    let incident: Value = declared.json().await.expect("JSON");
    let id = incident["id"].as_str().expect("id");
    let postmortem = get(&format!("/api/v1/incidents/{id}/postmortem"), Some(ADMIN))
        .await
        .expect("postmortem");
    assert_eq!(postmortem.status().as_u16(), 200);
    let text = postmortem.text().await.expect("body");
    assert!(text.contains("## Samenvatting"), "{text}");

    // An acknowledge link's page (an invalid link says so in Dutch).
    let ack = get("/ack/not-a-token", None).await.expect("ack page");
    assert_eq!(ack.status().as_u16(), 403);
    let html = ack.text().await.expect("body");
    assert!(html.contains("Ongeldige link"), "ack page: {html}");

    drop(served);
}
