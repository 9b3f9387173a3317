//! `profile_export.jsonl`: one AIPerf-style record per request, with wall-clock
//! nanosecond timestamps, per-request metrics in display units, and the error.

use serde_json::{json, Map, Value};

use super::ExportContext;
use crate::domain::RequestRecord;
use crate::metrics::request_metrics;

/// The worker and record-processor id of every record (AIPerf requires both).
const WORKER_ID: &str = "mcc-bench";

/// Serialises records, one JSON object per line.
pub(super) fn write_records_jsonl<'a>(
    out: &mut dyn std::io::Write,
    records: impl Iterator<Item = &'a RequestRecord>,
    level_label: &str,
    ctx: ExportContext<'_>,
) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *out, &record_json(r, level_label, ctx))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn record_json(r: &RequestRecord, level_label: &str, ctx: ExportContext<'_>) -> Value {
    let ns = |t| ctx.anchor.epoch_ns(t) as i64;
    let cancelled = r.error.as_ref().is_some_and(|e| e.code == Some(499));
    let metadata = json!({
        "session_num": r.index,
        // AIPerf's service ids; one process does both jobs here.
        "worker_id": WORKER_ID,
        "record_processor_id": WORKER_ID,
        "model_name": ctx.model,
        "x_request_id": format!("{}-{}-{}", r.phase.as_str(), r.level, r.index),
        "conversation_id": r.session.map(|t| format!("session-{}", t.id)),
        "turn_index": r.session.map_or(0, |t| t.turn),
        "credit_issued_ns": ns(r.intended),
        "request_start_ns": ns(r.send),
        "request_ack_ns": r.head.map(ns),
        "request_end_ns": ns(r.responses.last().copied().unwrap_or(r.end)),
        "benchmark_phase": r.phase.as_str(),
        "was_cancelled": cancelled,
        "cancellation_time_ns": cancelled.then(|| ns(r.end)),
        "level": level_label,
        "http_status": r.status,
        "max_tokens": r.max_tokens,
        "client_tokens": {"input": r.input_tokens, "output": r.output_tokens_client},
        "usage": r.usage.map(|u| json!({"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "reasoning_tokens": u.reasoning_tokens})),
    });
    let error = r
        .error
        .as_ref()
        .map(|e| json!({"code": e.code, "type": e.kind.as_str(), "message": e.message}));
    json!({"metadata": metadata, "metrics": metrics(r, ctx), "error": error})
}

fn metrics(r: &RequestRecord, ctx: ExportContext<'_>) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value, unit: &str| {
        m.insert(k.to_owned(), json!({"value": v, "unit": unit}));
    };
    let Some(x) = request_metrics(r, ctx.spec.streaming, ctx.policy) else {
        put("error_isl", json!(ctx.policy.isl(r)), "tokens");
        return Value::Object(m);
    };
    put("input_sequence_length", json!(x.isl), "tokens");
    put("request_latency", json!(x.request_latency_ms), "ms");
    put("credit_to_start_latency", json!(x.credit_to_start_ms), "ms");
    put(
        "request_latency_from_intended",
        json!(x.latency_from_intended_ms),
        "ms",
    );
    if let Some(v) = x.ttft_ms {
        put("time_to_first_token", json!(v), "ms");
    }
    if let Some(v) = x.ttfo_ms {
        put("time_to_first_output_token", json!(v), "ms");
    }
    if let Some(v) = x.ttft_from_intended_ms {
        put("time_to_first_token_from_intended", json!(v), "ms");
    }
    if let Some(v) = x.ttst_ms {
        put("time_to_second_token", json!(v), "ms");
    }
    if !x.icl_ms.is_empty() {
        put("inter_chunk_latency", json!(x.icl_ms), "ms");
    }
    if let Some(v) = x.osl {
        put("output_sequence_length", json!(v), "tokens");
    }
    if let Some(v) = x.output_tokens {
        put("output_token_count", json!(v), "tokens");
    }
    if let Some(v) = x.reasoning_tokens {
        put("reasoning_token_count", json!(v), "tokens");
    }
    if let Some(v) = x.itl_ms {
        put("inter_token_latency", json!(v), "ms");
    }
    if let Some(v) = x.tokens_per_sec_per_user {
        put(
            "output_token_throughput_per_user",
            json!(v),
            "tokens/sec/user",
        );
    }
    Value::Object(m)
}
