//! Integration tests of every channel kind against real receivers on 127.0.0.1 (an HTTP
//! server that records requests, an SMTP sink speaking STARTTLS), of the templates in
//! both languages, and of configuration errors. No mocks, and no host outside this
//! machine: default URLs such as PagerDuty's are never contacted, every test sets `url`.
//! One test binary, to keep linking cheap.
//!
//! A test that needs a program this machine may lack (Synapse, for Matrix) skips with one
//! line saying what to install, unless `CI` is set, where a missing tool is a failure.

/// Whether a missing tool must fail the run (CI) rather than skip the test.
pub fn tools_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Skips the current test with one line saying what is missing, or fails it under CI.
macro_rules! skip_or_fail {
    ($($reason:tt)*) => {{
        let reason = format!($($reason)*);
        if crate::tools_required() {
            panic!("CI requires this test to run: {reason}");
        }
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("skipped: {reason}\n").as_bytes(),
        );
        return;
    }};
}

mod chat;
mod config;
mod email;
mod http_channels;
mod matrix;
mod settings_read;
mod support;
mod synapse;
mod templates;
