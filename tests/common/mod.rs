//! Helpers shared by the integration tests: run the local engine against an
//! in-process simulator on 127.0.0.1:0 and read back what it wrote.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Arc;

use mcc_bench::domain::{
    ApiKind, EndpointSpec, LoadLevel, PromptSpec, RunResult, RunSpec, StopCondition,
    TokenCountSource,
};
use mcc_bench::engine::local::{self, Progress, RunContext};
use mcc_bench::engine::EngineError;
use mcc_bench::sim::SimServer;
use tokio_util::sync::CancellationToken;

/// A closed-loop streaming spec against `url`.
pub fn spec(url: &str, concurrency: u32, requests: u64, isl: u32, osl: u32) -> RunSpec {
    RunSpec {
        run_id: "test-run".into(),
        workload: None,
        endpoint: EndpointSpec {
            url: url.into(),
            api: ApiKind::Chat,
            model: None,
            api_key: None,
            extra_body: Default::default(),
            simulated: true,
            ..Default::default()
        },
        streaming: true,
        levels: vec![LoadLevel::Concurrency { concurrency }],
        stop: StopCondition::Requests { count: requests },
        warmup_requests: 0,
        prompts: PromptSpec {
            input_tokens_mean: isl,
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
        request_timeout_s: 30.0,
        grace_period_s: 5.0,
        seed: 1,
        slo: None,
        capacity: None,
        sessions: None,
        dataset: None,
    }
}

/// Output of one engine run.
pub struct Ran {
    pub result: Result<RunResult, EngineError>,
    pub dir: tempfile::TempDir,
}

impl Ran {
    pub fn ok(&self) -> &RunResult {
        self.result.as_ref().expect("run succeeds")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn json(&self, rel: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path(rel)).expect("file written");
        serde_json::from_str(&text).expect("valid JSON")
    }

    pub fn jsonl(&self, rel: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path(rel))
            .expect("file written")
            .lines()
            .map(|l| serde_json::from_str(l).expect("valid JSON line"))
            .collect()
    }
}

/// Timing assertions need the machine to themselves: runs in one test binary
/// take turns (tests in a binary otherwise run in parallel).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `spec` with the engine; `stop` may be cancelled by the caller.
pub fn run_with(spec: &RunSpec, sim: Option<&SimServer>, stop: CancellationToken) -> Ran {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = RunContext {
        handle: rt.handle().clone(),
        stop,
        progress: Arc::new(Progress::new(spec.levels.len(), 0, 0.0)),
        excluded_cpu: sim.and_then(SimServer::cpu_clock),
        output_dir: dir.path().to_path_buf(),
        runtime: None,
    };
    let result = local::run(spec, &ctx);
    Ran { result, dir }
}

/// Runs `spec` to completion.
pub fn run(spec: &RunSpec, sim: Option<&SimServer>) -> Ran {
    run_with(spec, sim, CancellationToken::new())
}

/// Waits (bounded) until the simulator has logged `n` requests.
pub fn await_truth(sim: &SimServer, n: usize) -> Vec<mcc_bench::sim::TruthRecord> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let t = sim.truth();
        if t.len() >= n || std::time::Instant::now() > deadline {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Median (numpy linear) of values.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    mcc_bench::metrics::percentile_sorted(&v, 50.0).expect("non-empty")
}
