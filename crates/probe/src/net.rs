//! Name resolution and connecting, with the time each took.

use super::micros;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Splits `host:port` (`[::1]:80` for IPv6) into host and port.
pub(crate) fn split_host_port(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

/// Resolves a host to one address. Returns the address and the DNS time (`None` for an
/// IP literal, which needs no lookup).
pub(crate) async fn resolve(host: &str, port: u16) -> Result<(SocketAddr, Option<u64>), String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok((SocketAddr::new(ip, port), None));
    }
    let started = Instant::now();
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let addr = addrs
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    Ok((addr, Some(micros(started.elapsed()))))
}

/// Connects with TCP_NODELAY; returns the stream and the connect time.
pub(crate) async fn connect(addr: SocketAddr) -> Result<(TcpStream, u64), String> {
    let started = Instant::now();
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    // Probes are small request/response exchanges; Nagle would only add latency.
    let _ = stream.set_nodelay(true);
    Ok((stream, micros(started.elapsed())))
}
