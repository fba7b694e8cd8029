//! The `command` check kind: runs a program (no shell), judges its exit status, and keeps
//! the start of its output as the message. On timeout the process is killed, with every
//! process it started (its process group).

use super::{measured, micros};
use continuo_core::model::CommandSpec;
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use std::process::Stdio;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

pub(crate) struct CommandProbe {
    program: String,
    args: Vec<String>,
    success: Vec<i32>,
    max_output: usize,
}

impl CommandProbe {
    pub(crate) fn build(spec: &CommandSpec) -> CommandProbe {
        let mut parts = spec.command.iter().cloned();
        CommandProbe {
            program: parts.next().unwrap_or_default(),
            args: parts.collect(),
            success: spec.success_exit_codes.clone(),
            max_output: spec.max_output,
        }
    }

    pub(crate) async fn run(&self) -> Measurement {
        let started = Instant::now();
        let mut timings = Timings::default();
        // The command runs in a process group of its own. When the probe's timeout drops
        // this future, `kill_on_drop` kills the child and the guard kills the whole group,
        // so what the command started (a shell's children) does not outlive it.
        let child = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                return Measurement::failure(format!("cannot run {}: {e}", self.program), timings);
            }
        };
        let mut group = GroupGuard(child.id());
        let limit = self.max_output as u64;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let out = child.stdout.take();
        let err = child.stderr.take();
        let read_out = async {
            if let Some(out) = out {
                keep_start(out, limit, &mut stdout).await;
            }
        };
        let read_err = async {
            if let Some(err) = err {
                keep_start(err, limit, &mut stderr).await;
            }
        };
        let (status, _, _) = tokio::join!(child.wait(), read_out, read_err);
        // Finished (and its output closed) before the timeout: nothing left to kill.
        group.0 = None;
        timings.total_us = micros(started.elapsed());
        let status = match status {
            Ok(s) => s,
            Err(e) => {
                return Measurement::failure(
                    format!("waiting for {} failed: {e}", self.program),
                    timings,
                );
            }
        };
        let mut output = String::from_utf8_lossy(&stdout).trim().to_string();
        let err_text = String::from_utf8_lossy(&stderr).trim().to_string();
        if !err_text.is_empty() {
            if !output.is_empty() {
                output.push('\n');
            }
            output.push_str(&err_text);
        }
        // max_output counts bytes; cut on a character boundary.
        let mut end = output.len().min(self.max_output);
        while !output.is_char_boundary(end) {
            end -= 1;
        }
        let truncated = &output[..end];
        match status.code() {
            Some(code) if self.success.contains(&code) => measured(
                Verdict::Success,
                format!("exit {code}: {truncated}")
                    .trim_end_matches(": ")
                    .to_string(),
                Some(code),
                timings,
            ),
            Some(code) => measured(
                Verdict::Failure,
                format!("exit {code}: {truncated}")
                    .trim_end_matches(": ")
                    .to_string(),
                Some(code),
                timings,
            ),
            None => Measurement::failure(
                format!("{}: {truncated}", killed_by(&status))
                    .trim_end_matches(": ")
                    .to_string(),
                timings,
            ),
        }
    }
}

/// Keeps the first `limit` bytes of a pipe, then reads and drops the rest until the
/// command closes it: closing our end early would kill a healthy command that prints
/// more than `max_output` with SIGPIPE.
async fn keep_start<R: AsyncRead + Unpin>(mut pipe: R, limit: u64, kept: &mut Vec<u8>) {
    let _ = (&mut pipe).take(limit).read_to_end(kept).await;
    let _ = tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await;
}

/// How a process without an exit code ended.
/// Kills a process group when dropped while armed (the probe timed out). There is no
/// safe standard call for `kill(-pgid)`, so it runs `kill`, which every Linux has.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn killed_by(status: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    let _ = status;
    "killed by a signal".to_string()
}
