//! `mcc-bench run`'s flags for what each request carries beyond its length:
//! the length distribution, tools, structured output and multi-turn
//! sessions (AIPerf's `--conversation-*` names are accepted too).

use clap::{Args, ValueEnum};

use crate::domain::{DatasetFormat, LengthDistribution};
use crate::plan::Overrides;

/// Request-shape flags, flattened into `RunArgs`.
#[derive(Debug, Clone, Default, Args)]
pub struct ShapeArgs {
    /// How prompt and output lengths spread around their means.
    #[arg(long, value_enum)]
    pub length_distribution: Option<Distribution>,
    /// Send the built-in OpenAI tools (`tool_choice: auto`) with every request.
    #[arg(long, overrides_with = "no_tools")]
    pub tools: bool,
    /// Send no tools, even when the workload does.
    #[arg(long, overrides_with = "tools")]
    pub no_tools: bool,
    /// Ask for structured output (`response_format` with a JSON schema).
    #[arg(long, overrides_with = "no_structured_output")]
    pub structured_output: bool,
    /// Ask for no structured output, even when the workload does.
    #[arg(long, overrides_with = "structured_output")]
    pub no_structured_output: bool,
    /// Multi-turn sessions: mean turns per session (1 = independent
    /// requests). Each turn sends the whole history, replies included; the
    /// concurrency counts sessions in flight and the request count turns.
    #[arg(long, visible_alias = "conversation-turn-mean")]
    pub turns: Option<u32>,
    /// Standard deviation of the turns per session.
    #[arg(long, visible_alias = "conversation-turn-stddev")]
    pub turns_stddev: Option<u32>,
    /// Mean pause between a reply and the session's next turn, ms.
    #[arg(long, visible_alias = "conversation-turn-delay-mean")]
    pub think_time_ms: Option<u32>,
    /// Standard deviation of that pause, ms.
    #[arg(long, visible_alias = "conversation-turn-delay-stddev")]
    pub think_time_ms_stddev: Option<u32>,
    /// Prompts from a file: OpenAI chat JSON lines, a ShareGPT JSON array
    /// or a mooncake trace (replayed on its timestamps unless a concurrency
    /// or rate is given).
    #[arg(long, value_name = "FILE", visible_alias = "input-file")]
    pub dataset: Option<String>,
    /// The dataset's format (default: detected).
    #[arg(long, value_enum)]
    pub dataset_format: Option<Format>,
    /// Replay a trace this many times faster (default 1).
    #[arg(long)]
    pub trace_speedup: Option<f64>,
}

/// `--dataset-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON lines of chat `messages` (or `prompt`), optional `max_tokens`.
    Openai,
    /// A JSON array of ShareGPT conversations.
    Sharegpt,
    /// JSON lines of `input_length`, `output_length`, `hash_ids`, `timestamp`.
    Mooncake,
}

/// `--length-distribution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Distribution {
    /// Normal, rounded (AIPerf's).
    Normal,
    /// Lognormal with the same mean and standard deviation (a long tail).
    Lognormal,
}

impl ShapeArgs {
    /// Writes these flags into the plan's overrides.
    pub fn apply(&self, o: &mut Overrides) {
        o.length_distribution = self.length_distribution.map(|d| match d {
            Distribution::Normal => LengthDistribution::Normal,
            Distribution::Lognormal => LengthDistribution::Lognormal,
        });
        o.tools = switch(self.tools, self.no_tools);
        o.structured_output = switch(self.structured_output, self.no_structured_output);
        o.turns = self.turns;
        o.turns_stddev = self.turns_stddev;
        o.think_time_ms = self.think_time_ms;
        o.think_time_ms_stddev = self.think_time_ms_stddev;
        o.dataset = self.dataset.clone();
        o.dataset_format = self.dataset_format.map(|f| match f {
            Format::Openai => DatasetFormat::Openai,
            Format::Sharegpt => DatasetFormat::Sharegpt,
            Format::Mooncake => DatasetFormat::Mooncake,
        });
        o.trace_speedup = self.trace_speedup;
    }
}

/// `--x` / `--no-x`: set when either was given.
fn switch(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}
