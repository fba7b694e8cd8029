//! Evidence, posture and the availability report over real sockets on 127.0.0.1, each
//! case on SQLite and on the local PostgreSQL (`continuo_store::testing`): the API's
//! answers and refusals (400 naming the parameter, 404 for an unknown service), manual
//! records (roles, CSRF for a browser session, validation against the catalog's claims,
//! the audit entry), the Prometheus families, the month report from fixed day rollups,
//! and the dashboard pages in English and Dutch.
//!
//! The server runs on the system clock, so records are placed relative to now.

mod common;

use common::{client, engine_with_alerting, serve_router};
use continuo_core::access::Role;
use continuo_core::evidence::{ClaimKind, Evidence, Measure, Outcome, Source, SourceKind, Subject};
use continuo_core::load_text;
use continuo_core::observation::{Measurement, Observation, Timings};
use continuo_core::state::Verdict;
use continuo_engine::Engine;
use continuo_engine::alerts::Alerting;
use continuo_engine::incidents::IncidentOptions;
use continuo_store::access::{ApiToken, Session, User};
use continuo_store::writer::{Record, Writer, WriterConfig};
use continuo_store::{BookChanges, IncidentRow, Store, backends};
use continuo_web::{AppState, credentials};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

backends!(
    the_posture_shows_each_claim_with_its_proof,
    evidence_is_listed_newest_first_and_bad_parameters_are_named,
    manual_evidence_needs_a_responder_is_checked_and_audited,
    metrics_carry_each_claims_verdict_and_evidence_age,
    the_month_report_gives_exact_downtime_and_days_without_data,
    the_dashboard_shows_the_matrix_and_timeline_in_both_languages,
);

const ADMIN: &str = "admin-s3cret-token";
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2026-11-01T00:00:00Z.
const NOV: i64 = 1_793_491_200_000;

const CONFIG: &str = r#"[organization]
name = "Acme"

[[person]]
id = "anna"
name = "Anna"

[[team]]
id = "web"
members = ["anna"]

[[service]]
id = "shop"
name = "Web shop"
tier = 1
owner = "web"
rto = "1h"
rpo = "15m"
slo = "99.9%"
runbook = { path = "runbooks/shop.md", review_every = "365d", reviewed = "2026-11-01" }
[[service.check]]
id = "shop-http"
kind = "tcp"
target = "127.0.0.1:9"
interval = "1h"

[[service]]
id = "blog"
name = "Blog"
tier = 4
owner = "web"
rto = "1d"
"#;

struct Server {
    base: String,
    client: reqwest::Client,
    store: Store,
    _engine: Engine,
    _alerting: Alerting,
}

async fn start(store: Store) -> Server {
    continuo_notify::install_crypto_provider();
    let catalog = Arc::new(load_text(CONFIG).expect("valid config"));
    let (engine, alerting) = engine_with_alerting(catalog, IncidentOptions::default()).await;
    let state = AppState {
        engine: engine.handle(),
        store: Some(store.clone()),
        reloader: None,
        admin_token: Some(ADMIN.into()),
        alerts: Some(alerting.handle()),
        gateways: None,
    };
    let base = serve_router(continuo_web::router(state)).await;
    Server {
        base,
        client: client(),
        store,
        _engine: engine,
        _alerting: alerting,
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Server {
    /// A call with a bearer token; the answer's status and JSON (or text as a string).
    async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let r = request.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(ADMIN, "GET", path, None).await
    }

    /// A dashboard page with the admin token, in a language.
    async fn page(&self, path: &str, lang: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .header("Accept-Language", lang)
            .send()
            .await
            .expect("GET page");
        (r.status(), r.text().await.unwrap_or_default())
    }
}

async fn add_token(store: &Store, name: &str, role: Role) -> String {
    let made = credentials::new_api_token().expect("token");
    let token = ApiToken {
        id: made.id,
        name: name.into(),
        role,
        secret_hash: made.secret_hash,
        created_by: "test".into(),
        created_ms: 0,
        last_used_ms: None,
        revoked_ms: None,
    };
    assert!(store.add_token(&token).await.expect("add token"));
    made.token
}

fn record(
    claim: ClaimKind,
    service: &str,
    source: (SourceKind, &str),
    observed_ms: i64,
    outcome: Outcome,
    value: Option<Measure>,
) -> Evidence {
    let subject = Subject::Service(service.into());
    let source = Source {
        kind: source.0,
        id: source.1.into(),
    };
    Evidence {
        id: Evidence::id_for(claim, &subject, &source),
        claim,
        link: (source.kind == SourceKind::Incident).then(|| format!("/incidents/{}", source.id)),
        subject,
        source,
        observed_ms,
        value,
        target: None,
        outcome,
        note: None,
        recorded_by: "continuo".into(),
        recorded_ms: observed_ms,
    }
}

/// The shop's RTO met by INC-1 two days ago (9 minutes against an hour) and its RPO
/// last proven 400 days ago (stale: a recovery proves it for a year).
async fn seed(store: &Store, now: i64) {
    let records = [
        record(
            ClaimKind::Rto,
            "shop",
            (SourceKind::Incident, "INC-1"),
            now - 2 * DAY,
            Outcome::Met,
            Some(Measure::ms(9 * MIN)),
        ),
        record(
            ClaimKind::Rpo,
            "shop",
            (SourceKind::Incident, "INC-0"),
            now - 400 * DAY,
            Outcome::Met,
            Some(Measure::ms(5 * MIN)),
        ),
    ];
    assert_eq!(store.add_evidence(&records).await.expect("add"), 2);
}

fn verdict<'a>(posture: &'a Value, subject: &str, claim: &str) -> &'a Value {
    posture["verdicts"]
        .as_array()
        .and_then(|v| {
            v.iter()
                .find(|v| v["subject"] == subject && v["claim"] == claim)
        })
        .unwrap_or_else(|| panic!("no verdict for {subject} {claim} in {posture}"))
}

