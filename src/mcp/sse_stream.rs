//! One legacy SSE session's two queues and its event stream.
//!
//! Both directions are bounded in messages and bytes (`Queued`). Inbound,
//! a POST that would overflow the queue is answered 503 (`sse`). Outbound,
//! what the handler sends waits until the client reads its stream; a
//! client that does not read would make it grow without end, so a message
//! that would overflow `UNSENT_MESSAGES` / `UNSENT_BYTES` closes the
//! session and its connection instead.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::service::RoleServer;
use rmcp::transport::Transport;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::accept::ConnCloser;
use super::sse::SseHub;

/// Messages a session may hold for its handler; more are answered 503.
pub(super) const INBOUND_MESSAGES: usize = 64;
/// Bytes (request bodies) a session may hold for its handler.
pub(super) const INBOUND_BYTES: usize = 4 << 20;
/// Messages a session may hold for a client that has not read them yet.
pub(super) const UNSENT_MESSAGES: usize = 256;
/// Bytes (encoded events) a session may hold for a client that has not
/// read them yet; the client's socket buffers and the connection's write
/// buffer (~400 kB) come on top.
pub(super) const UNSENT_BYTES: usize = 8 << 20;

/// Messages and bytes waiting in one queue, against its limits. A message
/// is counted when queued and uncounted when taken out.
#[derive(Debug)]
pub(super) struct Queued {
    messages: AtomicUsize,
    bytes: AtomicUsize,
    max_messages: usize,
    max_bytes: usize,
}

impl Queued {
    pub(super) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Self {
            messages: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            max_messages,
            max_bytes,
        }
    }

    /// Counts a message of `len` bytes, unless that would pass a limit. A
    /// message alone in the queue is admitted whatever its size.
    pub(super) fn admit(&self, len: usize) -> bool {
        let messages = self.messages.fetch_add(1, Ordering::SeqCst) + 1;
        let bytes = self.bytes.fetch_add(len, Ordering::SeqCst) + len;
        if messages <= self.max_messages && (bytes <= self.max_bytes || messages == 1) {
            return true;
        }
        self.take(len);
        false
    }

    /// Uncounts a message of `len` bytes.
    pub(super) fn take(&self, len: usize) {
        self.messages.fetch_sub(1, Ordering::SeqCst);
        self.bytes.fetch_sub(len, Ordering::SeqCst);
    }

    fn describe(&self) -> String {
        format!(
            "{} messages / {} bytes waiting (limits {} / {})",
            self.messages.load(Ordering::SeqCst),
            self.bytes.load(Ordering::SeqCst),
            self.max_messages,
            self.max_bytes
        )
    }
}

/// A client message with its body size (for `Queued`).
pub(super) type Inbound = (ClientJsonRpcMessage, usize);

/// Removes its session from the hub and stops the session's handler when
/// the stream is dropped (client gone, connection closed, server stopping).
pub(super) struct SessionGuard {
    pub(super) hub: Arc<SseHub>,
    pub(super) id: String,
    pub(super) token: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.hub.forget(&self.id);
        self.token.cancel();
        tracing::debug!(session = %self.id, "legacy SSE session closed");
    }
}

/// The event stream: the endpoint event, then one `message` event per
/// server message, with keep-alive comments while idle. Ends when the
/// session's handler ends.
pub(super) struct SseBody {
    pub(super) first: Option<Bytes>,
    pub(super) rx: mpsc::UnboundedReceiver<Bytes>,
    /// Shared with the session's transport, which counts what it queues;
    /// counted down here as each event is handed to the connection.
    pub(super) unsent: Arc<Queued>,
    pub(super) keep_alive: tokio::time::Interval,
    pub(super) _session: SessionGuard,
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
            Poll::Ready(Some(event)) => {
                self.unsent.take(event.len());
                return Poll::Ready(Some(Ok(Frame::data(event))));
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
pub(super) struct SessionTransport {
    pub(super) id: String,
    pub(super) rx: mpsc::UnboundedReceiver<Inbound>,
    /// Shared with the hub's entry for this session (which counts POSTs in).
    pub(super) inbound: Arc<Queued>,
    pub(super) tx: mpsc::UnboundedSender<Bytes>,
    /// Shared with the session's `SseBody` (which counts events out).
    pub(super) unsent: Arc<Queued>,
    /// Closes the connection of the session's event stream.
    pub(super) closer: ConnCloser,
    /// The session's token: cancelling it ends the handler.
    pub(super) session: CancellationToken,
}

impl SessionTransport {
    /// The client does not read its stream: close the session and its
    /// connection, dropping everything queued for it.
    fn overflow(&self) {
        if !self.session.is_cancelled() {
            tracing::warn!(
                session = %self.id,
                "legacy SSE client not reading its event stream ({}); closing the session",
                self.unsent.describe()
            );
        }
        self.session.cancel();
        self.closer.close();
    }
}

/// The client's stream is gone.
#[derive(Debug, thiserror::Error)]
#[error("the legacy SSE stream of this session is closed")]
pub(super) struct StreamClosed;

impl Transport<RoleServer> for SessionTransport {
    type Error = StreamClosed;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl std::future::Future<Output = Result<(), StreamClosed>> + Send + 'static {
        let event = message_event(&item);
        let len = event.len();
        let sent = if self.unsent.admit(len) {
            self.tx.send(event).map_err(|_| {
                self.unsent.take(len);
                StreamClosed
            })
        } else {
            self.overflow();
            Err(StreamClosed)
        };
        std::future::ready(sent)
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        let (msg, len) = self.rx.recv().await?;
        self.inbound.take(len);
        Some(msg)
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
    fn queues_admit_within_limits_and_one_oversized_message_alone() {
        let q = Queued::new(3, 100);
        assert!(q.admit(60));
        assert!(q.admit(40));
        assert!(!q.admit(1), "over the byte limit");
        q.take(60);
        assert!(q.admit(10));
        assert!(q.admit(10));
        assert!(!q.admit(0), "over the message limit");
        q.take(40);
        q.take(10);
        q.take(10);
        assert!(q.admit(500), "alone, whatever its size");
        assert!(!q.admit(1));
        q.take(500);
        assert_eq!(
            q.describe(),
            "0 messages / 0 bytes waiting (limits 3 / 100)"
        );
    }
}
