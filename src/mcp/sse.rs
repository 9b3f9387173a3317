//! The legacy HTTP+SSE transport (protocol 2024-11-05), for clients that
//! predate streamable HTTP. `GET /sse` opens an event stream whose first
//! `endpoint` event names `/message?sessionId=…`; the client POSTs JSON-RPC
//! messages there (answered `202 Accepted`) and reads every reply from the
//! stream. Each stream is one session served by its own `BenchServer`, the
//! same handler as stdio and streamable HTTP. The bearer token is checked by
//! the router before this module sees a request; Host and Origin are checked
//! here with the same allow-lists rmcp applies to `/mcp`. At most
//! `max_sessions` sessions are open at once (one more `GET /sse` is answered
//! 503 with `Retry-After`); each session's queues are bounded
//! (`sse_stream`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use rmcp::model::ClientJsonRpcMessage;
use rmcp::ServiceExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::accept::ConnCloser;
use super::guard::{forbidden, Guard};
use super::http::{text, Body, MAX_BODY_BYTES};
use super::sse_stream::{
    Inbound, Queued, SessionGuard, SessionTransport, SseBody, INBOUND_BYTES, INBOUND_MESSAGES,
    UNSENT_BYTES, UNSENT_MESSAGES,
};
use super::BenchServer;

/// A session's inbound queue, as the hub holds it.
#[derive(Clone)]
struct Session {
    tx: mpsc::UnboundedSender<Inbound>,
    /// Shared with the session's transport, which counts messages out.
    queued: Arc<Queued>,
}

/// Builds one handler per session.
pub(super) type MakeServer = Arc<dyn Fn() -> BenchServer + Send + Sync>;

/// Live legacy sessions.
pub(super) struct SseHub {
    /// Inbound queue of each open stream, by session id. An entry lives
    /// exactly as long as its stream: the stream's `SessionGuard` removes it.
    /// At most `max_sessions` entries (checked and inserted under the lock).
    sessions: Mutex<HashMap<String, Session>>,
    max_sessions: usize,
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
        max_sessions: usize,
        stop: CancellationToken,
    ) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            max_sessions,
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
            (&Method::GET, "/sse") => self.open(&req),
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

    /// Removes a session (its stream is gone).
    pub(super) fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A poisoned map is still consistent: entries are inserted and
        // removed whole.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open(self: &Arc<Self>, req: &Request<Incoming>) -> Response<Body> {
        let id = match session_id() {
            Ok(id) => id,
            Err(e) => {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot create a session id: {e}"),
                )
            }
        };
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let inbound = Arc::new(Queued::new(INBOUND_MESSAGES, INBOUND_BYTES));
        let unsent = Arc::new(Queued::new(UNSENT_MESSAGES, UNSENT_BYTES));
        let queued = Arc::clone(&inbound);
        if !self.register(&id, Session { tx: in_tx, queued }) {
            return busy(
                format!("too many legacy SSE sessions open ({}, --max-sessions); retry later, or use streamable HTTP at /mcp", self.max_sessions),
                "5",
            );
        }
        let session = self.stop.child_token();
        let transport = SessionTransport {
            id: id.clone(),
            rx: in_rx,
            inbound,
            tx: out_tx,
            unsent: Arc::clone(&unsent),
            closer: req
                .extensions()
                .get::<ConnCloser>()
                .cloned()
                .unwrap_or_default(),
            session: session.clone(),
        };
        self.spawn_handler(transport, session.clone());
        tracing::debug!(session = %id, "legacy SSE session opened");
        let body = SseBody {
            first: Some(Bytes::from(format!(
                "event: endpoint\ndata: /message?sessionId={id}\n\n"
            ))),
            rx: out_rx,
            unsent,
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

    /// Adds a session, unless `max_sessions` are open (then false).
    fn register(&self, id: &str, session: Session) -> bool {
        let mut sessions = self.lock();
        if sessions.len() >= self.max_sessions {
            return false;
        }
        sessions.insert(id.to_owned(), session);
        true
    }

    /// Runs the session's handler (a tracked task) until `ct` is cancelled
    /// or the client ends the session.
    fn spawn_handler(&self, transport: SessionTransport, ct: CancellationToken) {
        let server = (self.make)();
        self.tasks.spawn(async move {
            match server.serve_with_ct(transport, ct).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => tracing::debug!("legacy SSE session ended before initialize: {e}"),
            }
        });
    }

    async fn post(&self, req: Request<Incoming>) -> Response<Body> {
        let Some(id) = query_param(req.uri().query().unwrap_or(""), "sessionId") else {
            return text(
                StatusCode::BAD_REQUEST,
                "missing sessionId: POST to the URL announced by the stream's endpoint event"
                    .into(),
            );
        };
        let Some(session) = self.lock().get(id).cloned() else {
            return unknown_session();
        };
        let (msg, len) = match read_message(req.into_body()).await {
            Ok(read) => read,
            Err(refused) => return refused,
        };
        if !session.queued.admit(len) {
            return busy(
                format!("session queue full (at most {INBOUND_MESSAGES} messages or {INBOUND_BYTES} bytes waiting); retry shortly"),
                "1",
            );
        }
        match session.tx.send((msg, len)) {
            Ok(()) => text(StatusCode::ACCEPTED, "Accepted".into()),
            Err(_) => {
                session.queued.take(len);
                unknown_session()
            }
        }
    }
}

/// 503 with `Retry-After: seconds`.
fn busy(msg: String, seconds: &'static str) -> Response<Body> {
    let mut r = text(StatusCode::SERVICE_UNAVAILABLE, msg);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
    r
}

fn unknown_session() -> Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "unknown or closed session: open a new stream with GET /sse".into(),
    )
}

/// Reads one JSON-RPC message, at most `MAX_BODY_BYTES`, with its size.
async fn read_message(body: Incoming) -> Result<(ClientJsonRpcMessage, usize), Response<Body>> {
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
    let msg = serde_json::from_slice(&bytes).map_err(|e| {
        text(
            StatusCode::BAD_REQUEST,
            format!("body is not a JSON-RPC message: {e}"),
        )
    })?;
    Ok((msg, bytes.len()))
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
