//! End-to-end tests of the `continuo` binary: `init`, `check` and `bia`, as a user runs
//! them, including exit statuses and both languages.

#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests start the real `continuo` binary and the tools it works with"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/example/continuo.toml")
}

/// Runs the binary in `dir` with a clean language environment.
fn continuo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(args)
        .current_dir(dir)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("CONTINUO_LANG")
        .env_remove("CONTINUO_CONFIG")
        .env("NO_COLOR", "1")
        .output()
        .expect("the continuo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn init_then_check_passes_and_prints_a_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let init = continuo(dir.path(), &["init", "site"]);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init.stderr));
    assert!(dir.path().join("site/continuo.toml").is_file());

    let check = continuo(dir.path(), &["check", "-c", "site/continuo.toml"]);
    let (out, err) = (text(&check.stdout), text(&check.stderr));
    assert_eq!(
        check.status.code(),
        Some(0),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(out.contains("Acme Retail"), "{out}");
    assert!(out.contains("services"), "{out}");
    assert!(out.contains("configuration is valid (0 errors"), "{out}");
    // No errors are shown, only the deliberate warning(s) of the example.
    assert!(!err.contains('×'), "{err}");
}

/// Runs the binary in `dir` with extra environment variables.
fn continuo_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(args)
        .current_dir(dir)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("CONTINUO_LANG")
        .env_remove("CONTINUO_CONFIG")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .expect("the continuo binary runs")
}

// Regression: `init` on a folder that already held a configuration exited 1 and wrote
// nothing, while the README promises the example is kept if it exists (issue 17, item 5).
#[test]
fn init_keeps_existing_files_writes_missing_ones_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(continuo(dir.path(), &["init"]).status.code(), Some(0));
    std::fs::write(dir.path().join("continuo.toml"), "# mine\n").expect("write");
    std::fs::remove_file(dir.path().join("risks.toml")).expect("remove");

    let again = continuo(dir.path(), &["init"]);
    let out = text(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(out.contains("files written: 1;"), "{out}");
    assert!(out.contains("kept what exists: "), "{out}");
    assert!(out.contains("continuo.toml"), "{out}");
    assert!(
        !out.contains("risks.toml,"),
        "risks.toml was missing, not kept: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("continuo.toml")).expect("read"),
        "# mine\n"
    );
    assert!(dir.path().join("risks.toml").is_file());

    let dutch = continuo(dir.path(), &["--lang", "nl", "init"]);
    let out = text(&dutch.stdout);
    assert_eq!(dutch.status.code(), Some(0));
    assert!(out.contains("bestanden geschreven: 0;"), "{out}");
    assert!(out.contains("behouden wat al bestond: "), "{out}");

    assert_eq!(
        continuo(dir.path(), &["init", "--force"]).status.code(),
        Some(0)
    );
    assert_ne!(
        std::fs::read_to_string(dir.path().join("continuo.toml")).expect("read"),
        "# mine\n"
    );
}

