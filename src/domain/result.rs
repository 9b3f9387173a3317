//! Results of a run: one `LevelResult` per load level, each with its metrics,
//! validity certificate and error summary, plus run-wide key indicators.

use serde::{Deserialize, Serialize};

use super::{LevelMetrics, LoadLevel, RunSpec};

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every level ran to its stop condition.
    Completed,
    /// Stopped early (Ctrl+C or cancel); results are partial.
    Cancelled,
    /// Ran, but not one profiling request succeeded.
    Failed,
}

/// Evidence that the figures measure the endpoint, not the client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    /// Concurrency asked for (closed loop, or the cap of an open loop).
    pub target_concurrency: Option<u32>,
    /// Time-averaged requests in flight while dispatching (sessions in
    /// flight, think time included, in a multi-turn run).
    pub achieved_concurrency: f64,
    /// Request rate asked for (open loop).
    pub target_rate: Option<f64>,
    /// Requests actually sent per second while dispatching.
    pub achieved_rate: f64,
    /// Send instant minus intended instant, median, in ms.
    pub dispatch_lateness_p50_ms: f64,
    /// Send instant minus intended instant, 99th percentile, in ms.
    pub dispatch_lateness_p99_ms: f64,
    /// Client CPU time over wall time, in cores (the in-process simulator's
    /// own CPU is excluded).
    pub client_cpu_cores: f64,
    /// `client_cpu_cores` as a fraction of the cores available.
    pub client_cpu_utilization: f64,
    /// Cores available to the process.
    pub available_cores: u32,
    /// Scheduling delay of the async runtime (spawn → first poll), median, ms.
    pub runtime_lag_p50_ms: f64,
    /// Scheduling delay of the async runtime, 99th percentile, ms.
    pub runtime_lag_p99_ms: f64,
    /// True when the client, not the endpoint, limited the measurement.
    pub client_bound: bool,
    /// Why `client_bound` is set (empty otherwise).
    pub reasons: Vec<String>,
    /// Profiling requests that opened a connection (the others reused one
    /// left open by an earlier request, warmup included).
    #[serde(default)]
    pub connections_opened: u64,
    /// Connection setup (name resolution, TCP connect, proxy tunnel, TLS)
    /// of those requests, median, ms; their TTFT and latency include it.
    #[serde(default)]
    pub connect_p50_ms: Option<f64>,
    /// Connection setup, 99th percentile, ms.
    #[serde(default)]
    pub connect_p99_ms: Option<f64>,
    /// Longest connection setup, ms.
    #[serde(default)]
    pub connect_max_ms: Option<f64>,
    /// Mean time a thread of this process waited on a run queue for a CPU
    /// each time it was scheduled while the level ran, ms (per-thread
    /// scheduler statistics); `None` where the kernel keeps none.
    #[serde(default)]
    pub cpu_wait_per_slice_ms: Option<f64>,
    /// Time this process's threads spent waiting for a CPU, as a share of
    /// the level's wall time (summed over threads: 0.5 = half a thread
    /// waiting all along).
    #[serde(default)]
    pub cpu_wait_share: Option<f64>,
    /// How late a probe thread sleeping 2, 5 and 10 ms in turn woke up while the
    /// level ran, median, ms: the wait for a CPU every timestamp may carry.
    #[serde(default)]
    pub wakeup_lateness_p50_ms: Option<f64>,
    /// The same, 99th percentile, ms.
    #[serde(default)]
    pub wakeup_lateness_p99_ms: Option<f64>,
    /// CPU used by other processes on this machine while the level ran, in
    /// cores (an out-of-process endpoint on the same machine counts).
    #[serde(default)]
    pub other_processes_cpu_cores: Option<f64>,
    /// CPU time the hypervisor took from this machine while the level ran,
    /// as a share of all its CPUs' time.
    #[serde(default)]
    pub cpu_steal_share: Option<f64>,
    /// True when something other than the endpoint's serving moved the
    /// figures by more than they tolerate without the client being the
    /// bottleneck: slow or retried connection setup, or CPU contention from
    /// other processes on this machine.
    #[serde(default)]
    pub disturbed: bool,
    /// Why `disturbed` is set, each with its figure (empty otherwise).
    #[serde(default)]
    pub disturbances: Vec<String>,
    /// Set when another client produced the figures (a SageMaker benchmark
    /// job runs AIPerf in the cloud): this certificate's client checks do
    /// not apply and its client fields are zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_by: Option<String>,
}

/// Failed requests of one kind, grouped like AIPerf's `error_summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSummaryEntry {
    /// Error kind (`http_5xx`, `stream_cut`, …).
    pub kind: String,
    /// HTTP status or custom code.
    pub code: Option<u16>,
    /// One representative message.
    pub message: String,
    /// Occurrences.
    pub count: u64,
}

/// How token counts were obtained and whether client and server agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCountCheck {
    /// `client` or `server`: where the reported ISL/OSL came from.
    pub source: String,
    /// The client tokenizer in use.
    pub tokenizer: String,
    /// Successful requests whose response carried `usage`.
    pub usage_reported: u64,
    /// Requests where `usage.prompt_tokens` differs from the client count.
    pub input_mismatches: u64,
    /// Requests where `usage.completion_tokens` differs from the client count.
    pub output_mismatches: u64,
    /// Requests whose output length differs from the `max_tokens` asked for.
    pub osl_short_of_requested: u64,
}

/// The result of one load level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelResult {
    /// The load offered.
    pub level: LoadLevel,
    /// Metrics of the profiling requests.
    pub metrics: LevelMetrics,
    /// Validity certificate.
    pub validity: Validity,
    /// Failures grouped by kind.
    pub errors: Vec<ErrorSummaryEntry>,
    /// Token count provenance.
    pub token_counts: TokenCountCheck,
    /// Requests sent in this level (profiling phase).
    pub requests_sent: u64,
    /// True when the level stopped before its stop condition.
    pub was_cancelled: bool,
    /// Wall-clock start (RFC 3339).
    pub start_time: String,
    /// Wall-clock end (RFC 3339).
    pub end_time: String,
    /// Directory holding this level's AIPerf exports.
    pub export_dir: String,
}

/// A key indicator from the seed's guidance (TTFT > 500 ms, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Short id: `ttft_high`, `itl_high`, `throughput_plateau`, `client_bound`, `errors`.
    pub id: String,
    /// Level label it concerns, if one.
    pub level: Option<String>,
    /// What was seen and what to do about it.
    pub message: String,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Run id.
    pub run_id: String,
    /// How it ended.
    pub status: RunStatus,
    /// The model the requests named.
    pub model: String,
    /// One result per level, in order.
    pub levels: Vec<LevelResult>,
    /// Key indicators across the run.
    pub indicators: Vec<Indicator>,
    /// Directory holding every output file.
    pub output_dir: String,
    /// Wall-clock start (RFC 3339).
    pub start_time: String,
    /// Wall-clock end (RFC 3339).
    pub end_time: String,
    /// The resolved specification.
    pub spec: RunSpec,
    /// A capacity search's answer (its probes are the levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<super::Capacity>,
}
