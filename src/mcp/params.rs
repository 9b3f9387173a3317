//! Tool inputs and outputs. Field doc comments become the JSON Schema
//! descriptions agents read, so they say what a value means and what to do.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::WorkloadProfile;

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
pub(crate) struct Empty {}

/// A workload profile with its numbers.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Workload {
    /// Canonical name (hyphenated spellings are accepted too).
    pub(crate) name: String,
    /// What traffic it imitates.
    pub(crate) description: String,
    /// The use case it sizes for.
    pub(crate) use_case: String,
    /// Default concurrency (requests in flight).
    pub(crate) concurrency: u32,
    /// Levels of a sweep.
    pub(crate) concurrency_levels: Vec<u32>,
    /// Mean prompt tokens.
    pub(crate) input_tokens_mean: u32,
    /// Prompt token standard deviation.
    pub(crate) input_tokens_stddev: u32,
    /// Mean output tokens.
    pub(crate) output_tokens_mean: u32,
    /// Output token standard deviation.
    pub(crate) output_tokens_stddev: u32,
    /// Streamed responses.
    pub(crate) streaming: bool,
    /// Requests per level.
    pub(crate) request_count: u32,
    /// Prompt source.
    pub(crate) dataset: String,
    /// Tokens of a system prompt shared by every request.
    pub(crate) shared_prefix_tokens: u32,
    /// How lengths spread around their means: `normal` or `lognormal`.
    pub(crate) length_distribution: String,
    /// Requests carry the built-in OpenAI tools.
    pub(crate) tools: bool,
    /// Requests ask for structured output.
    pub(crate) structured_output: bool,
    /// Mean turns per session (0 or 1: independent requests; more: each
    /// turn sends the history, and the token figures are per turn).
    pub(crate) turns_mean: u32,
    /// Mean pause between turns, ms.
    pub(crate) think_time_ms_mean: u32,
}

impl From<&WorkloadProfile> for Workload {
    fn from(p: &WorkloadProfile) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            use_case: p.use_case.clone(),
            concurrency: p.concurrency,
            concurrency_levels: p.concurrency_levels.clone(),
            input_tokens_mean: p.input_tokens_mean,
            input_tokens_stddev: p.input_tokens_stddev,
            output_tokens_mean: p.output_tokens_mean,
            output_tokens_stddev: p.output_tokens_stddev,
            streaming: p.streaming,
            request_count: p.request_count,
            dataset: p.dataset.clone(),
            shared_prefix_tokens: p.shared_prefix_tokens,
            length_distribution: match p.length_distribution {
                crate::domain::LengthDistribution::Normal => "normal".into(),
                crate::domain::LengthDistribution::Lognormal => "lognormal".into(),
            },
            tools: p.tools,
            structured_output: p.structured_output,
            turns_mean: p.turns_mean,
            think_time_ms_mean: p.think_time_ms_mean,
        }
    }
}

/// Every profile of the catalog.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct WorkloadList {
    /// The profiles, by name.
    pub(crate) workloads: Vec<Workload>,
}

/// Which profile.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
pub(crate) struct WorkloadName {
    /// Profile name, e.g. `multi_turn_chat` or `multi-turn-chat`.
    pub(crate) workload: String,
}

