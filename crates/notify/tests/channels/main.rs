//! Integration tests of every channel kind against real receivers on 127.0.0.1 (an HTTP
//! server that records requests, an SMTP sink speaking STARTTLS), of the templates in
//! both languages, and of configuration errors. No mocks, and no host outside this
//! machine: default URLs such as PagerDuty's are never contacted, every test sets `url`.
//! One test binary, to keep linking cheap.

mod config;
mod email;
mod http_channels;
mod settings_read;
mod support;
mod templates;
