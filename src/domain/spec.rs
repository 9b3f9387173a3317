//! The resolved specification of one benchmark run. It is written next to the
//! results (`run_spec.json`) so every figure can be traced to what produced it.

use serde::{Deserialize, Serialize};

/// Which OpenAI-compatible API the requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// `POST {base}/chat/completions` with `messages`.
    #[default]
    Chat,
    /// `POST {base}/completions` with `prompt`.
    Completions,
}

/// Where requests go and how they are shaped.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EndpointSpec {
    /// Base URL as given (`http://host:port/v1`), or the in-process simulator's.
    pub url: String,
    /// Chat or legacy completions.
    pub api: ApiKind,
    /// Model name sent in every request; discovered from `/models` when absent.
    pub model: Option<String>,
    /// Bearer token. Never serialised, so it never reaches a results file.
    #[serde(skip)]
    pub api_key: Option<String>,
    /// Extra JSON fields merged into every request body (`ignore_eos`, …).
    #[serde(default)]
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// True when the target is the built-in simulated endpoint.
    #[serde(default)]
    pub simulated: bool,
    /// The simulator's settings (used when `simulated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<super::SimSettings>,
    /// How the endpoint's certificate is checked (https only).
    #[serde(default, skip_serializing_if = "TlsSpec::is_default")]
    pub tls: TlsSpec,
    /// Extra request headers (`api-key`, gateway headers). Never serialised
    /// and never shown by `Debug`: their values are credentials.
    #[serde(skip)]
    pub headers: SecretHeaders,
}

/// How an https endpoint's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TlsSpec {
    /// CA certificates (PEM) trusted besides the system's roots, for an
    /// endpoint behind a private CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<String>,
    /// Accept any certificate without verification (only when asked).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

impl TlsSpec {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Request headers whose values are secret: `Debug` shows names only.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecretHeaders(pub Vec<(String, String)>);

impl SecretHeaders {
    /// Parses `Name: value` lines (curl's `-H` form).
    pub fn parse(lines: &[String]) -> Result<Self, String> {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (name, value) = l.split_once(':').ok_or_else(|| {
                    format!(
                        "header {} has no `:`; write it as `Name: value`, e.g. `api-key: KEY`",
                        i + 1
                    )
                })?;
                Ok((name.trim().to_owned(), value.trim().to_owned()))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Self)
    }

    /// True when no header is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The header names (safe to show).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }
}

impl std::fmt::Debug for SecretHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| format!("{n}: ***")))
            .finish()
    }
}

impl EndpointSpec {
    /// The full request URL: the API path is appended to the base's path
    /// unless it already ends in it (a bare `http://host:port` gets `/v1`
    /// first); the base's query string (`?api-version=…`) is kept.
    pub fn request_url(&self) -> String {
        let path = match self.api {
            ApiKind::Chat => "/chat/completions",
            ApiKind::Completions => "/completions",
        };
        let (base, query) = split_query(&self.url);
        let base = base.trim_end_matches('/');
        if base.ends_with(path) {
            return format!("{base}{query}");
        }
        format!("{}{path}{query}", versioned_base(base))
    }

    /// The URL of the model list (`{base}/models`, with the base's query).
    pub fn models_url(&self) -> String {
        let (base, query) = split_query(&self.url);
        format!("{}/models{query}", versioned_base(base))
    }
}

/// `(url without query, "?query" or "")`; a fragment is dropped.
fn split_query(url: &str) -> (&str, &str) {
    let url = url.trim();
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    }
}

/// The base without an API path, with `/v1` added to a bare `host:port`.
fn versioned_base(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = base
        .strip_suffix("/chat/completions")
        .or_else(|| base.strip_suffix("/completions"))
        .unwrap_or(base);
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    if after_scheme.contains('/') {
        base.to_owned()
    } else {
        format!("{base}/v1")
    }
}

/// How arrivals are spaced in an open-loop (request-rate) level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalPattern {
    /// Evenly spaced at exactly `1/rate`.
    Constant,
    /// Exponential gaps with mean `1/rate`.
    Poisson,
    /// The dataset's own timestamps, divided by its trace speedup (`rate`
    /// is then the trace's mean rate at that speedup).
    Trace,
}

/// The load offered at one level of a run (one result per level).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LoadLevel {
    /// Closed loop: keep exactly this many requests in flight.
    Concurrency {
        /// Requests in flight.
        concurrency: u32,
    },
    /// Open loop: send on a schedule, whatever the endpoint does.
    Rate {
        /// Target requests per second.
        rate: f64,
        /// Spacing of the arrivals.
        pattern: ArrivalPattern,
        /// Optional cap on requests in flight; arrivals wait for a slot and
        /// that wait counts in latency from the intended start.
        max_concurrency: Option<u32>,
    },
}

