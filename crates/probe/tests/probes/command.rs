//! The `command` kind with real processes (`sh`, `seq`, `sleep`).

use crate::support::{SHORT, TIMEOUT, assert_measured, run, temp_dir};
use continuo_core::state::Verdict;
use std::time::Duration;

/// A command check: `command` as a TOML array, then extra lines.
fn command_check(command: &[&str], extra: &str) -> String {
    format!("kind = \"command\"\ncommand = {command:?}\n{extra}")
}

/// Command, extra lines, verdict, whole message, code.
type Case = (
    &'static [&'static str],
    &'static str,
    Verdict,
    &'static str,
    Option<i32>,
);

#[tokio::test]
async fn exit_status_decides() {
    use Verdict::{Failure, Success};
    let cases: &[Case] = &[
        (&["true"], "", Success, "exit 0", Some(0)),
        (
            &["sh", "-c", "echo all good"],
            "",
            Success,
            "exit 0: all good",
            Some(0),
        ),
        (
            &["sh", "-c", "echo disk full >&2; exit 3"],
            "",
            Failure,
            "exit 3: disk full",
            Some(3),
        ),
        (&["false"], "", Failure, "exit 1", Some(1)),
        // success_exit_codes replaces the default [0].
        (
            &["sh", "-c", "echo warning; exit 1"],
            "success_exit_codes = [0, 1]",
            Success,
            "exit 1: warning",
            Some(1),
        ),
        (
            &["true"],
            "success_exit_codes = [2]",
            Failure,
            "exit 0",
            Some(0),
        ),
        // stdout first, then stderr.
        (
            &["sh", "-c", "echo out; echo err >&2"],
            "",
            Success,
            "exit 0: out\nerr",
            Some(0),
        ),
    ];
    for (command, extra, verdict, message, code) in cases {
        let m = run(&command_check(command, extra), TIMEOUT).await;
        assert_eq!(m.verdict, *verdict, "{command:?} {extra}: {m:#?}");
        assert_eq!(m.message, *message, "{command:?} {extra}");
        assert_eq!(m.code, *code, "{command:?} {extra}");
    }
}

#[tokio::test]
async fn a_missing_program_is_down_with_the_reason() {
    let m = run(
        &command_check(&["/nonexistent/continuo-check"], ""),
        TIMEOUT,
    )
    .await;
    assert_measured(
        &m,
        Verdict::Failure,
        &["cannot run /nonexistent/continuo-check", "No such file"],
    );
}

#[tokio::test]
async fn output_is_cut_at_max_output() {
    let m = run(
        &command_check(
            &[
                "sh",
                "-c",
                "for i in 1 2 3 4 5 6 7 8 9; do printf abcdefghij; done",
            ],
            "max_output = 25",
        ),
        TIMEOUT,
    )
    .await;
    assert_measured(&m, Verdict::Success, &[]);
    assert_eq!(m.message, "exit 0: abcdefghijabcdefghijabcde");
}

/// Regression: output was read only up to max_output and the pipe then closed, so a
/// healthy command that printed more than that died of SIGPIPE and was reported down.
#[tokio::test]
async fn long_output_does_not_kill_a_healthy_command() {
    let m = run(
        &command_check(&["seq", "1", "200000"], "max_output = 10"),
        TIMEOUT,
    )
    .await;
    assert_measured(&m, Verdict::Success, &[]);
    assert_eq!(m.message, "exit 0: 1\n2\n3\n4\n5");
    assert_eq!(m.code, Some(0));
}

#[tokio::test]
async fn max_output_counts_bytes_and_cuts_between_characters() {
    // "é" is two bytes: five bytes hold two of them, not a half third.
    let m = run(
        &command_check(&["printf", "ééé"], "max_output = 5"),
        TIMEOUT,
    )
    .await;
    assert_eq!(m.message, "exit 0: éé");
}

#[tokio::test]
async fn a_command_killed_by_a_signal_says_which() {
    let m = run(&command_check(&["sh", "-c", "kill -TERM $$"], ""), TIMEOUT).await;
    assert_measured(&m, Verdict::Failure, &["killed by signal 15"]);
    assert_eq!(m.code, None);
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed() {
    let dir = temp_dir();
    let pid_file = dir.path().join("pid");
    let script = format!("echo $$ > '{}'; exec sleep 30", pid_file.display());
    let m = run(&command_check(&["sh", "-c", &script], ""), SHORT).await;
    assert_measured(&m, Verdict::Failure, &["timed out after 300ms"]);
    let Ok(pid) = std::fs::read_to_string(&pid_file) else {
        // On a very busy machine the shell may be killed before it wrote its pid: killed
        // all the same, and nothing left to look at.
        return;
    };
    let pid = pid.trim();
    if pid.is_empty() {
        return;
    }
    // The kill is sent when the probe gives up; reaping may take a moment. Wait for it,
    // boundedly, without asserting how long it took.
    for _ in 0..200 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("process {pid} still runs after the probe timed out");
}

#[tokio::test]
async fn what_a_command_started_dies_with_it_on_timeout() {
    let dir = temp_dir();
    let pid_file = dir.path().join("pid");
    // The shell starts a background sleep (which inherits its output) and waits.
    let script = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
    let m = run(&command_check(&["sh", "-c", &script], ""), SHORT).await;
    assert_measured(&m, Verdict::Failure, &["timed out after 300ms"]);
    let Ok(pid) = std::fs::read_to_string(&pid_file) else {
        return; // killed before it started anything: nothing to look at
    };
    let pid = pid.trim();
    if pid.is_empty() {
        return;
    }
    for _ in 0..200 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the command's child {pid} still runs after the probe timed out");
}

/// Whether a process runs (a zombie, killed but not yet reaped, does not count).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: "1234 (sleep) S ...".
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}
