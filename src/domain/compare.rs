//! A comparison of runs: a baseline and candidates side by side per load
//! level, with each figure's delta and the validity of every run.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Throughputs: more is better.
    Higher,
    /// Latencies: less is better.
    Lower,
}

/// What a candidate's figure means against the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Better by more than the noise threshold.
    Better,
    /// Worse by more than the noise threshold.
    Worse,
    /// Within the noise threshold.
    Same,
    /// One side has no value (e.g. TTFT of a non-streaming run).
    Missing,
}

/// One run as it enters a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Label given at start.
    pub label: Option<String>,
    /// Model the requests named.
    pub model: String,
    /// LoRA adapter measured, when one was.
    pub adapter: Option<String>,
    /// Instance type, when known.
    pub instance_type: Option<String>,
    /// Engine that produced it (`local`, `sagemaker`).
    pub engine: String,
    /// How the run ended (`completed`, `cancelled`, `failed`).
    pub status: String,
    /// RFC 3339 start.
    pub start_time: String,
    /// True when every level's validity certificate says the figures
    /// measure the endpoint (not client-bound).
    pub valid: bool,
    /// Why a level is not valid, prefixed by its label (empty when valid).
    pub validity_notes: Vec<String>,
}

/// One figure of one level: baseline, candidate and the difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub struct MetricDelta {
    /// Figure id (`request_throughput`, `ttft_p99`, …).
    pub metric: String,
    /// Unit (`req/s`, `tokens/s`, `ms`).
    pub unit: String,
    /// Which way is better.
    pub better: Better,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Candidate value.
    pub candidate: Option<f64>,
    /// candidate − baseline.
    pub delta: Option<f64>,
    /// delta / baseline × 100 (absent when the baseline is 0 or missing).
    pub percent: Option<f64>,
    /// Better, worse or the same as the baseline.
    pub verdict: Verdict,
}

/// The figures of one load level in a candidate and the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub struct LevelComparison {
    /// Level label (`c8`, `r12.5`), matched between the runs.
    pub level: String,
    /// Concurrency of the level (closed loop).
    pub concurrency: Option<u32>,
    /// Every figure compared.
    pub metrics: Vec<MetricDelta>,
}

/// One candidate against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CandidateComparison {
    /// The candidate run.
    pub run: RunSummary,
    /// Levels present in both runs, in the baseline's order.
    pub levels: Vec<LevelComparison>,
    /// Levels present in only one of the two runs.
    pub unmatched_levels: Vec<String>,
}

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// The run everything is measured against.
    pub baseline: RunSummary,
    /// Where the baseline came from: `argument`, `first run id`, or the
    /// project's pinned baseline (`BENCHMARK_PINNED_BASELINE in …`).
    pub baseline_source: String,
    /// Changes smaller than this percentage count as the same.
    pub noise_threshold_percent: f64,
    /// Each candidate against the baseline.
    pub candidates: Vec<CandidateComparison>,
    /// Things the reader should know (invalid runs, unmatched levels).
    pub warnings: Vec<String>,
    /// The regression gate: a candidate is worse than the baseline beyond
    /// noise on a gate figure (medians, throughput, error rate).
    #[serde(default)]
    pub regressed: bool,
    /// With three or more runs per side: each gate figure's delta of the
    /// means with its 95% confidence interval (Welch's t-test).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeated: Vec<RepeatedDelta>,
}

/// A gate figure across repeated runs of each side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub struct RepeatedDelta {
    /// Level label.
    pub level: String,
    /// Figure id.
    pub metric: String,
    /// Unit.
    pub unit: String,
    /// Mean over the baseline runs.
    pub baseline_mean: f64,
    /// Mean over the candidate runs.
    pub candidate_mean: f64,
    /// candidate − baseline.
    pub delta: f64,
    /// delta / baseline × 100.
    pub percent: Option<f64>,
    /// Lower end of the delta's 95% confidence interval.
    pub ci95_low: f64,
    /// Upper end of the delta's 95% confidence interval.
    pub ci95_high: f64,
    /// Baseline runs.
    pub baseline_runs: usize,
    /// Candidate runs.
    pub candidate_runs: usize,
    /// Worse or better only when the interval lies on that side and the
    /// change is beyond the noise threshold.
    pub verdict: Verdict,
}
