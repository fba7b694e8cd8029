//! What a client command (`status`, `incident`, `ack`, `resolve`, `gateway`) says when
//! it cannot reach the server: a sentence in the user's language that names the address
//! and what went wrong (nothing listening, no answer in time, a certificate refused),
//! not the HTTP client's chain of error types.

use continuo_core::{Text, tr};

/// Why `base` could not be reached, as a sentence for the person at the terminal.
pub fn unreachable(base: &str, error: &reqwest::Error) -> Text {
    let host = error
        .url()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| base.to_string());
    if let Some(tls) = continuo_net::tls::describe_failure(error, &host) {
        return tr!(
            "cannot reach the Continuo server at {base}: {tls}",
            "kan de Continuo-server op {base} niet bereiken: {tls}"
        );
    }
    if error.is_timeout() {
        return tr!(
            "the Continuo server at {base} did not answer in time",
            "de Continuo-server op {base} antwoordde niet op tijd"
        );
    }
    if error.is_connect() {
        return tr!(
            "nothing answers at {base}: start the server with `continuo serve`, or give its address with --url (or -c and its configuration)",
            "niets antwoordt op {base}: start de server met `continuo serve`, of geef het adres met --url (of -c met de configuratie)"
        );
    }
    tr!(
        "cannot reach the Continuo server at {base}: {error}",
        "kan de Continuo-server op {base} niet bereiken: {error}"
    )
}
