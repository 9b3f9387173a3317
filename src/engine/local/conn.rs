//! One keep-alive HTTP/1.1 connection, driven by the task that uses it: the
//! bytes of a response are read and stamped by the same task that sent the
//! request, with no hand-off to a connection task in between. Every read is
//! stamped before it is parsed, with the kernel's receive stamp of its
//! bytes (`rx.rs`) where the kernel gives one, else the moment it returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use http::header::CONTENT_TYPE;
use http::Request;
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use super::body::ReqBody;
use super::connect::Stream;
use super::response::{err, http_error, whole_body, Outcome, StreamReader};
use super::rx::LastRx;
use crate::domain::{ErrorKind, RequestError};

/// Largest non-streamed body read; beyond it the response is malformed.
const MAX_WHOLE_BODY: usize = super::response::MAX_RESPONSE_BYTES;

type Io = TokioIo<Stream>;
/// The I/O half hyper hands back from the handshake.
type Http1Connection = Pin<Box<http1::Connection<Io, ReqBody>>>;

/// The I/O half of a connection. It must be polled for the connection to make
/// progress. Once it has finished it is dropped, which fails any request
/// still queued on it (handed back unsent) instead of leaving it waiting.
struct Driver {
    conn: Option<Http1Connection>,
    /// The receive stamp of the connection's latest read: the bytes a body
    /// frame hands over arrived then (hyper reads only when its buffer
    /// cannot complete the frame, so the latest read brought its last byte).
    rx: Arc<LastRx>,
}

impl Driver {
    /// When the bytes just handed over arrived.
    fn arrived(&self) -> Instant {
        self.rx.arrived()
    }

    /// True once the connection has closed.
    fn done(&self) -> bool {
        self.conn.is_none()
    }

    /// Polls the connection; drops it when it has finished.
    fn poll(&mut self, cx: &mut std::task::Context<'_>) {
        if let Some(conn) = self.conn.as_mut() {
            if conn.as_mut().poll(cx).is_ready() {
                self.conn = None;
            }
        }
    }

    /// Lets the connection take in what has arrived (a close, say); true
    /// when it is still open.
    async fn still_open(&mut self) -> bool {
        std::future::poll_fn(|cx| {
            self.poll(cx);
            Poll::Ready(!self.done())
        })
        .await
    }
}

/// A keep-alive connection owned by one lane.
pub(crate) struct Conn {
    sender: http1::SendRequest<ReqBody>,
    driver: Driver,
}

/// A response head, or why none came.
pub(crate) type Sent = Result<hyper::Response<hyper::body::Incoming>, SendError>;

impl Conn {
    /// The HTTP/1.1 handshake over an open stream.
    pub(crate) async fn handshake(stream: Stream, rx: Arc<LastRx>) -> Result<Self, RequestError> {
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| classify(&e))?;
        Ok(Self {
            sender,
            driver: Driver {
                conn: Some(Box::pin(conn)),
                rx,
            },
        })
    }

    /// When the bytes the connection last read arrived (a response head,
    /// once `send` has returned it).
    pub(crate) fn arrived(&self) -> Instant {
        self.driver.arrived()
    }

    /// True once the connection has closed.
    pub(crate) fn closed(&self) -> bool {
        self.driver.done()
    }

    /// True when the connection can take another request now: it has not
    /// been closed by the server (a close that has arrived is taken in
    /// first) and is not busy.
    pub(crate) async fn usable(&mut self) -> bool {
        self.driver.still_open().await && drive(&mut self.driver, self.sender.ready()).await.is_ok()
    }

    /// Sends `req` and waits for the response head.
    pub(crate) async fn send(&mut self, req: Request<ReqBody>) -> Sent {
        drive(&mut self.driver, self.sender.try_send_request(req)).await
    }

    /// Reads a response to its end: `(status, outcome, end, clean)`.
    pub(crate) async fn read(
        &mut self,
        resp: hyper::Response<hyper::body::Incoming>,
        streaming: bool,
        max_tokens: u32,
    ) -> (u16, Outcome, Instant, bool) {
        read_response(&mut self.driver, resp, streaming, max_tokens).await
    }

    /// Sends `req` and reads its whole body (at most `limit` bytes), for
    /// one-off calls such as model discovery: `(status, body)`.
    pub(crate) async fn fetch(
        mut self,
        req: Request<ReqBody>,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), String> {
        let resp = drive(&mut self.driver, self.sender.send_request(req))
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut buf = Vec::new();
        while let Some(frame) = drive(&mut self.driver, body.frame()).await {
            let frame = frame.map_err(|e| format!("body cut: {}", describe(&e)))?;
            if let Some(d) = frame.data_ref() {
                buf.extend_from_slice(d);
            }
            if buf.len() > limit {
                return Err(format!("the reply is larger than {} KiB", limit >> 10));
            }
        }
        Ok((status, buf))
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("closed", &self.driver.done())
            .finish()
    }
}

/// Polls `fut` while driving the connection, in this task.
///
/// `fut` is polled, then the connection, then `fut` again: a request queued
/// by `fut` is written, and bytes the connection has just read are handed to
/// `fut`, within the same wake-up instead of after a self-wake.
async fn drive<F: Future>(driver: &mut Driver, fut: F) -> F::Output {
    tokio::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        driver.poll(cx);
        fut.as_mut().poll(cx)
    })
    .await
}

