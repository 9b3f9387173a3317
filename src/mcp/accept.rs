//! Accepting HTTP connections under limits, since anything on the network
//! may be hostile:
//!
//! - at most `max_connections` are served at once; one more is answered
//!   `503` with `Retry-After: 1` (written without reading its request) and
//!   closed at once;
//! - a client has `header_timeout` to send a request head, on a new
//!   connection and between keep-alive requests alike (hyper's header read
//!   timeout), so a slow or silent client cannot hold a connection;
//! - when `accept` fails for lack of resources (EMFILE, ENFILE, ENOBUFS,
//!   ENOMEM) the loop sleeps, 10 ms doubling to 1 s, instead of spinning,
//!   and logs at most one warning per second, counting the ones it held back.
//!
//! Every connection is a task of one `JoinSet`, aborted when the server
//! stops. Each request carries its connection's `ConnCloser`, with which
//! the legacy SSE layer closes the stream of a client that stopped reading.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::http::Routes;

/// The answer to a connection over the limit.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 53\r\nConnection: close\r\n\r\ntoo many connections to this MCP server; retry later\n";

/// First and longest sleep after a failed `accept`.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Connection limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnLimits {
    /// Connections served at once.
    pub(super) max_connections: usize,
    /// Time to send a request head (and longest keep-alive idle time).
    pub(super) header_timeout: Duration,
}

/// Closes the connection a request arrived on (a request extension).
#[derive(Debug, Clone, Default)]
pub(super) struct ConnCloser(CancellationToken);

impl ConnCloser {
    /// Drops the connection: its socket is closed, whatever is buffered.
    pub(super) fn close(&self) {
        self.0.cancel();
    }
}

/// At most one message per `every`; the others are counted, and the count
/// is reported with the next message let through.
#[derive(Debug)]
pub(super) struct Throttle {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl Throttle {
    pub(super) fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// `Some(n)` when a message may go out now, `n` being how many were
    /// held back since the last one; `None` when this one is held back.
    pub(super) fn pass(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

/// " (N more like it not logged)" when N > 0.
fn held_back(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} more like it not logged)")
    }
}

/// Doubling sleeps between failed accepts, reset by a successful one.
#[derive(Debug)]
struct Backoff(Duration);

impl Backoff {
    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        wait
    }

    fn reset(&mut self) {
        self.0 = BACKOFF_FIRST;
    }
}

/// Accepts connections until `stop`, then aborts the ones still open.
pub(super) async fn accept_loop(
    listener: TcpListener,
    routes: Arc<Routes>,
    limits: ConnLimits,
    stop: &CancellationToken,
) {
    // One permit per connection served; a connection's task holds its
    // permit until the connection ends.
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut conns = JoinSet::new();
    let mut backoff = Backoff(BACKOFF_FIRST);
    let mut errors = Throttle::new(Duration::from_secs(1));
    let mut refusals = Throttle::new(Duration::from_secs(1));
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        match accepted {
            Ok((stream, _)) => {
                backoff.reset();
                match Arc::clone(&permits).try_acquire_owned() {
                    Ok(permit) => {
                        let routes = Arc::clone(&routes);
                        conns.spawn(serve_conn(stream, routes, permit, limits.header_timeout));
                    }
                    Err(_) => refuse(&stream, limits.max_connections, &mut refusals),
                }
            }
            Err(e) if is_per_connection(&e) => {
                tracing::debug!("accept: a connection failed before it was accepted: {e}");
            }
            Err(e) => {
                let wait = backoff.next();
                if let Some(n) = errors.pass(Instant::now()) {
                    tracing::warn!(
                        "accept failed: {e}; retrying in {} ms{}",
                        wait.as_millis(),
                        held_back(n)
                    );
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    conns.shutdown().await;
}

/// Errors of one incoming connection (the listener itself is fine).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Answers a connection over the limit with 503 (best effort, never
/// waiting) and closes it.
fn refuse(stream: &TcpStream, max: usize, log: &mut Throttle) {
    let _ = stream.try_write(BUSY);
    if let Some(n) = log.pass(Instant::now()) {
        tracing::warn!(
            "refused a connection: {max} connections already open (--max-connections){}",
            held_back(n)
        );
    }
}

/// Serves one connection until it ends or its `ConnCloser` is used.
async fn serve_conn(
    stream: TcpStream,
    routes: Arc<Routes>,
    permit: OwnedSemaphorePermit,
    header_timeout: Duration,
) {
    let _permit = permit;
    let closer = ConnCloser::default();
    let token = closer.0.clone();
    let svc = service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(closer.clone());
        let routes = Arc::clone(&routes);
        async move { Ok::<_, Infallible>(routes.route(req).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        () = token.cancelled() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_message_a_second_through_and_counts_the_rest() {
        let mut t = Throttle::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(t.pass(t0), Some(0));
        for ms in [1, 10, 500, 999] {
            assert_eq!(t.pass(t0 + Duration::from_millis(ms)), None);
        }
        assert_eq!(t.pass(t0 + Duration::from_millis(1000)), Some(4));
        assert_eq!(t.pass(t0 + Duration::from_millis(1500)), None);
        assert_eq!(t.pass(t0 + Duration::from_millis(2001)), Some(1));
        assert_eq!(held_back(0), "");
        assert_eq!(held_back(3), " (3 more like it not logged)");
    }

    #[test]
    fn accept_backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff(BACKOFF_FIRST);
        let waits: Vec<u128> = (0..9).map(|_| b.next().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.next(), BACKOFF_FIRST);
    }

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.parse().ok())
            .expect("length");
        assert_eq!(body.len(), len);
        assert!(head.starts_with("HTTP/1.1 503 "));
    }
}
