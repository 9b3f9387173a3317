//! The transport side of a request (HTTP here; runtime APIs in `runtime`).
//! Each load lane owns one keep-alive HTTP/1.1 connection (`conn`) and
//! drives it in its own task; a connection the server closed while idle is
//! replaced, and a request it swallowed is sent again, not counted failed.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{HeaderMap, HeaderValue};
use http::{Request, Uri};

use super::body::ReqBody;
use super::conn::{never_reached_server, Conn, Sent};
use super::connect::Connector;
use super::request_head::{base_headers, request_target};
use super::response::{err, Outcome};
use super::runtime;
use super::tokenizer::ClientTokenizer;
use crate::domain::{EndpointSpec, ErrorKind, RequestError};
use crate::engine::invoke::ModelInvoker;
use crate::engine::EngineError;

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
    connector: Arc<Connector>,
    /// The request target: origin form (`/v1/chat/completions?…`), or the
    /// absolute URL when a plain-http proxy forwards the request.
    target: Uri,
    /// Headers of every request (Host, Content-Type, credentials, the
    /// user's own); values marked sensitive never reach a log.
    headers: HeaderMap,
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
    pub(crate) reasoning_tokens_client: Option<u32>,
    /// Setup time of the connection opened for this request, if one was.
    pub(crate) connect: Option<Duration>,
}

impl Target {
    /// Sends one request (on the lane's connection for HTTP, opening one if
    /// needed) and observes its response to the end. An HTTP connection is
    /// kept for the next request only when this exchange ended cleanly.
    pub(crate) async fn exchange(
        &self,
        slot: &mut Option<Conn>,
        body: ReqBody,
        request_id: &str,
        max_tokens: u32,
    ) -> Exchange {
        let send = Instant::now();
        let done = match &self.route {
            Route::Http(http) => {
                let ex = http.exchange_on(slot, body, request_id, self.streaming, max_tokens);
                self.within_timeout(send, ex).await
            }
            Route::Runtime(invoker) => {
                let ex = runtime::exchange(
                    invoker.as_ref(),
                    body.to_bytes(),
                    request_id,
                    self.streaming,
                    max_tokens,
                    send,
                );
                self.within_timeout(send, ex).await
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
        if ex.outcome.error.is_none() {
            ex.output_tokens_client = Some(self.tokenizer.count(&ex.outcome.text));
            ex.reasoning_tokens_client = (!ex.outcome.reasoning.is_empty())
                .then(|| self.tokenizer.count(&ex.outcome.reasoning));
        }
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
    /// The route to `url` (a full request URL) for `endpoint`'s credentials,
    /// headers and TLS settings.
    pub(crate) fn new(
        connector: Arc<Connector>,
        url: &Uri,
        endpoint: &EndpointSpec,
    ) -> Result<Self, EngineError> {
        let target = request_target(url, connector.absolute_form())?;
        let headers = base_headers(url, endpoint, &connector)?;
        Ok(Self {
            connector,
            target,
            headers,
        })
    }

    /// A fresh connection to the endpoint, ready for requests.
    pub(crate) async fn open(&self) -> Result<Conn, RequestError> {
        self.open_timed().await.map(|(c, _)| c)
    }

    /// A fresh connection and how long its setup took.
    async fn open_timed(&self) -> Result<(Conn, Duration), RequestError> {
        let (stream, rx, timing) = self.connector.open().await?;
        Ok((Conn::handshake(stream, rx).await?, timing.total()))
    }

    /// A request with `method`, the route's headers and `body`.
    pub(crate) fn request(
        &self,
        method: http::Method,
        target: Uri,
        body: ReqBody,
    ) -> Request<ReqBody> {
        let mut req = Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = target;
        *req.headers_mut() = self.headers.clone();
        req
    }

    /// The target of a request to `url` on this route (same host).
    pub(crate) fn target_for(&self, url: &Uri) -> Result<Uri, EngineError> {
        request_target(url, self.connector.absolute_form())
    }

    async fn exchange_on(
        &self,
        slot: &mut Option<Conn>,
        body: ReqBody,
        request_id: &str,
        streaming: bool,
        max_tokens: u32,
    ) -> Exchange {
        let mut send = Instant::now();
        let (mut conn, mut connect) = match self.ready(slot.take()).await {
            Ok(c) => c,
            Err(e) => return failed(send, None, None, e),
        };
        let mut sent = self.send(&mut conn, body.clone(), request_id).await;
        if connect.is_none() && sent.as_ref().is_err_and(never_reached_server) {
            // The server closed the idle connection as we reused it: the
            // request never reached it. Send it again on a new connection,
            // timed from that send; the failed write is not a request.
            send = Instant::now();
            (conn, connect) = match self.open_timed().await {
                Ok((c, took)) => (c, Some(took)),
                Err(e) => return failed(send, None, None, e),
            };
            sent = self.send(&mut conn, body, request_id).await;
        }
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return failed(send, None, None, super::conn::classify(e.error())),
        };
        let head = conn.arrived();
        let (status, outcome, end, clean) = conn.read(resp, streaming, max_tokens).await;
        if clean && !conn.closed() {
            *slot = Some(conn);
        }
        Exchange {
            send,
            head: Some(head),
            end,
            status: Some(status),
            outcome,
            output_tokens_client: None,
            reasoning_tokens_client: None,
            connect,
        }
    }

    async fn send(&self, conn: &mut Conn, body: ReqBody, request_id: &str) -> Sent {
        let mut req = self.request(http::Method::POST, self.target.clone(), body);
        if let Ok(v) = HeaderValue::from_str(request_id) {
            req.headers_mut().insert("x-request-id", v);
        }
        conn.send(req).await
    }

    /// A connection ready for a request: the lane's own if still usable
    /// (no setup time), else a new one with its setup time.
    async fn ready(
        &self,
        existing: Option<Conn>,
    ) -> Result<(Conn, Option<Duration>), RequestError> {
        if let Some(mut c) = existing {
            if c.usable().await {
                return Ok((c, None));
            }
        }
        let (c, took) = self.open_timed().await?;
        Ok((c, Some(took)))
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
        reasoning_tokens_client: None,
        connect: None,
    }
}
