//! The aggregated metrics of one load level, as results carry them
//! (`metrics::aggregate_level` computes them).

use serde::{Deserialize, Serialize};

use super::Stats;

/// Aggregated metrics of one level's profiling requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LevelMetrics {
    /// End-to-end latency, ms.
    pub request_latency: Option<Stats>,
    /// Time to first token (of any kind, reasoning included), ms.
    pub time_to_first_token: Option<Stats>,
    /// Time to first output token (content or tool call, not reasoning), ms.
    pub time_to_first_output_token: Option<Stats>,
    /// Time to second token, ms.
    pub time_to_second_token: Option<Stats>,
    /// Inter-token latency, ms.
    pub inter_token_latency: Option<Stats>,
    /// Inter-chunk latency (every gap pooled), ms.
    pub inter_chunk_latency: Option<Stats>,
    /// Output tokens/s per user.
    pub output_token_throughput_per_user: Option<Stats>,
    /// Output sequence length (reasoning included), tokens.
    pub output_sequence_length: Option<Stats>,
    /// Output tokens without reasoning, tokens.
    pub output_token_count: Option<Stats>,
    /// Reasoning tokens of the requests that reasoned, tokens.
    pub reasoning_token_count: Option<Stats>,
    /// Input sequence length, tokens.
    pub input_sequence_length: Option<Stats>,
    /// Dispatch lateness (send − intended), ms.
    pub credit_to_start_latency: Option<Stats>,
    /// Latency from the intended start, ms.
    pub request_latency_from_intended: Option<Stats>,
    /// TTFT from the intended start, ms.
    pub time_to_first_token_from_intended: Option<Stats>,
    /// Input lengths of failed requests, tokens.
    pub error_isl: Option<Stats>,
    /// Successful requests.
    pub request_count: u64,
    /// Failed requests.
    pub error_request_count: u64,
    /// First send → last content response of successful requests, seconds.
    pub benchmark_duration_s: f64,
    /// Successful requests per second over the window.
    pub request_throughput: f64,
    /// Output tokens per second over the window.
    pub output_token_throughput: f64,
    /// Sum of input tokens of successful requests.
    pub total_isl: u64,
    /// Sum of output tokens of successful requests.
    pub total_osl: u64,
    /// Sum of reasoning tokens of successful requests.
    #[serde(default)]
    pub total_reasoning_tokens: u64,
    /// Sum of input tokens of failed requests.
    pub total_error_isl: u64,
    /// Requests meeting every service-level target (when the run has
    /// targets): succeeded, and TTFT, ITL and latency within them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_request_count: Option<u64>,
    /// Good requests per second over the level's window (AIPerf's goodput).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput: Option<f64>,
    /// Per-session figures of a multi-turn run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionMetrics>,
}

/// The figures of a level's multi-turn sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SessionMetrics {
    /// Sessions with at least one turn in the level.
    pub session_count: u64,
    /// Sessions whose every planned turn was sent in the level and succeeded.
    pub completed_session_count: u64,
    /// Turns sent per session.
    pub turns_per_session: Option<Stats>,
    /// First send → end of the last turn of each completed session, ms
    /// (think time included).
    pub session_duration: Option<Stats>,
    /// Figures by turn index (the first `MAX_TURN_ROWS` turns).
    pub by_turn: Vec<TurnMetrics>,
}

impl SessionMetrics {
    /// Turn indices reported one by one.
    pub const MAX_TURN_ROWS: u32 = 64;
}

/// The successful requests of one turn index, over all sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnMetrics {
    /// Turn index, from 0.
    pub turn: u32,
    /// Successful requests at this turn.
    pub request_count: u64,
    /// Time to first token, ms (streaming).
    pub time_to_first_token: Option<Stats>,
    /// End-to-end latency, ms.
    pub request_latency: Option<Stats>,
    /// Input sequence length (the history so far plus the new message).
    pub input_sequence_length: Option<Stats>,
}