/// The endpoint to measure.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct Endpoint {
    /// OpenAI-compatible base URL, e.g. `http://127.0.0.1:8000/v1`; `sim`
    /// for the built-in simulated endpoint; or
    /// `sagemaker://ENDPOINT[/INFERENCE_COMPONENT]` to send the load
    /// through the SageMaker runtime API (AWS credentials from the
    /// environment).
    pub(crate) url: String,
    /// Model name; discovered from `{url}/models` when omitted.
    pub(crate) model: Option<String>,
    /// `chat` (default) or `completions`.
    pub(crate) api: Option<String>,
    /// Extra request headers, e.g. `{"api-key": "…"}` for a gateway. Sent
    /// with every request; never written to a file or log.
    pub(crate) headers: Option<std::collections::BTreeMap<String, String>>,
    /// PEM text of a CA certificate to trust besides the system's roots
    /// (an https endpoint behind a private CA).
    pub(crate) ca_cert: Option<String>,
    /// Skip verification of the https endpoint's certificate.
    pub(crate) insecure: Option<bool>,
    /// Name of the server environment variable whose value is sent as the
    /// bearer token. Only for endpoints the operator allows (`serve
    /// --endpoint-allow`); by default an allowed endpoint gets
    /// OPENAI_API_KEY and any other endpoint no credential.
    pub(crate) api_key_env: Option<String>,
}

/// Values that replace the workload's.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunOverrides {
    /// Requests in flight (closed loop).
    pub(crate) concurrency: Option<u32>,
    /// Sweep these concurrencies, one result per level.
    pub(crate) concurrency_levels: Option<Vec<u32>>,
    /// Open loop: requests per second (Poisson arrivals unless
    /// arrival_pattern says otherwise).
    pub(crate) request_rate: Option<f64>,
    /// Open loop: sweep these request rates, one result per level.
    pub(crate) request_rate_levels: Option<Vec<f64>>,
    /// Spacing of open-loop arrivals: `poisson` (default) or `constant`.
    pub(crate) arrival_pattern: Option<ArrivalArg>,
    /// Open loop: at most this many requests in flight (arrivals wait for
    /// a free slot).
    pub(crate) max_concurrency: Option<u32>,
    /// Sweep the workload's concurrency levels.
    pub(crate) sweep: Option<bool>,
    /// Requests per level.
    pub(crate) request_count: Option<u64>,
    /// Seconds per level instead of a request count.
    pub(crate) duration_s: Option<f64>,
    /// Mean prompt tokens.
    pub(crate) input_tokens: Option<u32>,
    /// Standard deviation of the prompt tokens (normal, rounded).
    pub(crate) input_tokens_stddev: Option<u32>,
    /// Mean output tokens.
    pub(crate) output_tokens: Option<u32>,
    /// Standard deviation of the output tokens.
    pub(crate) output_tokens_stddev: Option<u32>,
    /// Tokens of a system prompt every request shares (prefix caching).
    pub(crate) shared_prefix_tokens: Option<u32>,
    /// How lengths spread around their means: `normal` (default) or
    /// `lognormal` (same mean and stddev, a long tail).
    pub(crate) length_distribution: Option<DistributionArg>,
    /// Send the built-in OpenAI tools (`tool_choice: auto`) with every
    /// request; replies that only call tools count as output.
    pub(crate) tools: Option<bool>,
    /// Ask for structured output (`response_format` with a JSON schema).
    pub(crate) structured_output: Option<bool>,
    /// Multi-turn sessions: mean turns per session (1 = independent
    /// requests). Every turn sends the whole history, the model's replies
    /// included; concurrency then counts sessions in flight and
    /// request_count counts turns.
    pub(crate) turns: Option<u32>,
    /// Standard deviation of the turns per session.
    pub(crate) turns_stddev: Option<u32>,
    /// Mean pause between a reply and the session's next turn, ms.
    pub(crate) think_time_ms: Option<u32>,
    /// Standard deviation of that pause, ms.
    pub(crate) think_time_ms_stddev: Option<u32>,
    /// Prompts from a file inside the directories the server may use:
    /// OpenAI chat JSON lines (`messages` or `prompt`, optional
    /// `max_tokens`), a ShareGPT JSON array, or a mooncake trace
    /// (`input_length`, `output_length`, `hash_ids`, `timestamp`). A trace
    /// with timestamps is replayed on its own timeline unless a
    /// concurrency or rate is given.
    pub(crate) dataset: Option<String>,
    /// The dataset's format: `openai`, `sharegpt` or `mooncake` (default:
    /// detected from the file).
    pub(crate) dataset_format: Option<DatasetFormatArg>,
    /// Replay a trace this many times faster (2 = timestamps halved;
    /// default 1).
    pub(crate) trace_speedup: Option<f64>,
    /// Tokenizer for token counts: a Hugging Face model id found in the
    /// server's local HF cache, or a tokenizer.json or model directory
    /// inside the directories the server may use. Default: a built-in
    /// approximation.
    pub(crate) tokenizer: Option<String>,
    /// Where ISL/OSL come from: `auto` (default), `client` or `server`.
    pub(crate) token_count: Option<TokenCountArg>,
    /// Extra request body fields sent with every request, e.g.
    /// {"ignore_eos": true}; at most 64 KiB of JSON.
    pub(crate) extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    /// Seed of prompts, lengths and arrivals (default 0).
    pub(crate) seed: Option<u64>,
    /// Stream responses.
    pub(crate) streaming: Option<bool>,
    /// Requests sent first and excluded from metrics.
    pub(crate) warmup_requests: Option<u32>,
    /// Per-request timeout, seconds (default 600).
    pub(crate) request_timeout_s: Option<f64>,
    /// Seconds in-flight requests may finish after a duration stop or a
    /// cancel (default 30).
    pub(crate) grace_period_s: Option<f64>,
    /// Service-level targets: every level then reports goodput (requests
    /// meeting every target per second).
    pub(crate) slo: Option<SloArg>,
    /// Simulator (endpoint `sim`): time to first token, ms (default 20).
    pub(crate) sim_ttft_ms: Option<f64>,
    /// Simulator: inter-token latency, ms (default 2).
    pub(crate) sim_itl_ms: Option<f64>,
    /// Simulator: uniform jitter on each token gap, ± ms (default 0).
    pub(crate) sim_itl_jitter_ms: Option<f64>,
    /// Simulator: probability of an HTTP 500 per request (default 0).
    pub(crate) sim_error_rate: Option<f64>,
    /// Simulator: generation slots; at most this many requests generate at
    /// once, the others queue before their first token (default unlimited).
    pub(crate) sim_slots: Option<u32>,
}

