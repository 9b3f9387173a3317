//! The local engine driving a SageMaker endpoint through the runtime API
//! (`--endpoint sagemaker://ENDPOINT/COMPONENT`), against the project's
//! SageMaker emulator on 127.0.0.1: real AWS event-stream framing, lines
//! split across payload parts, the inference component header, model and
//! stream failures. Needs MCC_BENCH_PY (scripts/test sets it).

mod bin;
mod emulator;

use std::path::Path;

use serde_json::{json, Value};

use emulator::{control, emulator_state, world, World};

/// Runs `mcc-bench run` against `endpoint`; exit code, results.json, stderr.
fn bench(w: &World, endpoint: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out_dir = tempfile::tempdir().expect("out");
    let dir = out_dir.path().display().to_string();
    let mut args = vec![
        "run",
        "--endpoint",
        endpoint,
        "--no-progress",
        "--output-dir",
        &dir,
        "--concurrency",
        "4",
        "--request-count",
        "24",
        "--input-tokens",
        "64",
        "--output-tokens",
        "24",
    ];
    args.extend_from_slice(extra);
    let out = w.command(&args).output().expect("mcc-bench runs");
    let results = read_json(&out_dir.path().join("results.json"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), results, stderr)
}

fn read_json(path: &Path) -> Value {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn calls_named(w: &World, prefix: &str) -> Vec<String> {
    emulator_state(&w.emulator)["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(Value::as_str)
        .filter(|c| c.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn streams_through_the_runtime_api_with_exact_token_counts() {
    let w = world();
    let (code, r, err) = bench(&w, "sagemaker://qwen-ep/qwen-ic-main", &["--streaming"]);
    assert_eq!(code, Some(0), "{err}");
    let m = &r["levels"][0]["metrics"];
    assert_eq!(m["request_count"], 24, "{r}");
    assert_eq!(m["error_request_count"], 0, "{r}");
    // Every token arrived as its own content chunk, whatever the part split.
    assert_eq!(m["output_sequence_length"]["avg"], 24.0, "{m}");
    let ttft = m["time_to_first_token"]["p50"].as_f64().expect("ttft");
    assert!(ttft >= 20.0, "TTFT {ttft} ms below the simulator's 20 ms");
    // The simulator paces 24 tokens 2 ms apart after a 20 ms TTFT; the
    // emulator's relay adds a little to TTFT (seen here: 24 ms, ITL 2.005 ms)
    // and can never speed tokens up. The ITL band is wide for loaded CI.
    let latency = m["request_latency"]["p50"].as_f64().expect("latency");
    assert!(latency >= 20.0 + 23.0 * 2.0, "latency {latency} ms");
    let itl = m["inter_token_latency"]["p50"].as_f64().expect("itl");
    assert!(
        (1.5..4.0).contains(&itl),
        "ITL {itl} ms vs the simulator's 2 ms"
    );
    let invoked = calls_named(&w, "InvokeEndpointWithResponseStream:");
    assert_eq!(invoked.len(), 24, "{invoked:?}");
    assert!(
        invoked
            .iter()
            .all(|c| c == "InvokeEndpointWithResponseStream:qwen-ep:qwen-ic-main"),
        "the inference component goes in its header: {invoked:?}"
    );
    // No model name was given: none is sent, and the result names the target.
    assert_eq!(r["model"], "sagemaker://qwen-ep/qwen-ic-main", "{r}");
}

#[test]
fn non_streaming_uses_invoke_endpoint() {
    let w = world();
    let (code, r, err) = bench(&w, "sagemaker://qwen-ep", &["--no-streaming"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r["levels"][0]["metrics"]["request_count"], 24, "{r}");
    let invoked = calls_named(&w, "InvokeEndpoint:");
    assert_eq!(invoked.len(), 24, "{invoked:?}");
    assert!(invoked.iter().all(|c| c == "InvokeEndpoint:qwen-ep:"));
}

/// The error summary's kinds and messages, as one string per entry.
fn errors(r: &Value) -> Vec<String> {
    r["levels"][0]["errors"]
        .as_array()
        .map(|a| a.iter().map(Value::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn model_stream_and_endpoint_failures_are_classified() {
    let w = world();
    control(&w.emulator, json!({"model_error": 429}));
    let (code, r, err) = bench(&w, "sagemaker://qwen-ep/qwen-ic-main", &["--streaming"]);
    let e = errors(&r);
    assert_eq!(code, Some(3), "every request failed: {err}");
    assert_eq!(
        r["levels"][0]["metrics"]["error_request_count"], 24,
        "{err}"
    );
    assert!(
        e.len() == 1 && e[0].contains("rate_limited") && e[0].contains("429"),
        "the model's own status is kept: {e:?}"
    );

    control(
        &w.emulator,
        json!({"model_error": null, "stream_error": true}),
    );
    let (_, r, _) = bench(&w, "sagemaker://qwen-ep", &["--streaming"]);
    let e = errors(&r);
    assert!(
        e.len() == 1 && e[0].contains("error_event") && e[0].contains("StreamBroken"),
        "{e:?}"
    );

    control(&w.emulator, json!({"stream_error": false}));
    let (_, r, _) = bench(&w, "sagemaker://no-such-ep", &["--streaming"]);
    let e = errors(&r);
    assert!(
        e.len() == 1 && e[0].contains("http_4xx") && e[0].contains("check the endpoint"),
        "{e:?}"
    );

    control(
        &w.emulator,
        json!({"fail_ops": {"InvokeEndpointWithResponseStream": "AccessDeniedException"}}),
    );
    let (_, r, _) = bench(&w, "sagemaker://qwen-ep", &["--streaming"]);
    let e = errors(&r);
    assert!(
        e.len() == 1 && e[0].contains("sagemaker:InvokeEndpoint"),
        "access denied names the permission: {e:?}"
    );
}

#[test]
fn a_malformed_sagemaker_url_is_refused_before_any_request() {
    let w = world();
    let (code, _, err) = bench(&w, "sagemaker://ep/ic/extra", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("sagemaker://ENDPOINT/INFERENCE_COMPONENT"),
        "{err}"
    );
    assert!(calls_named(&w, "Invoke").is_empty());
}
