//! Reads an AIPerf `profile_export_aiperf.json` (written by AIPerf inside a
//! SageMaker benchmark job) back into this crate's level metrics, so a cloud
//! run's results have the same shape, tools and summaries as a local run.
//! Values are taken as AIPerf computed them (display units: ms, tokens,
//! requests/sec); nothing is re-derived.

use serde_json::{Map, Value};

use crate::domain::{ErrorSummaryEntry, LevelMetrics, Stats};

/// What an AIPerf export says about one level.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedLevel {
    /// The metrics.
    pub metrics: LevelMetrics,
    /// AIPerf's `error_summary`.
    pub errors: Vec<ErrorSummaryEntry>,
    /// `was_cancelled`.
    pub was_cancelled: bool,
    /// `start_time` / `end_time`, as written.
    pub start_time: String,
    /// End of the run.
    pub end_time: String,
}

/// Why an export could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    /// Not JSON, or not an object.
    #[error("{file} is not an AIPerf export: {reason}")]
    Malformed {
        /// The file (for the message).
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// Parses the text of a `profile_export_aiperf.json` named `file`.
pub fn import_aiperf_json(file: &str, text: &str) -> Result<ImportedLevel, ImportError> {
    let bad = |reason: String| ImportError::Malformed {
        file: file.to_owned(),
        reason,
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let Value::Object(doc) = doc else {
        return Err(bad("expected a JSON object".into()));
    };
    if !doc.contains_key("request_latency") && !doc.contains_key("request_count") {
        return Err(bad(
            "neither request_latency nor request_count is present".into()
        ));
    }
    Ok(ImportedLevel {
        metrics: level_metrics(&doc),
        errors: error_summary(&doc),
        was_cancelled: doc
            .get("was_cancelled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        start_time: text_field(&doc, "start_time"),
        end_time: text_field(&doc, "end_time"),
    })
}

fn level_metrics(doc: &Map<String, Value>) -> LevelMetrics {
    let stats = |tag: &str| doc.get(tag).and_then(stats_block);
    let scalar = |tag: &str| {
        doc.get(tag)
            .and_then(|b| b.get("avg"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    let count = |tag: &str| scalar(tag).max(0.0).round() as u64;
    LevelMetrics {
        request_latency: stats("request_latency"),
        time_to_first_token: stats("time_to_first_token"),
        time_to_first_output_token: stats("time_to_first_output_token"),
        time_to_second_token: stats("time_to_second_token"),
        inter_token_latency: stats("inter_token_latency"),
        inter_chunk_latency: stats("inter_chunk_latency"),
        output_token_throughput_per_user: stats("output_token_throughput_per_user"),
        output_sequence_length: stats("output_sequence_length"),
        output_token_count: stats("output_token_count"),
        reasoning_token_count: stats("reasoning_token_count"),
        input_sequence_length: stats("input_sequence_length"),
        credit_to_start_latency: stats("credit_to_start_latency"),
        request_latency_from_intended: None,
        time_to_first_token_from_intended: None,
        error_isl: stats("error_isl"),
        request_count: count("request_count"),
        error_request_count: count("error_request_count"),
        benchmark_duration_s: scalar("benchmark_duration"),
        request_throughput: scalar("request_throughput"),
        output_token_throughput: scalar("output_token_throughput"),
        total_isl: count("total_isl"),
        total_osl: count("total_osl"),
        total_reasoning_tokens: count("total_reasoning_tokens"),
        total_error_isl: count("total_error_isl"),
        good_request_count: doc
            .get("good_request_count")
            .and_then(|b| b.get("avg"))
            .and_then(Value::as_f64)
            .map(|v| v.max(0.0) as u64),
        goodput: doc
            .get("goodput")
            .and_then(|b| b.get("avg"))
            .and_then(Value::as_f64),
        sessions: None,
    }
}

/// A record metric's block; `None` for scalar-only blocks (no percentiles).
fn stats_block(block: &Value) -> Option<Stats> {
    let f = |k: &str| block.get(k).and_then(Value::as_f64);
    let p50 = f("p50")?;
    let avg = f("avg").unwrap_or(p50);
    Some(Stats {
        avg,
        min: f("min").unwrap_or(p50),
        max: f("max").unwrap_or(p50),
        std: f("std").unwrap_or(0.0),
        p1: f("p1").unwrap_or(p50),
        p5: f("p5").unwrap_or(p50),
        p10: f("p10").unwrap_or(p50),
        p25: f("p25").unwrap_or(p50),
        p50,
        p75: f("p75").unwrap_or(p50),
        p90: f("p90").unwrap_or(p50),
        p95: f("p95").unwrap_or(p50),
        p99: f("p99").unwrap_or(p50),
        count: f("count").map_or(0, |c| c.max(0.0) as u64),
        sum: f("sum").unwrap_or(0.0),
    })
}

fn error_summary(doc: &Map<String, Value>) -> Vec<ErrorSummaryEntry> {
    let Some(Value::Array(entries)) = doc.get("error_summary") else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|e| {
            let d = e.get("error_details").unwrap_or(&Value::Null);
            ErrorSummaryEntry {
                kind: d
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_owned(),
                code: d
                    .get("code")
                    .and_then(Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok()),
                message: d
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                count: e.get("count").and_then(Value::as_u64).unwrap_or(0),
            }
        })
        .collect()
}

fn text_field(doc: &Map<String, Value>, key: &str) -> String {
    doc.get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = r#"{
      "schema_version": "1.4", "aiperf_version": "0.13.0", "was_cancelled": false,
      "start_time": "2026-11-28T10:00:00Z", "end_time": "2026-11-28T10:01:00Z",
      "request_latency": {"unit": "ms", "avg": 120.5, "min": 100.0, "max": 180.0, "std": 10.0,
        "p1": 100.5, "p5": 101.0, "p10": 102.0, "p25": 110.0, "p50": 118.0, "p75": 125.0,
        "p90": 150.0, "p95": 160.0, "p99": 175.0, "count": 98, "sum": 11809.0},
      "time_to_first_token": {"unit": "ms", "avg": 30.0, "p50": 29.0, "p90": 40.0, "p99": 55.0},
      "request_throughput": {"unit": "requests/sec", "avg": 12.5},
      "output_token_throughput": {"unit": "tokens/sec", "avg": 1875.0},
      "request_count": {"unit": "requests", "avg": 98},
      "error_request_count": {"unit": "requests", "avg": 2},
      "benchmark_duration": {"unit": "sec", "avg": 7.84},
      "error_summary": [{"error_details": {"code": 503, "type": "ServiceUnavailable",
        "message": "busy"}, "count": 2}]
    }"#;

    #[test]
    fn an_aiperf_export_becomes_level_metrics_unchanged() {
        let l = import_aiperf_json("x.json", EXPORT).expect("imports");
        let lat = l.metrics.request_latency.expect("latency");
        assert_eq!((lat.p50, lat.p99, lat.count), (118.0, 175.0, 98));
        let ttft = l.metrics.time_to_first_token.expect("ttft");
        assert_eq!((ttft.p50, ttft.p90, ttft.min), (29.0, 40.0, 29.0));
        assert_eq!(l.metrics.request_count, 98);
        assert_eq!(l.metrics.error_request_count, 2);
        assert_eq!(l.metrics.request_throughput, 12.5);
        assert_eq!(l.metrics.benchmark_duration_s, 7.84);
        assert!(l.metrics.inter_token_latency.is_none());
        assert_eq!(l.errors[0].code, Some(503));
        assert_eq!(l.errors[0].count, 2);
        assert_eq!(l.start_time, "2026-11-28T10:00:00Z");
    }

    #[test]
    fn malformed_exports_are_named() {
        let e = import_aiperf_json("out/p.json", "[1]").expect_err("array");
        assert!(
            e.to_string()
                .starts_with("out/p.json is not an AIPerf export"),
            "{e}"
        );
        let e = import_aiperf_json("p.json", "{\"a\": 1}").expect_err("no metrics");
        assert!(e.to_string().contains("request_latency"), "{e}");
        assert!(import_aiperf_json("p.json", "{").is_err());
    }
}
