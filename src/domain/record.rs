//! What the load generator records about each request: raw instants, taken
//! when bytes arrive and before any parsing. Every metric is derived from these
//! later by pure functions in `metrics`.

use std::time::Instant;

/// Whether a request counts towards the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchmarkPhase {
    /// Sent before measurement to warm caches and connections; excluded.
    Warmup,
    /// Measured.
    Profiling,
}

impl BenchmarkPhase {
    /// AIPerf's spelling of the phase.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warmup => "warmup",
            Self::Profiling => "profiling",
        }
    }
}

/// Why a request failed. Faults are data: each becomes a record of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// HTTP 429 Too Many Requests.
    RateLimited,
    /// Any other HTTP 4xx.
    ClientError,
    /// HTTP 5xx.
    ServerError,
    /// Connection refused (nothing listening).
    ConnectionRefused,
    /// Connection reset or closed by the peer.
    ConnectionReset,
    /// Other connection failures (DNS, TLS, …).
    Connect,
    /// The response body ended before the stream was complete.
    StreamCut,
    /// An error event or error object inside an HTTP 200 response.
    ErrorEvent,
    /// The response could not be parsed (bad SSE or JSON).
    MalformedResponse,
    /// A 200 response that carried no content at all.
    EmptyResponse,
    /// The per-request timeout expired.
    Timeout,
    /// Cancelled because the run stopped (Ctrl+C or end of the grace period).
    Cancelled,
}

impl ErrorKind {
    /// Stable snake_case name used in summaries and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::ClientError => "http_4xx",
            Self::ServerError => "http_5xx",
            Self::ConnectionRefused => "connection_refused",
            Self::ConnectionReset => "connection_reset",
            Self::Connect => "connect_error",
            Self::StreamCut => "stream_cut",
            Self::ErrorEvent => "error_event",
            Self::MalformedResponse => "malformed_response",
            Self::EmptyResponse => "empty_response",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
        }
    }

    /// The kind of an HTTP error status.
    pub fn from_status(status: u16) -> Self {
        match status {
            429 => Self::RateLimited,
            500..=599 => Self::ServerError,
            _ => Self::ClientError,
        }
    }
}

/// A failed request's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// Classification.
    pub kind: ErrorKind,
    /// HTTP status or AIPerf-style custom code (499 for cancellation).
    pub code: Option<u16>,
    /// Human-readable detail (server message where one was given).
    pub message: String,
}

/// Token counts reported by the server in `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// `usage.prompt_tokens`.
    pub prompt_tokens: Option<u32>,
    /// `usage.completion_tokens` (reasoning included).
    pub completion_tokens: Option<u32>,
    /// `usage.completion_tokens_details.reasoning_tokens`.
    pub reasoning_tokens: Option<u32>,
}

/// Everything observed about one request.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// Sequence number within its level (AIPerf's `session_num`).
    pub index: u64,
    /// Warmup or profiling.
    pub phase: BenchmarkPhase,
    /// Index of the load level in the run spec.
    pub level: usize,
    /// When the schedule wanted this request sent (open loop), or when its
    /// concurrency slot became free (closed loop).
    pub intended: Instant,
    /// Immediately before the request was handed to the connection.
    pub send: Instant,
    /// Response headers received.
    pub head: Option<Instant>,
    /// Arrival of each content response (a chunk with non-empty text of any
    /// kind: answer, tool call or reasoning). For a non-streaming request,
    /// the single instant the whole body arrived.
    pub responses: Vec<Instant>,
    /// Arrival of the first response with answer text (content or a tool
    /// call, not reasoning): AIPerf's time to first output token.
    pub first_answer: Option<Instant>,
    /// When the exchange ended: last byte read, or the failure.
    pub end: Instant,
    /// HTTP status, when a response head arrived.
    pub status: Option<u16>,
    /// Set when the request failed.
    pub error: Option<RequestError>,
    /// Server-reported usage, if any.
    pub usage: Option<Usage>,
    /// Prompt tokens by the client tokenizer.
    pub input_tokens: u32,
    /// Output tokens of the answer text (reasoning excluded) by the client
    /// tokenizer.
    pub output_tokens_client: Option<u32>,
    /// Tokens of the reasoning text by the client tokenizer (`None` when the
    /// response carried no reasoning).
    pub reasoning_tokens_client: Option<u32>,
    /// The `max_tokens` requested.
    pub max_tokens: u32,
    /// Time spent opening a connection for this request (name resolution,
    /// TCP connect, proxy tunnel, TLS), which its TTFT and latency include
    /// as AIPerf counts them; `None` when it reused an open connection.
    pub connect: Option<std::time::Duration>,
    /// The session turn this request was, in a multi-turn run.
    pub session: Option<SessionTurn>,
}

/// Where a request sits in its conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTurn {
    /// Session number, unique within the run.
    pub id: u64,
    /// Turn index within the session, from 0.
    pub turn: u32,
    /// Turns the session was drawn to have.
    pub planned: u32,
}

impl RequestRecord {
    /// True when the request succeeded.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}
