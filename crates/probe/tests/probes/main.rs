//! Integration tests of every probe kind against real servers on 127.0.0.1: no mocks,
//! and no host outside this machine. One test binary, to keep linking cheap.
//!
//! No test asserts how long something took: a slow machine must not fail them. Where
//! slowness is the subject (latency, timeouts), the server is made slower than the limit
//! by construction, and only the verdict and the reason are checked.

mod command;
mod dns;
mod http;
mod icmp;
mod servers;
mod support;
mod tcp;
mod tls;
