//! What the benchmark reads from the operating system: CPU time and memory of a process
//! from `/proc`, the machine's facts for the report header, and child processes that die
//! with the benchmark.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A benchmark step that failed, with what it was doing.
pub type Result<T> = std::result::Result<T, String>;

/// Adds what was being done to an error, as `anyhow`'s `context` does.
pub trait Context<T> {
    /// The error, prefixed with `what`.
    fn context(self, what: impl Display) -> Result<T>;
}

impl<T, E: Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 when
/// `getconf` cannot tell, which is what Linux uses everywhere in practice).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// User plus system CPU seconds of a process (`None`: this one), all its threads.
pub fn cpu_seconds(pid: Option<u32>, ticks: f64) -> Result<f64> {
    let path = match pid {
        Some(pid) => PathBuf::from(format!("/proc/{pid}/stat")),
        None => PathBuf::from("/proc/self/stat"),
    };
    let text = std::fs::read_to_string(&path).context(format!("reading {}", path.display()))?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields
    // after its closing parenthesis, where field 3 (state) is the first.
    let rest = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or_else(|| format!("{}: unexpected format", path.display()))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<f64> {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("{}: no field {n}", path.display()))
    };
    // Fields 14 and 15: utime and stime, in clock ticks.
    Ok((field(14)? + field(15)?) / ticks)
}

/// Memory of this process from `/proc/self/status`, in KiB: (`VmRSS`, `VmHWM`).
pub fn memory_kib() -> Result<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let value = |key: &str| -> Result<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("/proc/self/status has no {key}"))
    };
    Ok((value("VmRSS:")?, value("VmHWM:")?))
}

/// Facts about the machine and the code, for the report header.
pub struct Machine {
    /// Logical CPUs available.
    pub cpus: usize,
    /// The CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// Kernel release.
    pub kernel: String,
    /// When the run started (UTC).
    pub date: String,
    /// `git rev-parse --short HEAD`, when available.
    pub commit: Option<String>,
}

impl Machine {
    /// Reads the facts; what cannot be read says so.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|v| v.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        let memory_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kib| kib / 1024);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string());
        let commit = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .map(|hash| {
                // Tracked files changed since that commit (the lock file aside, which gains this
                // crate when it is added to a checkout): the numbers are not its own.
                let clean = Command::new("git")
                    .args([
                        "diff",
                        "--quiet",
                        "HEAD",
                        "--",
                        ":/",
                        ":(top,exclude)Cargo.lock",
                    ])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if clean {
                    hash
                } else {
                    format!("{hash} (with uncommitted changes)")
                }
            });
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_mib,
            kernel,
            date: jiff::Timestamp::now()
                .strftime("%Y-%m-%d %H:%M UTC")
                .to_string(),
            commit,
        }
    }
}

/// The first line `binary --version` prints (on stdout or, for older Prometheus tools,
/// stderr), if it runs.
pub fn version_line(binary: &Path) -> Option<String> {
    let output = Command::new(binary).arg("--version").output().ok()?;
    let text = [output.stdout, output.stderr].concat();
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// A port of 127.0.0.1 that was free a moment ago, for a child process to listen on.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("free port")?.port())
}

/// A child process that is killed (and reaped) when dropped, so no target or exporter
/// outlives a failed benchmark.
pub struct ChildGuard {
    /// The process.
    pub child: Child,
    /// What it is, for messages.
    pub name: String,
}

impl ChildGuard {
    /// Starts `command` as `name`.
    pub fn spawn(name: &str, command: &mut Command) -> Result<ChildGuard> {
        let child = command.spawn().context(format!("starting {name}"))?;
        Ok(ChildGuard {
            child,
            name: name.to_string(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the process has already exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(format!("{} exited early ({status})", self.name)),
            Ok(None) => Ok(()),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Waits for a child to write its port file (written to a temporary name and renamed,
/// so a file that exists is complete); fails if the child exits or `limit` passes.
pub fn wait_for_file(path: &Path, child: &mut ChildGuard, limit: Duration) -> Result<String> {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Ok(text);
        }
        child.ensure_running()?;
        if started.elapsed() > limit {
            return Err(format!(
                "{} did not write {} within {limit:?}",
                child.name,
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `text` to `path` atomically (temporary file, then rename).
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text).context(format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).context(format!("renaming to {}", path.display()))
}

/// Exits this (child) process when its parent closes our stdin, i.e. when the benchmark
/// ends or dies: a helper process never outlives its benchmark.
pub fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        std::process::exit(0);
    });
}

/// A multi-threaded tokio runtime like the one `continuo serve` uses.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