/// The full example with every commented-out setting switched on: a line `# key = ...`
/// or `# [table]` is configuration, every other comment is prose.
fn uncommented(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let rest = line.strip_prefix("# ").unwrap_or("");
        let key = rest.split_once(" = ").map(|(k, _)| k);
        let is_setting = key.is_some_and(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if rest.starts_with('[') || is_setting {
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Every (table path, kind, key) in a TOML file, arrays left out of the path, so
/// `[[service.check]]`'s keys are under `service.check` with that check's `kind`.
fn keys_used(
    table: &toml::Table,
    path: &str,
    out: &mut std::collections::BTreeSet<(String, Option<String>, String)>,
) {
    let kind = table
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string);
    for (key, value) in table {
        out.insert((path.to_string(), kind.clone(), key.clone()));
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let tables: Vec<&toml::Table> = match value {
            toml::Value::Table(t) => vec![t],
            toml::Value::Array(items) => items.iter().filter_map(|i| i.as_table()).collect(),
            _ => Vec::new(),
        };
        for t in tables {
            keys_used(t, &child, out);
        }
    }
}

/// The sections and fields of `continuo_core::schema` that `files` do not use.
fn unused_fields(files: &[String]) -> Vec<String> {
    let mut used = std::collections::BTreeSet::new();
    for text in files {
        let table: toml::Table = toml::from_str(text).expect("the example is TOML");
        keys_used(&table, "", &mut used);
    }
    let mut unused = Vec::new();
    for section in continuo_core::schema::sections() {
        for field in &section.fields {
            let covered = used.iter().any(|(path, kind, key)| {
                path == section.path
                    && key == field
                    && (section.kind.is_none() || kind.as_deref() == section.kind)
            });
            if !covered {
                unused.push(format!("`{field}` of `{}`", section.name));
            }
        }
    }
    unused
}

/// What the commented-out secrets of the full example need to be set to.
const FULL_EXAMPLE_ENV: &[(&str, &str)] = &[
    ("CONTINUO_SECRET", "a-long-enough-secret-for-links"),
    ("SMTP_PASSWORD", "password"),
    ("OPS_WEBHOOK_SECRET", "webhook-secret"),
    ("OPS_HOOK_TOKEN", "hook-token"),
    (
        "TEAMS_WORKFLOW_URL",
        "https://teams.example.com/workflows/1",
    ),
    ("PAGERDUTY_ROUTING_KEY", "R0123456789ABCDEF0123456789ABCDE"),
    ("OPSGENIE_API_KEY", "00000000-0000-0000-0000-000000000000"),
    (
        "TELEGRAM_BOT_TOKEN",
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
    ),
    ("NTFY_TOKEN", "tk_example"),
    ("SMS_TOKEN", "sms-token"),
    (
        "MATTERMOST_WEBHOOK_URL",
        "https://mattermost.example.com/hooks/abc",
    ),
    (
        "ROCKETCHAT_WEBHOOK_URL",
        "https://chat.example.com/hooks/abc/def",
    ),
    (
        "DISCORD_WEBHOOK_URL",
        "https://discord.com/api/webhooks/1/abc",
    ),
    (
        "GOOGLE_CHAT_WEBHOOK_URL",
        "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t",
    ),
    ("MATRIX_TOKEN", "syt_example"),
    ("STOREFRONT_INTEGRATION_KEY", "storefront-integration-key"),
];

#[test]
fn init_full_loads_as_written_and_with_every_setting_uncommented() {
    let dir = tempfile::tempdir().expect("temp dir");
    let init = continuo(dir.path(), &["init", "--full", "site"]);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init.stderr));
    let root = dir.path().join("site/continuo.toml");
    let written = std::fs::read_to_string(&root).expect("the full example");
    let risks = std::fs::read_to_string(dir.path().join("site/risks.toml")).expect("risks");

    // As written: valid out of the box, every top-level section in use.
    let check = continuo(dir.path(), &["check", "-c", "site/continuo.toml"]);
    let (out, err) = (text(&check.stdout), text(&check.stderr));
    assert_eq!(
        check.status.code(),
        Some(0),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(out.contains("configuration is valid (0 errors"), "{out}");
    let top: Vec<String> = unused_fields(&[written.clone(), risks.clone()])
        .into_iter()
        .filter(|f| f.ends_with("of `top level`"))
        .collect();
    assert!(
        top.is_empty(),
        "sections the full example leaves out: {top:?}"
    );

    // Uncommented: every optional setting switched on still loads without an error, and
    // together they use every field of every section the decoder has.
    let all = uncommented(&written);
    assert!(all.len() > written.len() / 2 && all != written);
    std::fs::write(&root, &all).expect("write");
    let certs = dir.path().join("site/certs");
    std::fs::create_dir_all(&certs).expect("certs folder");
    // Any real PEM bundle serves for the `ca_file` lines; the system's is at hand.
    std::fs::copy(
        "/etc/ssl/certs/ca-certificates.crt",
        certs.join("internal-ca.pem"),
    )
    .expect("a system CA bundle at /etc/ssl/certs/ca-certificates.crt (apt-get install ca-certificates)");
    // From the example's folder: a channel's `ca_file` is relative to the working folder.
    let check = continuo_with(
        &dir.path().join("site"),
        &["check", "-c", "continuo.toml"],
        FULL_EXAMPLE_ENV,
    );
    let (out, err) = (text(&check.stdout), text(&check.stderr));
    assert_eq!(
        check.status.code(),
        Some(0),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(out.contains("configuration is valid (0 errors"), "{out}");
    let unused = unused_fields(&[all, risks]);
    assert!(
        unused.is_empty(),
        "fields crates/continuo/assets/full/ does not show (add each, commented out if optional): {unused:?}"
    );
}

#[test]
fn uncommenting_switches_settings_on_and_leaves_prose() {
    let text =
        "# prose with = signs\n# key = 1\n# [[channel]]\n#   nested = 2\n# a-b = \"x\"\nkept = 3\n";
    assert_eq!(
        uncommented(text),
        "# prose with = signs\nkey = 1\n[[channel]]\n#   nested = 2\na-b = \"x\"\nkept = 3\n"
    );
}

const FOUR_MISTAKES: &str = r#"[[team]]
id = "ops"

[[service]]
id = "checkout"
tier = 2
owner = "ops"
rto = "15m"
depends_on = ["payments", "orders-db"]
ownr = "ops"

[[service]]
id = "payments"
tier = 3
owner = "ops"
rto = "15 mins"
depends_on = ["checkout"]
"#;

#[test]
fn four_mistakes_give_four_diagnostics_with_positions_and_help() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("continuo.toml"), FOUR_MISTAKES).expect("write");
    let check = continuo(dir.path(), &["check"]);
    assert_eq!(check.status.code(), Some(1));
    let err = text(&check.stderr);
    for (position, message) in [
        (
            "continuo.toml:9:27",
            "`depends_on` refers to unknown service `orders-db`",
        ),
        ("continuo.toml:10:1", "unknown field `ownr` in [[service]]"),
        (
            "continuo.toml:16:7",
            "`rto` in [[service]] is not a valid duration",
        ),
        (
            "continuo.toml:17:15",
            "dependency cycle: checkout -> payments -> checkout",
        ),
    ] {
        assert!(
            err.contains(&format!("[{position}]")),
            "missing {position} in:\n{err}"
        );
        assert!(err.contains(message), "missing {message} in:\n{err}");
    }
    assert_eq!(
        err.matches("help:").count(),
        4 + err.matches('⚠').count(),
        "{err}"
    );
    assert!(err.contains("invalid configuration (4 errors"), "{err}");

    let short = continuo(dir.path(), &["check", "--format", "short"]);
    let lines: Vec<String> = text(&short.stderr)
        .lines()
        .filter(|l| l.contains(": error["))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
}