impl RunOverrides {
    /// The simulator settings these overrides give over the defaults.
    pub(crate) fn sim_settings(&self) -> crate::domain::SimSettings {
        crate::domain::SimSettings::with(
            self.sim_ttft_ms,
            self.sim_itl_ms,
            self.sim_itl_jitter_ms,
            self.sim_error_rate,
            self.sim_slots,
        )
    }
}

/// Service-level targets; every one is optional.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct SloArg {
    /// TTFT p99 at most this many ms.
    pub(crate) ttft_p99_ms: Option<f64>,
    /// TTFT p90 at most this many ms.
    pub(crate) ttft_p90_ms: Option<f64>,
    /// Inter-token latency p99 at most this many ms.
    pub(crate) itl_p99_ms: Option<f64>,
    /// End-to-end latency p99 at most this many ms.
    pub(crate) e2e_p99_ms: Option<f64>,
    /// Share of failed requests at most this (0–1).
    pub(crate) error_rate: Option<f64>,
}

impl From<SloArg> for crate::domain::Slo {
    fn from(a: SloArg) -> Self {
        Self {
            ttft_p99_ms: a.ttft_p99_ms,
            ttft_p90_ms: a.ttft_p90_ms,
            itl_p99_ms: a.itl_p99_ms,
            e2e_p99_ms: a.e2e_p99_ms,
            error_rate: a.error_rate,
        }
    }
}