pub(crate) type SendError = hyper::client::conn::TrySendError<Request<ReqBody>>;

/// True when a send on a reused connection failed before the server could
/// have seen the request: hyper handed it back unsent, or the connection
/// was closed or reset before any byte of a response.
pub(crate) fn never_reached_server(e: &SendError) -> bool {
    let h = e.error();
    e.message().is_some()
        || h.is_incomplete_message()
        || h.is_canceled()
        || matches!(
            io_error_kind(h),
            Some(
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
            )
        )
}

/// Reads a response to its end: `(status, outcome, end, clean)`.
async fn read_response(
    driver: &mut Driver,
    resp: hyper::Response<hyper::body::Incoming>,
    streaming: bool,
    max_tokens: u32,
) -> (u16, Outcome, Instant, bool) {
    let status = resp.status().as_u16();
    let is_sse = resp
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let mut body = resp.into_body();
    let (outcome, end, clean) = if !(200..300).contains(&status) {
        let (bytes, end, clean) = read_all(driver, &mut body).await;
        (
            failure(http_error(status, &bytes.unwrap_or_default())),
            end,
            clean,
        )
    } else if streaming && is_sse {
        read_stream(driver, &mut body, max_tokens).await
    } else {
        match read_all(driver, &mut body).await {
            (Ok(bytes), end, clean) => (whole_body(&bytes, end), end, clean),
            (Err(e), end, clean) => (failure(e), end, clean),
        }
    };
    (status, outcome, end, clean)
}

fn failure(e: RequestError) -> Outcome {
    Outcome {
        error: Some(e),
        ..Outcome::default()
    }
}

/// Reads an SSE body; every frame is stamped before it is parsed. Returns
/// the outcome, the last read's instant, and whether the body ended cleanly.
async fn read_stream(
    driver: &mut Driver,
    body: &mut hyper::body::Incoming,
    max_tokens: u32,
) -> (Outcome, Instant, bool) {
    let mut reader = StreamReader::new(max_tokens);
    let mut end = Instant::now();
    let cut = loop {
        match drive(driver, body.frame()).await {
            None => break None,
            Some(Err(e)) => break Some(describe(&e)),
            Some(Ok(frame)) => {
                let at = driver.arrived();
                end = at;
                if let Some(data) = frame.data_ref() {
                    reader.on_bytes(data, at);
                }
                if reader.failed() {
                    return (reader.finish(None), end, false);
                }
            }
        }
    };
    let clean = cut.is_none();
    (reader.finish(cut), end, clean)
}

/// Reads a whole body with the instant its last byte arrived.
async fn read_all(
    driver: &mut Driver,
    body: &mut hyper::body::Incoming,
) -> (Result<Vec<u8>, RequestError>, Instant, bool) {
    let mut buf = Vec::new();
    let mut end = Instant::now();
    loop {
        match drive(driver, body.frame()).await {
            None => return (Ok(buf), end, true),
            Some(Err(e)) => {
                let e = err(
                    ErrorKind::StreamCut,
                    None,
                    format!("body cut: {}", describe(&e)),
                );
                return (Err(e), Instant::now(), false);
            }
            Some(Ok(frame)) => {
                end = driver.arrived();
                if let Some(d) = frame.data_ref() {
                    buf.extend_from_slice(d);
                }
                if buf.len() > MAX_WHOLE_BODY {
                    let msg = format!("response body larger than {} MiB", MAX_WHOLE_BODY >> 20);
                    return (
                        Err(err(ErrorKind::MalformedResponse, None, msg)),
                        end,
                        false,
                    );
                }
            }
        }
    }
}

/// Classifies a failure to connect or to get a response head.
pub(crate) fn classify(e: &(dyn std::error::Error + 'static)) -> RequestError {
    let kind = match io_error_kind(e) {
        Some(std::io::ErrorKind::ConnectionRefused) => ErrorKind::ConnectionRefused,
        Some(
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof,
        ) => ErrorKind::ConnectionReset,
        Some(_) => ErrorKind::Connect,
        None if e.downcast_ref::<hyper::Error>().is_some() => ErrorKind::ConnectionReset,
        None => ErrorKind::Connect,
    };
    err(kind, None, describe(e))
}

fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = c.source();
    }
    None
}

/// The error and its causes on one line.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Open connections handed from the lanes of one phase to the next (warmup
/// to profiling, level to level), so a phase starts on the connections the
/// previous one opened instead of opening them all at once: a burst of new
/// connections fills a server's accept queue, and a dropped SYN costs a
/// one-second retransmit in some request's TTFT. A lane takes one when it
/// starts and gives its connection back when it ends; the pool never holds
/// more than the lanes of the largest phase. A connection the server closed
/// meanwhile is found out by `usable` and replaced.
#[derive(Default)]
pub(crate) struct ConnPool {
    idle: std::sync::Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for ConnPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.idle.lock().map_or(0, |v| v.len());
        f.debug_struct("ConnPool").field("idle", &n).finish()
    }
}

impl ConnPool {
    /// An idle connection, if one is left.
    pub(crate) fn take(&self) -> Option<Conn> {
        self.idle.lock().ok()?.pop()
    }

    /// Keeps `conn` for a later phase.
    pub(crate) fn put(&self, conn: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}
