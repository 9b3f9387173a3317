//! The transport side of a request (HTTP here; runtime APIs in `runtime`).
//! Each load lane owns one keep-alive HTTP/1.1
//! connection and drives it in its own task: the bytes of a response are read
//! and stamped by the same task that sent the request, with no hand-off to a
//! connection task in between. Every read is stamped the moment it returns,
//! before it is parsed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower_service::Service;

use super::response::{err, http_error, whole_body, Outcome, StreamReader};
use super::runtime;
use super::tokenizer::ClientTokenizer;
use crate::domain::{ErrorKind, RequestError};
use crate::engine::invoke::ModelInvoker;
use crate::engine::EngineError;

/// Largest non-streamed body read; beyond it the response is malformed.
const MAX_WHOLE_BODY: usize = 64 << 20;

/// Opens plain or TLS connections.
pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
type Io = hyper_rustls::MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;
/// Pooled client for one-off calls (model discovery).
pub(crate) type HttpClient = Client<Connector, Full<Bytes>>;

/// Builds the connector (system TLS roots, TCP_NODELAY, keep-alive probes).
pub(crate) fn build_connector() -> Result<Connector, EngineError> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    http.set_keepalive(Some(Duration::from_secs(60)));
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| {
            EngineError::Setup(format!(
                "cannot load the system's TLS root certificates: {e}"
            ))
        })?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

/// A pooled client over the same connector.
pub(crate) fn build_client(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new()).build(connector)
}

/// The I/O half of a connection. It must be polled for the connection to make
/// progress; once it has finished it is never polled again (`done`).
struct Driver {
    conn: Pin<Box<http1::Connection<Io, Full<Bytes>>>>,
    done: bool,
}

/// A keep-alive connection owned by one lane.
pub(crate) struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: Driver,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("closed", &self.driver.done)
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
        if !driver.done && driver.conn.as_mut().poll(cx).is_ready() {
            driver.done = true;
        }
        fut.as_mut().poll(cx)
    })
    .await
}

/// Where and how requests are sent; shared by every lane of a run.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) route: Route,
    pub(crate) streaming: bool,
    pub(crate) timeout: Duration,
    pub(crate) tokenizer: Arc<ClientTokenizer>,
}

/// How a request reaches the model.
#[derive(Debug)]
pub(crate) enum Route {
    /// Over the lane's own HTTP connection.
    Http(HttpRoute),
    /// Through a runtime API (SageMaker's), which pools its own connections.
    Runtime(Arc<dyn ModelInvoker>),
}

/// An OpenAI-compatible HTTP endpoint.
#[derive(Debug)]
pub(crate) struct HttpRoute {
    pub(crate) connector: Connector,
    pub(crate) uri: Uri,
    pub(crate) auth: Option<HeaderValue>,
}

/// The raw observation of one exchange.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) send: Instant,
    pub(crate) head: Option<Instant>,
    pub(crate) end: Instant,
    pub(crate) status: Option<u16>,
    pub(crate) outcome: Outcome,
    pub(crate) output_tokens_client: Option<u32>,
}

impl Target {
    /// Sends one request (on the lane's connection for HTTP, opening one if
    /// needed) and observes its response to the end. An HTTP connection is
    /// kept for the next request only when this exchange ended cleanly.
    pub(crate) async fn exchange(
        &self,
        slot: &mut Option<Conn>,
        body: Bytes,
        request_id: &str,
        max_tokens: u32,
    ) -> Exchange {
        let (send, done) = match &self.route {
            Route::Http(http) => {
                let req = http.request(body, request_id);
                let send = Instant::now();
                let ex = http.exchange_on(slot, req, send, self.streaming, max_tokens);
                (send, self.within_timeout(send, ex).await)
            }
            Route::Runtime(invoker) => {
                let send = Instant::now();
                let ex = runtime::exchange(
                    invoker.as_ref(),
                    body,
                    request_id,
                    self.streaming,
                    max_tokens,
                    send,
                );
                (send, self.within_timeout(send, ex).await)
            }
        };
        let Some(mut ex) = done else {
            *slot = None;
            let msg = format!(
                "no complete response within the {:.0} s per-request timeout",
                self.timeout.as_secs_f64()
            );
            return failed(send, None, None, err(ErrorKind::Timeout, None, msg));
        };
        ex.output_tokens_client = ex
            .outcome
            .error
            .is_none()
            .then(|| self.tokenizer.count(&ex.outcome.text));
        ex
    }

