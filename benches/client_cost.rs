//! Client cost and capacity of the local engine.
//!
//! Run with `cargo bench --bench client_cost` (release build). Prints:
//! 1. CPU per SSE event of the streaming reader (timestamp + parse);
//! 2. against an out-of-process `mcc-bench sim` at zero latency: sustained
//!    streaming requests/s at 128 output tokens, client CPU per request and
//!    per-request fixed cost (total minus the per-event part), and the CPU
//!    shares of client and simulator;
//! 3. the same for non-streaming requests;
//! 4. timestamp accuracy: per-request TTFT and latency as measured minus the
//!    in-process simulator's own logged truth, at TTFT 50 ms / ITL 10 ms,
//!    concurrency 8.
//!
//! Environment knobs: BENCH_REQUESTS (default 20000), BENCH_CONCURRENCY (64).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mcc_bench::domain::{
    ApiKind, EndpointSpec, LoadLevel, PromptSpec, RunResult, RunSpec, StopCondition,
    TokenCountSource,
};
use mcc_bench::engine::local::{self, bench_support, Progress, RunContext};
use tokio_util::sync::CancellationToken;

#[path = "support/sim_process.rs"]
mod sim_process;
use sim_process::SimProcess;

/// The binary's allocator (see `src/main.rs`), so figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    accuracy();
    let events = per_event_cost();
    println!(
        "| client CPU per SSE event (timestamp + parse) | {:.3} µs |",
        events * 1e6
    );
    let n = env_u64("BENCH_REQUESTS", 20_000);
    let c = env_u64("BENCH_CONCURRENCY", 64) as u32;
    let sim = SimProcess::start();
    for streaming in [true, false] {
        sim.mark();
        let t0 = Instant::now();
        let r = load(&sim.url, n, c, streaming);
        let sim_share = sim
            .cpu_since_mark()
            .map(|cpu| cpu / t0.elapsed().as_secs_f64());
        report(&r, sim_share, streaming, events);
    }
}

/// Seconds of CPU per SSE event, from a realistic 128-token chat stream fed
/// in 4 KiB reads, repeated.
fn per_event_cost() -> f64 {
    let mut stream = String::from(
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    );
    for i in 0..128 {
        stream.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    stream.push_str("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":128}}\n\ndata: [DONE]\n\n");
    // One read per event, as a paced server delivers them.
    let reads: Vec<Bytes> = stream
        .split_inclusive("\n\n")
        .map(|e| Bytes::copy_from_slice(e.as_bytes()))
        .collect();
    let events = reads.len() as f64;
    let rounds = 20_000;
    let cpu0 = mcc_bench::sys::thread_cpu_time();
    let mut sink = 0;
    for _ in 0..rounds {
        sink += bench_support::consume_stream(&reads);
    }
    let cpu = mcc_bench::sys::thread_cpu_time() - cpu0;
    assert_eq!(sink, rounds * 128, "every content chunk counted");
    cpu.as_secs_f64() / (events * rounds as f64)
}

/// Client-minus-truth offsets against the in-process simulator.
fn accuracy() {
    use mcc_bench::sim::{SimConfig, SimServer};
    let sim = SimServer::start(SimConfig {
        ttft_ms: 50.0,
        itl_ms: 10.0,
        ..SimConfig::default()
    })
    .expect("sim");
    let (r, dir) = load_in(&sim.url(), 200, 8, true, 20);
    assert_eq!(r.levels[0].metrics.request_count, 200);
    std::thread::sleep(Duration::from_millis(200));
    let truth = sim.truth();
    let text = std::fs::read_to_string(dir.path().join("profile_export.jsonl")).expect("jsonl");
    let (mut ttft, mut lat) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        if v["metadata"]["benchmark_phase"] != "profiling" {
            continue;
        }
        let id = v["metadata"]["x_request_id"].as_str().expect("id");
        let t = truth
            .iter()
            .find(|t| t.request_id == id)
            .expect("truth for every request");
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        ttft.push(
            v["metrics"]["time_to_first_token"]["value"]
                .as_f64()
                .expect("ttft")
                - ms(t.received, t.chunks[0]),
        );
        let last = *t.chunks.last().expect("chunks");
        lat.push(
            v["metrics"]["request_latency"]["value"]
                .as_f64()
                .expect("latency")
                - ms(t.received, last),
        );
    }
    let p = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        mcc_bench::metrics::percentile_sorted(v, q).unwrap_or(f64::NAN)
    };
    println!("| measurement | value |\n|---|---|");
    println!("| TTFT read high vs simulator truth, p50 / p99 (TTFT 50 ms, ITL 10 ms, c=8) | {:.3} ms / {:.3} ms |", p(&mut ttft, 50.0), p(&mut ttft, 99.0));
    println!(
        "| latency read high vs simulator truth, p50 / p99 | {:.3} ms / {:.3} ms |",
        p(&mut lat, 50.0),
        p(&mut lat, 99.0)
    );
}

