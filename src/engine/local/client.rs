//! The HTTP side of a request: send a pre-serialised body over a pooled
//! keep-alive connection, stamp every read the moment it returns, and hand the
//! bytes to the response reader. Nothing is parsed before its timestamp.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::response::{err, http_error, whole_body, Outcome, StreamReader};
use super::tokenizer::ClientTokenizer;
use crate::domain::{ErrorKind, RequestError};
use crate::engine::EngineError;

/// Pooled HTTP/1.1 client (plain or TLS).
pub(crate) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds the pooled client; idle connections are kept for reuse so a run
/// never pays connection setup per request.
pub(crate) fn build_client() -> Result<HttpClient, EngineError> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    http.set_keepalive(Some(Duration::from_secs(60)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| {
            EngineError::Setup(format!(
                "cannot load the system's TLS root certificates: {e}"
            ))
        })?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(90))
        .build(https))
}

/// Where and how requests are sent; shared by every request of a run.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) client: HttpClient,
    pub(crate) uri: Uri,
    pub(crate) auth: Option<HeaderValue>,
    pub(crate) streaming: bool,
    pub(crate) timeout: Duration,
    pub(crate) tokenizer: Arc<ClientTokenizer>,
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
    /// Sends one request and observes its response to the end.
    pub(crate) async fn exchange(
        &self,
        body: Bytes,
        request_id: &str,
        max_tokens: u32,
    ) -> Exchange {
        let req = self.request(body, request_id);
        let send = Instant::now();
        let deadline = tokio::time::Instant::from_std(send + self.timeout);
        let resp = match tokio::time::timeout_at(deadline, self.client.request(req)).await {
            Err(_) => return failed(send, None, None, timeout_error(self.timeout)),
            Ok(Err(e)) => return failed(send, None, None, classify_client_error(&e)),
            Ok(Ok(resp)) => resp,
        };
        let head = Instant::now();
        let status = resp.status().as_u16();
        let is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let mut body = resp.into_body();
        if !(200..300).contains(&status) {
            let bytes = read_all(&mut body, deadline)
                .await
                .map(|(b, _)| b)
                .unwrap_or_default();
            return failed(send, Some(head), Some(status), http_error(status, &bytes));
        }
        let (outcome, end) = if self.streaming && is_sse {
            read_stream(&mut body, deadline, max_tokens).await
        } else {
            match read_all(&mut body, deadline).await {
                Ok((bytes, end)) => (whole_body(&bytes, end), end),
                Err(e) => (
                    Outcome {
                        error: Some(e),
                        ..Outcome::default()
                    },
                    Instant::now(),
                ),
            }
        };
        let output_tokens_client = outcome
            .error
            .is_none()
            .then(|| self.tokenizer.count(&outcome.text));
        Exchange {
            send,
            head: Some(head),
            end,
            status: Some(status),
            outcome,
            output_tokens_client,
        }
    }

    fn request(&self, body: Bytes, request_id: &str) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.uri.clone();
        let h = req.headers_mut();
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

/// Reads an SSE body; every frame is stamped before it is parsed.
async fn read_stream(
    body: &mut hyper::body::Incoming,
    deadline: tokio::time::Instant,
    max_tokens: u32,
) -> (Outcome, Instant) {
    let mut reader = StreamReader::new(max_tokens);
    let mut end = Instant::now();
    let cut = loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => break Some("per-request timeout expired mid-stream".to_owned()),
            Ok(None) => break None,
            Ok(Some(Err(e))) => break Some(describe(&e)),
            Ok(Some(Ok(frame))) => {
                let at = Instant::now();
                end = at;
                if let Some(data) = frame.data_ref() {
                    reader.on_bytes(data, at);
                }
                if reader.failed() {
                    break None;
                }
            }
        }
    };
    let timed_out = cut
        .as_deref()
        .is_some_and(|c| c.starts_with("per-request timeout"));
    let mut outcome = reader.finish(cut);
    if timed_out {
        if let Some(e) = outcome.error.as_mut() {
            e.kind = ErrorKind::Timeout;
        }
    }
    (outcome, end)
}

/// Reads a whole body; returns it with the instant its last byte arrived.
async fn read_all(
    body: &mut hyper::body::Incoming,
    deadline: tokio::time::Instant,
) -> Result<(Vec<u8>, Instant), RequestError> {
    let mut buf = Vec::new();
    let mut end = Instant::now();
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(err(
                    ErrorKind::Timeout,
                    None,
                    "per-request timeout expired reading the body".into(),
                ))
            }
            Ok(None) => return Ok((buf, end)),
            Ok(Some(Err(e))) => {
                return Err(err(
                    ErrorKind::StreamCut,
                    None,
                    format!("body cut: {}", describe(&e)),
                ))
            }
            Ok(Some(Ok(frame))) => {
                end = Instant::now();
                if let Some(d) = frame.data_ref() {
                    buf.extend_from_slice(d);
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

fn timeout_error(t: Duration) -> RequestError {
    err(
        ErrorKind::Timeout,
        None,
        format!(
            "no response within the {:.0} s per-request timeout",
            t.as_secs_f64()
        ),
    )
}

/// Classifies a failure to get a response head.
fn classify_client_error(e: &hyper_util::client::legacy::Error) -> RequestError {
    let io_kind = io_error_kind(e);
    let kind = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => ErrorKind::ConnectionRefused,
        Some(
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof,
        ) => ErrorKind::ConnectionReset,
        _ if e.is_connect() => ErrorKind::Connect,
        _ => ErrorKind::ConnectionReset,
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