/// The range and budget of a capacity search.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchArg {
    /// `concurrency` (default: requests in flight) or `rate` (requests/s).
    pub(crate) mode: Option<SearchModeArg>,
    /// Lowest concurrency probed (default 1).
    pub(crate) min_concurrency: Option<u32>,
    /// Highest concurrency probed (default 256).
    pub(crate) max_concurrency: Option<u32>,
    /// Lowest rate probed, requests/s (default 1).
    pub(crate) min_rate: Option<f64>,
    /// Highest rate probed, requests/s (default 1000).
    pub(crate) max_rate: Option<f64>,
    /// Seconds the whole search may take (default 600).
    pub(crate) budget_s: Option<f64>,
}

/// Spacing of open-loop arrivals.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ArrivalArg {
    /// Exponential gaps.
    Poisson,
    /// Evenly spaced.
    Constant,
}

/// A dataset file's format.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DatasetFormatArg {
    /// JSON lines of chat `messages` or `prompt`.
    Openai,
    /// A JSON array of ShareGPT conversations.
    Sharegpt,
    /// JSON lines of a mooncake serving trace.
    Mooncake,
}

/// How lengths spread around their means.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DistributionArg {
    /// Normal, rounded.
    Normal,
    /// Lognormal with the same mean and standard deviation.
    Lognormal,
}

/// Where token counts come from.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenCountArg {
    /// The HF tokenizer if loaded, else server usage, else the client's.
    Auto,
    /// Always the client tokenizer.
    Client,
    /// Server usage where reported.
    Server,
}

/// What a capacity search varies.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SearchModeArg {
    /// Requests in flight.
    Concurrency,
    /// Requests per second.
    Rate,
}

/// `find_capacity` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapacityArgs {
    /// The endpoint to measure with the local engine (`sim` for the
    /// built-in simulator); omit for a SageMaker project's endpoint.
    pub(crate) endpoint: Option<Endpoint>,
    /// `local` (this machine sends each probe's load) or `sagemaker` (each
    /// probe is a SageMaker AI benchmark job next to the endpoint; searches
    /// concurrency only). Default as for start_benchmark: `local` when
    /// endpoint.url is given, else `sagemaker` when the project has an
    /// endpoint.
    pub(crate) engine: Option<String>,
    /// Inference component of the project (do/ic/<ic>.conf) to measure.
    pub(crate) ic: Option<String>,
    /// Catalog workload giving the request shape (default: 550 input / 150
    /// output tokens, streaming).
    pub(crate) workload: Option<String>,
    /// The targets the answer must meet; at least one.
    pub(crate) slo: SloArg,
    /// Search range and time budget.
    pub(crate) search: Option<SearchArg>,
    /// Request shape and timing over the workload's (levels and counts are
    /// the search's).
    pub(crate) overrides: Option<RunOverrides>,
    /// Free-form label to find the run later.
    pub(crate) label: Option<String>,
    /// ml-container-creator project the endpoint belongs to (for the history).
    pub(crate) project_dir: Option<String>,
}

/// `start_benchmark` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartArgs {
    /// Catalog workload (see list_workloads). Without one: concurrency 10,
    /// 550 input / 150 output tokens, streaming, 100 requests.
    pub(crate) workload: Option<String>,
    /// The endpoint to measure with the local engine (omit for a SageMaker
    /// project's endpoint).
    pub(crate) endpoint: Option<Endpoint>,
    /// `local` (this machine sends the load) or `sagemaker` (a SageMaker AI
    /// benchmark job runs AIPerf next to the endpoint). Default: `local`
    /// when endpoint.url is given, else `sagemaker` when the project has an
    /// endpoint. `local` without endpoint.url drives the project's endpoint
    /// from this machine through the SageMaker runtime API.
    pub(crate) engine: Option<String>,
    /// ml-container-creator project directory (holding do/config); default:
    /// the server's working directory.
    pub(crate) project_dir: Option<String>,
    /// Inference component of the project (do/ic/<ic>.conf) to benchmark.
    pub(crate) ic: Option<String>,
    /// Adapter of the project (do/adapters/<adapter>.conf) to benchmark.
    pub(crate) adapter: Option<String>,
    /// Values replacing the workload's.
    pub(crate) overrides: Option<RunOverrides>,
    /// Free-form label to find the run later.
    pub(crate) label: Option<String>,
    /// Start a new run even if one for the same target and workload is active.
    #[serde(default)]
    pub(crate) force: bool,
}

