//! Flag definitions. Every flag has a documented default; workload values
//! fill only what the flags leave unset.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// `mcc-bench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Catalog workload to run (`mcc-bench workloads` lists them). Without
    /// one: concurrency 10, 550 input / 150 output tokens, streaming, 100 requests.
    #[arg(long, short = 'w', env = "MCC_BENCH_WORKLOAD")]
    pub workload: Option<String>,
    /// Endpoint base URL (`http://HOST:PORT/v1`), `sim` for the built-in
    /// simulator, or `sagemaker://ENDPOINT[/INFERENCE_COMPONENT]` for a
    /// SageMaker endpoint through its runtime API.
    #[arg(
        long,
        short = 'e',
        env = "MCC_BENCH_ENDPOINT",
        visible_alias = "url",
        visible_short_alias = 'u'
    )]
    pub endpoint: Option<String>,
    /// `local` (this machine sends the load; the default with --endpoint)
    /// or `sagemaker` (a SageMaker AI benchmark job runs it next to the
    /// project's endpoint; the default with --project and no --endpoint).
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// ml-container-creator project directory (holding do/config).
    /// Default: the working directory.
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Inference component of the project (do/ic/NAME.conf).
    #[arg(long, conflicts_with = "adapter")]
    pub ic: Option<String>,
    /// Adapter of the project (do/adapters/NAME.conf).
    #[arg(long)]
    pub adapter: Option<String>,
    /// API to call.
    #[arg(long, value_enum, default_value_t = Api::Chat, visible_alias = "endpoint-type")]
    pub api: Api,
    /// Model name; discovered from `{endpoint}/models` when omitted.
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// Bearer token for the endpoint.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Extra request header `Name: value` (repeatable), e.g. `-H "api-key: KEY"`
    /// for gateways; values are never written to a file or log.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// CA certificate file (PEM) trusted besides the system's roots, for an
    /// https endpoint behind a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the https endpoint's certificate.
    #[arg(long)]
    pub insecure: bool,
    /// Concurrency, or a comma-separated sweep (`1,4,8`). Overrides the workload.
    #[arg(long, short = 'c', value_delimiter = ',')]
    pub concurrency: Vec<u32>,
    /// Sweep the workload's `concurrency_levels` (one result per level).
    #[arg(long, conflicts_with = "concurrency")]
    pub sweep: bool,
    /// Open loop: requests per second, or a comma-separated sweep.
    #[arg(long, short = 'r', value_delimiter = ',')]
    pub request_rate: Vec<f64>,
    /// Spacing of open-loop arrivals.
    #[arg(long, value_enum, default_value_t = Arrival::Poisson)]
    pub arrival_pattern: Arrival,
    /// Cap on requests in flight in open-loop mode.
    #[arg(long)]
    pub max_concurrency: Option<u32>,
    /// Requests per level (default: the workload's, else 100).
    #[arg(long, short = 'n')]
    pub request_count: Option<u64>,
    /// Seconds per level instead of a request count.
    #[arg(
        long,
        conflicts_with = "request_count",
        visible_alias = "benchmark-duration"
    )]
    pub duration: Option<f64>,
    /// Requests sent first and excluded from the metrics.
    #[arg(long, default_value_t = 0, visible_alias = "warmup-request-count")]
    pub warmup_requests: u32,
    /// Mean prompt tokens.
    #[arg(long, visible_aliases = ["isl", "synthetic-input-tokens-mean"])]
    pub input_tokens: Option<u32>,
    /// Prompt token standard deviation.
    #[arg(long, visible_aliases = ["isl-stddev", "synthetic-input-tokens-stddev"])]
    pub input_tokens_stddev: Option<u32>,
    /// Mean output tokens (sent as `max_tokens`).
    #[arg(long, visible_aliases = ["osl", "output-tokens-mean"])]
    pub output_tokens: Option<u32>,
    /// Output token standard deviation.
    #[arg(long, visible_alias = "osl-stddev")]
    pub output_tokens_stddev: Option<u32>,
    /// Tokens of a system prompt shared by every request (part of the input).
    #[arg(long)]
    pub shared_prefix_tokens: Option<u32>,
    /// Length distribution, tools, structured output, sessions.
    #[command(flatten)]
    pub shape: super::shape_args::ShapeArgs,
    /// Stream responses (SSE).
    #[arg(long, overrides_with = "no_streaming")]
    pub streaming: bool,
    /// Do not stream responses.
    #[arg(long, overrides_with = "streaming")]
    pub no_streaming: bool,
    /// Hugging Face tokenizer: a tokenizer.json path, a directory, or a model
    /// id in the local HF cache. Default: the built-in approximation.
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// Where ISL/OSL come from.
    #[arg(long, value_enum, default_value_t = TokenCount::Auto)]
    pub token_count: TokenCount,
    /// Same as `--token-count server` (AIPerf's flag).
    #[arg(long, conflicts_with = "token_count")]
    pub use_server_token_count: bool,
    /// Extra request body field `KEY=VALUE` or AIPerf's `KEY:VALUE` (VALUE
    /// parsed as JSON when it parses, else a string); repeatable. E.g.
    /// `--extra ignore_eos=true`.
    #[arg(
        long = "extra",
        value_name = "KEY=VALUE",
        visible_alias = "extra-inputs"
    )]
    pub extra: Vec<String>,
    /// Extra request body fields as one JSON object.
    #[arg(long, value_name = "JSON")]
    pub extra_body: Option<String>,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 600.0)]
    pub request_timeout: f64,
    /// Seconds in-flight requests may finish after a duration stop or Ctrl+C.
    #[arg(long, default_value_t = 30.0)]
    pub grace_period: f64,
    /// Directory for the outputs (default `./artifacts/<run id>`).
    #[arg(long, short = 'o', visible_alias = "artifact-dir")]
    pub output_dir: Option<PathBuf>,
    /// Seed of prompts, lengths and arrivals.
    #[arg(long, default_value_t = 0, visible_alias = "random-seed")]
    pub seed: u64,
    /// Service-level target `NAME=VALUE` (repeatable or comma-separated):
    /// ttft_p99_ms, ttft_p90_ms, itl_p99_ms, e2e_p99_ms, error_rate. Each
    /// level then reports goodput: requests meeting every target per second.
    #[arg(
        long,
        alias = "goodput",
        value_name = "NAME=VALUE",
        value_delimiter = ','
    )]
    pub slo: Vec<String>,
    /// Print the machine-readable result on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Never show the progress line.
    #[arg(long)]
    pub no_progress: bool,
    /// Simulator knobs (with `--endpoint sim`).
    #[command(flatten)]
    pub sim: RunSimArgs,
}

