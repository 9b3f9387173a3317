//! A named traffic profile from the workload catalog.

use serde::{Deserialize, Serialize};

use super::{LengthDistribution, MixComponent};

/// One workload profile: the traffic shape a benchmark sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadProfile {
    /// Canonical name (snake_case); hyphenated spellings resolve to it.
    #[serde(default)]
    pub name: String,
    /// What traffic this profile imitates.
    pub description: String,
    /// The use case it sizes for.
    pub use_case: String,
    /// Default number of concurrent requests (closed loop).
    pub concurrency: u32,
    /// Concurrency levels of a sweep; always contains `concurrency`.
    pub concurrency_levels: Vec<u32>,
    /// Mean prompt length in tokens (including any shared prefix).
    pub input_tokens_mean: u32,
    /// Standard deviation of the prompt length in tokens.
    #[serde(default)]
    pub input_tokens_stddev: u32,
    /// Mean output length in tokens (sent as `max_tokens`).
    pub output_tokens_mean: u32,
    /// Standard deviation of the output length in tokens.
    #[serde(default)]
    pub output_tokens_stddev: u32,
    /// Whether responses are streamed (SSE).
    pub streaming: bool,
    /// Requests per concurrency level.
    #[serde(default = "default_request_count")]
    pub request_count: u32,
    /// Where prompts come from; `synthetic` is generated token-exact.
    #[serde(default = "default_dataset")]
    pub dataset: String,
    /// Tokens of a system prompt shared by every request (part of
    /// `input_tokens_mean`); models prefix-cache reuse.
    #[serde(default)]
    pub shared_prefix_tokens: u32,
    /// How lengths spread around their means: `normal` or `lognormal`.
    #[serde(default)]
    pub length_distribution: LengthDistribution,
    /// Send the built-in set of OpenAI tools with every request.
    #[serde(default)]
    pub tools: bool,
    /// Ask for structured output (a JSON-schema `response_format`).
    #[serde(default)]
    pub structured_output: bool,
    /// Mean turns per conversation; 0 or 1 sends single-turn requests.
    /// With more, every turn carries the history (replies included), the
    /// token figures above are per turn, and concurrency counts
    /// conversations in flight.
    #[serde(default)]
    pub turns_mean: u32,
    /// Standard deviation of the turns per conversation.
    #[serde(default)]
    pub turns_stddev: u32,
    /// Mean pause between a reply and the next turn, ms.
    #[serde(default)]
    pub think_time_ms_mean: u32,
    /// Standard deviation of that pause, ms.
    #[serde(default)]
    pub think_time_ms_stddev: u32,
    /// A weighted mixture of length shapes (`weight`, `input_tokens_mean`,
    /// `input_tokens_stddev`, `output_tokens_mean`, `output_tokens_stddev`
    /// each); each request draws one. Empty: the means above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mixture: Vec<MixComponent>,
}

fn default_request_count() -> u32 {
    100
}

fn default_dataset() -> String {
    "synthetic".to_owned()
}

impl WorkloadProfile {
    /// Field names a catalog entry may carry.
    pub const FIELDS: [&'static str; 21] = [
        "name",
        "description",
        "use_case",
        "concurrency",
        "concurrency_levels",
        "input_tokens_mean",
        "input_tokens_stddev",
        "output_tokens_mean",
        "output_tokens_stddev",
        "streaming",
        "request_count",
        "dataset",
        "shared_prefix_tokens",
        "length_distribution",
        "tools",
        "structured_output",
        "turns_mean",
        "turns_stddev",
        "think_time_ms_mean",
        "think_time_ms_stddev",
        "mixture",
    ];

    /// The seed's defaults, used when no workload is named at all.
    pub fn seed_defaults() -> Self {
        Self {
            name: "default".to_owned(),
            description: "Defaults applied when no workload is named".to_owned(),
            use_case: "General".to_owned(),
            concurrency: 10,
            concurrency_levels: vec![10],
            input_tokens_mean: 550,
            input_tokens_stddev: 0,
            output_tokens_mean: 150,
            output_tokens_stddev: 0,
            streaming: true,
            request_count: 100,
            dataset: default_dataset(),
            shared_prefix_tokens: 0,
            length_distribution: LengthDistribution::Normal,
            tools: false,
            structured_output: false,
            turns_mean: 0,
            turns_stddev: 0,
            think_time_ms_mean: 0,
            think_time_ms_stddev: 0,
            mixture: Vec::new(),
        }
    }

    /// Problems that make the profile unusable, each as a sentence.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.concurrency == 0 {
            out.push("concurrency must be at least 1".to_owned());
        }
        if !self.concurrency_levels.contains(&self.concurrency) {
            out.push(format!(
                "concurrency {} must be one of concurrency_levels",
                self.concurrency
            ));
        }
        if self.concurrency_levels.is_empty() || self.concurrency_levels.contains(&0) {
            out.push("concurrency_levels must be a non-empty list of positive integers".to_owned());
        }
        if !self.concurrency_levels.windows(2).all(|w| w[0] < w[1]) {
            out.push("concurrency_levels must be strictly ascending".to_owned());
        }
        if self.input_tokens_mean == 0 || self.output_tokens_mean == 0 {
            out.push("input_tokens_mean and output_tokens_mean must be positive".to_owned());
        }
        if self.request_count == 0 {
            out.push("request_count must be at least 1".to_owned());
        }
        if self.shared_prefix_tokens > 0 && self.shared_prefix_tokens >= self.input_tokens_mean {
            out.push("shared_prefix_tokens must be smaller than input_tokens_mean".to_owned());
        }
        if self.turns_mean > super::SessionSpec::MAX_TURNS {
            out.push(format!(
                "turns_mean must be at most {}",
                super::SessionSpec::MAX_TURNS
            ));
        }
        out.extend(MixComponent::check(&self.mixture));
        if self.dataset != "synthetic" {
            out.push(format!(
                "dataset {:?} is not supported (only \"synthetic\")",
                self.dataset
            ));
        }
        out
    }
}
