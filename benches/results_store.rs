//! Cost of the results history.
//!
//! Run with `cargo bench --bench results_store` (release build). Prints:
//! 1. 1,000,000 request records (4 levels of 250,000, streaming, 16 chunks
//!    each) → per-level aggregation with AIPerf's definitions → history rows
//!    → Snappy Parquet file on disk: wall time of each step and the total
//!    (target ≤ 2 s);
//! 2. a history of 1,000 runs (4 levels each): wall time of an aggregate SQL
//!    query through the embedded engine (every file read and loaded, as
//!    each `query_results` call does), first call and median of the next
//!    ones (target ≤ 200 ms).
//!
//! Environment knobs: BENCH_RECORDS (default 1000000), BENCH_RUNS (1000).

use std::time::{Duration, Instant};

use mcc_bench::domain::{
    ApiKind, BenchmarkPhase, EndpointSpec, LevelResult, LoadLevel, PromptSpec, RequestRecord,
    ResultContext, RunResult, RunSpec, RunStatus, StopCondition, TokenCountCheck, TokenCountSource,
    Usage, Validity,
};
use mcc_bench::jobs::history::{history_rows, RowSource};
use mcc_bench::metrics::{aggregate_level, TokenPolicy};
use mcc_bench::storage::{history_file_path, query_history, write_history_file, QueryLimits};

/// The binary's allocator (see `src/main.rs`), so figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LEVELS: [u32; 4] = [1, 4, 16, 64];
const CHUNKS: usize = 16;

fn main() {
    let n = env_u64("BENCH_RECORDS", 1_000_000) as usize;
    let runs = env_u64("BENCH_RUNS", 1_000) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    write_path(n, dir.path());
    query_path(runs, dir.path());
}

/// Records → aggregate → rows → Parquet, timed step by step.
fn write_path(n: usize, home: &std::path::Path) {
    let per_level = n / LEVELS.len();
    let levels: Vec<Vec<RequestRecord>> =
        (0..LEVELS.len()).map(|l| records(per_level, l)).collect();
    let policy = TokenPolicy {
        source: TokenCountSource::Auto,
        exact_client_tokenizer: false,
    };
    let t0 = Instant::now();
    let results: Vec<LevelResult> = levels
        .iter()
        .zip(LEVELS)
        .map(|(recs, c)| level_result(aggregate_level(recs, true, policy), c))
        .collect();
    let aggregated = t0.elapsed();
    let run = run_result("bench-run", results);
    let context = ResultContext::default();
    let src = RowSource {
        result: &run,
        context: &context,
        engine: mcc_bench::domain::Engine::Local,
        job_names: &[],
    };
    let t1 = Instant::now();
    let rows = history_rows(src);
    let path = history_file_path(home, &src.partition(), &src.file_name());
    write_history_file(&path, &rows).expect("write");
    let written = t1.elapsed();
    println!(
        "| records | {n} ({} levels × {per_level}, {CHUNKS} chunks each) |",
        LEVELS.len()
    );
    println!(
        "| aggregate (AIPerf metrics, all levels) | {} |",
        ms(aggregated)
    );
    println!("| rows + Parquet write | {} |", ms(written));
    println!("| total records → Parquet | {} |", ms(aggregated + written));
}

/// 1,000 runs of history, then the same aggregate query repeatedly.
fn query_path(runs: usize, home: &std::path::Path) {
    let template: Vec<LevelResult> = LEVELS
        .iter()
        .enumerate()
        .map(|(l, c)| {
            let policy = TokenPolicy {
                source: TokenCountSource::Auto,
                exact_client_tokenizer: false,
            };
            level_result(aggregate_level(&records(200, l), true, policy), *c)
        })
        .collect();
    let context = ResultContext::default();
    for i in 0..runs {
        let mut run = run_result(&format!("run-{i:05}"), template.clone());
        run.model = format!("org/model-{}", i % 5);
        let src = RowSource {
            result: &run,
            context: &context,
            engine: mcc_bench::domain::Engine::Local,
            job_names: &[],
        };
        let path = history_file_path(home, &src.partition(), &src.file_name());
        write_history_file(&path, &history_rows(src)).expect("write");
    }
    let sql = "SELECT model, concurrency, count(*) AS runs, avg(output_token_throughput_tps) AS tps, \
               approx_percentile(ttft_p99_ms, 0.5) AS ttft_p99_median \
               FROM mlcc_ci.benchmark_results GROUP BY model, concurrency ORDER BY model, concurrency";
    let mut times: Vec<Duration> = Vec::new();
    let mut rows = 0;
    for _ in 0..11 {
        let t = Instant::now();
        let out = query_history(home, sql, 10_000, &QueryLimits::default()).expect("query");
        times.push(t.elapsed());
        rows = out.rows.len();
    }
    let first = times.remove(0);
    times.sort();
    println!(
        "| history | {runs} runs, {} rows, {runs} files |",
        runs * LEVELS.len()
    );
    println!(
        "| SQL aggregate, first call | {} ({rows} result rows) |",
        ms(first)
    );
    println!(
        "| SQL aggregate, median of 10 | {} |",
        ms(times[times.len() / 2])
    );
}