/// `mcc-bench capacity`: a run's flags (the request shape, the endpoint,
/// `--slo`) plus the search's range and budget.
#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// The run's flags; concurrency, rate and counts are the search's.
    #[command(flatten)]
    pub run: RunArgs,
    /// What to vary: requests in flight, or requests per second.
    #[arg(long, value_enum, default_value_t = SearchModeArg::Concurrency)]
    pub mode: SearchModeArg,
    /// Lowest load probed [default: 1].
    #[arg(long)]
    pub min: Option<f64>,
    /// Highest load probed [default: 256 concurrency, 1000 requests/s].
    #[arg(long)]
    pub max: Option<f64>,
    /// Seconds the whole search may take.
    #[arg(long, default_value_t = 600.0)]
    pub budget: f64,
}

/// What a capacity search varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchModeArg {
    /// Requests in flight.
    Concurrency,
    /// Requests per second.
    Rate,
}

/// Which engine runs the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// The embedded load generator on this machine.
    Local,
    /// SageMaker AI benchmark jobs (AIPerf, next to the endpoint).
    Sagemaker,
}

/// Knobs of the in-process simulator used by `run --endpoint sim`; unset
/// ones take the run's simulator defaults (`domain::SimSettings`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Simulator (--endpoint sim)")]
pub struct RunSimArgs {
    /// Simulated time to first token, ms [default: 20].
    #[arg(long)]
    pub sim_ttft_ms: Option<f64>,
    /// Simulated inter-token latency, ms [default: 2].
    #[arg(long)]
    pub sim_itl_ms: Option<f64>,
    /// Uniform jitter on each token gap, ± ms [default: 0].
    #[arg(long)]
    pub sim_itl_jitter_ms: Option<f64>,
    /// Probability of an HTTP 500 per request [default: 0].
    #[arg(long)]
    pub sim_error_rate: Option<f64>,
    /// Generation slots: at most N requests generate at once, the others
    /// queue before their first token (a known, finite capacity)
    /// [default: unlimited].
    #[arg(long, value_name = "N")]
    pub sim_slots: Option<u32>,
}