fn load(url: &str, n: u64, c: u32, streaming: bool) -> RunResult {
    load_in(url, n, c, streaming, 128).0
}

fn load_in(url: &str, n: u64, c: u32, streaming: bool, osl: u32) -> (RunResult, tempfile::TempDir) {
    let spec = RunSpec {
        run_id: "bench".into(),
        workload: None,
        endpoint: EndpointSpec {
            url: url.into(),
            api: ApiKind::Chat,
            model: Some("bench".into()),
            api_key: None,
            extra_body: Default::default(),
            simulated: false,
            ..Default::default()
        },
        streaming,
        levels: vec![LoadLevel::Concurrency { concurrency: c }],
        stop: StopCondition::Requests { count: n },
        warmup_requests: c * 4,
        prompts: PromptSpec {
            input_tokens_mean: 32,
            input_tokens_stddev: 0,
            output_tokens_mean: osl,
            output_tokens_stddev: 0,
            shared_prefix_tokens: 0,
            tokenizer: None,
            tokenizer_download: false,
            distribution: Default::default(),
            tools: false,
            structured_output: false,
            mixture: Vec::new(),
        },
        token_count: TokenCountSource::Auto,
        request_timeout_s: 60.0,
        grace_period_s: 5.0,
        seed: 7,
        slo: None,
        capacity: None,
        sessions: None,
        dataset: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = RunContext {
        handle: rt.handle().clone(),
        stop: CancellationToken::new(),
        progress: Arc::new(Progress::new(1, n, 0.0)),
        excluded_cpu: None,
        output_dir: dir.path().to_path_buf(),
        runtime: None,
    };
    (local::run(&spec, &ctx).expect("benchmark runs"), dir)
}

fn report(r: &RunResult, sim_share: Option<f64>, streaming: bool, per_event: f64) {
    let l = &r.levels[0];
    let m = &l.metrics;
    let wall = m.benchmark_duration_s;
    let cpu = l.validity.client_cpu_cores * wall;
    let per_req = cpu / m.request_count.max(1) as f64;
    let events_per_req = if streaming { 128.0 + 3.0 } else { 0.0 };
    let fixed = per_req - events_per_req * per_event;
    let kind = if streaming {
        "streaming, 128 output tokens"
    } else {
        "non-streaming, 128 output tokens"
    };
    println!(
        "| {kind}: sustained requests/s (c={}) | {:.0} |",
        l.level.concurrency().unwrap_or(0),
        m.request_throughput
    );
    println!(
        "| {kind}: client CPU per request (all) | {:.1} µs |",
        per_req * 1e6
    );
    if streaming {
        println!(
            "| {kind}: client CPU per request (fixed part) | {:.1} µs |",
            fixed * 1e6
        );
    }
    println!(
        "| {kind}: client CPU share | {:.0}% of {} cores |",
        l.validity.client_cpu_utilization * 100.0,
        l.validity.available_cores
    );
    if let Some(share) = sim_share {
        println!(
            "| {kind}: simulator CPU (whole run incl. warmup) | {:.0}% of one core |",
            100.0 * share
        );
    }
    println!("| {kind}: errors | {} |", m.error_request_count);
}

fn env_u64(k: &str, default: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
