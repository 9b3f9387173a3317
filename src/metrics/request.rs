//! Per-request metrics (AIPerf 0.13 `src/aiperf/metrics/types/*`):
//! - request_latency = last content response − request start
//! - time_to_first_token = first content response − request start (streaming)
//! - time_to_second_token = second content response − first (streaming)
//! - inter_token_latency = (request_latency − TTFT) / (OSL − 1), OSL ≥ 2 (streaming)
//! - output_token_throughput_per_user = 1 / ITL in seconds
//! - inter_chunk_latency = gaps between consecutive content responses
//! - time_to_first_output_token = first answer response − request start
//!   (streaming; answer = content or tool call, not reasoning)
//! - output_sequence_length = output tokens + reasoning tokens;
//!   output_token_count excludes reasoning; reasoning_token_count apart
//!
//! "Content response" means a chunk carrying non-empty text of any kind
//! (content, tool-call name or arguments, reasoning); role-only, usage-only
//! and empty deltas are never recorded as one.

use super::ms_between;
use crate::domain::{RequestRecord, TokenCountSource};

/// How ISL/OSL are chosen between client and server counts.
#[derive(Debug, Clone, Copy)]
pub struct TokenPolicy {
    /// The configured source.
    pub source: TokenCountSource,
    /// True when the client tokenizer is the model's own (Hugging Face), so
    /// its counts are exact.
    pub exact_client_tokenizer: bool,
}

impl TokenPolicy {
    /// Whether server counts are preferred over client counts.
    pub fn prefers_server(&self) -> bool {
        match self.source {
            TokenCountSource::Server => true,
            TokenCountSource::Client => false,
            TokenCountSource::Auto => !self.exact_client_tokenizer,
        }
    }

    /// Input sequence length of a record.
    pub fn isl(&self, rec: &RequestRecord) -> u32 {
        let server = rec.usage.and_then(|u| u.prompt_tokens);
        match (self.prefers_server(), server) {
            (true, Some(n)) => n,
            _ => rec.input_tokens,
        }
    }

    /// Output sequence length of a record (reasoning included), if known.
    pub fn osl(&self, rec: &RequestRecord) -> Option<u32> {
        let server = rec.usage.and_then(|u| u.completion_tokens);
        match (self.prefers_server(), server) {
            (true, Some(n)) => Some(n),
            _ => rec
                .output_tokens_client
                .map(|n| n + rec.reasoning_tokens_client.unwrap_or(0)),
        }
    }

    /// Reasoning tokens of a record, when it reasoned.
    pub fn reasoning_tokens(&self, rec: &RequestRecord) -> Option<u32> {
        let server = rec.usage.and_then(|u| u.reasoning_tokens);
        match (self.prefers_server(), server) {
            (true, Some(n)) => Some(n),
            _ => rec.reasoning_tokens_client,
        }
        .filter(|&n| n > 0)
    }
}

/// The metrics of one successful request, in AIPerf's display units (ms,
/// tokens, tokens/sec/user).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics {
    /// Last content response − send.
    pub request_latency_ms: f64,
    /// First content response − send (streaming only).
    pub ttft_ms: Option<f64>,
    /// Second content response − first (streaming, ≥ 2 responses).
    pub ttst_ms: Option<f64>,
    /// (latency − TTFT) / (OSL − 1) (streaming, OSL ≥ 2).
    pub itl_ms: Option<f64>,
    /// 1 / ITL in seconds.
    pub tokens_per_sec_per_user: Option<f64>,
    /// Gaps between consecutive content responses.
    pub icl_ms: Vec<f64>,
    /// Output sequence length (reasoning included).
    pub osl: Option<u32>,
    /// Output tokens without reasoning.
    pub output_tokens: Option<u32>,
    /// Reasoning tokens, when the response reasoned.
    pub reasoning_tokens: Option<u32>,
    /// First answer response − send (streaming, when an answer came).
    pub ttfo_ms: Option<f64>,
    /// Input sequence length.
    pub isl: u32,
    /// Send − intended start (client-side queueing).
    pub credit_to_start_ms: f64,
    /// Last content response − intended start: latency as a user who
    /// arrived on schedule experienced it.
    pub latency_from_intended_ms: f64,
    /// First content response − intended start (streaming only).
    pub ttft_from_intended_ms: Option<f64>,
}