impl RunSimArgs {
    /// The settings these flags give over the defaults.
    pub fn settings(&self) -> crate::domain::SimSettings {
        crate::domain::SimSettings::with(
            self.sim_ttft_ms,
            self.sim_itl_ms,
            self.sim_itl_jitter_ms,
            self.sim_error_rate,
            self.sim_slots,
        )
    }
}

/// `mcc-bench sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 = any free port; the URL is printed).
    #[arg(long, short = 'p', default_value_t = 8000)]
    pub port: u16,
    /// Model name served.
    #[arg(long, default_value = "mcc-bench-sim")]
    pub model: String,
    /// Time to first token, ms.
    #[arg(long, default_value_t = 50.0)]
    pub ttft_ms: f64,
    /// Inter-token latency, ms.
    #[arg(long, default_value_t = 10.0)]
    pub itl_ms: f64,
    /// Uniform jitter on each token gap, ± ms.
    #[arg(long, default_value_t = 0.0)]
    pub itl_jitter_ms: f64,
    /// Output tokens when a request sets no `max_tokens`.
    #[arg(long, default_value_t = 16)]
    pub default_max_tokens: u32,
    /// Probability of HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Generation slots: at most N requests generate at once, the others
    /// queue before their first token [default: unlimited].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub slots: Option<u32>,
    /// Probability of HTTP 429.
    #[arg(long, default_value_t = 0.0)]
    pub rate_limit_rate: f64,
    /// Probability of cutting a stream half-way.
    #[arg(long, default_value_t = 0.0)]
    pub cut_rate: f64,
    /// Probability of an error event inside a 200 stream.
    #[arg(long, default_value_t = 0.0)]
    pub error_event_rate: f64,
    /// Probability of a malformed chunk.
    #[arg(long, default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Probability of a stall before the first token.
    #[arg(long, default_value_t = 0.0)]
    pub stall_rate: f64,
    /// Length of a stall, ms.
    #[arg(long, default_value_t = 1000.0)]
    pub stall_ms: f64,
    /// Seed of jitter, words and faults.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `--api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// `/chat/completions`.
    Chat,
    /// `/completions`.
    Completions,
}

/// `--arrival-pattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arrival {
    /// Evenly spaced.
    Constant,
    /// Exponential gaps.
    Poisson,
}

/// `--token-count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenCount {
    /// HF tokenizer if loaded, else server usage, else client.
    Auto,
    /// Always the client tokenizer.
    Client,
    /// Server usage where reported.
    Server,
}

