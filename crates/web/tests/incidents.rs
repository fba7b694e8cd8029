//! The incident API at its boundary: a whole incident driven over HTTP (declare, update,
//! roles, actions, postmortem, resolve, list filters) and every kind of bad input
//! refused with the status and message that say what is wrong, changing nothing. The
//! real router over real sockets; alerting with the in-memory outbox and no channels.

mod common;

use serde_json::{Value, json};

const ADMIN: &str = "admin-s3cret";

type Server = common::Served;

async fn start() -> Server {
    let config = "[[person]]\nid = \"anna\"\nname = \"Anna\"\n\
         [[team]]\nid = \"ops\"\nmembers = [\"anna\"]\n\
         [[service]]\nid = \"db\"\nname = \"Order database\"\ntier = 1\nowner = \"ops\"\nrto = \"30m\"\n";
    common::serve_with_alerting(config, ADMIN).await
}

impl Server {
    /// POSTs `body` as the admin; the status and the answer (JSON, or the text).
    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("request");
        answer(response).await
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The error message of an answer.
fn message(answer: &Value) -> &str {
    answer["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_incident_is_run_over_the_api_and_bad_input_is_refused_with_reasons() {
    let s = start().await;

    // Nobody signed in: refused before anything is read.
    let anonymous = s
        .client
        .post(format!("{}/api/v1/incidents", s.base))
        .body(r#"{"title": "x"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status().as_u16(), 401);

    // Declaring: malformed, unknown field, bad severity, unknown service.
    let (status, a) = s.post("/api/v1/incidents", r#"{"title": "#).await;
    assert_eq!(status, 400, "{a}");
    assert!(message(&a).contains("the body must be JSON like"), "{a}");
    let (status, a) = s
        .post("/api/v1/incidents", r#"{"title": "x", "colour": "red"}"#)
        .await;
    assert_eq!(status, 400, "{a}");
    assert!(message(&a).contains("colour"), "{a}");
    let (status, a) = s
        .post(
            "/api/v1/incidents",
            r#"{"title": "x", "services": ["db"], "severity": "SEV9"}"#,
        )
        .await;
    assert_eq!(status, 422, "{a}");
    assert!(message(&a).contains("SEV1 to SEV4, not `SEV9`"), "{a}");
    let (status, a) = s
        .post(
            "/api/v1/incidents",
            r#"{"title": "x", "services": ["nope"]}"#,
        )
        .await;
    assert_eq!(status, 422, "{a}");
    assert!(message(&a).contains("nope"), "{a}");
    let (_, list) = s.get("/api/v1/incidents").await;
    assert_eq!(list["incidents"], json!([]), "nothing was declared");

    let (status, declared) = s
        .post(
            "/api/v1/incidents",
            r#"{"title": "Orders are slow", "services": ["db"], "severity": "SEV2", "by": "anna"}"#,
        )
        .await;
    assert_eq!(status, 201, "{declared}");
    let id = declared["id"].as_str().expect("an id").to_string();
    assert_eq!(declared["status"], "investigating");
    assert_eq!(declared["declared_by"], "anna");

    let (status, a) = s.get("/api/v1/incidents/INC-999").await;
    assert_eq!(status, 404, "{a}");
    assert!(message(&a).contains("INC-999"), "{a}");

    // Updates: nothing to do, a bad status, a bad audience; then a real one.
    let path = format!("/api/v1/incidents/{id}/update");
    let (status, a) = s.post(&path, "{}").await;
    assert_eq!(status, 422, "{a}");
    assert!(message(&a).starts_with("nothing to update"), "{a}");
    let (status, a) = s.post(&path, r#"{"status": "sleeping"}"#).await;
    assert_eq!(status, 422, "{a}");
    assert!(message(&a).contains("not `sleeping`"), "{a}");
    let (status, a) = s
        .post(&path, r#"{"audience": "martians", "message": "hi"}"#)
        .await;
    assert_eq!(status, 422, "{a}");
    assert!(message(&a).contains("not `martians`"), "{a}");
    let (status, a) = s
        .post(
            &path,
            r#"{"status": "identified", "severity": "SEV1", "audience": "internal", "message": "A full disk"}"#,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "identified", "{a}");
    assert_eq!(a["severity_by_hand"], true, "{a}");
    let updates = a["updates"].as_array().expect("updates");
    assert_eq!(updates.len(), 1, "{a}");
    assert_eq!(updates[0]["audience"], "internal");
    assert!(
        updates[0]["body"].to_string().contains("A full disk"),
        "{a}"
    );

    // Crisis roles: an unknown role; then a real assignment.
    let roles = format!("/api/v1/incidents/{id}/roles");
    let (status, a) = s
        .post(&roles, r#"{"role": "chef", "person": "anna"}"#)
        .await;
    assert_eq!(status, 422, "{a}");
    assert!(message(&a).contains("incident_commander"), "{a}");
    let (status, a) = s
        .post(
            &roles,
            r#"{"role": "incident_commander", "person": "anna"}"#,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["roles"]["incident_commander"], "anna", "{a}");

    // Action items: a number that is not one; then one added and completed.
    let (status, a) = s
        .post(
            &format!("/api/v1/incidents/{id}/actions/first"),
            r#"{"done": true}"#,
        )
        .await;
    assert_eq!(status, 400, "{a}");
    assert!(message(&a).contains("`first`"), "{a}");
    let (status, a) = s
        .post(
            &format!("/api/v1/incidents/{id}/actions"),
            r#"{"title": "Alarm on disk use", "owner": "anna", "due": "2026-12-01"}"#,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let number = a["actions"][0]["id"].as_u64().expect("an action id");
    let (status, a) = s
        .post(
            &format!("/api/v1/incidents/{id}/actions/{number}"),
            r#"{"done": true}"#,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert!(a["actions"][0]["done"].is_object(), "{a}");

    // Reports and the postmortem.
    let (status, a) = s.get(&format!("/api/v1/incidents/{id}/report/sox")).await;
    assert_eq!(status, 404, "{a}");
    assert!(message(&a).contains("use nis2 or dora"), "{a}");
    let postmortem = s
        .client
        .get(format!(
            "{}/api/v1/incidents/{id}/postmortem?lang=nl",
            s.base
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("request");
    assert_eq!(postmortem.status().as_u16(), 200);
    assert!(
        postmortem.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/markdown")
    );
    let text = postmortem.text().await.expect("body");
    assert!(
        text.contains("Orders are slow") && text.contains("Order database"),
        "{text}"
    );

    // List filters: a bad status, a period the wrong way round.
    let (status, a) = s.get("/api/v1/incidents?status=weird").await;
    assert_eq!(status, 400, "{a}");
    assert!(message(&a).contains("not `weird`"), "{a}");
    let (status, a) = s
        .get("/api/v1/incidents?from=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z")
        .await;
    assert_eq!(status, 400, "{a}");
    assert!(message(&a).contains("before"), "{a}");
    let (status, a) = s.get("/api/v1/incidents?from=yesterday").await;
    assert_eq!(status, 400, "{a}");
    assert!(message(&a).contains("`from` = `yesterday`"), "{a}");

    // Resolved with a closing word for customers.
    let (status, a) = s
        .post(
            &format!("/api/v1/incidents/{id}/resolve"),
            r#"{"message": "Fixed."}"#,
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "resolved", "{a}");
    let (_, open) = s.get("/api/v1/incidents?status=open").await;
    assert_eq!(open["incidents"], json!([]), "{open}");
    let (_, resolved) = s.get("/api/v1/incidents?status=resolved").await;
    assert_eq!(resolved["incidents"][0]["id"], id.as_str(), "{resolved}");
}

/// Regression (issue 16, item 9): notes and updates had no size limit below the body
/// cap (one incident grew to 8 MB). Each free text has one now; a longer one is refused
/// with 422, naming the field and the limit in the request's language, and changes
/// nothing.
#[tokio::test]
async fn texts_longer_than_their_limit_are_refused_naming_the_field() {
    let s = start().await;
    let (status, a) = s
        .post(
            "/api/v1/incidents",
            r#"{"title": "Orders are slow", "services": ["db"]}"#,
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let id = a["id"].as_str().expect("an id").to_string();
    let (_, before) = s.get(&format!("/api/v1/incidents/{id}")).await;

    let long = |n: usize| "é".repeat(n);
    for (path, body, expected) in [
        (
            "/api/v1/incidents".to_string(),
            json!({"title": long(201)}),
            "`title` is 201 characters long; at most 200 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/notes"),
            json!({"text": long(10_001)}),
            "`text` is 10001 characters long; at most 10000 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/update"),
            json!({"message": long(10_001), "audience": "customers"}),
            "`message` is 10001 characters long; at most 10000 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/resolve"),
            json!({"message": long(10_001)}),
            "`message` is 10001 characters long; at most 10000 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/update"),
            json!({"title": long(201)}),
            "`title` is 201 characters long; at most 200 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/notes"),
            json!({"text": "fine", "by": long(201)}),
            "`by` is 201 characters long; at most 200 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/actions"),
            json!({"title": "Alarm on disk use", "owner": long(201)}),
            "`owner` is 201 characters long; at most 200 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/review"),
            json!({"summary": long(10_001)}),
            "`summary` is 10001 characters long; at most 10000 are taken",
        ),
        (
            format!("/api/v1/incidents/{id}/review"),
            json!({"went_well": vec!["x"; 101]}),
            "`went_well` has 101 lines; at most 100 are taken",
        ),
    ] {
        let (status, a) = s.post(&path, &body.to_string()).await;
        assert_eq!(status, 422, "{path}: {a}");
        assert_eq!(message(&a), expected, "{path}");
    }
    // In Dutch when asked.
    let (status, a) = s
        .post(
            &format!("/api/v1/incidents/{id}/notes?lang=nl"),
            &json!({"text": long(10_001)}).to_string(),
        )
        .await;
    assert_eq!(status, 422, "{a}");
    assert_eq!(
        message(&a),
        "`text` is 10001 tekens lang; er worden er hoogstens 10000 aangenomen"
    );
    // Nothing changed, and text at the limit is taken.
    let (_, after) = s.get(&format!("/api/v1/incidents/{id}")).await;
    for field in [
        "title", "timeline", "updates", "actions", "review", "status",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    let (status, _) = s.get("/api/v1/incidents/INC-2").await;
    assert_eq!(status, 404, "no incident was declared with the long title");
    let (status, a) = s
        .post(
            &format!("/api/v1/incidents/{id}/notes"),
            &json!({"text": long(10_000)}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{a}");
}

/// Regression (issue 16, item 9): Markdown reports were served inline, so raw HTML an
/// operator wrote into a title or review came back as a page of its own. They are
/// attachments now, sandboxed should a browser show one anyway.
#[tokio::test]
async fn markdown_reports_are_attachments_that_never_render() {
    let s = start().await;
    let (status, a) = s
        .post(
            "/api/v1/incidents",
            r#"{"title": "<script>alert(1)</script>", "services": ["db"]}"#,
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let id = a["id"].as_str().expect("an id").to_string();
    for (path, file) in [
        ("postmortem", format!("{id}-postmortem.md")),
        ("report/nis2", format!("{id}-nis2.md")),
        ("report/dora", format!("{id}-dora.md")),
    ] {
        let answer = s
            .client
            .get(format!("{}/api/v1/incidents/{id}/{path}", s.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(
            header("content-disposition"),
            format!("attachment; filename=\"{file}\""),
            "{path}"
        );
        assert!(
            header("content-type").starts_with("text/markdown"),
            "{path}"
        );
        assert_eq!(
            header("content-security-policy"),
            "sandbox; default-src 'none'"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
    }
}