impl LoadLevel {
    /// Short label used in tables and directory names (`c8`, `r12.5`,
    /// `trace-r40` for a replayed trace at its mean rate).
    pub fn label(&self) -> String {
        match self {
            Self::Concurrency { concurrency } => format!("c{concurrency}"),
            Self::Rate {
                rate,
                pattern: ArrivalPattern::Trace,
                ..
            } => format!("trace-r{rate}"),
            Self::Rate { rate, .. } => format!("r{rate}"),
        }
    }

    /// The concurrency this level aims at, if it is a closed loop.
    pub fn concurrency(&self) -> Option<u32> {
        match self {
            Self::Concurrency { concurrency } => Some(*concurrency),
            Self::Rate { .. } => None,
        }
    }
}

/// When a level stops dispatching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum StopCondition {
    /// After this many profiling requests have been sent.
    Requests {
        /// Requests per level.
        count: u64,
    },
    /// After this many seconds of dispatching.
    Duration {
        /// Seconds per level.
        seconds: f64,
    },
}

/// Shape of the synthetic prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSpec {
    /// Mean prompt tokens (including the shared prefix).
    pub input_tokens_mean: u32,
    /// Prompt token standard deviation.
    pub input_tokens_stddev: u32,
    /// Mean output tokens (`max_tokens`).
    pub output_tokens_mean: u32,
    /// Output token standard deviation.
    pub output_tokens_stddev: u32,
    /// Tokens of a system prompt shared by all requests.
    pub shared_prefix_tokens: u32,
    /// Hugging Face tokenizer (path or model id); `None` = built-in.
    pub tokenizer: Option<String>,
    /// May fetch `tokenizer` (a model id missing from the local Hugging Face
    /// cache) from the Hub into that cache. Set by whoever may decide what
    /// the machine downloads: `mcc-bench run`, or an MCP server whose
    /// operator allowed it; never by a tool argument.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tokenizer_download: bool,
    /// How prompt and output lengths spread around their means.
    #[serde(default)]
    pub distribution: LengthDistribution,
    /// Send the built-in set of OpenAI `tools` (`tool_choice: auto`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tools: bool,
    /// Ask for structured output (`response_format` with a JSON schema).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub structured_output: bool,
    /// A weighted mixture of length shapes: each request draws a component
    /// by weight, then its lengths from that component (the means and
    /// stddevs above are then unused). Empty: one shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mixture: Vec<MixComponent>,
}

/// One component of a length mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixComponent {
    /// Relative weight (any positive number; weights need not sum to 1).
    pub weight: f64,
    /// Mean prompt tokens.
    pub input_tokens_mean: u32,
    /// Prompt token standard deviation.
    #[serde(default)]
    pub input_tokens_stddev: u32,
    /// Mean output tokens.
    pub output_tokens_mean: u32,
    /// Output token standard deviation.
    #[serde(default)]
    pub output_tokens_stddev: u32,
}

impl MixComponent {
    /// Most components a mixture may have.
    pub const MAX: usize = 16;

    /// Problems with a mixture, as one sentence, or `None`.
    pub fn check(mix: &[Self]) -> Option<String> {
        if mix.len() > Self::MAX {
            return Some(format!("a mixture has at most {} components", Self::MAX));
        }
        let bad = mix.iter().position(|c| {
            !(c.weight.is_finite() && c.weight > 0.0)
                || c.input_tokens_mean == 0
                || c.output_tokens_mean == 0
                || c.input_tokens_mean > 1_048_576
                || c.output_tokens_mean > 1_048_576
        });
        bad.map(|i| {
            format!("mixture[{i}] needs a positive weight and token means from 1 to 1048576")
        })
    }
}

/// How token lengths are drawn from their mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthDistribution {
    /// Normal, rounded (AIPerf's synthetic lengths).
    #[default]
    Normal,
    /// Lognormal with the same mean and standard deviation: a long right
    /// tail, as serving traces show (many short requests, a few very long).
    Lognormal,
}

/// The format of a prompt dataset file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetFormat {
    /// JSON lines of chat `messages` (or a `prompt`), optional `max_tokens`.
    Openai,
    /// A JSON array of ShareGPT conversations.
    Sharegpt,
    /// JSON lines of a serving trace: `input_length`, `output_length`,
    /// `hash_ids`, `timestamp` (AIPerf's mooncake trace).
    Mooncake,
}

/// Prompts from a file instead of synthetic ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// The file (a path the operator allowed, for a tool call).
    pub path: String,
    /// Its format (detected when not given).
    pub format: DatasetFormat,
    /// Entries in the file.
    pub entries: u64,
    /// Trace replay: timestamps are divided by this (2 = twice as fast);
    /// `None` when the run's own load sends the entries instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_speedup: Option<f64>,
}

/// Multi-turn conversations: every turn sends the whole history so far
/// (earlier user turns and the assistant's actual replies).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SessionSpec {
    /// Mean turns per session (normal, rounded, at least 1).
    pub turns_mean: u32,
    /// Standard deviation of the turns per session.
    pub turns_stddev: u32,
    /// Mean pause between a reply and the next turn, ms (normal, at least 0).
    pub think_time_ms_mean: u32,
    /// Standard deviation of the pause, ms.
    pub think_time_ms_stddev: u32,
}

