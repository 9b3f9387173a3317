//! Per-level aggregates: distributions of the per-request metrics plus the
//! run-window scalars (throughputs over first send → last content response).

use std::collections::BTreeMap;

use super::request::{request_metrics, RequestMetrics, TokenPolicy};
use crate::domain::{ErrorSummaryEntry, LevelMetrics, RequestRecord, Stats, TokenCountCheck};

/// Aggregates one level's profiling records.
pub fn aggregate_level(
    records: &[RequestRecord],
    streaming: bool,
    policy: TokenPolicy,
) -> LevelMetrics {
    let ok: Vec<(&RequestRecord, RequestMetrics)> = records
        .iter()
        .filter_map(|r| request_metrics(r, streaming, policy).map(|m| (r, m)))
        .collect();
    let failed: Vec<&RequestRecord> = records.iter().filter(|r| !r.is_ok()).collect();
    let col = |f: &dyn Fn(&RequestMetrics) -> Option<f64>| -> Option<Stats> {
        Stats::from_values(&ok.iter().filter_map(|(_, m)| f(m)).collect::<Vec<_>>())
    };
    let icl: Vec<f64> = ok
        .iter()
        .flat_map(|(_, m)| m.icl_ms.iter().copied())
        .collect();
    let duration_s = window_seconds(&ok);
    let total_osl: u64 = ok.iter().filter_map(|(_, m)| m.osl).map(u64::from).sum();
    let total_isl: u64 = ok.iter().map(|(_, m)| u64::from(m.isl)).sum();
    let error_isl: Vec<f64> = failed.iter().map(|r| f64::from(policy.isl(r))).collect();
    let per_s = |x: f64| {
        if duration_s > 0.0 {
            x / duration_s
        } else {
            0.0
        }
    };
    LevelMetrics {
        request_latency: col(&|m| Some(m.request_latency_ms)),
        time_to_first_token: col(&|m| m.ttft_ms),
        time_to_first_output_token: col(&|m| m.ttfo_ms),
        time_to_second_token: col(&|m| m.ttst_ms),
        inter_token_latency: col(&|m| m.itl_ms),
        inter_chunk_latency: Stats::from_values(&icl),
        output_token_throughput_per_user: col(&|m| m.tokens_per_sec_per_user),
        output_sequence_length: col(&|m| m.osl.map(f64::from)),
        output_token_count: col(&|m| m.output_tokens.map(f64::from)),
        reasoning_token_count: col(&|m| m.reasoning_tokens.map(f64::from)),
        input_sequence_length: col(&|m| Some(f64::from(m.isl))),
        credit_to_start_latency: col(&|m| Some(m.credit_to_start_ms)),
        request_latency_from_intended: col(&|m| Some(m.latency_from_intended_ms)),
        time_to_first_token_from_intended: col(&|m| m.ttft_from_intended_ms),
        error_isl: Stats::from_values(&error_isl),
        request_count: ok.len() as u64,
        error_request_count: failed.len() as u64,
        benchmark_duration_s: duration_s,
        request_throughput: per_s(ok.len() as f64),
        output_token_throughput: per_s(total_osl as f64),
        total_isl,
        total_osl,
        total_reasoning_tokens: ok
            .iter()
            .filter_map(|(_, m)| m.reasoning_tokens)
            .map(u64::from)
            .sum(),
        total_error_isl: error_isl.iter().sum::<f64>() as u64,
        good_request_count: None,
        goodput: None,
        sessions: super::sessions::session_metrics(records, &ok),
    }
}

/// AIPerf's benchmark_duration: max(start + latency) − min(start), seconds.
fn window_seconds(ok: &[(&RequestRecord, RequestMetrics)]) -> f64 {
    let Some(first) = ok.iter().map(|(r, _)| r.send).min() else {
        return 0.0;
    };
    let last = ok
        .iter()
        .filter_map(|(r, _)| r.responses.last().copied())
        .max()
        .unwrap_or(first);
    last.saturating_duration_since(first).as_secs_f64()
}