/// Metrics of a record, or `None` when it failed or carried no content.
pub fn request_metrics(
    rec: &RequestRecord,
    streaming: bool,
    policy: TokenPolicy,
) -> Option<RequestMetrics> {
    if !rec.is_ok() {
        return None;
    }
    let first = *rec.responses.first()?;
    let last = *rec.responses.last()?;
    let latency = ms_between(rec.send, last);
    let osl = policy.osl(rec);
    let reasoning = policy.reasoning_tokens(rec);
    let ttft = streaming.then(|| ms_between(rec.send, first));
    let itl = match (ttft, osl) {
        (Some(t), Some(n)) if n >= 2 => Some((latency - t) / f64::from(n - 1)),
        _ => None,
    };
    Some(RequestMetrics {
        request_latency_ms: latency,
        ttft_ms: ttft,
        ttst_ms: streaming
            .then(|| {
                rec.responses
                    .get(1)
                    .map(|&second| ms_between(first, second))
            })
            .flatten(),
        itl_ms: itl,
        tokens_per_sec_per_user: itl.map(|v| 1000.0 / v).filter(|v| v.is_finite()),
        icl_ms: if streaming {
            chunk_gaps(&rec.responses)
        } else {
            Vec::new()
        },
        osl,
        output_tokens: osl.map(|n| n.saturating_sub(reasoning.unwrap_or(0))),
        reasoning_tokens: reasoning,
        ttfo_ms: streaming
            .then(|| rec.first_answer.map(|a| ms_between(rec.send, a)))
            .flatten(),
        isl: policy.isl(rec),
        credit_to_start_ms: ms_between(rec.intended, rec.send),
        latency_from_intended_ms: ms_between(rec.intended, last),
        ttft_from_intended_ms: streaming.then(|| ms_between(rec.intended, first)),
    })
}