/// `mcc-bench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Which tools to offer: `catalog` is ml-container-creator's
    /// workload-picker (list_workloads, get_workload_profile).
    #[arg(long, value_enum, default_value_t = ToolsetArg::All, env = "MCC_BENCH_TOOLSET")]
    pub toolset: ToolsetArg,
    /// Offer no tool that starts, cancels or deletes anything.
    #[arg(long, env = "MCC_BENCH_READ_ONLY")]
    pub read_only: bool,
    /// Where runs and their records live (default: $MCC_BENCH_HOME, else the
    /// XDG state directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The ml-container-creator project tool calls use when they name none
    /// (default: the working directory); always an allowed directory.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Serve HTTP on ADDR instead of stdio: streamable HTTP at /mcp and the
    /// legacy HTTP+SSE transport at /sse (e.g. 127.0.0.1:8765; port 0 picks
    /// a free port, printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// Bearer token HTTP clients must send; required to bind a non-loopback
    /// address.
    #[arg(long, env = "MCC_BENCH_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Extra allowed browser Origin (loopback origins are always allowed);
    /// repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Seconds between keep-alive comments on idle HTTP event streams, so
    /// proxies do not cut them.
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keep_alive: u64,
    /// Endpoint URL prefix that may receive the server's OPENAI_API_KEY
    /// (repeatable). Other endpoints a tool call names get no credential.
    #[arg(long = "endpoint-allow", value_name = "URL_PREFIX")]
    pub endpoint_allow: Vec<String>,
    /// Directory tool calls may name as project_dir or local_dir, besides
    /// the working directory (repeatable).
    #[arg(long = "allow-dir", value_name = "DIR")]
    pub allow_dir: Vec<PathBuf>,
    /// S3 bucket stage_model may write besides the profile's models bucket
    /// (repeatable).
    #[arg(long = "allow-bucket", value_name = "NAME")]
    pub allow_bucket: Vec<String>,
    /// Container image of staging processing jobs (default: the region's
    /// ml-container-creator image).
    #[arg(long, value_name = "URI")]
    pub processing_image: Option<String>,
    /// Runs may fetch a tokenizer.json missing from the local Hugging Face
    /// cache from the Hub (HF_ENDPOINT, HF_TOKEN) into that cache (at most
    /// 64 MiB a model). Off: a tool call cannot make the server download.
    #[arg(long)]
    pub allow_tokenizer_download: bool,
    /// Server configuration (JSON: endpoint_allow, allow_dirs,
    /// allow_buckets, processing_image, allow_tokenizer_download); flags
    /// add to it. Default:
    /// ~/.config/mcc-bench/server.json when it exists.
    #[arg(long, value_name = "FILE", env = "MCC_BENCH_SERVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Statement timeout of query_results, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub query_timeout: u64,
    /// Most runs with a live runner at once under this home.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_active_runs: u64,
    /// Memory one query_results query may use, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(64..=1_048_576))]
    pub query_memory_mib: u64,
    /// Most HTTP connections served at once; one more is answered 503
    /// (Retry-After: 1) and closed at once.
    #[arg(long, value_name = "N", default_value_t = crate::mcp::DEFAULT_MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections: u64,
    /// Most legacy HTTP+SSE sessions open at once; one more GET /sse is
    /// answered 503 (Retry-After: 5).
    #[arg(long, value_name = "N", default_value_t = crate::mcp::DEFAULT_MAX_SESSIONS as u64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_sessions: u64,
    /// Milliseconds an HTTP client has to send a request head (also the
    /// longest a keep-alive connection idles); for tests.
    #[arg(long, value_name = "MS", hide = true, default_value_t = crate::mcp::DEFAULT_HEADER_TIMEOUT.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub header_timeout_ms: u64,
}

/// `--toolset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToolsetArg {
    /// Catalog tools only.
    Catalog,
    /// Benchmark tools only.
    Benchmark,
    /// Every tool.
    All,
}

/// `mcc-bench call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Server name in mcp.json (e.g. `mcc-bench`, `workload-picker`).
    pub server: String,
    /// Tool to call (omit with --list).
    pub tool: Option<String>,
    /// Tool arguments as `key=value` (dotted keys nest; values parse as JSON).
    pub pairs: Vec<String>,
    /// Tool arguments as one JSON object (key=value pairs are merged over it).
    #[arg(long, value_name = "JSON")]
    pub args: Option<String>,
    /// List the server's tools instead of calling one.
    #[arg(long)]
    pub list: bool,
    /// mcp.json to read (default: ./mcp.json, ./config/mcp.json, ./.mcp.json,
    /// then ~/.config/mcc-bench/mcp.json).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Pretty JSON.
    Json,
    /// Aligned text for people.
    Table,
}

/// `mcc-bench status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The run (default: the newest).
    pub run_id: Option<String>,
    /// Wait up to this many seconds for an active run to end.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub wait: f64,
    /// Print the record and results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Where runs live (default: $MCC_BENCH_HOME, else the XDG state directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<std::path::PathBuf>,
}