async fn the_posture_shows_each_claim_with_its_proof(store: Store) {
    let s = start(store).await;
    let now = now_ms();
    seed(&s.store, now).await;
    let (status, p) = s.get("/api/v1/posture").await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let rto = verdict(&p, "service:shop", "rto");
    assert_eq!(rto["state"], "met", "{rto}");
    assert_eq!(rto["source_kind"], "incident");
    assert_eq!(rto["source_id"], "INC-1");
    assert_eq!(rto["link"], "/incidents/INC-1");
    assert_eq!(rto["value"]["value"], 9.0 * 60_000.0);
    assert_eq!(rto["target"]["unit"], "ms");
    assert_eq!(rto["target"]["value"], 3_600_000.0);
    assert_eq!(rto["evidence_id"], "rto/service:shop/incident/INC-1");
    let age = rto["age_seconds"].as_i64().expect("age");
    assert!((2 * 86_400..2 * 86_400 + 120).contains(&age), "{rto}");
    let observed = rto["observed_at"].as_str().expect("observed_at");
    assert_eq!(
        observed
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond() / 1_000),
        Some((now - 2 * DAY) / 1_000),
        "RFC 3339: {observed}"
    );
    assert_eq!(verdict(&p, "service:shop", "rpo")["state"], "stale");
    assert_eq!(
        verdict(&p, "service:shop", "availability")["state"],
        "unproven"
    );
    assert!(verdict(&p, "service:shop", "availability")["evidence_id"].is_null());
    assert_eq!(
        verdict(&p, "organization", "plan_reviewed")["state"],
        "unproven"
    );
    // Readiness names the claims per state; no score.
    let shop = p["readiness"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["subject"] == "service:shop"))
        .expect("the shop's readiness");
    assert_eq!(shop["met"], json!(["rto", "runbook_current"]), "{shop}");
    assert_eq!(shop["unproven"], json!(["availability"]), "{shop}");
    assert_eq!(shop["stale"], json!(["rpo"]), "{shop}");
    let tier1 = p["tiers"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tier"] == 1))
        .expect("tier 1");
    assert_eq!(tier1["counts"]["rto"]["met"], 1, "{tier1}");
    assert_eq!(p["budgets"][0]["service"], "shop", "{p}");
    assert_eq!(p["budgets"][0]["slo_percent"], 99.9, "{p}");

    // One service: only its claims, counted alone.
    let (status, one) = s.get("/api/v1/posture?service=blog").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let verdicts = one["verdicts"].as_array().expect("verdicts");
    assert!(!verdicts.is_empty());
    assert!(
        verdicts.iter().all(|v| v["subject"] == "service:blog"),
        "{one}"
    );
    assert_eq!(one["budgets"], json!([]));
    assert_eq!(one["tiers"][0]["tier"], 4);
    assert_eq!(one["tiers"].as_array().map(Vec::len), Some(1));

    let (status, answer) = s.get("/api/v1/posture?service=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("`nope`")),
        "{answer}"
    );
    // Anonymous: no posture.
    let r = s
        .client
        .get(format!("{}/api/v1/posture", s.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn evidence_is_listed_newest_first_and_bad_parameters_are_named(store: Store) {
    let s = start(store).await;
    let now = now_ms();
    seed(&s.store, now).await;
    let (status, all) = s.get("/api/v1/evidence").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let ids: Vec<&str> = all["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["source_id"].as_str())
        .collect();
    assert_eq!(ids, ["INC-1", "INC-0"], "newest first: {all}");
    let (_, rto) = s.get("/api/v1/evidence?claim=rto&subject=shop").await;
    assert_eq!(rto["records"].as_array().map(Vec::len), Some(1), "{rto}");
    assert_eq!(rto["records"][0]["manual"], false);
    assert_eq!(rto["records"][0]["subject"], "service:shop");
    let (_, limited) = s.get("/api/v1/evidence?limit=1").await;
    assert_eq!(limited["records"][0]["source_id"], "INC-1", "{limited}");
    assert_eq!(limited["records"].as_array().map(Vec::len), Some(1));
    let (_, none) = s.get("/api/v1/evidence?subject=service:blog").await;
    assert_eq!(none["records"], json!([]));
    let (_, by_source) = s.get("/api/v1/evidence?source=manual").await;
    assert_eq!(by_source["records"], json!([]));

    for (query, parameter) in [
        ("claim=uptime", "`claim`"),
        ("subject=host:web1", "`subject`"),
        ("subject=service:", "`subject`"),
        ("source=rumour", "`source`"),
        ("limit=0", "`limit`"),
        ("limit=many", "`limit`"),
    ] {
        let (status, answer) = s.get(&format!("/api/v1/evidence?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(parameter), "{query}: {answer}");
    }
    // In Dutch when asked.
    let (status, answer) = s.get("/api/v1/evidence?claim=uptime&lang=nl").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("is een van")),
        "{answer}"
    );
}

/// A signed-in browser session for a new user `name` with `role`: its cookie value.
async fn session(store: &Store, name: &str, role: Role) -> String {
    let user = User {
        name: name.into(),
        role,
        password_hash: credentials::hash_password("correct horse battery").expect("hash"),
        created_ms: 0,
        updated_ms: 0,
    };
    assert!(store.add_user(&user).await.expect("add user"));
    let cookie = credentials::random_hex(32).expect("cookie");
    let now = now_ms();
    store
        .add_session(&Session {
            id_hash: credentials::sha256_hex(cookie.as_bytes()),
            user_name: name.into(),
            created_ms: now,
            last_seen_ms: now,
            expires_ms: now + DAY,
            address: "127.0.0.1".into(),
        })
        .await
        .expect("add session");
    cookie
}

async fn manual_evidence_needs_a_responder_is_checked_and_audited(store: Store) {
    let s = start(store).await;
    let viewer = add_token(&s.store, "auditor-view", Role::Viewer).await;
    let responder = add_token(&s.store, "bcm-office", Role::Responder).await;
    let good = json!({
        "claim": "redundancy", "subject": "shop", "outcome": "met",
        "observed_at": "2026-11-20T10:00:00Z",
        "note": "Failover test by the hosting provider, report HP-118"
    });
    // Redundancy is not claimed: the shop has no backup endpoint or gateway.
    let (status, answer) = s
        .call(&responder, "POST", "/api/v1/evidence", Some(good.clone()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("makes no `redundancy` claim") && error.contains("rto"),
        "{answer}"
    );

    let mut rto = good.clone();
    rto["claim"] = json!("rto");
    rto["value"] = json!(1_500_000);
    let (status, answer) = s
        .call(&viewer, "POST", "/api/v1/evidence", Some(rto.clone()))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a viewer records nothing: {answer}"
    );
    let (status, made) = s
        .call(&responder, "POST", "/api/v1/evidence", Some(rto.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["manual"], true);
    assert_eq!(made["source_kind"], "manual");
    assert_eq!(made["recorded_by"], "bcm-office");
    assert_eq!(made["outcome"], "met");
    assert_eq!(made["observed_at"], "2026-11-20T10:00:00Z");
    assert_eq!(made["value"]["unit"], "ms", "the unit of the RTO: {made}");
    assert_eq!(made["target"]["value"], 3_600_000.0, "{made}");
    assert_eq!(
        made["note"]["en"],
        "Failover test by the hosting provider, report HP-118"
    );
    let (_, listed) = s.get("/api/v1/evidence?source=manual").await;
    assert_eq!(listed["records"][0]["id"], made["id"], "{listed}");

    // Bad input says what is wrong; nothing is written.
    for (change, status, words) in [
        (
            json!({"note": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`note`",
        ),
        (
            json!({"outcome": "fine"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`outcome`",
        ),
        (
            json!({"claim": "uptime"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`claim`",
        ),
        (
            json!({"subject": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`nope`",
        ),
        (
            json!({"unit": "hours"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`unit`",
        ),
        (
            json!({"value": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`value`",
        ),
        (
            json!({"observed_at": "yesterday"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`observed_at`",
        ),
        (
            json!({"observed_at": "2999-01-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "future",
        ),
        (json!({"colour": "red"}), StatusCode::BAD_REQUEST, "colour"),
    ] {
        let mut body = rto.clone();
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (got, answer) = s
            .call(&responder, "POST", "/api/v1/evidence", Some(body))
            .await;
        assert_eq!(got, status, "{change}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.contains(words)),
            "{change}: {answer}"
        );
    }
    let mut no_note = rto.clone();
    no_note.as_object_mut().expect("object").remove("note");
    let (status, answer) = s
        .call(&responder, "POST", "/api/v1/evidence", Some(no_note))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| e.contains("note")),
        "{answer}"
    );
    let (_, listed) = s.get("/api/v1/evidence?source=manual").await;
    assert_eq!(
        listed["records"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );

    // A browser session needs our Origin and the session's CSRF token.
    let cookie = session(&s.store, "marit", Role::Responder).await;
    let post = |csrf: Option<String>| {
        let mut r = s
            .client
            .post(format!("{}/api/v1/evidence", s.base))
            .header(
                "Cookie",
                format!("{}={cookie}", continuo_web::SESSION_COOKIE),
            )
            .header("Origin", s.base.clone())
            .json(&rto);
        if let Some(token) = csrf {
            r = r.header("X-CSRF-Token", token);
        }
        r.send()
    };
    let r = post(None).await.expect("POST");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(Some(credentials::csrf_token(&cookie)))
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.expect("JSON");
    assert_eq!(made["recorded_by"], "marit", "{made}");

    // Every attempt is in the audit log as evidence.add, refusals included.
    let (status, audit) = s.get("/api/v1/audit").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let entries: Vec<&Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "evidence.add")
        .collect();
    let has = |actor: &str, outcome: u16| {
        entries
            .iter()
            .any(|e| e["actor"] == actor && e.to_string().contains(&outcome.to_string()))
    };
    assert!(has("token:bcm-office", 201), "{audit}");
    assert!(has("token:auditor-view", 403), "{audit}");
    assert!(has("user:marit", 201), "{audit}");
    assert!(has("user:marit", 403), "{audit}");
}

async fn metrics_carry_each_claims_verdict_and_evidence_age(store: Store) {
    let s = start(store).await;
    seed(&s.store, now_ms()).await;
    let text = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    for line in [
        "# TYPE continuo_claim_verdict gauge",
        "continuo_claim_verdict{subject=\"service:shop\",service=\"shop\",claim=\"rto\"} 1",
        "continuo_claim_verdict{subject=\"service:shop\",service=\"shop\",claim=\"rpo\"} -1",
        "continuo_claim_verdict{subject=\"service:shop\",service=\"shop\",claim=\"availability\"} 0",
        "continuo_claim_verdict{subject=\"organization\",claim=\"plan_reviewed\"} 0",
        "# TYPE continuo_evidence_age_seconds gauge",
        "continuo_evidence_age_seconds{subject=\"service:shop\",service=\"shop\",claim=\"rto\"} ",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    // Age only where a record decided the claim.
    assert!(
        !text.contains(
            "continuo_evidence_age_seconds{subject=\"service:shop\",service=\"shop\",claim=\"availability\"}"
        ),
        "{text}"
    );
    // The families sit beside the engine's and alerting's in one exposition.
    assert!(text.contains("continuo_alerts"), "{text}");
}

fn observation(at_ms: i64, verdict: Verdict) -> Observation {
    Observation {
        check_id: "shop-http".into(),
        location: "here".into(),
        at_ms,
        measurement: Measurement {
            verdict,
            message: String::new(),
            code: None,
            timings: Timings {
                total_us: 1_000,
                ..Timings::default()
            },
        },
    }
}

/// November 2026 for the shop: observed every 10 minutes but on the 10th; on the 3rd
/// three observations failed (3/144 of a day: exactly 30 minutes down), while INC-1 took
/// it down for 30 minutes.
async fn november(store: &Store) {
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    for day in 0..30 {
        if day == 9 {
            continue;
        }
        for i in 0..144 {
            let verdict = if day == 2 && i < 3 {
                Verdict::Failure
            } else {
                Verdict::Success
            };
            writer.submit(Record::Observation(observation(
                NOV + day * DAY + i * 10 * MIN,
                verdict,
            )));
        }
    }
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());
    let incident = json!({
        "id": "INC-1", "number": 1, "title": "Web shop down", "status": "resolved",
        "severity": 1, "severity_by_hand": false, "declared_by": null, "alerts": [],
        "services": [{"service": "shop", "name": "Web shop", "tier": 1, "root_cause": true,
                      "down_ms": NOV + 2 * DAY, "up_ms": NOV + 2 * DAY + 30 * MIN,
                      "rto_ms": HOUR, "rpo_ms": null, "last_good_ms": null}],
        "milestones": {"started_ms": NOV + 2 * DAY, "detected_ms": NOV + 2 * DAY,
                       "acknowledged_ms": null, "mitigated_ms": null,
                       "resolved_ms": NOV + 2 * DAY + 30 * MIN},
        "roles": {}, "plans": [], "checklist": [], "updates": [], "significant_ms": null,
        "reports": [], "actions": [], "review": {}, "timeline": []
    });
    let row = IncidentRow {
        id: "INC-1".into(),
        number: 1,
        status: "resolved".into(),
        severity: 1,
        detected_ms: Some(NOV + 2 * DAY),
        resolved_ms: Some(NOV + 2 * DAY + 30 * MIN),
        body: incident,
    };
    store
        .commit_alerting(&BookChanges::default(), &[], &[row])
        .await
        .expect("commit");
}

async fn the_month_report_gives_exact_downtime_and_days_without_data(store: Store) {
    let s = start(store).await;
    november(&s.store).await;
    let (status, report) = s
        .get("/api/v1/reports/availability?month=2026-11&service=shop")
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["month"], "2026-11");
    assert_eq!(report["from"], "2026-11-01T00:00:00Z");
    assert_eq!(report["until"], "2026-12-01T00:00:00Z");
    let shop = &report["services"][0];
    assert_eq!(report["services"].as_array().map(Vec::len), Some(1));
    assert_eq!(shop["service"], "shop");
    assert_eq!(shop["period"]["down_minutes"], 30.0, "{shop}");
    assert_eq!(shop["period"]["days_with_data"], 29);
    assert_eq!(shop["period"]["days_without_data"], 1);
    let tenth = &shop["period"]["days"][9];
    assert_eq!(tenth["date"], "2026-11-10");
    assert!(
        tenth["availability"].is_null(),
        "no data is not up: {tenth}"
    );
    assert_eq!(shop["period"]["days"][2]["down_minutes"], 30.0);
    assert_eq!(shop["slo"], 99.9);
    assert_eq!(shop["incidents"][0]["id"], "INC-1");
    assert_eq!(shop["incidents"][0]["duration_ms"], 30 * MIN);
    assert_eq!(shop["incidents"][0]["rto"], "met");
    let (_, all) = s.get("/api/v1/reports/availability?month=2026-11").await;
    assert_eq!(all["services"].as_array().map(Vec::len), Some(2), "{all}");
    assert!(all["services"][1]["period"]["availability"].is_null());

    for (query, status, words) in [
        ("month=2026-13", StatusCode::BAD_REQUEST, "`month`"),
        ("month=november", StatusCode::BAD_REQUEST, "`month`"),
        (
            "month=2026-11&service=nope",
            StatusCode::NOT_FOUND,
            "`nope`",
        ),
    ] {
        let (got, answer) = s
            .get(&format!("/api/v1/reports/availability?{query}"))
            .await;
        assert_eq!(got, status, "{query}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| e.contains(words)),
            "{query}: {answer}"
        );
    }
    // This month when none is named.
    let (status, current) = s.get("/api/v1/reports/availability").await;
    assert_eq!(status, StatusCode::OK, "{current}");
    assert_eq!(
        current["month"].as_str(),
        jiff::Timestamp::now()
            .strftime("%Y-%m")
            .to_string()
            .as_str()
            .into()
    );

    // The same report on the dashboard, days without data shown as such.
    let (status, html) = s.page("/reports/availability?month=2026-11", "en").await;
    assert_eq!(status, StatusCode::OK);
    for needed in [
        "Availability report",
        "<caption>Availability per service, 2026-11</caption>",
        "Web shop",
        "30.0 min",
        "no data",
        "99.9 %",
        "href=\"/incidents/INC-1\"",
        "RTO met",
        "2026-11-10",
        "?month=2026-10",
        "?month=2026-12",
    ] {
        assert!(html.contains(needed), "{needed} in {html}");
    }
    let (_, html) = s.page("/reports/availability?month=2026-11", "nl").await;
    for needed in [
        "Beschikbaarheidsrapport",
        "geen gegevens",
        "RTO gehaald",
        "lang=\"nl\"",
    ] {
        assert!(html.contains(needed), "{needed} in {html}");
    }
    let (status, html) = s.page("/reports/availability?month=2026-13", "nl").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("geen maand"), "{html}");
}

async fn the_dashboard_shows_the_matrix_and_timeline_in_both_languages(store: Store) {
    let s = start(store).await;
    seed(&s.store, now_ms()).await;
    let responder = add_token(&s.store, "bcm-office", Role::Responder).await;
    let body = json!({"claim": "availability", "subject": "shop", "outcome": "breached",
                      "value": 99.5, "note": "External audit: 99.5 % in Q3"});
    let (status, answer) = s
        .call(&responder, "POST", "/api/v1/evidence", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let (status, html) = s.page("/posture", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for needed in [
        "<h1>Posture</h1>",
        "Readiness per tier",
        "<caption class=\"note\">Services and the organisation",
        "<th scope=\"col\" data-claim=\"rto\">RTO</th>",
        "data-subject=\"shop\"",
        "data-subject=\"organization\"",
        "<span class=\"badge state-met\">met</span>",
        "<span class=\"badge state-stale\">stale</span>",
        "<span class=\"badge state-breached\">breached</span>",
        "<span class=\"badge state-unproven\">unproven</span>",
        "2 d ago",
        "<a href=\"/incidents/INC-1\">incident INC-1</a>",
        "<a href=\"/posture/shop\">recorded by hand",
        "href=\"/posture\" aria-current=\"page\"",
        "Error budgets",
    ] {
        assert!(html.contains(needed), "{needed} in {html}");
    }
    let (_, html) = s.page("/posture", "de, nl;q=0.9").await;
    for needed in [
        "<h1>Paraatheid</h1>",
        "Paraatheid per niveau",
        "<span class=\"badge state-met\">gehaald</span>",
        "<span class=\"badge state-stale\">verouderd</span>",
        "<span class=\"badge state-breached\">geschonden</span>",
        "<span class=\"badge state-unproven\">onbewezen</span>",
        "2 d geleden",
        "Organisatie",
    ] {
        assert!(html.contains(needed), "{needed} in {html}");
    }

    let (status, html) = s.page("/posture/shop", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for needed in [
        "Evidence: Web shop",
        "Evidence timeline",
        "External audit: 99.5 % in Q3",
        "<span class=\"badge unknown\">manual</span>",
        "bcm-office",
        "99.5 %",
        "9 min",
        "<a href=\"/incidents/INC-1\">incident INC-1</a>",
        "reviewed 2026-11-01",
    ] {
        assert!(html.contains(needed), "{needed} in {html}");
    }
    // Newest first: the manual record (now) before INC-1 (two days ago) before INC-0.
    let timeline = html
        .split("Evidence timeline")
        .nth(1)
        .expect("the timeline");
    let at = |needle: &str| timeline.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("External audit") < at("incident INC-1"));
    assert!(at("incident INC-1") < at("incident INC-0"));
    let (_, html) = s.page("/posture/shop", "nl").await;
    assert!(
        html.contains("handmatig") && html.contains("Tijdlijn van het bewijs"),
        "{html}"
    );
    let (status, html) = s.page("/posture/organization", "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Plan reviewed"), "{html}");
    let (status, html) = s.page("/posture/nope", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("No service `nope`"), "{html}");

    // Anonymous visitors are sent to sign in.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/posture", s.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
