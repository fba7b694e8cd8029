//! The OpenAPI document at `/api/v1/openapi.json`: it parses as OpenAPI 3, lists every
//! `/api/v1` route the router has with the same methods, and nothing the router lacks.
//!
//! The router's routes are enumerated twice: from the source (every `.route("/api/v1...",
//! ...)` in `crates/web/src`, with the methods named in it), and from the running router
//! itself (each documented path answers every documented method with something other
//! than "no such route", and every other method with 405).

use continuo_core::load_text;
use continuo_engine::{Engine, EngineOptions};
use continuo_web::AppState;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::net::TcpListener;

const METHODS: [&str; 6] = ["get", "post", "put", "delete", "patch", "head"];

/// `path -> methods` from the `.route(...)` calls in the web crate's source.
fn routes_in_source() -> BTreeMap<String, BTreeSet<String>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![dir.clone()];
    let mut found = BTreeMap::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read src") {
                files.push(entry.expect("entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            // The call's text up to its closing parenthesis.
            let mut depth = 1;
            let mut end = call.len();
            for (i, ch) in call.char_indices() {
                match ch {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let body = &call[..end];
            rest = &call[end..];
            let Some(path) = body
                .trim_start()
                .strip_prefix('"')
                .and_then(|b| b.split('"').next())
            else {
                continue;
            };
            if !path.starts_with("/api/v1") {
                continue;
            }
            let methods: BTreeSet<String> = METHODS
                .iter()
                .filter(|m| {
                    let bare = format!("{m}(");
                    body.match_indices(&bare).any(|(i, _)| {
                        i == 0 || !body[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
                })
                .map(|m| m.to_string())
                .collect();
            found
                .entry(path.to_string())
                .or_insert_with(BTreeSet::new)
                .extend(methods);
        }
    }
    found
}

async fn serve() -> (String, Engine) {
    continuo_notify::install_crypto_provider();
    let catalog = Arc::new(load_text("[organization]\nname = \"Test\"\n").expect("valid config"));
    let engine = Engine::start(catalog, EngineOptions::new("here", "."), None);
    let state = AppState {
        engine: engine.handle(),
        store: None,
        reloader: None,
        admin_token: None,
        alerts: None,
        gateways: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(continuo_web::serve(listener, state, std::future::pending()));
    (base, engine)
}

#[tokio::test]
async fn openapi_document_lists_every_api_route_with_its_methods() {
    let (base, _engine) = serve().await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET openapi.json");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");

    // OpenAPI 3: utoipa's own model reads it back, and the shape is what the spec says.
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_str(&text).expect("the document parses as OpenAPI");
    assert!(!parsed.info.title.is_empty());
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let version = doc["openapi"].as_str().expect("openapi field");
    assert!(version.starts_with("3."), "OpenAPI 3, got {version}");
    let paths = doc["paths"].as_object().expect("paths");

    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, item) in paths {
        let item = item.as_object().expect("path item");
        for (method, operation) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} has responses"
            );
            documented
                .entry(path.clone())
                .or_default()
                .insert(method.clone());
        }
    }

    // The same routes and methods as the source declares.
    let source = routes_in_source();
    assert!(
        source.len() > 30,
        "the source scan found the routes: {source:?}"
    );
    for (path, methods) in &source {
        assert_eq!(
            documented.get(path),
            Some(methods),
            "{path}: the router has {methods:?}, the document {:?}",
            documented.get(path)
        );
    }
    for path in documented.keys() {
        assert!(
            source.contains_key(path),
            "{path} is documented but not routed"
        );
    }

    // And the running router agrees: documented methods reach a handler (anonymous, so
    // mostly 401; never the fallback's 404 or a 405), the others are 405.
    for (path, methods) in &documented {
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "x" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS.iter().filter(|m| **m != "head") {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = client
                .request(m, format!("{base}{concrete}"))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if methods.contains(*method) {
                assert!(
                    status != 405 && !(status == 404 && body == "not found\n"),
                    "{method} {path}: the document lists it, the router answers {status} {body}"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is not documented, so not routed"
                );
            }
        }
    }
}