/// A started (or reused) run.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Started {
    /// Handle for get_status, fetch_results and cancel_benchmark. Runs are
    /// kept until clean removes them.
    pub(crate) run_id: String,
    /// Current state.
    pub(crate) status: String,
    /// True when an already active run for the same target and workload was
    /// returned instead of starting a new one.
    pub(crate) reused: bool,
    /// Directory with the run's files.
    pub(crate) run_dir: String,
}

/// `get_status` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusArgs {
    /// The run; the most recent one when omitted.
    pub(crate) run_id: Option<String>,
    /// Wait up to this many seconds (0–50) for the state to change before
    /// answering, instead of polling.
    pub(crate) wait_seconds: Option<f64>,
}

/// Live progress of a run.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct ProgressInfo {
    /// Level being run (1-based) and how many there are.
    pub(crate) level: usize,
    /// Number of levels.
    pub(crate) levels: usize,
    /// Requests finished in this level.
    pub(crate) completed: u64,
    /// Requests per level (0 for duration runs).
    pub(crate) total: u64,
    /// Failed requests in this level.
    pub(crate) errors: u64,
    /// Seconds since the level started.
    pub(crate) elapsed_s: f64,
    /// Estimated seconds left in this level, when known.
    pub(crate) eta_s: Option<f64>,
    /// Finished requests per second in this level so far.
    pub(crate) requests_per_s: f64,
    /// True while warmup requests run.
    pub(crate) warming_up: bool,
    /// Median time to first token so far in this level, ms (approximate:
    /// within ~5%; the final results are exact).
    pub(crate) ttft_p50_ms: Option<f64>,
    /// A capacity search's probes so far: load, pass or fail, the figures
    /// judged and which targets failed.
    #[schemars(schema_with = "crate::domain::schema::object_array_or_null")]
    pub(crate) probes: Option<serde_json::Value>,
}

/// One SageMaker benchmark job of a run.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct CloudJobStatus {
    /// Concurrency of its level.
    pub(crate) concurrency: u32,
    /// `AIBenchmarkJobName`.
    pub(crate) job_name: String,
    /// Last status seen (`InProgress`, `Completed`, `Failed`, `Stopping`,
    /// `Stopped`); absent before the job is created.
    pub(crate) status: Option<String>,
    /// The service's `FailureReason`, when the job failed.
    pub(crate) failure_reason: Option<String>,
    /// Parts of the job's output that were not imported (links, devices,
    /// paths leaving the run directory), each with its reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) output_warnings: Vec<String>,
}

/// State of a run.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct Status {
    /// The run.
    pub(crate) run_id: String,
    /// queued, running, collecting, completed, failed, cancelled or interrupted.
    pub(crate) status: String,
    /// Live progress (from the runner).
    pub(crate) progress: Option<ProgressInfo>,
    /// Why it failed, was cancelled or interrupted.
    pub(crate) failure: Option<String>,
    /// True when wait_seconds elapsed without a state change.
    pub(crate) timed_out: bool,
    /// Workload, target and label.
    pub(crate) workload: Option<String>,
    /// Endpoint URL, `sim`, or `sagemaker://endpoint[/component]`.
    pub(crate) target: String,
    /// `local`, `sagemaker` or `stage`.
    pub(crate) engine: String,
    /// SageMaker runs: one benchmark job per concurrency level and where
    /// each stands (empty for local runs, whose `progress` is live).
    pub(crate) cloud_jobs: Vec<CloudJobStatus>,
    /// Staging runs (stage_model): files and bytes done, then the report.
    pub(crate) staging: Option<super::stage::Staging>,
    /// Label given at start.
    pub(crate) label: Option<String>,
    /// RFC 3339 times.
    pub(crate) created_at: String,
    /// When measuring started.
    pub(crate) started_at: Option<String>,
    /// When the run ended.
    pub(crate) finished_at: Option<String>,
}

