//! The legacy HTTP+SSE transport (protocol 2024-11-05), for clients that
//! predate streamable HTTP. `GET /sse` opens an event stream whose first
//! `endpoint` event names `/message?sessionId=…`; the client POSTs JSON-RPC
//! messages there (answered `202 Accepted`) and reads every reply from the
//! stream. Each stream is one session served by its own `BenchServer`, the
//! same handler as stdio and streamable HTTP. The bearer token is checked by
//! the router before this module sees a request; Host and Origin are checked
//! here with the same allow-lists rmcp applies to `/mcp`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::service::RoleServer;
use rmcp::transport::Transport;
use rmcp::ServiceExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::guard::{forbidden, Guard};
use super::http::{text, Body, MAX_BODY_BYTES};
use super::BenchServer;

/// Messages queued per session and direction. A full inbound queue answers
/// the POST with 503; a full outbound queue makes the handler wait.
const QUEUE: usize = 64;

/// Builds one handler per session.
pub(super) type MakeServer = Arc<dyn Fn() -> BenchServer + Send + Sync>;

/// Live legacy sessions.
pub(super) struct SseHub {
    /// Inbound queue of each open stream, by session id. An entry lives
    /// exactly as long as its stream: the stream's `SessionGuard` removes it.
    sessions: Mutex<HashMap<String, mpsc::Sender<ClientJsonRpcMessage>>>,
    /// Every session's handler task; awaited by `shutdown`.
    tasks: TaskTracker,
    /// Parent of every session's token; cancelled when the server stops.
    stop: CancellationToken,
    make: MakeServer,
    guard: Arc<Guard>,
    /// Interval of `: keep-alive` comments on an idle stream.
    keep_alive: Duration,
}

impl std::fmt::Debug for SseHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseHub").finish_non_exhaustive()
    }
}

impl SseHub {
    pub(super) fn new(
        make: MakeServer,
        guard: Arc<Guard>,
        keep_alive: Duration,
        stop: CancellationToken,
    ) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
            stop,
            make,
            guard,
            keep_alive,
        }
    }

    /// Serves `GET /sse` and `POST /message`.
    pub(super) async fn handle(self: &Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        if let Err(reason) = self.guard.check(req.headers()) {
            return forbidden(reason);
        }
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/sse") => self.open(),
            (&Method::POST, "/message") => self.post(req).await,
            _ => {
                let mut r = text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "use GET /sse to open a stream and POST /message?sessionId=… to send".into(),
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
                r
            }
        }
    }

    /// Waits for every session task once `stop` has been cancelled.
    pub(super) async fn shutdown(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<ClientJsonRpcMessage>>> {
        // A poisoned map is still consistent: entries are inserted and
        // removed whole.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open(self: &Arc<Self>) -> Response<Body> {
        let id = match session_id() {
            Ok(id) => id,
            Err(e) => {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot create a session id: {e}"),
                )
            }
        };
        let (in_tx, in_rx) = mpsc::channel(QUEUE);
        let (out_tx, out_rx) = mpsc::channel(QUEUE);
        let session = self.stop.child_token();
        self.lock().insert(id.clone(), in_tx);
        let server = (self.make)();
        let transport = SessionTransport {
            rx: in_rx,
            tx: out_tx,
        };
        let ct = session.clone();
        self.tasks.spawn(async move {
            match server.serve_with_ct(transport, ct).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => tracing::debug!("legacy SSE session ended before initialize: {e}"),
            }
        });
        tracing::debug!(session = %id, "legacy SSE session opened");
        let body = SseBody {
            first: Some(Bytes::from(format!(
                "event: endpoint\ndata: /message?sessionId={id}\n\n"
            ))),
            rx: out_rx,
            keep_alive: tokio::time::interval_at(
                tokio::time::Instant::now() + self.keep_alive,
                self.keep_alive,
            ),
            _session: SessionGuard {
                hub: Arc::clone(self),
                id,
                token: session,
            },
        };
        let mut r = Response::new(body.boxed());
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
        r
    }

    async fn post(&self, req: Request<Incoming>) -> Response<Body> {
        let Some(id) = query_param(req.uri().query().unwrap_or(""), "sessionId") else {
            return text(
                StatusCode::BAD_REQUEST,
                "missing sessionId: POST to the URL announced by the stream's endpoint event"
                    .into(),
            );
        };
        let Some(tx) = self.lock().get(id).cloned() else {
            return unknown_session();
        };
        let msg = match read_message(req.into_body()).await {
            Ok(msg) => msg,
            Err(refused) => return refused,
        };
        match tx.try_send(msg) {
            Ok(()) => text(StatusCode::ACCEPTED, "Accepted".into()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                let mut r = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("session queue full ({QUEUE} messages waiting); retry shortly"),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            Err(mpsc::error::TrySendError::Closed(_)) => unknown_session(),
        }
    }
}

