//! Bounds for every listener (the main HTTP listener and each gateway's): how many
//! connections may be open at once in total and from one client address, how long a
//! client may take to send its first request, and how long a connection may sit idle.
//!
//! - [`Admission`]: the caps. [`Admission::admit`] answers a [`Permit`] (the connection
//!   counts until the permit is dropped) or a [`Refusal`]; the listener closes a refused
//!   connection at once, before reading a byte.
//! - [`Tracked`] wraps a connection's stream and notes when bytes last moved;
//!   [`Activity::busy`] marks a request in progress; [`Activity::expired`] completes when
//!   the connection should be closed: no request began within the header timeout, or
//!   nothing moved (and no request was in progress) for the idle timeout.
//! - [`file_limit`] raises the soft `RLIMIT_NOFILE` to the hard limit and
//!   [`ListenLimits::for_file_limit`] derives caps that leave outbound probes a reserved
//!   share of descriptors, so a flood of connections can never make a healthy check fail
//!   with "Too many open files".
//!
//! **Invariant:** a listener never holds more connections than its [`Admission`] allows,
//! and at most `per_address` from one address (IPv6 counted per /64).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The bounds of one or more listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one client address (IPv6: one /64).
    pub per_address: usize,
    /// A connection that has not sent a complete request head this long after it opened
    /// (or after its previous answer, on HTTP/1.1 keep-alive) is closed.
    pub header_timeout: Duration,
    /// A connection with no request in progress and no bytes moving this long is closed.
    pub idle_timeout: Duration,
}

/// Descriptors kept for everything that is not an inbound connection or a probe (the
/// store, notifications, files, the runtime).
pub const RESERVED_FILES: u64 = 256;

impl ListenLimits {
    /// Limits for a process that may open `files` descriptors of which `reserved` are
    /// kept for everything else (outbound probes, the store, notifications, files):
    /// inbound connections get the rest, but at least a quarter of `files` (a process
    /// with a small limit must still answer). One address may hold at most a tenth of
    /// the inbound share (between 16 and 1,000 connections).
    pub fn for_file_limit(files: u64, reserved: u64) -> ListenLimits {
        let inbound = files.saturating_sub(reserved).max(files / 4).max(16);
        let max_connections = usize::try_from(inbound.min(1_000_000)).unwrap_or(1_000_000);
        ListenLimits {
            max_connections,
            per_address: (max_connections / 10).clamp(16, 1_000),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl Default for ListenLimits {
    /// For the usual 1,024 descriptors of a soft limit that was not raised.
    fn default() -> Self {
        ListenLimits::for_file_limit(1_024, RESERVED_FILES)
    }
}

/// The soft limit on open files in force now (`None` when it cannot be read or is
/// unlimited); changes nothing.
pub fn current_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Raises the soft limit on open files to the hard limit (when it can), and answers the
/// soft limit that is in force afterwards (`None` when it cannot be read, or when it is
/// unlimited).
pub fn file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(hard)) = (limit.current, limit.maximum)
        && current < hard
    {
        let raised = rustix::process::Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, soft = current, hard, "cannot raise the open-files limit");
        }
    } else if limit.current.is_some() && limit.maximum.is_none() {
        // An unlimited hard limit: ask for a generous, finite soft one.
        let raised = rustix::process::Rlimit {
            current: Some(1 << 20),
            maximum: None,
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
    getrlimit(Resource::Nofile).current
}

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The listener holds as many connections as it may.
    Full,
    /// This client address holds as many as one address may.
    AddressFull,
}

/// The connection caps of one or more listeners.
#[derive(Debug)]
pub struct Admission {
    limits: ListenLimits,
    open: AtomicUsize,
    refused: AtomicU64,
    evicted: AtomicU64,
    /// Addresses the per-address cap does not apply to (trusted reverse proxies, which
    /// carry many clients' connections).
    exempt: Vec<IpAddr>,
    by_address: Mutex<HashMap<IpAddr, usize>>,
    /// Connections that may be evicted when the listener is full, oldest first (those
    /// that have not begun a request yet; the others are skipped and dropped).
    unstarted: Mutex<std::collections::VecDeque<std::sync::Weak<Activity>>>,
}

/// One admitted connection; it stops counting when dropped.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    key: IpAddr,
}

/// The key an address is counted under: itself, or its /64 for IPv6 (one host usually
/// has a whole /64). IPv4-mapped IPv6 addresses count as their IPv4 address.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