#[test]
fn check_json_lists_diagnostics_with_positions() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("continuo.toml"), FOUR_MISTAKES).expect("write");
    let check = continuo(dir.path(), &["check", "--format", "json"]);
    assert_eq!(check.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).expect("valid JSON");
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"], 4);
    let first = &report["diagnostics"][0];
    assert_eq!(first["file"], "continuo.toml");
    assert!(first["line"].as_u64().is_some_and(|l| l > 0));
    assert!(first["column"].as_u64().is_some_and(|c| c > 0));
    assert!(first["help"].is_string());
}

#[test]
fn deny_warnings_fails_on_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = example();
    let config = config.to_str().expect("utf-8 path");
    assert_eq!(
        continuo(dir.path(), &["check", "-c", config]).status.code(),
        Some(0)
    );
    let denied = continuo(dir.path(), &["check", "-c", config, "--deny-warnings"]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        text(&denied.stderr).contains("warnings are denied"),
        "{}",
        text(&denied.stderr)
    );
}

#[test]
fn usage_errors_exit_with_status_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(
        continuo(dir.path(), &["bia", "--format", "pdf"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(continuo(dir.path(), &["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        continuo(dir.path(), &["--lang", "fr", "check"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn missing_config_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let check = continuo(dir.path(), &["check"]);
    assert_eq!(check.status.code(), Some(1));
    let err = text(&check.stderr);
    assert!(
        err.contains("cannot read config file `continuo.toml`"),
        "{err}"
    );
    assert!(err.contains("continuo init"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Regression (issue 16, failure 8): `-c /dev/zero` and `ca_file = "/dev/zero"` read
/// without end; both now stop at their limit with a diagnostic, and `check` exits 1.
#[test]
fn endless_files_end_in_a_diagnostic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = continuo(
        dir.path(),
        &["check", "-c", "/dev/zero", "--format", "short"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[file-too-large]: config file `/dev/zero` is larger than 32 MiB"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("continuo.toml"),
        "[[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"a\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n\
         [[service.check]]\nid = \"h\"\nkind = \"http\"\nurl = \"https://127.0.0.1:1/\"\nca_file = \"/dev/zero\"\n",
    )
    .expect("write");
    let out = continuo(dir.path(), &["check", "--format", "short"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "continuo.toml:12:11: error[bad-check]: cannot use CA file `/dev/zero`: larger than 4 MiB"
        ),
        "{err}"
    );
}

/// Regression (issue 16, failure 8): an include glob through a symbolic link loop never
/// finished; `check` now names the loop at the include.
#[test]
fn an_include_through_a_symlink_loop_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("conf.d")).expect("folder");
    std::os::unix::fs::symlink("..", dir.path().join("conf.d/loop")).expect("link");
    std::fs::write(
        dir.path().join("continuo.toml"),
        "include = [\"conf.d/**/*.toml\"]\n[[team]]\nid = \"ops\"\n",
    )
    .expect("write");
    let out = continuo(dir.path(), &["check", "--format", "short"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("continuo.toml:1:12: error[include-symlink-loop]: include `conf.d/**/*.toml` runs into a symbolic link loop at `./conf.d/loop/conf.d`")
            || err.starts_with("continuo.toml:1:12: error[include-symlink-loop]: include `conf.d/**/*.toml` runs into a symbolic link loop at `conf.d/loop/conf.d`"),
        "{err}"
    );
}

#[test]
fn bia_refuses_an_invalid_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("continuo.toml"), FOUR_MISTAKES).expect("write");
    let bia = continuo(dir.path(), &["bia"]);
    assert_eq!(bia.status.code(), Some(1));
    assert!(bia.stdout.is_empty());
    assert!(text(&bia.stderr).contains("invalid configuration"));
}

#[test]
fn bia_json_has_rank_impacted_by_effective_recovery_and_spof_per_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = example();
    let bia = continuo(
        dir.path(),
        &[
            "bia",
            "--format",
            "json",
            "-c",
            config.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(bia.status.code(), Some(0), "{}", text(&bia.stderr));
    let report: serde_json::Value = serde_json::from_slice(&bia.stdout).expect("valid JSON");
    let services = report["services"].as_array().expect("services array");
    assert!(services.len() >= 8, "the example has 8-12 services");
    let mut seen_ranks = Vec::new();
    for service in services {
        seen_ranks.push(service["priority_rank"].as_u64().expect("priority_rank"));
        assert!(service["impacted_by"].is_array(), "{service}");
        assert!(
            service["effective_recovery_seconds"].as_u64().is_some(),
            "{service}"
        );
        assert!(service["effective_recovery"].is_string(), "{service}");
        assert!(service["spof"].is_boolean(), "{service}");
    }
    let expected: Vec<u64> = (1..=services.len() as u64).collect();
    assert_eq!(seen_ranks, expected);
    // The example's deliberate single point of failure.
    assert!(
        services
            .iter()
            .any(|s| s["id"] == "erp" && s["spof"] == true)
    );
    // Every dependency is ranked before the services that hard-depend on it.
    let rank = |id: &str| {
        services
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["priority_rank"].as_u64())
    };
    for service in services {
        for dep in service["impacted_by"].as_array().expect("array") {
            assert!(rank(dep.as_str().expect("id")) < rank(service["id"].as_str().expect("id")));
        }
    }
}

#[test]
fn bia_table_snapshot_of_the_example() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = example();
    let bia = continuo(dir.path(), &["bia", "-c", config.to_str().expect("utf-8")]);
    assert_eq!(bia.status.code(), Some(0), "{}", text(&bia.stderr));
    insta::assert_snapshot!("bia_table_en", text(&bia.stdout));
}

#[test]
fn bia_markdown_snapshot_of_the_example_in_dutch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = example();
    let bia = continuo(
        dir.path(),
        &[
            "--lang",
            "nl",
            "bia",
            "--format",
            "markdown",
            "-c",
            config.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(bia.status.code(), Some(0), "{}", text(&bia.stderr));
    insta::assert_snapshot!("bia_markdown_nl", text(&bia.stdout));
}

#[test]
fn check_speaks_dutch_from_the_locale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = example();
    let check = Command::new(env!("CARGO_BIN_EXE_continuo"))
        .args(["check", "-c", config.to_str().expect("utf-8")])
        .env("LANG", "nl_NL.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("CONTINUO_LANG")
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(check.status.code(), Some(0));
    assert!(
        text(&check.stdout).contains("configuratie is geldig"),
        "{}",
        text(&check.stdout)
    );
    assert!(
        text(&check.stdout).contains("diensten"),
        "{}",
        text(&check.stdout)
    );
}

#[test]
fn oncall_names_who_is_on_call_at_a_moment_and_the_next_hand_offs() {
    let config = example();
    let dir = config.parent().expect("example dir");
    let out = continuo(
        dir,
        &["oncall", "-c", "continuo.toml", "--at", "2026-12-24T18:00"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    assert_eq!(lines[0], "On call at 2026-12-24 18:00 CET");
    assert_eq!(
        lines[1],
        "Platform on call         Chen Li  until 2026-12-28 09:00 CET"
    );
    assert_eq!(lines[2], "then Daan Visser from 2026-12-28 09:00 CET");
    let json = continuo(
        dir,
        &[
            "oncall",
            "-c",
            "continuo.toml",
            "--at",
            "2026-12-24T17:00:00Z",
            "--json",
        ],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(value["schedules"][1]["now"]["person"], "anna");
    // A bad moment is an error that says what is wrong, in Dutch too.
    let bad = continuo(
        dir,
        &[
            "--lang",
            "nl",
            "oncall",
            "-c",
            "continuo.toml",
            "--at",
            "kerst",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("`kerst` is geen datum en tijd"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn check_reports_what_only_probes_and_channels_can_tell() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("continuo.toml"),
        "[[team]]\nid = \"ops\"\n\
         [[service]]\nid = \"a\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n\
         [[service.check]]\nid = \"h\"\nkind = \"http\"\nurl = \"https://127.0.0.1:1/\"\nca_file = \"nope.pem\"\n\
         [[channel]]\nid = \"c\"\nkind = \"webhook\"\nurl = \"not a url\"\n",
    )
    .expect("write");
    let out = continuo(dir.path(), &["check", "--format", "short"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("continuo.toml:12:11: error[bad-check]: cannot use CA file `")
            && lines[0].contains("nope.pem"),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        "continuo.toml:16:7: error[bad-channel]: channel c: setting \"url\": not a valid URL (relative URL without a base)"
    );
}

#[test]
fn help_speaks_dutch_with_lang_nl_and_english_otherwise() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["--lang", "nl", "demo", "--help"][..],
        &["demo", "--lang=nl", "--help"][..],
    ] {
        let help = continuo(dir.path(), args);
        assert_eq!(help.status.code(), Some(0), "{args:?}");
        let out = text(&help.stdout);
        for dutch in [
            "Draai een kleine gesimuleerde organisatie",
            "Gebruik:",
            "Opties:",
            "Het verhaal om te spelen",
            "Mogelijke waarden:",
            "De primaire server van de webshop valt uit",
            "[standaard: full]",
            "Toon hulp",
        ] {
            assert!(out.contains(dutch), "{args:?} lacks {dutch:?}:\n{out}");
        }
        for english in ["Usage:", "Options:", "The story to play", "Possible values"] {
            assert!(!out.contains(english), "{args:?} has {english:?}:\n{out}");
        }
    }

    let english = text(&continuo(dir.path(), &["--lang", "en", "demo", "--help"]).stdout);
    for expected in [
        "Usage:",
        "The story to play",
        "The web shop's primary dies and comes back",
    ] {
        assert!(english.contains(expected), "lacks {expected:?}:\n{english}");
    }
}

#[test]
fn help_follows_continuo_lang_and_usage_errors_still_exit_with_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_continuo"))
            .args(args)
            .current_dir(dir.path())
            .env("CONTINUO_LANG", "nl")
            .env_remove("LANG")
            .env_remove("LC_ALL")
            .env("NO_COLOR", "1")
            .output()
            .expect("runs")
    };
    let help = run(&["incident", "declare", "-h"]);
    assert_eq!(help.status.code(), Some(0));
    let out = text(&help.stdout);
    assert!(out.contains("Meld met de hand een incident"), "{out}");
    assert!(out.contains("Argumenten:"), "{out}");
    assert!(out.contains("Basis-URL van de server"), "{out}");
    assert!(out.contains("[omgevingsvariabele: CONTINUO_URL="), "{out}");

    let root = text(&run(&["--help"]).stdout);
    assert!(root.contains("Opdrachten:"), "{root}");
    assert!(root.contains("Toon de versie"), "{root}");

    assert_eq!(run(&["bia", "--format", "pdf"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["--lang", "fr", "check"]).status.code(), Some(2));
}

/// Issue 16, failure 1: a rotation beyond the calendar made `continuo oncall` panic (exit
/// 101). Now `check` refuses it with its place, `oncall` says the same (exit 1), and the
/// longest rotation `check` accepts answers, also a century ahead.
#[test]
fn oncall_never_panics_on_a_rotation_check_accepts_or_refuses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = |rotation: &str| {
        format!(
            "[[person]]\nid = \"a\"\nname = \"Anna\"\n\
             [[person]]\nid = \"b\"\nname = \"Bram\"\n\
             [[schedule]]\nid = \"s\"\nname = \"Rota\"\n\
             [[schedule.layer]]\nmembers = [\"a\", \"b\"]\nrotation = \"{rotation}\"\n"
        )
    };
    let path = dir.path().join("continuo.toml");
    // Beyond the century every duration is bounded by, and beyond a year.
    for rotation in ["7304485d", "400d"] {
        std::fs::write(&path, config(rotation)).expect("write");
        let check = continuo(dir.path(), &["check", "-c", "continuo.toml"]);
        assert_eq!(check.status.code(), Some(1), "{}", text(&check.stdout));
        let oncall = continuo(dir.path(), &["oncall", "-c", "continuo.toml"]);
        assert_eq!(oncall.status.code(), Some(1), "{}", text(&oncall.stderr));
        let said = format!("{}{}", text(&oncall.stdout), text(&oncall.stderr));
        assert!(
            said.contains("rotation") && said.contains("longer than") && said.contains(":12:12"),
            "{rotation}: {said}"
        );
    }

    std::fs::write(&path, config("365d")).expect("write");
    for at in ["2026-12-24T18:00", "2126-06-01T00:00"] {
        let out = continuo(dir.path(), &["oncall", "-c", "continuo.toml", "--at", at]);
        assert_eq!(out.status.code(), Some(0), "{at}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("Anna") || text(&out.stdout).contains("Bram"),
            "{at}: {}",
            text(&out.stdout)
        );
    }
}

/// Every client command finds the server from the configuration (`-c`, its
/// `[server] listen`), and `--url` overrides it. Nothing listens on those ports: the
/// error names the address each command tried.
#[test]
fn client_commands_take_the_server_from_the_configuration_and_url_overrides_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (listen, other) = {
        let a = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let b = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        (
            a.local_addr().expect("addr").port(),
            b.local_addr().expect("addr").port(),
        )
    };
    std::fs::write(
        dir.path().join("server.toml"),
        format!("[server]\nlisten = \"0.0.0.0:{listen}\"\n[[team]]\nid = \"ops\"\n"),
    )
    .expect("write the configuration");
    let env = [("CONTINUO_TOKEN", "t"), ("CONTINUO_URL", "")];
    let commands: [&[&str]; 5] = [
        &["incident", "list"],
        &["ack", "a-1"],
        &["resolve", "a-1"],
        &["gateway", "status"],
        &["status"],
    ];
    for args in commands {
        let mut with_config = args.to_vec();
        with_config.extend(["-c", "server.toml"]);
        let out = continuo_with(dir.path(), &with_config, &env);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains(&format!("127.0.0.1:{listen}")),
            "{args:?} did not use [server] listen: {err}"
        );
        // A sentence that says what to do, not the HTTP client's chain of errors.
        assert!(
            err.contains("nothing answers at") && !err.contains("error sending request"),
            "{args:?}: {err}"
        );
        let url = format!("http://127.0.0.1:{other}");
        with_config.extend(["--url", &url]);
        let out = continuo_with(dir.path(), &with_config, &env);
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("127.0.0.1:{other}")),
            "{args:?} --url did not override: {err}"
        );
    }
}
