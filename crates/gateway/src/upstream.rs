//! Connections to endpoints for proxied requests. Each client connection keeps the
//! endpoint connections it opened and drives them in its own task, beside the client
//! connection: a request and its answer pass between the two without waking another
//! task (with a shared client pool, every request went to the pool's connection task
//! and back, two wake-ups across threads per request). When the client connection ends,
//! its idle endpoint connections go to a shared idle list (with a task each to drive
//! them), so a client that opens a connection per request does not cost the endpoint
//! a connection per request either.

use crate::pool::Pool;
use crate::tls;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type on both sides of the proxy.
pub(crate) type ProxyBody = http_body_util::combinators::BoxBody<bytes::Bytes, BoxError>;

/// An error with its sources, `a: b: c`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The sending half of a connection to an endpoint.
type Sender = SendRequest<ProxyBody>;

/// A connection to an endpoint, to be polled until it closes.
pub(crate) type Driving = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Idle endpoint connections kept per endpoint in the shared list.
const IDLE_PER_ENDPOINT: usize = 64;

/// How long a connection may sit in the shared idle list.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Endpoint connections one client connection keeps for itself at most.
const KEPT_PER_CLIENT: usize = 4;

/// Idle endpoint connections no client connection holds, by endpoint index.
pub(crate) struct Idle {
    endpoints: Mutex<Vec<VecDeque<(Sender, Instant)>>>,
}