    /// `fut`'s output, or `None` once the per-request timeout has passed.
    async fn within_timeout<F: Future<Output = Exchange>>(
        &self,
        send: Instant,
        fut: F,
    ) -> Option<Exchange> {
        let deadline = tokio::time::Instant::from_std(send + self.timeout);
        tokio::time::timeout_at(deadline, fut).await.ok()
    }
}

impl HttpRoute {
    async fn exchange_on(
        &self,
        slot: &mut Option<Conn>,
        req: Request<Full<Bytes>>,
        send: Instant,
        streaming: bool,
        max_tokens: u32,
    ) -> Exchange {
        let mut conn = match self.ready(slot.take()).await {
            Ok(c) => c,
            Err(e) => return failed(send, None, None, e),
        };
        let resp = match drive(&mut conn.driver, conn.sender.send_request(req)).await {
            Ok(r) => r,
            Err(e) => return failed(send, None, None, classify(&e)),
        };
        let head = Instant::now();
        let status = resp.status().as_u16();
        let is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let mut body = resp.into_body();
        let (outcome, end, clean) = if !(200..300).contains(&status) {
            let (bytes, end, clean) = read_all(&mut conn.driver, &mut body).await;
            let e = http_error(status, &bytes.unwrap_or_default());
            (
                Outcome {
                    error: Some(e),
                    ..Outcome::default()
                },
                end,
                clean,
            )
        } else if streaming && is_sse {
            read_stream(&mut conn.driver, &mut body, max_tokens).await
        } else {
            match read_all(&mut conn.driver, &mut body).await {
                (Ok(bytes), end, clean) => (whole_body(&bytes, end), end, clean),
                (Err(e), end, clean) => (
                    Outcome {
                        error: Some(e),
                        ..Outcome::default()
                    },
                    end,
                    clean,
                ),
            }
        };
        if clean && !conn.driver.done {
            *slot = Some(conn);
        }
        Exchange {
            send,
            head: Some(head),
            end,
            status: Some(status),
            outcome,
            output_tokens_client: None,
        }
    }

    /// A connection ready for a request: the lane's own if still usable,
    /// else a new one.
    async fn ready(&self, existing: Option<Conn>) -> Result<Conn, RequestError> {
        if let Some(mut c) = existing {
            if !c.driver.done && drive(&mut c.driver, c.sender.ready()).await.is_ok() {
                return Ok(c);
            }
        }
        let io = self
            .connector
            .clone()
            .call(self.uri.clone())
            .await
            .map_err(|e| classify(e.as_ref()))?;
        let (sender, conn) = http1::handshake(io).await.map_err(|e| classify(&e))?;
        Ok(Conn {
            sender,
            driver: Driver {
                conn: Box::pin(conn),
                done: false,
            },
        })
    }

    fn request(&self, body: Bytes, request_id: &str) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.uri.clone();
        let h = req.headers_mut();
        if let Some(host) = self
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            h.insert(http::header::HOST, host);
        }
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(auth) = &self.auth {
            h.insert(AUTHORIZATION, auth.clone());
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-request-id", v);
        }
        req
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
                let at = Instant::now();
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
                end = Instant::now();
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

fn failed(send: Instant, head: Option<Instant>, status: Option<u16>, e: RequestError) -> Exchange {
    let outcome = Outcome {
        error: Some(e),
        ..Outcome::default()
    };
    Exchange {
        send,
        head,
        end: Instant::now(),
        status,
        outcome,
        output_tokens_client: None,
    }
}

/// Classifies a failure to connect or to get a response head.
fn classify(e: &(dyn std::error::Error + 'static)) -> RequestError {
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