/// `mcc-bench stage`.
#[derive(Debug, Args)]
pub struct StageArgs {
    /// Hugging Face model id (`org/name`); default: the project's HF_MODEL_ID.
    #[arg(long)]
    pub model_id: Option<String>,
    /// Take the weights from this folder (it must hold config.json); without
    /// it: the local Hugging Face cache, else the Hub (HF_ENDPOINT, HF_TOKEN).
    #[arg(long)]
    pub local_dir: Option<std::path::PathBuf>,
    /// Destination bucket; default: the bootstrap profile's modelsS3Bucket.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Hub revision (branch, tag or commit).
    #[arg(long)]
    pub revision: Option<String>,
    /// Upload every file even when it is already there.
    #[arg(long)]
    pub force: bool,
    /// ml-container-creator project (defaults, and STAGED_MODEL_PATH is
    /// recorded in its do/config); default: the working directory.
    #[arg(long)]
    pub project: Option<std::path::PathBuf>,
    /// `local` (this machine downloads and uploads) or `processing-job`
    /// (a SageMaker Processing Job does, for models larger than the disk).
    #[arg(long, value_enum, default_value_t = StageMode::Local)]
    pub mode: StageMode,
    /// Processing job instance type (ml.m5.xlarge).
    #[arg(long)]
    pub instance_type: Option<String>,
    /// Processing job volume, GB (2048).
    #[arg(long)]
    pub volume_gb: Option<i32>,
    /// Processing job image (ml-container-creator's PyTorch CPU image).
    #[arg(long)]
    pub image: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where staging work happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageMode {
    /// This machine.
    Local,
    /// A SageMaker Processing Job.
    ProcessingJob,
}

/// `mcc-bench query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// One SQL query over `mlcc_ci.benchmark_results` (SELECT / WITH only).
    pub sql: String,
    /// `local` (the history under $MCC_BENCH_HOME/results) or `athena`.
    #[arg(long, default_value = "local")]
    pub target: String,
    /// Most rows to print.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print JSON (columns, rows, truncated) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where runs live (default: $MCC_BENCH_HOME, else the XDG state directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

/// `mcc-bench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Runs to compare: ids (`mcc-bench status`, list_benchmarks) or the
    /// output directory / results.json of a `mcc-bench run`. The first is
    /// the baseline unless --baseline is given or the project pins one.
    pub runs: Vec<String>,
    /// The baseline run.
    #[arg(long)]
    pub baseline: Option<String>,
    /// ml-container-creator project: its pinned baseline
    /// (BENCHMARK_PINNED_BASELINE in do/config) is the default baseline.
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Pin this run as the project's baseline (writes do/config) and exit.
    #[arg(long, value_name = "RUN_ID", requires = "project")]
    pub set_baseline: Option<String>,
    /// Remove the project's pinned baseline and exit.
    #[arg(long, requires = "project", conflicts_with = "set_baseline")]
    pub clear_baseline: bool,
    /// Changes smaller than this percentage count as the same.
    #[arg(long, default_value_t = crate::metrics::DEFAULT_NOISE_PERCENT)]
    pub threshold: f64,
    /// Repeated runs of the baseline configuration (comma-separated); with
    /// --candidate-runs and three or more on each side, the gate uses
    /// Welch's t-test and reports each delta's 95% confidence interval.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "RUN,…",
        conflicts_with = "runs"
    )]
    pub baseline_runs: Vec<String>,
    /// Repeated runs of the candidate configuration (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "RUN,…",
        requires = "baseline_runs"
    )]
    pub candidate_runs: Vec<String>,
    /// Write the HTML report here (default: $MCC_BENCH_HOME/comparisons/…).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    /// Where runs live (default: $MCC_BENCH_HOME, else the XDG state directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

/// `mcc-bench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run: an id, or the output directory / results.json of a
    /// `mcc-bench run` (default: the newest recorded run).
    pub run: Option<String>,
    /// Write the HTML here (default: report.html in the run's directory).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where runs live (default: $MCC_BENCH_HOME, else the XDG state directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

/// `mcc-bench clean`: which runs to remove from the history.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The run to remove.
    #[arg(required_unless_present = "finished", conflicts_with = "finished")]
    pub run_id: Option<String>,
    /// Every finished run (and the projects' SageMaker leftovers).
    #[arg(long)]
    pub finished: bool,
    /// Also delete the runs' directories (results and exports).
    #[arg(long)]
    pub delete_files: bool,
    /// Also stop and remove an active run.
    #[arg(long)]
    pub force: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}
