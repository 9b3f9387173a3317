//! `mcc-bench run`'s flags for what each request carries beyond its length:
//! the length distribution, tools, structured output and multi-turn
//! sessions (AIPerf's `--conversation-*` names are accepted too).

use clap::{Args, ValueEnum};

use crate::domain::LengthDistribution;
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
