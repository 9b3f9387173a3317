//! A request body made of shared chunks. A session's turn is its history's
//! chunks plus the new message: each chunk was serialised once, when its
//! message was added, and is sent again by reference — no turn copies or
//! re-encodes the conversation before it.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};

/// The chunks of one request body, sent in order with an exact
/// `Content-Length`. Cloning shares the chunks.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReqBody {
    chunks: Arc<[Bytes]>,
    /// Chunks already handed to the connection.
    next: usize,
    /// Bytes not yet handed over.
    remaining: u64,
}

impl ReqBody {
    /// A body of these chunks.
    pub(crate) fn chunks(chunks: Vec<Bytes>) -> Self {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self {
            chunks: chunks.into(),
            next: 0,
            remaining,
        }
    }

    /// The whole body in one buffer (for transports that take one).
    pub(crate) fn to_bytes(&self) -> Bytes {
        match &self.chunks[..] {
            [one] => one.clone(),
            many => {
                let mut buf = BytesMut::with_capacity(self.remaining as usize);
                many.iter().for_each(|c| buf.extend_from_slice(c));
                buf.freeze()
            }
        }
    }
}

impl From<Bytes> for ReqBody {
    fn from(b: Bytes) -> Self {
        Self::chunks(vec![b])
    }
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        while let Some(chunk) = self.chunks.get(self.next).cloned() {
            self.next += 1;
            if !chunk.is_empty() {
                self.remaining -= chunk.len() as u64;
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn chunks_are_sent_in_order_with_an_exact_length() {
        let body = ReqBody::chunks(vec![
            Bytes::from_static(b"{\"a\":"),
            Bytes::new(),
            Bytes::from_static(b"[1,2]}"),
        ]);
        assert_eq!(body.size_hint().exact(), Some(11));
        assert_eq!(&body.to_bytes()[..], b"{\"a\":[1,2]}");
        let sent = body.clone().collect().await.expect("infallible").to_bytes();
        assert_eq!(&sent[..], b"{\"a\":[1,2]}");
        assert!(ReqBody::from(Bytes::new()).is_end_stream());
    }
}