impl Admission {
    /// Caps for `limits`.
    pub fn new(limits: ListenLimits) -> Arc<Admission> {
        Admission::with_exempt(limits, Vec::new())
    }

    /// Caps for `limits`, without the per-address cap for the addresses in `exempt`
    /// (trusted reverse proxies: every client behind one shares its address).
    pub fn with_exempt(limits: ListenLimits, exempt: Vec<IpAddr>) -> Arc<Admission> {
        Arc::new(Admission {
            exempt,
            limits,
            open: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            by_address: Mutex::new(HashMap::new()),
            unstarted: Mutex::new(std::collections::VecDeque::new()),
        })
    }

    /// The limits.
    pub fn limits(&self) -> ListenLimits {
        self.limits
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections refused since the start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections closed to make room for a new one since the start.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Makes `activity`'s connection one that may be evicted while it has not begun a
    /// request (see [`Admission::admit`]).
    pub fn track(&self, activity: &Arc<Activity>) {
        let mut queue = self.unstarted.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= self.limits.max_connections.saturating_mul(2).max(64) {
            queue.retain(|w| w.upgrade().is_some_and(|a| !a.is_started()));
        }
        queue.push_back(Arc::downgrade(activity));
    }

    /// Closes the oldest connection that has not begun a request, if there is one.
    fn evict_oldest_unstarted(&self) -> bool {
        let mut queue = self.unstarted.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(weak) = queue.pop_front() {
            if let Some(activity) = weak.upgrade()
                && !activity.is_started()
                && activity.evict()
            {
                self.evicted.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// Admits a connection from `ip`, or says why not. When the listener is full, the
    /// oldest connection that has not begun a request is closed to make room (so idle
    /// connections, however many, cannot keep real clients out); only when there is
    /// none is the new connection refused. One address never gets more than its share.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let key = address_key(ip);
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&key).copied().unwrap_or(0) >= self.limits.per_address
            && !self.exempt.contains(&ip)
        {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::AddressFull);
        }
        if self.open.load(Ordering::Relaxed) >= self.limits.max_connections
            && !self.evict_oldest_unstarted()
        {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Full);
        }
        let count = map.entry(key).or_insert(0);
        *count += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(Permit {
            admission: self.clone(),
            key,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut map = self
            .admission
            .by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = map.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.key);
            }
        }
        self.admission.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a connection has been doing, for its timeouts.
#[derive(Debug)]
pub struct Activity {
    opened: Instant,
    /// Milliseconds after `opened` when bytes last moved.
    last_ms: AtomicU64,
    busy: AtomicUsize,
    started: AtomicBool,
    evicted: AtomicBool,
    wake: tokio::sync::Notify,
}

/// A request in progress (see [`Activity::busy`]).
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl Activity {
    /// A connection opened now.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        })
    }

    fn is_started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// Asks the connection to close ([`Activity::expired`] completes); false when it
    /// already was asked.
    fn evict(&self) -> bool {
        let first = !self.evicted.swap(true, Ordering::Relaxed);
        self.wake.notify_one();
        first
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Marks a request in progress until the answer is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.started.store(true, Ordering::Relaxed);
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.touch();
        Busy(self.clone())
    }

    /// Marks the connection as started without a request (a TCP splice: bytes from
    /// either side count as activity from now on).
    pub fn start(&self) {
        self.started.store(true, Ordering::Relaxed);
        self.touch();
    }

    /// Completes when the connection should be closed: no request began within
    /// `header` of opening, or no request was in progress and no bytes moved for `idle`,
    /// or it was evicted to make room for a new one.
    pub async fn expired(&self, header: Duration, idle: Duration) {
        loop {
            if self.evicted.load(Ordering::Relaxed) {
                return;
            }
            let deadline = if self.started.load(Ordering::Relaxed) {
                if self.busy.load(Ordering::Relaxed) > 0 {
                    Instant::now() + idle
                } else {
                    self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed)) + idle
                }
            } else {
                self.opened + header
            };
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.wake.notified() => {}
            }
        }
    }
}

/// A stream that notes in its [`Activity`] when bytes move.
#[derive(Debug)]
pub struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, activity: Arc<Activity>) -> Tracked<S> {
        Tracked { inner, activity }
    }

    /// The wrapped stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Whether a failed `accept` (out of descriptors and the like) should be logged now:
/// at most once a second in the process, so a flood does not flood the log too.
pub fn log_accept_error_now() -> bool {
    static LAST: AtomicU64 = AtomicU64::new(u64::MAX);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    LAST.swap(now, Ordering::Relaxed) != now
}

/// Waits after a failed `accept` so the loop does not spin.
pub async fn accept_backoff() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn limits_leave_descriptors_for_probes() {
        for files in [4_096, 65_536, 1 << 20] {
            let reserved = 2_048 + RESERVED_FILES;
            let l = ListenLimits::for_file_limit(files, reserved);
            assert!(
                l.max_connections as u64 + reserved <= files,
                "{files}: {l:?}"
            );
            assert!(l.per_address <= l.max_connections);
        }
        // A small limit still answers, with a quarter.
        assert_eq!(
            ListenLimits::for_file_limit(1_024, 4_096).max_connections,
            256
        );
    }

    #[test]
    fn caps_count_per_address_and_in_total() {
        let a = Admission::new(ListenLimits {
            max_connections: 3,
            per_address: 2,
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
        });
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        let p1 = a.admit(one).unwrap();
        let _p2 = a.admit(one).unwrap();
        assert_eq!(a.admit(one).unwrap_err(), Refusal::AddressFull);
        let _p3 = a.admit(two).unwrap();
        // Full, and nothing to evict (no connection was tracked).
        assert_eq!(a.admit(two).unwrap_err(), Refusal::Full);
        drop(p1);
        assert!(a.admit(one).is_ok());
        assert_eq!(a.refused(), 2);
        // One IPv6 /64 is one address.
        let b = Admission::new(a.limits());
        let _x = b.admit("2001:db8::1".parse().unwrap()).unwrap();
        let _y = b.admit("2001:db8::2".parse().unwrap()).unwrap();
        assert_eq!(
            b.admit("2001:db8::ffff".parse().unwrap()).unwrap_err(),
            Refusal::AddressFull
        );
        assert!(b.admit("2001:db8:0:1::1".parse().unwrap()).is_ok());
        // A trusted proxy carries many clients: no per-address cap for it.
        let c = Admission::with_exempt(a.limits(), vec![one]);
        let held: Vec<Permit> = (0..3).map(|_| c.admit(one).unwrap()).collect();
        assert_eq!(held.len(), 3);
        assert_eq!(c.admit(two).unwrap_err(), Refusal::Full);
    }

    #[tokio::test]
    async fn a_full_listener_evicts_the_oldest_connection_without_a_request() {
        let a = Admission::new(ListenLimits {
            max_connections: 2,
            per_address: 2,
            header_timeout: Duration::from_secs(3_600),
            idle_timeout: Duration::from_secs(3_600),
        });
        let ip = |n: u8| IpAddr::from([127, 0, 0, n]);
        let (silent, serving) = (Activity::new(), Activity::new());
        let _p1 = a.admit(ip(1)).unwrap();
        a.track(&silent);
        let _p2 = a.admit(ip(2)).unwrap();
        a.track(&serving);
        let _busy = serving.busy();
        // Full: the new connection gets in, the silent one is told to close ...
        let _p3 = a.admit(ip(3)).unwrap();
        assert_eq!(a.evicted(), 1);
        tokio::time::timeout(
            Duration::from_secs(10),
            silent.expired(Duration::from_secs(3_600), Duration::from_secs(3_600)),
        )
        .await
        .expect("the evicted connection closes");
        // ... and one serving a request is never evicted.
        assert_eq!(a.admit(ip(4)).unwrap_err(), Refusal::Full);
    }

    #[tokio::test]
    async fn a_silent_connection_expires_and_a_busy_one_does_not() {
        let short = Duration::from_millis(100);
        let a = Activity::new();
        let opened = Instant::now();
        tokio::time::timeout(Duration::from_secs(10), a.expired(short, short))
            .await
            .expect("a connection that sends nothing expires");
        assert!(opened.elapsed() >= short);
        // A request in progress holds the connection open; idle afterwards ends it.
        let a = Activity::new();
        let busy = a.busy();
        let held = tokio::time::timeout(short * 5, a.expired(short, short)).await;
        assert!(held.is_err(), "a busy connection must not expire");
        // Taken before the drop, which is when the idle time starts: taken after it, the
        // gap between the two under load made the expiry look early.
        let dropped = Instant::now();
        drop(busy);
        tokio::time::timeout(Duration::from_secs(10), a.expired(short, short))
            .await
            .expect("an idle connection expires");
        assert!(dropped.elapsed() >= short);
    }
}
