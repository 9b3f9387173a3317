//! `profile_export_aiperf.json` in AIPerf 0.13's layout: one block per metric
//! tag in display units (`ms`, `tokens`, `requests/sec`, …); distributions
//! carry avg/min/max/std/p1…p99/count/sum, run-window scalars only `avg`.
//! mcc-bench's own additions (latency from the intended start, the validity
//! certificate, token-count provenance) are extra keys, which AIPerf's
//! readers accept.

use serde_json::{json, Map, Value};

use super::ExportContext;
use crate::domain::{ApiKind, LevelResult, LoadLevel, Stats, StopCondition};

/// Schema version of AIPerf 0.13's JSON export.
const SCHEMA_VERSION: &str = "1.4";

/// The export of one level as a JSON value.
pub fn aiperf_export(level: &LevelResult, ctx: ExportContext<'_>) -> Value {
    let m = &level.metrics;
    let mut o = Map::new();
    o.insert("schema_version".into(), json!(SCHEMA_VERSION));
    o.insert(
        "producer".into(),
        json!(concat!("mcc-bench ", env!("CARGO_PKG_VERSION"))),
    );
    o.insert("benchmark_id".into(), json!(ctx.spec.run_id));
    o.insert("input_config".into(), input_config(level, ctx));
    o.insert("was_cancelled".into(), json!(level.was_cancelled));
    o.insert("is_complete".into(), json!(!level.was_cancelled));
    o.insert("start_time".into(), json!(level.start_time));
    o.insert("end_time".into(), json!(level.end_time));
    o.insert("error_summary".into(), error_summary(level));
    let dists: [(&str, &Option<Stats>, &str); 15] = [
        ("request_latency", &m.request_latency, "ms"),
        ("time_to_first_token", &m.time_to_first_token, "ms"),
        (
            "time_to_first_output_token",
            &m.time_to_first_output_token,
            "ms",
        ),
        ("output_token_count", &m.output_token_count, "tokens"),
        ("reasoning_token_count", &m.reasoning_token_count, "tokens"),
        ("time_to_second_token", &m.time_to_second_token, "ms"),
        ("inter_token_latency", &m.inter_token_latency, "ms"),
        ("inter_chunk_latency", &m.inter_chunk_latency, "ms"),
        (
            "output_token_throughput_per_user",
            &m.output_token_throughput_per_user,
            "tokens/sec/user",
        ),
        (
            "output_sequence_length",
            &m.output_sequence_length,
            "tokens",
        ),
        ("input_sequence_length", &m.input_sequence_length, "tokens"),
        ("credit_to_start_latency", &m.credit_to_start_latency, "ms"),
        (
            "request_latency_from_intended",
            &m.request_latency_from_intended,
            "ms",
        ),
        (
            "time_to_first_token_from_intended",
            &m.time_to_first_token_from_intended,
            "ms",
        ),
        ("error_isl", &m.error_isl, "tokens"),
    ];
    for (tag, stats, unit) in dists {
        if let Some(s) = stats {
            o.insert(tag.into(), distribution(s, unit));
        }
    }
    let scalars: [(&str, f64, &str); 7] = [
        ("request_throughput", m.request_throughput, "requests/sec"),
        (
            "output_token_throughput",
            m.output_token_throughput,
            "tokens/sec",
        ),
        ("request_count", m.request_count as f64, "requests"),
        ("benchmark_duration", m.benchmark_duration_s, "sec"),
        ("total_isl", m.total_isl as f64, "tokens"),
        ("total_osl", m.total_osl as f64, "tokens"),
        (
            "total_reasoning_tokens",
            m.total_reasoning_tokens as f64,
            "tokens",
        ),
    ];
    for (tag, v, unit) in scalars {
        o.insert(tag.into(), json!({"unit": unit, "avg": v}));
    }
    if let (Some(good), Some(rate)) = (m.good_request_count, m.goodput) {
        o.insert(
            "good_request_count".into(),
            json!({"unit": "requests", "avg": good as f64}),
        );
        o.insert(
            "goodput".into(),
            json!({"unit": "requests/sec", "avg": rate}),
        );
    }
    if m.error_request_count > 0 {
        o.insert(
            "error_request_count".into(),
            json!({"unit": "requests", "avg": m.error_request_count as f64}),
        );
        o.insert(
            "total_error_isl".into(),
            json!({"unit": "tokens", "avg": m.total_error_isl as f64}),
        );
    }
    o.insert(
        "mcc_bench".into(),
        json!({"level": level.level, "validity": level.validity, "token_counts": level.token_counts,
               "requests_sent": level.requests_sent}),
    );
    Value::Object(o)
}

fn distribution(s: &Stats, unit: &str) -> Value {
    json!({
        "unit": unit, "avg": s.avg, "min": s.min, "max": s.max, "std": s.std,
        "p1": s.p1, "p5": s.p5, "p10": s.p10, "p25": s.p25, "p50": s.p50,
        "p75": s.p75, "p90": s.p90, "p95": s.p95, "p99": s.p99,
        "count": s.count, "sum": s.sum,
    })
}

fn error_summary(level: &LevelResult) -> Value {
    Value::Array(
        level
            .errors
            .iter()
            .map(|e| json!({"error_details": {"code": e.code, "type": e.kind, "message": e.message}, "count": e.count}))
            .collect(),
    )
}

/// The resolved configuration in AIPerf's `input_config` shape.
fn input_config(level: &LevelResult, ctx: ExportContext<'_>) -> Value {
    let spec = ctx.spec;
    let endpoint_type = match spec.endpoint.api {
        ApiKind::Chat => "chat",
        ApiKind::Completions => "completions",
    };
    let mut loadgen = Map::new();
    match level.level {
        LoadLevel::Concurrency { concurrency } => {
            loadgen.insert("concurrency".into(), json!(concurrency));
        }
        LoadLevel::Rate {
            rate,
            pattern,
            max_concurrency,
        } => {
            loadgen.insert("request_rate".into(), json!(rate));
            loadgen.insert("request_rate_mode".into(), json!(pattern));
            if let Some(c) = max_concurrency {
                loadgen.insert("concurrency".into(), json!(c));
            }
        }
    }
    match spec.stop {
        StopCondition::Requests { count } => loadgen.insert("request_count".into(), json!(count)),
        StopCondition::Duration { seconds } => {
            loadgen.insert("benchmark_duration".into(), json!(seconds))
        }
    };
    loadgen.insert("warmup_request_count".into(), json!(spec.warmup_requests));
    let p = &spec.prompts;
    json!({
        // AIPerf 0.13's layout names the model here; older readers look in
        // endpoint.model_names. Both hold the model the requests named.
        "models": {"strategy": "round_robin", "items": [{"name": ctx.model}]},
        "endpoint": {
            "model_names": [ctx.model],
            "type": endpoint_type,
            "streaming": spec.streaming,
            "url": spec.endpoint.url,
            "timeout_seconds": spec.request_timeout_s,
            "extra": spec.endpoint.extra_body,
        },
        "input": {
            "random_seed": spec.seed,
            "prompt": {
                "input_tokens": {"mean": p.input_tokens_mean, "stddev": p.input_tokens_stddev},
                "output_tokens": {"mean": p.output_tokens_mean, "stddev": p.output_tokens_stddev},
                "prefix_prompt": {"length": p.shared_prefix_tokens},
            },
        },
        "tokenizer": {"name": level.token_counts.tokenizer},
        "loadgen": loadgen,
        "workload": spec.workload,
    })
}
