//! The store stops and comes back: a private PostgreSQL cluster on a port of its own,
//! created and started by the test (`initdb`, `pg_ctl`), is stopped hard while `db` goes
//! down. The outage is paged from memory within 5 s, `/readyz` says alerting is
//! degraded, and once the cluster is started again the page is stored as sent, under
//! the key it was sent with, and not sent a second time.

use crate::Scenario;
use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A PostgreSQL cluster in a temporary folder, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Creates and starts a cluster, or says what is missing.
    fn start() -> Result<Cluster, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|_| {
                "PostgreSQL's server binaries are not installed (Debian package `postgresql`)"
                    .to_string()
            })?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .ok_or("no initdb under /usr/lib/postgresql/*/bin (Debian package `postgresql`)")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        // The server refuses to run as root: root hands the folder to `postgres`.
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if as_root {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            if !owned {
                return Err("cannot hand a folder to the `postgres` user".into());
            }
        }
        let cluster = Cluster {
            bin,
            data,
            port: free_port(),
            _dir: dir,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        )?;
        cluster.pg_ctl("start")?;
        Ok(cluster)
    }

    /// Runs one of the server's programs, as `postgres` when this test runs as root.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bin.join(program);
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command
            .args(args)
            .current_dir(std::env::temp_dir())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let data = self.data.display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.data.display()
        );
        match action {
            "start" => self.run(
                "pg_ctl",
                &[
                    "-D",
                    &data,
                    "-o",
                    &options,
                    "-l",
                    &format!("{data}/log"),
                    "-w",
                    "start",
                ],
            ),
            _ => self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]),
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl("stop");
    }
}

fn outbox(continuo: &Continuo) -> Value {
    continuo.get("/api/v1/outbox?limit=1000")
}

fn path_exists(path: &Path) -> bool {
    path.exists()
}

#[test]
fn with_the_store_stopped_an_outage_is_paged_from_memory_and_stored_when_it_returns() {
    if !path_exists(Path::new("/usr/lib/postgresql")) {
        skip_or_fail!(
            "PostgreSQL's server binaries are missing: install the Debian package `postgresql`"
        );
    }
    let cluster = match Cluster::start() {
        Ok(c) => c,
        Err(why) => skip_or_fail!("cannot start a private PostgreSQL cluster: {why}"),
    };
    let mut scenario = Scenario::new(Some(&cluster.url()), "");
    scenario.start(&[]);
    let continuo = scenario.continuo.as_ref().expect("started");
    let (status, _) = http(continuo.port, "GET", "/readyz", &[], "");
    assert_eq!(status, 200, "ready before the fault");

    cluster.pg_ctl("stop").expect("stop the cluster");
    let since = scenario.outage();
    scenario.assert_paged_within_5s(since);
    let continuo = scenario.continuo.as_ref().expect("started");
    let (status, ready) = http(continuo.port, "GET", "/readyz", &[], "");
    assert_eq!(status, 503, "not ready while the store is down: {ready}");
    let ready: Value = serde_json::from_str(&ready).expect("JSON");
    assert_eq!(ready["alerting"]["degraded"], true, "{ready}");
    std::thread::sleep(Duration::from_secs(3));
    scenario.assert_web_never_down();

    cluster.pg_ctl("start").expect("start the cluster again");
    wait_for("the page stored as sent", 30, || {
        let (status, body) = continuo.admin("GET", "/api/v1/outbox?state=sent&limit=1000", "");
        status == 200
            && serde_json::from_str::<Value>(&body).is_ok_and(|o| {
                o["items"].as_array().is_some_and(|items| {
                    items.iter().any(|i| {
                        i["event"] == "firing"
                            && i["alert"].as_str().is_some_and(|a| a.contains("db"))
                    })
                })
            })
    });
    wait_for("ready again", 30, || {
        http(continuo.port, "GET", "/readyz", &[], "").0 == 200
    });
    std::thread::sleep(Duration::from_secs(3));
    let firing = scenario.notices("firing", "db");
    assert_eq!(
        firing.len(),
        1,
        "paged once, not again from the outbox: {firing:?}"
    );
    let items = outbox(continuo);
    let stored: Vec<&Value> = items["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["event"] == "firing" && i["state"] == "sent")
        .collect();
    assert_eq!(stored.len(), 1, "{items}");
    assert_eq!(
        stored[0]["key"], firing[0]["idempotency_key"],
        "stored under the key it was sent with"
    );
    scenario.assert_web_never_down();
}
