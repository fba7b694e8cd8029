//! The `command` check kind: runs a program (no shell), judges its exit status, and keeps
//! the start of its output as the message. On timeout the process is killed, with every
//! process it started (its process group).

use super::{measured, micros};
use continuo_core::catalog::CommandSpec;
use continuo_core::observation::{Measurement, Timings};
use continuo_core::state::Verdict;
use continuo_net::process::{Process, RunError, killed_by};
use tokio::time::Instant;

pub(crate) struct CommandProbe {
    process: Process,
    success: Vec<i32>,
    max_output: usize,
}

impl CommandProbe {
    pub(crate) fn build(spec: &CommandSpec) -> CommandProbe {
        let mut parts = spec.command.iter().cloned();
        CommandProbe {
            process: Process::new(parts.next().unwrap_or_default())
                .args(parts)
                .output_limit(spec.max_output),
            success: spec.success_exit_codes.clone(),
            max_output: spec.max_output,
        }
    }

    pub(crate) async fn run(&self) -> Measurement {
        let started = Instant::now();
        let mut timings = Timings::default();
        // The probe's timeout drops this future; the runner then kills the command's
        // whole process group, so what it started (a shell's children) does not outlive it.
        let finished = self.process.run().await;
        let program = self.process.program();
        let finished = match finished {
            Ok(finished) => finished,
            Err(RunError::Start { source, .. }) => {
                return Measurement::failure(format!("cannot run {program}: {source}"), timings);
            }
            Err(error) => {
                timings.total_us = micros(started.elapsed());
                let reason = match error {
                    RunError::Wait { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                return Measurement::failure(
                    format!("waiting for {program} failed: {reason}"),
                    timings,
                );
            }
        };
        timings.total_us = micros(started.elapsed());
        let (status, stdout, stderr) = (finished.status, finished.stdout, finished.stderr);
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