impl Idle {
    pub(crate) fn new(endpoints: usize) -> Idle {
        Idle {
            endpoints: Mutex::new((0..endpoints).map(|_| VecDeque::new()).collect()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<VecDeque<(Sender, Instant)>>> {
        self.endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently used idle connection to endpoint `index`; closed and expired
    /// ones are dropped on the way.
    fn take(&self, index: usize) -> Option<Sender> {
        let mut endpoints = self.lock();
        let idle = endpoints.get_mut(index)?;
        let now = Instant::now();
        while let Some((sender, since)) = idle.pop_back() {
            if now.duration_since(since) < IDLE_TIMEOUT && !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Keeps a connection for later; over the bound, the oldest is dropped (closed).
    fn put(&self, index: usize, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut endpoints = self.lock();
        let Some(idle) = endpoints.get_mut(index) else {
            return;
        };
        let now = Instant::now();
        idle.retain(|(s, since)| !s.is_closed() && now.duration_since(*since) < IDLE_TIMEOUT);
        if idle.len() >= IDLE_PER_ENDPOINT {
            idle.pop_front();
        }
        idle.push_back((sender, now));
    }
}

/// Why a request did not get an answer from an endpoint.
pub(crate) enum Failure {
    /// Nothing reached the endpoint (no connection could be made): any request may go
    /// elsewhere.
    NotSent(String),
    /// The request may have reached it.
    Sent(String),
}

/// The endpoint connections of one client connection.
pub(crate) struct Local {
    kept: Mutex<Vec<(usize, Sender)>>,
    /// To the client connection's task, which drives the connections it opens.
    drive: mpsc::UnboundedSender<Driving>,
    idle: Arc<Idle>,
}

impl Local {
    pub(crate) fn new(idle: Arc<Idle>, drive: mpsc::UnboundedSender<Driving>) -> Local {
        Local {
            kept: Mutex::new(Vec::new()),
            drive,
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, Sender)>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A free connection to endpoint `index`: one of this client connection's own,
    /// else one from the shared idle list. Only connections whose last answer was read
    /// to its end are free, so it takes the next request as soon as it has been polled
    /// (or turns out closed).
    fn take(&self, index: usize) -> Option<Sender> {
        {
            let mut kept = self.lock();
            kept.retain(|(_, s)| !s.is_closed());
            if let Some(at) = kept.iter().position(|(i, _)| *i == index) {
                return Some(kept.swap_remove(at).1);
            }
        }
        self.idle.take(index)
    }

    /// Gives a connection back once the answer's body is over (read or dropped).
    fn put(&self, index: usize, sender: Sender) {
        let mut kept = self.lock();
        if kept.len() < KEPT_PER_CLIENT {
            kept.push((index, sender));
        } else {
            drop(kept);
            self.idle.put(index, sender);
        }
    }

    /// The client connection is over: its connections go to the shared idle list.
    pub(crate) fn retire(&self) {
        let kept = std::mem::take(&mut *self.lock());
        for (index, sender) in kept {
            self.idle.put(index, sender);
        }
    }

    /// Opens a connection to endpoint `index` (TLS for an `https://` one), within the
    /// gateway's connect timeout, and hands it to the client connection's task.
    async fn connect(&self, pool: &Pool, index: usize) -> Result<Sender, String> {
        let Some(endpoint) = pool.spec.endpoints.get(index) else {
            return Err("no such endpoint".into());
        };
        let limit = pool.spec.connect_timeout;
        let stream = match tokio::time::timeout(limit, tls::connect(&pool.tls, endpoint)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(format!(
                    "connect: no connection within {} ms",
                    limit.as_millis()
                ));
            }
        };
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| error_chain(&e))?;
        let gateway = pool.spec.id.clone();
        let driving: Driving = Box::pin(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%gateway, error = %e, "endpoint connection ended with an error");
            }
        });
        // The client connection is gone (an HTTP/2 stream outlived it): a task of its own.
        if let Err(mpsc::error::SendError(driving)) = self.drive.send(driving) {
            tokio::spawn(driving);
        }
        Ok(sender)
    }

    /// Sends a request (origin-form URI, `Host` set) to endpoint `index`: on a kept or
    /// idle connection when one is ready, else on a new one. A reused connection that
    /// the endpoint closed meanwhile gives the request back, and it goes on another.
    pub(crate) async fn send(
        self: &Arc<Self>,
        pool: &Pool,
        index: usize,
        mut request: Request<ProxyBody>,
    ) -> Result<Response<ProxyBody>, Failure> {
        while let Some(mut sender) = self.take(index) {
            if sender.ready().await.is_err() {
                // Closed by the endpoint while idle: nothing was sent on it.
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(self.returning(index, sender, response)),
                Err(mut e) => match e.take_message() {
                    Some(back) => request = back,
                    None => {
                        return Err(Failure::Sent(error_chain(&e.into_error())));
                    }
                },
            }
        }
        let mut sender = self.connect(pool, index).await.map_err(Failure::NotSent)?;
        match sender.try_send_request(request).await {
            Ok(response) => Ok(self.returning(index, sender, response)),
            Err(mut e) => {
                let sent = e.take_message().is_none();
                let reason = error_chain(&e.into_error());
                Err(if sent {
                    Failure::Sent(reason)
                } else {
                    Failure::NotSent(reason)
                })
            }
        }
    }
}

impl Local {
    /// The answer, with a body that gives the connection back when it is dropped: when
    /// the client connection has written the last of it, or gave up on it.
    fn returning(
        self: &Arc<Self>,
        index: usize,
        sender: Sender,
        response: Response<Incoming>,
    ) -> Response<ProxyBody> {
        let back = GiveBack {
            local: self.clone(),
            index,
            sender: Some(sender),
        };
        response.map(|body| {
            body.map_err(move |e| {
                let _ = &back;
                Box::new(e) as BoxError
            })
            .boxed()
        })
    }
}

/// Gives a connection back to its [`Local`] when dropped.
struct GiveBack {
    local: Arc<Local>,
    index: usize,
    sender: Option<Sender>,
}

impl Drop for GiveBack {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.local.put(self.index, sender);
        }
    }
}

/// The endpoint connections a client connection's task drives, polled beside it.
#[derive(Default)]
pub(crate) struct Drivers(Vec<Driving>);

impl Drivers {
    pub(crate) fn push(&mut self, driving: Driving) {
        self.0.push(driving);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Polls every connection; ready when one of them closed.
    pub(crate) fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let before = self.0.len();
        self.0.retain_mut(|d| d.as_mut().poll(cx).is_pending());
        if self.0.len() < before {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// The client connection is over: the connections still open get a task each (the
    /// shared idle list may hand them to another client connection).
    pub(crate) fn hand_off(self) {
        for driving in self.0 {
            tokio::spawn(driving);
        }
    }
}