/// `fetch_results` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResultsArgs {
    /// The run.
    pub(crate) run_id: String,
    /// `summary` (default) or `full` (adds the complete result document).
    pub(crate) detail: Option<String>,
}

/// p50/p90/p99 of a latency, ms.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub(crate) avg: f64,
}

/// One level's figures.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct LevelSummary {
    /// Level label (`c8` = concurrency 8, `r10` = 10 req/s).
    pub(crate) level: String,
    /// Successful requests.
    pub(crate) requests: u64,
    /// Failed requests.
    pub(crate) errors: u64,
    /// Requests per second.
    pub(crate) request_throughput: f64,
    /// Output tokens per second.
    pub(crate) output_token_throughput: f64,
    /// End-to-end latency, ms.
    pub(crate) latency_ms: Option<Percentiles>,
    /// Time to first token, ms.
    pub(crate) ttft_ms: Option<Percentiles>,
    /// Inter-token latency, ms.
    pub(crate) itl_ms: Option<Percentiles>,
    /// True when the client, not the endpoint, limited the measurement.
    pub(crate) client_bound: bool,
    /// Why, when client_bound.
    pub(crate) validity_reasons: Vec<String>,
    /// The full validity certificate.
    #[schemars(schema_with = "crate::domain::schema::any_object")]
    pub(crate) validity: serde_json::Value,
    /// Failures grouped by kind.
    #[schemars(schema_with = "crate::domain::schema::object_array")]
    pub(crate) error_summary: serde_json::Value,
    /// Directory with this level's AIPerf exports.
    pub(crate) export_dir: String,
}

/// Results of a run.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct Results {
    /// The run.
    pub(crate) run_id: String,
    /// Its state.
    pub(crate) status: String,
    /// Model the requests named.
    pub(crate) model: String,
    /// One entry per level.
    pub(crate) levels: Vec<LevelSummary>,
    /// Key indicators (TTFT > 500 ms, ITL > 50 ms, plateau, errors, client bound).
    #[schemars(schema_with = "crate::domain::schema::object_array")]
    pub(crate) indicators: serde_json::Value,
    /// Paths of the export files.
    pub(crate) files: Vec<String>,
    /// The run's self-contained HTML report (plots, validity, errors).
    pub(crate) report: Option<String>,
    /// The report as an MCP resource (resources/read, text/html).
    pub(crate) report_uri: Option<String>,
    /// Where the run's rows went in the results history (local Parquet,
    /// S3, Athena partition) and any warnings about it.
    #[schemars(schema_with = "crate::domain::schema::any_object_or_null")]
    pub(crate) history: Option<serde_json::Value>,
    /// The complete result document (detail = full only).
    #[schemars(schema_with = "crate::domain::schema::any_object_or_null")]
    pub(crate) full: Option<serde_json::Value>,
    /// A capacity search's answer: max_concurrency or max_rate, goodput,
    /// the figures at capacity and at the first failure, confidence, and
    /// every probe (each also a level above).
    #[schemars(schema_with = "crate::domain::schema::any_object_or_null")]
    pub(crate) capacity: Option<serde_json::Value>,
}

/// `list_benchmarks` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {
    /// Only runs in this state.
    pub(crate) status: Option<String>,
    /// Only runs of this workload.
    pub(crate) workload: Option<String>,
    /// Only runs of this engine: `local`, `sagemaker`, or `stage` (model
    /// staging runs).
    pub(crate) engine: Option<String>,
    /// Only runs of this model (the model id the requests named or the
    /// project's HF_MODEL_ID; case-insensitive, a substring matches).
    pub(crate) model: Option<String>,
    /// Only runs on this instance type (`ml.g5.2xlarge`).
    pub(crate) instance: Option<String>,
    /// Only runs of this adapter; `none` for base-model runs.
    pub(crate) adapter: Option<String>,
    /// Only runs with this label.
    pub(crate) label: Option<String>,
    /// Page size (default 20, at most 100).
    pub(crate) limit: Option<usize>,
    /// Cursor from a previous page's next_cursor.
    pub(crate) cursor: Option<String>,
}