/// Failed requests grouped by kind and code, most frequent first.
pub fn error_summary(records: &[RequestRecord]) -> Vec<ErrorSummaryEntry> {
    let mut groups: BTreeMap<(&'static str, Option<u16>), (String, u64)> = BTreeMap::new();
    for e in records.iter().filter_map(|r| r.error.as_ref()) {
        let entry = groups
            .entry((e.kind.as_str(), e.code))
            .or_insert_with(|| (e.message.clone(), 0));
        entry.1 += 1;
    }
    let mut out: Vec<ErrorSummaryEntry> = groups
        .into_iter()
        .map(|((kind, code), (message, count))| ErrorSummaryEntry {
            kind: kind.to_owned(),
            code,
            message,
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
    out
}

/// Compares client and server token counts over successful requests.
pub fn token_count_check(
    records: &[RequestRecord],
    policy: TokenPolicy,
    tokenizer: &str,
) -> TokenCountCheck {
    let ok = records.iter().filter(|r| r.is_ok());
    let mut check = TokenCountCheck {
        source: if policy.prefers_server() {
            "server"
        } else {
            "client"
        }
        .to_owned(),
        tokenizer: tokenizer.to_owned(),
        usage_reported: 0,
        input_mismatches: 0,
        output_mismatches: 0,
        osl_short_of_requested: 0,
    };
    for r in ok {
        if policy.osl(r).is_some_and(|n| n != r.max_tokens) {
            check.osl_short_of_requested += 1;
        }
        let Some(u) = r.usage else { continue };
        check.usage_reported += 1;
        if u.prompt_tokens.is_some_and(|n| n != r.input_tokens) {
            check.input_mismatches += 1;
        }
        let client_osl = r
            .output_tokens_client
            .map(|n| n + r.reasoning_tokens_client.unwrap_or(0));
        if u.completion_tokens.is_some() && u.completion_tokens != client_osl {
            check.output_mismatches += 1;
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BenchmarkPhase, ErrorKind, RequestError, TokenCountSource, Usage};
    use std::time::{Duration, Instant};

    fn rec(t0: Instant, send_ms: u64, resp_ms: &[u64], osl: u32) -> RequestRecord {
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        RequestRecord {
            index: 0,
            phase: BenchmarkPhase::Profiling,
            level: 0,
            intended: at(send_ms),
            send: at(send_ms),
            head: None,
            responses: resp_ms.iter().map(|&m| at(m)).collect(),
            first_answer: None,
            end: at(*resp_ms.last().unwrap_or(&send_ms)),
            status: Some(200),
            error: None,
            usage: None,
            input_tokens: 100,
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

    #[test]
    fn throughput_window_is_first_send_to_last_content_response() {
        let t0 = Instant::now();
        let mut failed = rec(t0, 0, &[], 0);
        failed.error = Some(RequestError {
            kind: ErrorKind::ServerError,
            code: Some(500),
            message: "boom".into(),
        });
        let records = vec![
            rec(t0, 100, &[150, 300], 4),
            rec(t0, 200, &[260, 1100], 6),
            failed,
        ];
        let m = aggregate_level(&records, true, CLIENT);
        assert_eq!(m.request_count, 2);
        assert_eq!(m.error_request_count, 1);
        assert!((m.benchmark_duration_s - 1.0).abs() < 1e-9);
        assert!((m.request_throughput - 2.0).abs() < 1e-9);
        assert!((m.output_token_throughput - 10.0).abs() < 1e-9);
        assert_eq!(
            (m.total_osl, m.total_isl, m.total_error_isl),
            (10, 200, 100)
        );
        let ttft = m.time_to_first_token.expect("ttft");
        assert!((ttft.avg - 55.0).abs() < 1e-9);
        assert_eq!(m.inter_chunk_latency.expect("icl").count, 2);
    }

    #[test]
    fn errors_are_grouped_by_kind_and_code() {
        let t0 = Instant::now();
        let mk = |kind, code| {
            let mut r = rec(t0, 0, &[], 0);
            r.error = Some(RequestError {
                kind,
                code,
                message: format!("{kind:?}"),
            });
            r
        };
        let records = vec![
            mk(ErrorKind::ServerError, Some(500)),
            mk(ErrorKind::StreamCut, None),
            mk(ErrorKind::ServerError, Some(500)),
            mk(ErrorKind::ServerError, Some(503)),
        ];
        let s = error_summary(&records);
        assert_eq!(s[0].kind, "http_5xx");
        assert_eq!((s[0].code, s[0].count), (Some(500), 2));
        assert_eq!(s.iter().map(|e| e.count).sum::<u64>(), 4);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn token_mismatches_are_counted() {
        let t0 = Instant::now();
        let mut a = rec(t0, 0, &[1, 2], 10);
        a.usage = Some(Usage {
            prompt_tokens: Some(100),
            completion_tokens: Some(10),
            reasoning_tokens: None,
        });
        let mut b = rec(t0, 0, &[1, 2], 10);
        b.usage = Some(Usage {
            prompt_tokens: Some(108),
            completion_tokens: Some(9),
            reasoning_tokens: None,
        });
        b.max_tokens = 12;
        let c = token_count_check(&[a, b], CLIENT, "builtin");
        assert_eq!(
            (c.usage_reported, c.input_mismatches, c.output_mismatches),
            (2, 1, 1)
        );
        assert_eq!(c.osl_short_of_requested, 1);
        assert_eq!(c.source, "client");
    }
}