fn chunk_gaps(responses: &[std::time::Instant]) -> Vec<f64> {
    responses
        .windows(2)
        .map(|w| ms_between(w[0], w[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BenchmarkPhase, ErrorKind, RequestError, Usage};
    use std::time::{Duration, Instant};

    /// A record on a scripted clock: offsets in microseconds from `t0`.
    fn scripted(intended: u64, send: u64, responses: &[u64], osl: u32) -> RequestRecord {
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        RequestRecord {
            index: 0,
            phase: BenchmarkPhase::Profiling,
            level: 0,
            intended: at(intended),
            send: at(send),
            head: Some(at(send + 100)),
            responses: responses.iter().map(|&u| at(u)).collect(),
            first_answer: responses.first().map(|&u| at(u)),
            end: at(*responses.last().unwrap_or(&send) + 50),
            status: Some(200),
            error: None,
            usage: None,
            input_tokens: 550,
            output_tokens_client: Some(osl),
            reasoning_tokens_client: None,
            max_tokens: osl,
            connect: None,
            session: None,
        }
    }

    const CLIENT: TokenPolicy = TokenPolicy {
        source: TokenCountSource::Client,
        exact_client_tokenizer: false,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn latency_minus_ttft_equals_the_sum_of_chunk_gaps() {
        let r = scripted(0, 1_000, &[51_000, 61_500, 70_250, 81_000, 90_999], 5);
        let m = request_metrics(&r, true, CLIENT).expect("ok");
        let gaps: f64 = m.icl_ms.iter().sum();
        let ttft = m.ttft_ms.expect("streaming");
        assert!(close(m.request_latency_ms - ttft, gaps));
        assert!(close(ttft, 50.0));
        assert!(close(m.request_latency_ms, 89.999));
        assert!(close(m.ttst_ms.expect("two responses"), 10.5));
        assert_eq!(m.icl_ms.len(), 4);
    }

    #[test]
    fn itl_is_decode_time_over_osl_minus_one() {
        // 3 chunks but 7 tokens (multi-token chunks): the divisor is OSL − 1.
        let r = scripted(0, 0, &[40_000, 70_000, 100_000], 7);
        let m = request_metrics(&r, true, CLIENT).expect("ok");
        assert!(close(m.itl_ms.expect("itl"), 60.0 / 6.0));
        assert!(close(m.tokens_per_sec_per_user.expect("tps"), 100.0));
    }

    #[test]
    fn one_token_output_has_ttft_but_no_itl() {
        let r = scripted(0, 0, &[25_000], 1);
        let m = request_metrics(&r, true, CLIENT).expect("ok");
        assert!(close(m.ttft_ms.expect("ttft"), 25.0));
        assert!(close(m.request_latency_ms, 25.0));
        assert_eq!(m.itl_ms, None);
        assert_eq!(m.tokens_per_sec_per_user, None);
        assert_eq!(m.ttst_ms, None);
        assert!(m.icl_ms.is_empty());
    }

    #[test]
    fn non_streaming_has_latency_only() {
        let r = scripted(0, 0, &[120_000], 150);
        let m = request_metrics(&r, false, CLIENT).expect("ok");
        assert!(close(m.request_latency_ms, 120.0));
        assert_eq!((m.ttft_ms, m.itl_ms, m.ttst_ms), (None, None, None));
        assert_eq!(m.osl, Some(150));
    }

    #[test]
    fn latency_from_intended_start_includes_client_queueing() {
        let r = scripted(0, 5_000, &[55_000, 65_000], 2);
        let m = request_metrics(&r, true, CLIENT).expect("ok");
        assert!(close(m.credit_to_start_ms, 5.0));
        assert!(close(m.latency_from_intended_ms, 65.0));
        assert!(close(m.request_latency_ms, 60.0));
        assert!(close(m.ttft_from_intended_ms.expect("ttft"), 55.0));
    }

    #[test]
    fn failed_or_contentless_records_have_no_metrics() {
        let mut r = scripted(0, 0, &[10_000], 1);
        r.error = Some(RequestError {
            kind: ErrorKind::ServerError,
            code: Some(500),
            message: "x".into(),
        });
        assert!(request_metrics(&r, true, CLIENT).is_none());
        let r = scripted(0, 0, &[], 0);
        assert!(request_metrics(&r, true, CLIENT).is_none());
    }

    #[test]
    fn reasoning_counts_in_osl_and_ttft_but_not_in_ttfo_or_output_tokens() {
        // Two reasoning chunks, then two answer chunks (AIPerf's own example).
        let mut r = scripted(0, 0, &[10_000, 20_000, 30_000, 40_000], 2);
        r.first_answer = Some(r.responses[2]);
        r.reasoning_tokens_client = Some(2);
        let m = request_metrics(&r, true, CLIENT).expect("ok");
        assert!(close(m.ttft_ms.expect("ttft"), 10.0));
        assert!(close(m.ttfo_ms.expect("ttfo"), 30.0));
        assert_eq!(
            (m.osl, m.output_tokens, m.reasoning_tokens),
            (Some(4), Some(2), Some(2))
        );
        // Reasoning only: no time to first output token.
        r.first_answer = None;
        assert_eq!(request_metrics(&r, true, CLIENT).expect("ok").ttfo_ms, None);
        // The server's split when it reports one.
        r.usage = Some(Usage {
            prompt_tokens: None,
            completion_tokens: Some(9),
            reasoning_tokens: Some(5),
        });
        let server = TokenPolicy {
            source: TokenCountSource::Server,
            exact_client_tokenizer: false,
        };
        let m = request_metrics(&r, true, server).expect("ok");
        assert_eq!(
            (m.osl, m.output_tokens, m.reasoning_tokens),
            (Some(9), Some(4), Some(5))
        );
    }

    #[test]
    fn token_policy_picks_server_or_client_counts() {
        let mut r = scripted(0, 0, &[1_000, 2_000], 10);
        r.usage = Some(Usage {
            prompt_tokens: Some(560),
            completion_tokens: Some(12),
            reasoning_tokens: None,
        });
        let server = TokenPolicy {
            source: TokenCountSource::Server,
            exact_client_tokenizer: true,
        };
        assert_eq!((server.isl(&r), server.osl(&r)), (560, Some(12)));
        assert_eq!((CLIENT.isl(&r), CLIENT.osl(&r)), (550, Some(10)));
        let auto_builtin = TokenPolicy {
            source: TokenCountSource::Auto,
            exact_client_tokenizer: false,
        };
        assert_eq!(auto_builtin.osl(&r), Some(12));
        let auto_hf = TokenPolicy {
            source: TokenCountSource::Auto,
            exact_client_tokenizer: true,
        };
        assert_eq!(auto_hf.osl(&r), Some(10));
        r.usage = None;
        assert_eq!(
            server.osl(&r),
            Some(10),
            "client fills in when the server is silent"
        );
    }
}
