//! The simulator's paced SSE body. Each poll either waits for the next
//! absolute deadline or yields the next chunk; the instant a content chunk is
//! yielded to the connection is logged as ground truth.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame};

use super::config::Fault;
use super::timer::{PreciseTimer, Sleep};
use super::truth::{TruthLog, TruthRecord};
use super::wire::Wire;
use crate::rng::Rng;

/// Body error that makes hyper abort the connection (the "cut" fault).
#[derive(Debug, thiserror::Error)]
#[error("stream cut by fault injection")]
pub(crate) struct StreamCut;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Role,
    Tokens,
    Tail,
    Done,
}

/// A streaming response in progress.
#[derive(Debug)]
pub(crate) struct PacedStream {
    wire: Wire,
    stage: Stage,
    total: u32,
    sent: u32,
    itl: Duration,
    jitter_ms: f64,
    /// Deadline of the next token (absolute: gaps never accumulate error).
    sleep: Sleep,
    rng: Rng,
    fault: Option<Fault>,
    truth: Option<(Arc<TruthLog>, TruthRecord)>,
    /// The generation slot this stream holds until its last chunk.
    pub(crate) slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Timing of one stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub(crate) first: Duration,
    pub(crate) itl: Duration,
    pub(crate) jitter_ms: f64,
}

impl PacedStream {
    pub(crate) fn new(
        timer: &PreciseTimer,
        wire: Wire,
        total: u32,
        pace: Pace,
        rng: Rng,
        fault: Option<Fault>,
        truth: Option<(Arc<TruthLog>, TruthRecord)>,
    ) -> Self {
        let start = truth
            .as_ref()
            .map_or_else(Instant::now, |(_, r)| r.admitted);
        let stage = if wire.has_role_chunk() {
            Stage::Role
        } else {
            Stage::Tokens
        };
        Self {
            wire,
            stage,
            total,
            sent: 0,
            itl: pace.itl,
            jitter_ms: pace.jitter_ms,
            sleep: timer.sleep_until(start + pace.first),
            rng,
            fault,
            truth,
            slot: None,
        }
    }

    /// Absolute deadline of the token after this one (no drift).
    fn advance_deadline(&mut self) {
        let j = if self.jitter_ms > 0.0 {
            (self.rng.next_f64() * 2.0 - 1.0) * self.jitter_ms
        } else {
            0.0
        };
        let gap = (self.itl.as_secs_f64() * 1e3 + j).max(0.0);
        let next = self.sleep.deadline() + Duration::from_secs_f64(gap / 1e3);
        self.sleep.reset(next);
    }

    fn token_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        if self.sent == self.total / 2 && self.sent > 0 {
            if let Some(f) = self.fault {
                return self.inject(f);
            }
        }
        let word = self.rng.below(crate::text::WORDS.len());
        let chunk = self.wire.token_chunk(word, self.sent == 0);
        if let Some((_, r)) = self.truth.as_mut() {
            r.chunks.push(Instant::now());
        }
        self.sent += 1;
        if self.sent == self.total {
            self.stage = Stage::Tail;
        } else {
            self.advance_deadline();
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn inject(&mut self, fault: Fault) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        self.stage = Stage::Done;
        self.slot = None;
        match fault {
            Fault::Cut => Poll::Ready(Some(Err(StreamCut))),
            Fault::ErrorEvent => Poll::Ready(Some(Ok(Frame::data(Wire::error_event())))),
            Fault::Malformed => Poll::Ready(Some(Ok(Frame::data(Wire::malformed_chunk())))),
            Fault::Http500 | Fault::Http429 | Fault::Stall => Poll::Ready(None),
        }
    }
}

impl Body for PacedStream {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        let this = &mut *self;
        match this.stage {
            Stage::Role => {
                this.stage = Stage::Tokens;
                Poll::Ready(Some(Ok(Frame::data(this.wire.role_chunk()))))
            }
            Stage::Tokens => this.token_frame(cx),
            Stage::Tail => {
                this.stage = Stage::Done;
                this.slot = None;
                Poll::Ready(Some(Ok(Frame::data(this.wire.tail(this.total)))))
            }
            Stage::Done => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stage == Stage::Done
    }
}

impl Drop for PacedStream {
    fn drop(&mut self) {
        if let Some((log, mut r)) = self.truth.take() {
            r.completion_tokens = self.sent;
            log.push(r);
        }
    }
}

/// A body that fails at once: hyper aborts the connection mid-response.
#[derive(Debug)]
pub(crate) struct CutBody;

impl Body for CutBody {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        Poll::Ready(Some(Err(StreamCut)))
    }
}
