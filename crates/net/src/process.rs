//! The one way Continuo runs another program (a command check, a gateway's failover
//! command, later restore tests and drills): no shell, stdin closed, its own process
//! group, stdout and stderr captured up to a size, and the whole group killed when the
//! run times out or is dropped, so what the program started (a shell's children) does
//! not outlive it.
//!
//! Killing a group needs `kill(-pgid)`, for which the standard library has no safe call;
//! it runs the `kill` program, which every Linux has, and keeps the workspace free of
//! `unsafe`.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of each of stdout and stderr is kept unless told otherwise.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024;

/// A program to run, and how.
#[derive(Debug, Clone)]
pub struct Process {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    output_limit: usize,
    timeout: Option<Duration>,
}

/// A program that ran to its end.
#[derive(Debug)]
pub struct Finished {
    /// How it ended.
    pub status: ExitStatus,
    /// The start of its standard output, at most the output limit.
    pub stdout: Vec<u8>,
    /// The start of its standard error, at most the output limit.
    pub stderr: Vec<u8>,
}

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not be started (not found, not executable, ...).
    #[error("cannot start `{program}`: {source}")]
    Start {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// Waiting for it failed.
    #[error("waiting for `{program}` failed: {source}")]
    Wait {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// It ran longer than its timeout; its process group was killed.
    #[error("`{program}` timed out after {} ms", .after.as_millis())]
    TimedOut {
        /// The program.
        program: String,
        /// The timeout.
        after: Duration,
    },
}

impl Process {
    /// Runs `program` (looked up in `PATH` when it has no `/`), with no arguments, the
    /// inherited environment, [`DEFAULT_OUTPUT_LIMIT`] and no timeout of its own.
    pub fn new(program: impl Into<String>) -> Process {
        Process {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            output_limit: DEFAULT_OUTPUT_LIMIT,
            timeout: None,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Process
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the program.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Process {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Keeps at most `bytes` of stdout and, separately, of stderr. The rest is read and
    /// dropped: closing the pipe early would kill a healthy program with SIGPIPE.
    pub fn output_limit(mut self, bytes: usize) -> Process {
        self.output_limit = bytes;
        self
    }

    /// Kills the process group when the run takes longer than `timeout`. Without one the
    /// caller bounds it (dropping the run kills the group as well).
    pub fn timeout(mut self, timeout: Duration) -> Process {
        self.timeout = Some(timeout);
        self
    }

    /// The program, as given.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Runs it to its end (the program exited and closed its output), its timeout, or
    /// until the returned future is dropped.
    pub async fn run(&self) -> Result<Finished, RunError> {
        match self.timeout {
            None => self.run_to_end().await,
            // Dropping the run on timeout kills the group (see `GroupGuard`).
            Some(after) => tokio::time::timeout(after, self.run_to_end())
                .await
                .unwrap_or_else(|_| {
                    Err(RunError::TimedOut {
                        program: self.program.clone(),
                        after,
                    })
                }),
        }
    }

    async fn run_to_end(&self) -> Result<Finished, RunError> {
        #[allow(
            clippy::disallowed_methods,
            reason = "this is the runner every other crate goes through"
        )]
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| RunError::Start {
            program: self.program.clone(),
            source,
        })?;
        // Armed until the program has ended and closed its output: if this future is
        // dropped before (a timeout), `kill_on_drop` kills the child and the guard its
        // whole group.
        let mut group = GroupGuard(child.id());
        let limit = self.output_limit as u64;
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
        group.0 = None;
        let status = status.map_err(|source| RunError::Wait {
            program: self.program.clone(),
            source,
        })?;
        Ok(Finished {
            status,
            stdout,
            stderr,
        })
    }
}

/// Keeps the first `limit` bytes of a pipe, then reads and drops the rest until the
/// program closes it.
async fn keep_start<R: AsyncRead + Unpin>(mut pipe: R, limit: u64, kept: &mut Vec<u8>) {
    let _ = (&mut pipe).take(limit).read_to_end(kept).await;
    let _ = tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await;
}

/// Kills a process group when dropped while armed.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            #[allow(
                clippy::disallowed_methods,
                reason = "`kill -- -pgid` is the safe way to signal a process group"
            )]
            let mut kill = std::process::Command::new("kill");
            let _ = kill
                .args(["-KILL", "--", &format!("-{pgid}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// How a program without an exit code ended: "killed by signal 9".
pub fn killed_by(status: &ExitStatus) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn sh(script: &str) -> Process {
        Process::new("sh").args(["-c", script])
    }

    #[tokio::test]
    async fn output_and_exit_status_come_back() {
        let done = sh("echo out; echo err >&2; exit 3")
            .run()
            .await
            .expect("ran");
        assert_eq!(done.status.code(), Some(3));
        assert_eq!(done.stdout, b"out\n");
        assert_eq!(done.stderr, b"err\n");
    }

    #[tokio::test]
    async fn arguments_and_environment_reach_the_program() {
        let done = Process::new("sh")
            .args(["-c", "echo \"$1 $GREETING\"", "sh", "world"])
            .env("GREETING", "hello")
            .run()
            .await
            .expect("ran");
        assert!(done.status.success());
        assert_eq!(done.stdout, b"world hello\n");
    }

    /// Output beyond the limit is dropped, yet read: the program is not killed by SIGPIPE
    /// and its exit status is its own.
    #[tokio::test]
    async fn output_is_capped_without_breaking_the_pipe() {
        let done = sh("head -c 100000 /dev/zero; echo done >&2")
            .output_limit(10)
            .run()
            .await
            .expect("ran");
        assert!(done.status.success(), "{:?}", done.status);
        assert_eq!(done.stdout.len(), 10);
        assert_eq!(done.stderr, b"done\n");
    }

    #[tokio::test]
    async fn a_missing_program_cannot_start() {
        let error = Process::new("/nonexistent/program")
            .run()
            .await
            .expect_err("no such program");
        assert!(matches!(error, RunError::Start { .. }), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("cannot start `/nonexistent/program`: "),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_signal_is_named() {
        let done = sh("kill -TERM $$").run().await.expect("ran");
        assert_eq!(done.status.code(), None);
        assert_eq!(killed_by(&done.status), "killed by signal 15");
    }

    /// Whether a process is gone: absent, or a zombie nobody reaped yet (a container's
    /// first process may not reap orphans).
    fn gone(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        }
    }

    async fn wait_until_gone(pid: &str) -> bool {
        for _ in 0..50 {
            if gone(pid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// The program's own children die with it: a grandchild in the background that
    /// would have slept on is killed when the run times out.
    #[tokio::test]
    async fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!("sleep 60 & echo $! > {}; wait", pid_file.display());
        let started = Instant::now();
        let error = sh(&script)
            .timeout(Duration::from_millis(1500))
            .run()
            .await
            .expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            matches!(error, RunError::TimedOut { after, .. } if after == Duration::from_millis(1500)),
            "{error}"
        );
        assert_eq!(error.to_string(), "`sh` timed out after 1500 ms");
        let pid = std::fs::read_to_string(&pid_file).expect("pid written");
        assert!(
            wait_until_gone(pid.trim()).await,
            "grandchild {pid} lives on"
        );
    }

    /// A background grandchild that keeps the output pipe open keeps the run going (its
    /// output may still matter) until the timeout, which then kills it too.
    #[tokio::test]
    async fn a_grandchild_holding_the_output_open_is_killed_on_timeout() {
        let error = sh("sleep 60 & echo $!")
            .timeout(Duration::from_millis(500))
            .run()
            .await
            .expect_err("the grandchild holds stdout open");
        assert!(matches!(error, RunError::TimedOut { .. }), "{error}");
    }

    /// Dropping a run (the caller's own timeout) kills the group as well.
    #[tokio::test]
    async fn dropping_a_run_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!("sleep 60 & echo $! > {}; wait", pid_file.display());
        let process = sh(&script);
        let outcome = tokio::time::timeout(Duration::from_millis(1500), process.run()).await;
        assert!(outcome.is_err(), "still running when dropped");
        let pid = std::fs::read_to_string(&pid_file).expect("pid written");
        assert!(
            wait_until_gone(pid.trim()).await,
            "grandchild {pid} lives on"
        );
    }
}
