//! The dashboard in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`, which `.ci/run` installs) against a real `continuo
//! serve` with a user made by `continuo user add`.
//!
//! The harness at the top is meant to be shared: [`Driver::start`] runs chromedriver on
//! a free port, [`Driver::session`] opens a browser with or without JavaScript and in a
//! chosen language, [`Server::start`] runs `continuo serve` with a signed-in-able user,
//! and [`screenshot`] saves a PNG when `CONTINUO_SCREENSHOTS=<folder>` is set (the README's
//! pictures come from `CONTINUO_SCREENSHOTS=docs cargo test -p continuo --test browser`).
//!
//! Waits are for a state (an element, a URL, an API answer), bounded generously so a
//! slow machine is not a failure; nothing asserts how long anything took.

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary and the tools it works with"
)]

mod common;

use common::{free_port, listening_port, workspace};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";
const ADMIN_TOKEN: &str = "browser-test-admin-token";

/// How long a wait for a state may take before the test gives up (not a measurement).
const PATIENCE: Duration = Duration::from_secs(60);

/// Waits until `f` holds, checking every 100 ms, for at most [`PATIENCE`].
async fn wait_until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let give_up = tokio::time::Instant::now() + PATIENCE;
    while !f().await {
        assert!(
            tokio::time::Instant::now() < give_up,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running chromedriver.
pub struct Driver {
    child: Child,
    port: u16,
}

/// How a browser session starts.
#[derive(Clone, Copy)]
pub struct SessionOptions<'a> {
    /// Whether pages may run scripts.
    pub javascript: bool,
    /// The browser's Accept-Language, e.g. `"nl,en"`.
    pub languages: &'a str,
}

impl Default for SessionOptions<'_> {
    fn default() -> Self {
        SessionOptions {
            javascript: true,
            languages: "en",
        }
    }
}

impl Driver {
    /// Starts `chromedriver` on a free 127.0.0.1 port and waits until it listens; `None`
    /// (the test skips, saying what to install) when chromedriver or Chromium is not on
    /// the `PATH` outside CI.
    pub async fn start() -> Option<Driver> {
        let install = "install Debian's chromium and chromium-driver";
        if common::skip_without("browser test", "chromedriver", install)
            || common::skip_without("browser test", "chromium", install)
        {
            return None;
        }
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run chromedriver ({e}): install Debian's chromium and chromium-driver (.ci/run does)"
                )
            });
        let driver = Driver { child, port };
        wait_until("chromedriver to listen", || async move {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await;
        Some(driver)
    }

    /// A new headless Chromium session.
    pub async fn session(&self, options: SessionOptions<'_>) -> Client {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--window-size=1280,1000".to_string(),
            format!(
                "--lang={}",
                options.languages.split(',').next().unwrap_or("en")
            ),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_string());
        }
        let mut chrome = json!({
            "args": args,
            "prefs": { "intl.accept_languages": options.languages },
        });
        if Path::new("/usr/bin/chromium").exists() {
            chrome["binary"] = json!("/usr/bin/chromium");
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `continuo serve` in a temporary folder, with user `anna` (responder).
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    port: u16,
    _dir: tempfile::TempDir,
}

fn continuo(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_continuo"));
    c.current_dir(dir)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("CONTINUO_LANG")
        .env_remove("CONTINUO_CONFIG")
        .env_remove("CONTINUO_DATABASE")
        .env_remove("CONTINUO_TOKEN")
        .env("USER", "tester")
        .env("NO_COLOR", "1");
    c
}