/// `n` successful streaming records of level `level`.
fn records(n: usize, level: usize) -> Vec<RequestRecord> {
    let base = Instant::now();
    (0..n)
        .map(|i| {
            let send = base + Duration::from_micros(i as u64 * 250);
            let first = send + Duration::from_micros(20_000 + (i as u64 * 7919) % 5_000);
            let responses: Vec<Instant> = (0..CHUNKS)
                .map(|k| first + Duration::from_micros(k as u64 * (1_500 + (i as u64 % 900))))
                .collect();
            let end = *responses.last().unwrap_or(&first);
            RequestRecord {
                index: i as u64,
                phase: BenchmarkPhase::Profiling,
                level,
                intended: send,
                send,
                head: Some(send + Duration::from_micros(900)),
                first_answer: Some(first),
                responses,
                end,
                status: Some(200),
                error: None,
                usage: Some(Usage {
                    prompt_tokens: Some(550),
                    completion_tokens: Some(CHUNKS as u32),
                    reasoning_tokens: None,
                }),
                input_tokens: 550,
                output_tokens_client: Some(CHUNKS as u32),
                reasoning_tokens_client: None,
                max_tokens: CHUNKS as u32,
                connect: None,
                session: None,
            }
        })
        .collect()
}

fn level_result(metrics: mcc_bench::domain::LevelMetrics, concurrency: u32) -> LevelResult {
    LevelResult {
        level: LoadLevel::Concurrency { concurrency },
        metrics,
        validity: Validity {
            target_concurrency: Some(concurrency),
            achieved_concurrency: f64::from(concurrency),
            target_rate: None,
            achieved_rate: 0.0,
            dispatch_lateness_p50_ms: 0.0,
            dispatch_lateness_p99_ms: 0.0,
            client_cpu_cores: 0.0,
            client_cpu_utilization: 0.0,
            available_cores: 2,
            runtime_lag_p50_ms: 0.0,
            runtime_lag_p99_ms: 0.0,
            client_bound: false,
            reasons: Vec::new(),
            measured_by: None,
            ..Validity::default()
        },
        errors: Vec::new(),
        token_counts: TokenCountCheck {
            source: "server".into(),
            tokenizer: "built-in".into(),
            usage_reported: 0,
            input_mismatches: 0,
            output_mismatches: 0,
            osl_short_of_requested: 0,
        },
        requests_sent: 0,
        was_cancelled: false,
        start_time: "2026-11-29T00:00:00Z".into(),
        end_time: "2026-11-29T00:01:00Z".into(),
        export_dir: String::new(),
    }
}

fn run_result(run_id: &str, levels: Vec<LevelResult>) -> RunResult {
    let spec = RunSpec {
        run_id: run_id.into(),
        workload: Some("bench".into()),
        endpoint: EndpointSpec {
            url: "http://127.0.0.1:1/v1".into(),
            api: ApiKind::Chat,
            model: Some("org/model".into()),
            api_key: None,
            extra_body: Default::default(),
            simulated: false,
            ..Default::default()
        },
        streaming: true,
        levels: levels.iter().map(|l| l.level).collect(),
        stop: StopCondition::Requests { count: 1 },
        warmup_requests: 0,
        prompts: PromptSpec {
            input_tokens_mean: 550,
            input_tokens_stddev: 0,
            output_tokens_mean: CHUNKS as u32,
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
        seed: 1,
        slo: None,
        capacity: None,
        sessions: None,
        dataset: None,
    };
    RunResult {
        run_id: run_id.into(),
        status: RunStatus::Completed,
        model: "org/model".into(),
        levels,
        indicators: Vec::new(),
        output_dir: String::new(),
        start_time: "2026-11-29T00:00:00Z".into(),
        end_time: "2026-11-29T00:01:00Z".into(),
        spec,
        capacity: None,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