fn unknown_session() -> Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "unknown or closed session: open a new stream with GET /sse".into(),
    )
}

/// Reads one JSON-RPC message, at most `MAX_BODY_BYTES`.
async fn read_message(body: Incoming) -> Result<ClientJsonRpcMessage, Response<Body>> {
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over {MAX_BODY_BYTES} bytes"),
            ))
        }
        Err(e) => {
            return Err(text(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            ))
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        text(
            StatusCode::BAD_REQUEST,
            format!("body is not a JSON-RPC message: {e}"),
        )
    })
}

/// A query parameter's raw value (session ids are plain hex, never escaped).
fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// 128 random bits from the operating system, as hex.
fn session_id() -> Result<String, getrandom::Error> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw)?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// Removes its session from the hub and stops the session's handler when
/// the stream is dropped (client gone, connection closed, server stopping).
struct SessionGuard {
    hub: Arc<SseHub>,
    id: String,
    token: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.hub.lock().remove(&self.id);
        self.token.cancel();
        tracing::debug!(session = %self.id, "legacy SSE session closed");
    }
}

/// The event stream: the endpoint event, then one `message` event per
/// server message, with keep-alive comments while idle. Ends when the
/// session's handler ends.
struct SseBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<ServerJsonRpcMessage>,
    keep_alive: tokio::time::Interval,
    _session: SessionGuard,
}

impl HttpBody for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(msg)) => {
                return Poll::Ready(Some(Ok(Frame::data(message_event(&msg)))))
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if self.keep_alive.poll_tick(cx).is_ready() {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                b": keep-alive\n\n",
            )))));
        }
        Poll::Pending
    }
}

/// One `message` event. Serialised JSON has no raw newlines, so one `data:`
/// line carries it whole.
fn message_event(msg: &ServerJsonRpcMessage) -> Bytes {
    let json = serde_json::to_string(msg).unwrap_or_else(|e| {
        format!(r#"{{"jsonrpc":"2.0","method":"notifications/message","params":{{"level":"error","data":"cannot encode a reply: {e}"}}}}"#)
    });
    Bytes::from(format!("event: message\ndata: {json}\n\n"))
}

/// The handler's side of one session.
struct SessionTransport {
    rx: mpsc::Receiver<ClientJsonRpcMessage>,
    tx: mpsc::Sender<ServerJsonRpcMessage>,
}

/// The client's stream is gone.
#[derive(Debug, thiserror::Error)]
#[error("the legacy SSE stream of this session is closed")]
struct StreamClosed;

impl Transport<RoleServer> for SessionTransport {
    type Error = StreamClosed;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl std::future::Future<Output = Result<(), StreamClosed>> + Send + 'static {
        let tx = self.tx.clone();
        async move { tx.send(item).await.map_err(|_| StreamClosed) }
    }

    fn receive(
        &mut self,
    ) -> impl std::future::Future<Output = Option<ClientJsonRpcMessage>> + Send {
        self.rx.recv()
    }

    async fn close(&mut self) -> Result<(), StreamClosed> {
        self.rx.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_found_by_name() {
        assert_eq!(query_param("sessionId=ab12", "sessionId"), Some("ab12"));
        assert_eq!(query_param("x=1&sessionId=ab12", "sessionId"), Some("ab12"));
        assert_eq!(query_param("sessionId=", "sessionId"), None);
        assert_eq!(query_param("session=ab", "sessionId"), None);
    }

    #[test]
    fn session_ids_are_random_hex() {
        let (a, b) = (session_id().expect("random"), session_id().expect("random"));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