/// One run in a listing.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct RunSummary {
    /// The run.
    pub(crate) run_id: String,
    /// Its state.
    pub(crate) status: String,
    /// Workload.
    pub(crate) workload: Option<String>,
    /// `local`, `sagemaker` or `stage`.
    pub(crate) engine: String,
    /// Endpoint URL, `sim`, `sagemaker://…`, or the `s3://…` a staging run
    /// fills.
    pub(crate) target: String,
    /// Label.
    pub(crate) label: Option<String>,
    /// Model id, when known.
    pub(crate) model: Option<String>,
    /// Instance type, when known.
    pub(crate) instance: Option<String>,
    /// Adapter measured, when one was.
    pub(crate) adapter: Option<String>,
    /// When it was created.
    pub(crate) created_at: String,
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct RunList {
    /// The runs.
    pub(crate) runs: Vec<RunSummary>,
    /// Pass as cursor for the next page; absent on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// Which run.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunId {
    /// The run.
    pub(crate) run_id: String,
}

/// `clean` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct CleanArgs {
    /// Remove this run.
    pub(crate) run_id: Option<String>,
    /// Remove every finished run.
    #[serde(default)]
    pub(crate) finished: bool,
    /// Also delete the runs' directories (results and exports).
    #[serde(default)]
    pub(crate) delete_local_artifacts: bool,
    /// Also stop and remove an active run.
    #[serde(default)]
    pub(crate) force: bool,
}

/// What clean did.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct Cleaned {
    /// Runs removed from the history.
    pub(crate) removed: Vec<String>,
    /// Directories deleted.
    pub(crate) deleted_dirs: Vec<String>,
    /// SageMaker benchmark jobs and workload configs deleted.
    pub(crate) cloud_deleted: Vec<String>,
    /// What could not be done, and what to do about it.
    pub(crate) warnings: Vec<String>,
}

/// Outcome of a cancellation request.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Cancelled {
    /// The run.
    pub(crate) run_id: String,
    /// State when the request was made (the runner stops within its grace period).
    pub(crate) status: String,
    /// What happens next.
    pub(crate) message: String,
}

/// Optional input fields become plain optional (absent = not set) instead
/// of nullable (`"type": ["string", "null"]`), so every property has one
/// `type`: clients that map tool schemas onto single-type dialects (such as
/// function-declaration formats) accept them. `null` is still accepted.
pub(crate) fn portable(schema: &mut schemars::Schema) {
    let Some(props) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for prop in props.values_mut() {
        if let Some(obj) = prop.as_object_mut() {
            drop_null_branch(obj);
        }
    }
}

fn drop_null_branch(obj: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    let is_null = |v: &Value| v == "null" || v.get("type").is_some_and(|t| t == "null");
    if let Some(Value::Array(types)) = obj.get("type") {
        let rest: Vec<Value> = types.iter().filter(|t| !is_null(t)).cloned().collect();
        if let [single] = rest.as_slice() {
            obj.insert("type".into(), single.clone());
        }
    }
    if let Some(Value::Array(branches)) = obj.get("anyOf") {
        let rest: Vec<Value> = branches.iter().filter(|b| !is_null(b)).cloned().collect();
        if let [Value::Object(inner)] = rest.as_slice() {
            let inner = inner.clone();
            obj.remove("anyOf");
            for (k, v) in inner {
                obj.entry(k).or_insert(v);
            }
        }
    }
}