impl SessionSpec {
    /// Most turns a session may be drawn to have.
    pub const MAX_TURNS: u32 = 1_000;
    /// Longest mean or spread of the think time, ms (an hour).
    pub const MAX_THINK_MS: u32 = 3_600_000;
}

/// Where input and output token counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenCountSource {
    /// The client tokenizer when a real Hugging Face tokenizer is loaded,
    /// otherwise the server's `usage` when reported, otherwise the client.
    #[default]
    Auto,
    /// Always the client tokenizer (AIPerf's default).
    Client,
    /// The server's `usage` (AIPerf's `--use-server-token-count`); the
    /// client count fills in where the server reports none.
    Server,
}

/// A fully resolved run: every default applied, every flag folded in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Unique id of the run (also its directory name by default).
    pub run_id: String,
    /// Catalog profile the run started from, if any.
    pub workload: Option<String>,
    /// Target endpoint.
    pub endpoint: EndpointSpec,
    /// Streamed (SSE) or whole responses.
    pub streaming: bool,
    /// One result per level, run in order.
    pub levels: Vec<LoadLevel>,
    /// Stop condition of each level.
    pub stop: StopCondition,
    /// Requests sent before the first level and excluded from metrics.
    pub warmup_requests: u32,
    /// Prompt shape.
    pub prompts: PromptSpec,
    /// Token count source.
    pub token_count: TokenCountSource,
    /// Per-request timeout in seconds.
    pub request_timeout_s: f64,
    /// Seconds in-flight requests may finish after dispatch stops.
    pub grace_period_s: f64,
    /// Seed of every random choice (prompts, lengths, arrivals).
    pub seed: u64,
    /// Targets that decide which requests are *good* (goodput in every
    /// level's results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<super::Slo>,
    /// A capacity search instead of fixed levels: `levels` is then decided
    /// probe by probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<super::CapacitySearch>,
    /// Multi-turn sessions; `None` sends independent single-turn requests.
    /// With sessions a concurrency counts sessions in flight, and the
    /// request count (or duration) counts turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionSpec>,
    /// Prompts (and, for a trace, arrival times) from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(url: &str, api: ApiKind) -> EndpointSpec {
        EndpointSpec {
            url: url.to_owned(),
            api,
            ..EndpointSpec::default()
        }
    }

    #[test]
    fn path_prefixes_and_query_strings_are_kept() {
        let azure = "https://h/openai/deployments/x?api-version=2024-06-01";
        assert_eq!(
            ep(azure, ApiKind::Chat).request_url(),
            "https://h/openai/deployments/x/chat/completions?api-version=2024-06-01"
        );
        assert_eq!(
            ep(azure, ApiKind::Chat).models_url(),
            "https://h/openai/deployments/x/models?api-version=2024-06-01"
        );
        assert_eq!(
            ep("http://h:1?k=v", ApiKind::Completions).request_url(),
            "http://h:1/v1/completions?k=v"
        );
        assert_eq!(
            ep("http://h:1/v1/chat/completions/?a=1#frag", ApiKind::Chat).request_url(),
            "http://h:1/v1/chat/completions?a=1"
        );
    }

    #[test]
    fn header_values_never_reach_debug_or_json() {
        let mut e = ep("http://h:1/v1", ApiKind::Chat);
        e.headers = SecretHeaders::parse(&["api-key: hunter2".to_owned()]).expect("parse");
        assert_eq!(e.headers.names(), ["api-key"]);
        assert!(!format!("{e:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&e).expect("json").contains("hunter2"));
        let bad = SecretHeaders::parse(&["x=hunter2".to_owned()]).expect_err("no colon");
        assert!(
            !bad.contains("hunter2") && bad.contains("Name: value"),
            "{bad}"
        );
    }

    #[test]
    fn request_urls_from_common_base_forms() {
        let chat = ApiKind::Chat;
        assert_eq!(
            ep("http://h:1/v1", chat).request_url(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            ep("http://h:1/v1/", chat).request_url(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            ep("http://h:1", chat).request_url(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            ep("http://h:1/v1/chat/completions", chat).request_url(),
            "http://h:1/v1/chat/completions"
        );
        let comp = ep("http://h:1/v1", ApiKind::Completions);
        assert_eq!(comp.request_url(), "http://h:1/v1/completions");
        assert_eq!(comp.models_url(), "http://h:1/v1/models");
        assert_eq!(
            ep("http://h:1/v1/chat/completions", chat).models_url(),
            "http://h:1/v1/models"
        );
    }

    #[test]
    fn api_key_is_never_serialised() {
        let mut e = ep("http://h:1/v1", ApiKind::Chat);
        e.api_key = Some("secret-token".to_owned());
        let json = serde_json::to_string(&e).expect("serialise");
        assert!(!json.contains("secret-token"));
    }
}