impl Server {
    /// Writes `config`, adds the users with the CLI, then starts `continuo serve`.
    pub fn start(config: &str, users: &[(&str, &str)]) -> Server {
        let dir = workspace(config);
        for (name, role) in users {
            let mut child = continuo(dir.path())
                .args(["user", "add", name, "--role", role, "--password-stdin"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("continuo user add");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("{PASSWORD}\n").as_bytes())
                .expect("password");
            let out = child.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "user add {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let log = dir.path().join("serve.log");
        let mut child = continuo(dir.path())
            .args(["serve", "-c", "continuo.toml", "--listen", "127.0.0.1:0"])
            .env("CONTINUO_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("continuo serve");
        // The listening address is an event in its log (stderr).
        let port = match listening_port(child.stderr.take().expect("stderr"), &log) {
            Ok(port) => port,
            Err(seen) => {
                let _ = child.kill();
                panic!("continuo serve did not start:\n{seen}");
            }
        };
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            _dir: dir,
        }
    }

    /// A JSON API call with the admin token.
    pub fn api(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        // Small answers come in one piece; a chunked one starts with its length line.
        let json_text = body.find(['{', '[']).map_or("", |start| {
            &body[start..body.rfind(['}', ']']).map_or(body.len(), |e| e + 1)]
        });
        (
            status,
            serde_json::from_str(json_text).unwrap_or(Value::Null),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves a PNG of what the browser shows as `<CONTINUO_SCREENSHOTS>/<name>.png`, when
/// that variable names a folder (a relative one from the workspace root, where the
/// README's `docs` is); does nothing otherwise.
pub async fn screenshot(client: &Client, name: &str) {
    let Some(folder) = std::env::var_os("CONTINUO_SCREENSHOTS") else {
        return;
    };
    // Tests run in the crate's folder; two up is the workspace root.
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(folder);
    std::fs::create_dir_all(&folder).expect("screenshot folder");
    let png = client.screenshot().await.expect("screenshot");
    let path = folder.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Signs in through the form the dashboard sends an anonymous visitor to.
async fn sign_in(client: &Client, server: &Server, user: &str, path: &str) {
    client
        .goto(&format!("{}{path}", server.base))
        .await
        .expect("open the dashboard");
    let url = client.current_url().await.expect("url");
    assert_eq!(
        url.path(),
        "/login",
        "an anonymous visitor is sent to sign in"
    );
    assert_eq!(
        url.query_pairs()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned()),
        Some(path.to_string()),
        "and comes back after"
    );
    client
        .find(Locator::Css("#user"))
        .await
        .expect("user field")
        .send_keys(user)
        .await
        .expect("type user");
    client
        .find(Locator::Css("#password"))
        .await
        .expect("password field")
        .send_keys(PASSWORD)
        .await
        .expect("type password");
    client
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("sign in");
    let wanted = path.to_string();
    wait_until("the page asked for after signing in", || {
        let wanted = wanted.clone();
        async move { client.current_url().await.is_ok_and(|u| u.path() == wanted) }
    })
    .await;
}

fn config(check_port: u16) -> String {
    format!(
        "[organization]\nname = \"Browser Test\"\ntimezone = \"Europe/Amsterdam\"\n\
         [server]\ndatabase = \"sqlite://state/continuo.db\"\n\
         [[person]]\nid = \"anna\"\nname = \"Anna de Vries\"\n\
         [[team]]\nid = \"ops\"\nmembers = [\"anna\"]\n\
         [[service]]\nid = \"shop\"\nname = \"Webshop\"\ntier = 1\nowner = \"ops\"\nrto = \"15m\"\n\
           [[service.check]]\n  kind = \"tcp\"\n  target = \"127.0.0.1:{check_port}\"\n  interval = \"1s\"\n  timeout = \"1s\"\n\
         [[service]]\nid = \"wiki\"\nname = \"Wiki\"\ntier = 4\nowner = \"ops\"\nrto = \"1d\"\n"
    )
}

async fn page(client: &Client) -> String {
    client.source().await.expect("page source")
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_signs_in_and_acknowledges_an_incident() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    // The shop's check probes chromedriver's port: something that surely listens.
    let server = Server::start(&config(driver.port), &[("anna", "responder")]);
    let (status, incident) = server.api(
        "POST",
        "/api/v1/incidents",
        r#"{"title": "Checkout fails", "services": ["shop"], "severity": "SEV2"}"#,
    );
    assert_eq!(status, 201, "declare: {incident}");
    let id = incident["id"].as_str().expect("incident id").to_string();

    let client = driver.session(SessionOptions::default()).await;
    sign_in(&client, &server, "anna", "/").await;
    let html = page(&client).await;
    assert!(
        html.contains("Webshop") && html.contains("Overview"),
        "{html}"
    );
    assert!(html.contains(&id), "the open incident is listed: {html}");
    // The check's sparkline appears once it has observations.
    wait_until("a latency sparkline", || async {
        client.goto(&format!("{}/", server.base)).await.is_ok()
            && page(&client).await.contains("class=\"spark\"")
    })
    .await;
    screenshot(&client, "dashboard-overview").await;

    client
        .find(Locator::Css(&format!("a[href='/incidents/{id}']")))
        .await
        .expect("link to the incident")
        .click()
        .await
        .expect("open the incident");
    client
        .find(Locator::Css("#acknowledge"))
        .await
        .expect("acknowledge button")
        .click()
        .await
        .expect("acknowledge");
    // Back on the incident's page, without the button, with the milestone.
    wait_until("the acknowledged incident page", || async {
        let html = page(&client).await;
        html.contains("id=\"incident-h\"") && !html.contains("id=\"acknowledge\"")
    })
    .await;
    screenshot(&client, "dashboard-incident").await;

    let (status, after) = server.api("GET", &format!("/api/v1/incidents/{id}"), "");
    assert_eq!(status, 200, "{after}");
    assert!(
        after["milestones"]["acknowledged_ms"].is_i64(),
        "the API shows the acknowledgement: {after}"
    );
    let by_anna = after["timeline"]
        .as_array()
        .is_some_and(|t| t.iter().any(|e| e["by"] == "anna"));
    assert!(by_anna, "acknowledged by the signed-in user: {after}");

    // A note through the form lands on the timeline.
    client
        .find(Locator::Css("#n-text"))
        .await
        .expect("note field")
        .send_keys("Vendor called back")
        .await
        .expect("type note");
    client
        .find(Locator::Css("form[action$='/note'] button"))
        .await
        .expect("note button")
        .click()
        .await
        .expect("add note");
    wait_until("the note on the page", || async {
        page(&client).await.contains("Vendor called back")
    })
    .await;

    // The first recovery step ticked off through its button; the button then offers to
    // open it again, and the API shows who ticked it.
    client
        .find(Locator::Css("#tick-shop-1"))
        .await
        .expect("tick button of the first step")
        .click()
        .await
        .expect("tick the step off");
    wait_until("the step shown done", || async {
        match client.find(Locator::Css("#tick-shop-1")).await {
            Ok(button) => button.text().await.is_ok_and(|t| t.trim() == "Open again"),
            Err(_) => false,
        }
    })
    .await;
    let (status, after) = server.api("GET", &format!("/api/v1/incidents/{id}"), "");
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        after["checklist"][0]["steps"][0]["done"]["by"], "anna",
        "the API shows the ticked step: {after}"
    );
    client.close().await.expect("close");
}

/// A page on another site (`localhost` is not the same site as `127.0.0.1`) that posts
/// a form to the dashboard as soon as it loads.
fn evil_site(target: &str) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let page = format!(
        "<!doctype html><html><body><form method=\"post\" action=\"{target}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"guessed\"></form>\
         <script>document.forms[0].submit()</script></body></html>"
    );
    let handle = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    (port, handle)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_cross_site_form_post_is_refused() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = Server::start(&config(driver.port), &[("anna", "responder")]);
    let (status, incident) = server.api(
        "POST",
        "/api/v1/incidents",
        r#"{"title": "Payments slow", "services": ["wiki"]}"#,
    );
    assert_eq!(status, 201, "declare: {incident}");
    let id = incident["id"].as_str().expect("incident id").to_string();

    let client = driver.session(SessionOptions::default()).await;
    sign_in(&client, &server, "anna", "/").await;
    let (evil_port, evil) = evil_site(&format!("{}/incidents/{id}/ack", server.base));
    client
        .goto(&format!("http://localhost:{evil_port}/"))
        .await
        .expect("open the other site");
    // The form posts itself; wait until the browser has left the other site.
    wait_until("the forged post to be answered", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.port() == Some(server.port))
    })
    .await;
    let _ = evil.join();
    let html = page(&client).await;
    assert!(
        !html.contains("id=\"acknowledge\"") || html.contains("Sign in"),
        "the forgery did not reach a signed-in page: {html}"
    );
    let (_, after) = server.api("GET", &format!("/api/v1/incidents/{id}"), "");
    assert!(
        after["milestones"]["acknowledged_ms"].is_null(),
        "the forged post acknowledged nothing: {after}"
    );
    // The user is still signed in, and the real button still works.
    client
        .goto(&format!("{}/incidents/{id}", server.base))
        .await
        .expect("incident page");
    assert!(page(&client).await.contains("id=\"acknowledge\""));
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_speaks_dutch_and_works_without_javascript() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = Server::start(&config(driver.port), &[("anna", "responder")]);
    let client = driver
        .session(SessionOptions {
            javascript: false,
            languages: "nl,en",
        })
        .await;
    client
        .goto(&format!("{}/", server.base))
        .await
        .expect("open");
    assert!(page(&client).await.contains("Inloggen"), "sign-in in Dutch");
    sign_in(&client, &server, "anna", "/").await;
    let html = page(&client).await;
    for dutch in [
        "Overzicht",
        "Diensten",
        "Controles",
        "Dienstdoend",
        "Onderhoudsvensters",
        "Ingelogd als",
    ] {
        assert!(html.contains(dutch), "{dutch} in {html}");
    }
    assert!(html.contains("lang=\"nl\""), "{html}");
    screenshot(&client, "dashboard-nl").await;

    // A maintenance window made with the form (no script needed), shown in Dutch.
    client
        .find(Locator::Css("#mw-title"))
        .await
        .expect("title field")
        .send_keys("Database-upgrade")
        .await
        .expect("type");
    client
        .find(Locator::Css("input[name=services][value=wiki]"))
        .await
        .expect("wiki checkbox")
        .click()
        .await
        .expect("tick");
    client
        .find(Locator::Css("form[action='/maintenance'] button"))
        .await
        .expect("create button")
        .click()
        .await
        .expect("create");
    wait_until("the new window listed", || async {
        let html = page(&client).await;
        html.contains("Database-upgrade") && html.contains("Nu beëindigen")
    })
    .await;
    let (_, windows) = server.api("GET", "/api/v1/maintenance", "");
    assert_eq!(
        windows["active"][0]["title"], "Database-upgrade",
        "{windows}"
    );

    // Bad input: a clear message in Dutch, never a crash.
    client
        .find(Locator::Css("#mw-title"))
        .await
        .expect("title field")
        .send_keys("Zonder diensten")
        .await
        .expect("type");
    client
        .find(Locator::Css("form[action='/maintenance'] button"))
        .await
        .expect("create button")
        .click()
        .await
        .expect("create");
    wait_until("the refusal", || async {
        page(&client).await.contains("Het venster is niet geldig")
    })
    .await;

    // The switch to English, which then sticks.
    client
        .goto(&format!("{}/", server.base))
        .await
        .expect("back");
    client
        .find(Locator::Css("a[hreflang=en]"))
        .await
        .expect("language switch")
        .click()
        .await
        .expect("switch");
    wait_until("the English page", || async {
        page(&client).await.contains("Overview")
    })
    .await;
    client
        .goto(&format!("{}/", server.base))
        .await
        .expect("reload");
    assert!(page(&client).await.contains("Overview"), "English is kept");
    client.close().await.expect("close");
}

/// The posture matrix after two manual records: the shop's RTO met now, the wiki's RTO
/// last proven in January 2025 (stale: a recovery proves it for a year); the shop has
/// no runbook at tier 1 (breached by the catalog itself) and nothing proves the plan
/// (unproven). Read in English, then in Dutch.
#[tokio::test(flavor = "multi_thread")]
async fn the_posture_matrix_shows_each_verdict_in_english_and_dutch() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = Server::start(&config(driver.port), &[("anna", "viewer")]);
    for body in [
        json!({"claim": "rto", "subject": "shop", "outcome": "met", "value": 540000,
               "note": "Restore drill by the hosting provider, report HP-118"}),
        json!({"claim": "rto", "subject": "wiki", "outcome": "met",
               "observed_at": "2025-01-02T10:00:00Z", "note": "Recovered from backup, ticket 77"}),
    ] {
        let (status, answer) = server.api("POST", "/api/v1/evidence", &body.to_string());
        assert_eq!(status, 201, "{answer}");
    }
    let cell = |subject: &str, claim: &str| {
        format!(
            "tr[data-subject='{subject}'] td:nth-child({}) span.badge",
            match claim {
                "rto" => 3,
                "runbook_current" => 4,
                _ => 5,
            }
        )
    };
    for (languages, words) in [
        ("en", ["met", "stale", "breached", "unproven"]),
        ("nl,en", ["gehaald", "verouderd", "geschonden", "onbewezen"]),
    ] {
        let client = driver
            .session(SessionOptions {
                javascript: true,
                languages,
            })
            .await;
        sign_in(&client, &server, "anna", "/posture").await;
        let html = page(&client).await;
        // The columns are the kinds some subject claims, in a fixed order.
        assert!(
            html.contains("data-claim=\"rto\"") && html.contains("data-claim=\"runbook_current\""),
            "{html}"
        );
        for ((subject, claim), word) in [
            ("shop", "rto"),
            ("wiki", "rto"),
            ("shop", "runbook_current"),
            ("organization", "plan_reviewed"),
        ]
        .into_iter()
        .zip(words)
        {
            let selector = if subject == "organization" {
                "tr[data-subject='organization'] span.badge".to_string()
            } else {
                cell(subject, claim)
            };
            let text = client
                .find(Locator::Css(&selector))
                .await
                .unwrap_or_else(|e| panic!("{subject} {claim} ({selector}): {e}\n{html}"))
                .text()
                .await
                .expect("cell text");
            assert_eq!(text.trim(), word, "{subject} {claim} in {languages}");
        }
        screenshot(&client, &format!("posture-{}", &languages[..2])).await;
        // The met cell links to the manual record's timeline, which shows its note.
        client
            .find(Locator::Css(
                "tr[data-subject='shop'] td:nth-child(3) a[href='/posture/shop']",
            ))
            .await
            .expect("link to the record's source")
            .click()
            .await
            .expect("open the timeline");
        wait_until("the shop's evidence timeline", || async {
            page(&client)
                .await
                .contains("Restore drill by the hosting provider, report HP-118")
        })
        .await;
        client.close().await.expect("close");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_overview_shows_a_new_incident_live_without_a_reload() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = Server::start(&config(driver.port), &[("anna", "viewer")]);
    let client = driver.session(SessionOptions::default()).await;
    sign_in(&client, &server, "anna", "/").await;
    // A marker that a reload would wipe out: only a live section update keeps it.
    client
        .execute("window.continuoMarker = 'kept'; return true;", vec![])
        .await
        .expect("set marker");
    wait_until("the event stream to connect", || async {
        client
            .execute(
                "return document.documentElement.getAttribute('data-live');",
                vec![],
            )
            .await
            .is_ok_and(|v| v == "connected")
    })
    .await;
    let (status, incident) = server.api(
        "POST",
        "/api/v1/incidents",
        r#"{"title": "Search is down", "services": ["wiki"]}"#,
    );
    assert_eq!(status, 201, "{incident}");
    wait_until("the incident in the live section", || async {
        client.find(Locator::Css("#incidents")).await.is_ok()
            && page(&client).await.contains("Search is down")
    })
    .await;
    let marker = client
        .execute("return window.continuoMarker || 'reloaded';", vec![])
        .await
        .expect("read marker");
    assert_eq!(
        marker, "kept",
        "the section was updated in place, not reloaded"
    );
    // A viewer sees no forms to act with.
    assert!(!page(&client).await.contains("action=\"/maintenance\""));
    client.close().await.expect("close");
}

fn status_config(check_port: u16) -> String {
    format!(
        "[organization]\nname = \"Browser Test\"\ntimezone = \"Europe/Amsterdam\"\n\
         [server]\ndatabase = \"sqlite://state/continuo.db\"\n\
         [status_page]\ntitle = \"Browser Test status\"\n\
         [[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"shop\"\nname = \"Webshop\"\ntier = 1\nowner = \"ops\"\nrto = \"15m\"\n\
         status_page = {{ component = \"Webshop\", group = \"Shopping\" }}\n\
           [[service.check]]\n  kind = \"tcp\"\n  target = \"127.0.0.1:{check_port}\"\n  interval = \"1s\"\n  timeout = \"1s\"\n"
    )
}

/// Declares an incident on the shop and posts a customer update; returns its id.
fn shop_incident(server: &Server, message: &str) -> String {
    let (status, incident) = server.api(
        "POST",
        "/api/v1/incidents",
        r#"{"title": "Payments fail at checkout", "services": ["shop"]}"#,
    );
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_str().expect("id").to_string();
    let body = json!({ "status": "identified", "audience": "customers", "message": message });
    let (status, answer) = server.api(
        "POST",
        &format!("/api/v1/incidents/{id}/update"),
        &body.to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_an_incident_without_javascript_in_dutch() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = Server::start(&status_config(driver.port), &[]);
    shop_incident(&server, "The payment link is being restored.");
    let client = driver
        .session(SessionOptions {
            javascript: false,
            languages: "nl,en",
        })
        .await;
    client
        .goto(&format!("{}/status", server.base))
        .await
        .expect("open the status page");
    let url = client.current_url().await.expect("url");
    assert_eq!(url.path(), "/status", "no sign-in for the public page");
    let html = page(&client).await;
    for needed in [
        "Browser Test status",
        "Webshop",
        "Payments fail at checkout",
        "The payment link is being restored.",
        "We hebben de oorzaak",
    ] {
        assert!(html.contains(needed), "{needed} in {html}");
    }
    assert!(html.contains("lang=\"nl\""), "{html}");
    screenshot(&client, "status-page-nl").await;
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_a_new_update_live_with_javascript() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let server = Server::start(&status_config(driver.port), &[]);
    let id = shop_incident(&server, "First word.");
    let client = driver.session(SessionOptions::default()).await;
    client
        .goto(&format!("{}/status", server.base))
        .await
        .expect("open the status page");
    assert!(page(&client).await.contains("First word."));
    screenshot(&client, "status-page").await;
    let body =
        json!({ "status": "monitoring", "audience": "customers", "message": "A fix is live." });
    let (status, answer) = server.api(
        "POST",
        &format!("/api/v1/incidents/{id}/update"),
        &body.to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    // No reload: the page's script replaces the live section when the stream says so.
    wait_until("the new update on the open page", || async {
        page(&client).await.contains("A fix is live.")
    })
    .await;
    client.close().await.expect("close");
}

/// The webshop is on the page; the orders database behind it is not. Both checks point
/// at a closed port: the database is the root cause, the shop impacted with its own
/// checks failing.
fn hidden_cause_config(closed_port: u16) -> String {
    format!(
        "[organization]\nname = \"Browser Test\"\ntimezone = \"Europe/Amsterdam\"\n\
         [server]\ndatabase = \"sqlite://state/continuo.db\"\n\
         [status_page]\ntitle = \"Browser Test status\"\n\
         [[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"orders-db\"\nname = \"Orders database\"\ntier = 1\nowner = \"ops\"\nrto = \"15m\"\n\
           [[service.check]]\n  kind = \"tcp\"\n  target = \"127.0.0.1:{closed_port}\"\n  interval = \"1s\"\n  timeout = \"1s\"\n  fail_threshold = 1\n\
         [[service]]\nid = \"shop\"\nname = \"Webshop backend\"\ntier = 1\nowner = \"ops\"\nrto = \"15m\"\ndepends_on = [\"orders-db\"]\n\
         status_page = {{ component = \"Webshop\" }}\n\
           [[service.check]]\n  kind = \"tcp\"\n  target = \"127.0.0.1:{closed_port}\"\n  interval = \"1s\"\n  timeout = \"1s\"\n  fail_threshold = 1\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_behind_a_public_component_shows_on_the_page_without_internal_names() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let closed = free_port();
    let server = Server::start(&hidden_cause_config(closed), &[]);
    for (languages, outage, entry, title) in [
        (
            "en",
            "Major outage",
            "We are investigating a disruption of Webshop.",
            "Disruption of Webshop",
        ),
        (
            "nl,en",
            "Ernstige storing",
            "We onderzoeken een verstoring van Webshop.",
            "Verstoring van Webshop",
        ),
    ] {
        let client = driver
            .session(SessionOptions {
                javascript: false,
                languages,
            })
            .await;
        let url = format!("{}/status", server.base);
        // Reloaded until the incident is there (detection, grouping, the view's second).
        let give_up = tokio::time::Instant::now() + PATIENCE;
        let html = loop {
            client.goto(&url).await.expect("open the status page");
            let html = page(&client).await;
            if html.contains(entry) {
                break html;
            }
            assert!(
                tokio::time::Instant::now() < give_up,
                "gave up waiting for the incident on the page: {html}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        for needed in [outage, entry, title] {
            assert!(html.contains(needed), "{needed} in {html}");
        }
        for private in ["Orders database", "orders-db", "Webshop backend"] {
            assert!(!html.contains(private), "{private} leaked: {html}");
        }
        for contradiction in ["No incidents right now", "Op dit moment geen storingen"] {
            assert!(!html.contains(contradiction), "{contradiction} in {html}");
        }
        screenshot(&client, &format!("status-page-outage-{}", &languages[..2])).await;
        client.close().await.expect("close");
    }
}

/// `continuo demo` played step by step through its stdin: the README's pictures of the
/// dashboard and the status page are taken while the demo's incident is open and its
/// customer update is posted.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_shows_its_incident_on_the_dashboard_and_the_status_page() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["demo", "--lang", "en", "--dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start continuo demo");
    let mut stdin = demo.stdin.take().expect("stdin");
    let stdout = demo.stdout.take().expect("stdout");
    let (lines, seen) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = || {
        seen.recv_timeout(PATIENCE)
            .expect("the demo to go on narrating")
    };
    let (mut base, mut password) = (String::new(), String::new());
    // The first three pauses (load, failover, incident) are passed; the fourth comes
    // after the acknowledgement and the customer update.
    let mut pauses = 0;
    while pauses < 4 {
        let line = next_line();
        if let Some(rest) = line.trim_start().strip_prefix("dashboard:") {
            let rest = rest.trim();
            base = rest
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string();
            password = rest
                .split("password ")
                .nth(1)
                .and_then(|p| p.split(')').next())
                .unwrap_or("")
                .to_string();
        }
        if line.contains("press Enter") {
            pauses += 1;
            if pauses < 4 {
                stdin.write_all(b"\n").expect("press Enter");
            }
        }
    }
    assert!(
        !base.is_empty() && !password.is_empty(),
        "the sign-in was printed"
    );

    let client = driver.session(SessionOptions::default()).await;
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the dashboard");
    client
        .find(Locator::Css("#user"))
        .await
        .expect("user field")
        .send_keys("demo")
        .await
        .expect("type user");
    client
        .find(Locator::Css("#password"))
        .await
        .expect("password field")
        .send_keys(&password)
        .await
        .expect("type password");
    client
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("sign in");
    wait_until("the overview after signing in", || async {
        client.current_url().await.is_ok_and(|u| u.path() == "/")
    })
    .await;
    let html = page(&client).await;
    assert!(html.contains("Order database"), "{html}");
    screenshot(&client, "demo-dashboard").await;
    client
        .goto(&format!("{base}/status"))
        .await
        .expect("open the status page");
    let html = page(&client).await;
    assert!(
        html.contains("The order database stopped; we are restarting it"),
        "{html}"
    );
    screenshot(&client, "demo-status-page").await;
    client.close().await.expect("close");

    // The rest plays without pauses once stdin closes.
    drop(stdin);
    let status = demo.wait().expect("the demo to finish");
    let rest: Vec<String> = seen.iter().collect();
    assert!(status.success(), "{rest:?}");
    assert!(rest.iter().any(|l| l == "demo completed"), "{rest:?}");
}
