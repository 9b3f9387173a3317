//! Client cost of multi-turn sessions.
//!
//! Run with `cargo bench --bench session_cost` (release build). Prints:
//! 1. the client's own work per turn of a 20-turn session whose context
//!    reaches ~8k tokens (300 new user tokens and a 100-token reply a turn):
//!    the engine's path (reply into the history, next body from shared
//!    chunks) against a client that rebuilds and re-counts the whole
//!    conversation each turn, at turns 1, 5, 10 and 20;
//! 2. end to end against an out-of-process `mcc-bench sim` at zero latency:
//!    client user and system CPU per turn for 20-turn and 5-turn sessions
//!    and for single-turn requests of the same context (user CPU is the
//!    client's own work; system CPU is mostly the kernel writing the
//!    request bytes, which any client pays for the context it sends).

use std::sync::Arc;

use mcc_bench::domain::{
    ApiKind, EndpointSpec, LoadLevel, PromptSpec, RunSpec, SessionSpec, StopCondition,
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

const NEW_TOKENS: u32 = 300;
const REPLY_TOKENS: u32 = 100;

fn main() {
    per_turn_work();
    let sim = SimProcess::start();
    println!("| case | turns sent | user CPU per turn | system CPU per turn | mean ISL |");
    println!("|---|---|---|---|---|");
    for (name, turns, isl) in [
        ("20-turn sessions (context to ~8k)", 20, NEW_TOKENS),
        ("5-turn sessions (context to ~2k)", 5, NEW_TOKENS),
        ("single-turn, ISL = the 20-turn mean", 1, 4_100),
        ("single-turn, ISL 300", 1, NEW_TOKENS),
    ] {
        end_to_end(&sim.url, name, turns, isl);
    }
}

fn per_turn_work() {
    let (ours, naive) = bench_support::session_turn_costs(20, NEW_TOKENS, REPLY_TOKENS, 200);
    println!("| turn | engine's path | rebuild + re-count each turn |");
    println!("|---|---|---|");
    for t in [1usize, 5, 10, 20] {
        println!(
            "| {t} | {:.1} µs | {:.1} µs |",
            ours[t - 1] / 1e3,
            naive[t - 1] / 1e3
        );
    }
    println!();
}

fn end_to_end(url: &str, name: &str, turns: u32, isl: u32) {
    let sessions = (turns > 1).then_some(SessionSpec {
        turns_mean: turns,
        turns_stddev: 0,
        think_time_ms_mean: 0,
        think_time_ms_stddev: 0,
    });
    let n = 8 * 20 * 10;
    let spec = spec(url, isl, n, sessions);
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
    let (u0, s0) = mcc_bench::sys::process_user_system_time();
    let r = local::run(&spec, &ctx).expect("benchmark runs");
    let (u1, s1) = mcc_bench::sys::process_user_system_time();
    let m = &r.levels[0].metrics;
    let sent = (m.request_count + m.error_request_count).max(1) as f64;
    println!(
        "| {name} | {} | {:.1} µs | {:.1} µs | {:.0} |",
        m.request_count,
        (u1 - u0).as_secs_f64() / sent * 1e6,
        (s1 - s0).as_secs_f64() / sent * 1e6,
        m.input_sequence_length.as_ref().map_or(0.0, |s| s.avg),
    );
}

fn spec(url: &str, isl: u32, n: u64, sessions: Option<SessionSpec>) -> RunSpec {
    RunSpec {
        run_id: "bench".into(),
        workload: None,
        endpoint: EndpointSpec {
            url: url.into(),
            api: ApiKind::Chat,
            model: Some("bench".into()),
            ..Default::default()
        },
        streaming: true,
        levels: vec![LoadLevel::Concurrency { concurrency: 8 }],
        stop: StopCondition::Requests { count: n },
        warmup_requests: 0,
        prompts: PromptSpec {
            input_tokens_mean: isl,
            input_tokens_stddev: 0,
            output_tokens_mean: REPLY_TOKENS,
            output_tokens_stddev: 0,
            shared_prefix_tokens: 0,
            tokenizer: None,
            tokenizer_download: false,
            distribution: Default::default(),
            tools: false,
            structured_output: false,
            mixture: Vec::new(),
        },
        token_count: TokenCountSource::Client,
        request_timeout_s: 60.0,
        grace_period_s: 5.0,
        seed: 7,
        slo: None,
        capacity: None,
        sessions,
        dataset: None,
    }
}
