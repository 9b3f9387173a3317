//! Self-contained HTML reports: one benchmark run, or a comparison of runs.
//!
//! The output is a single HTML file with inline CSS and inline SVG plots (no
//! scripts, fonts or images from elsewhere), so it opens anywhere offline.
//! Every plot is an `<svg data-plot="…">` whose data marks carry the class
//! `pt`, with a `<title>` tooltip each. Rendering is pure and never panics:
//! empty, NaN or huge inputs produce notes or clamped plots instead.

mod axis;
mod capacity;
mod compare;
mod data;
#[cfg(test)]
mod fixtures;
mod marks;
mod page;
mod plots;
mod run;
mod sessions;
mod svg;
#[cfg(test)]
mod tests;

use crate::domain::{Comparison, RunResult};

/// One request as the report plots it (built by the caller from the run's per-request export).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestPoint {
    /// Level label (`c8`, `r12.5`).
    pub level: String,
    /// Send time, seconds since the run's first send.
    pub start_s: f64,
    /// End-to-end latency, ms (for failed requests: time until the failure).
    pub latency_ms: f64,
    /// Time to first token, ms (streaming, successful only).
    pub ttft_ms: Option<f64>,
    /// Inter-token latency, ms (streaming, successful, ≥2 tokens).
    pub itl_ms: Option<f64>,
    /// Error kind (`http_5xx`, `timeout`, …) when it failed.
    pub error: Option<String>,
}

/// Descriptive facts shown in the header (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportContext {
    /// Label given at start.
    pub label: Option<String>,
    /// Engine that ran the benchmark (`local`, `sagemaker`).
    pub engine: String,
    /// What was measured (URL or endpoint name).
    pub target: String,
    /// Instance type, when known.
    pub instance_type: Option<String>,
    /// LoRA adapter measured, when one was.
    pub adapter: Option<String>,
    /// Project the run belongs to.
    pub project: Option<String>,
}

/// The HTML page of one run: header, per-level summary table, latency and
/// TTFT against throughput, TTFT/ITL histograms, a per-request timeline
/// (at most 5,000 points, evenly sampled), validity certificates, errors and
/// indicators; for a capacity search also its answer, every probe against
/// each target and goodput against the load probed.
pub fn run_report(result: &RunResult, requests: &[RequestPoint], ctx: &ReportContext) -> String {
    run::render(result, requests, ctx)
}

/// The HTML page of a comparison: the runs with their validity, warnings,
/// overlay plots of the runs found in `runs` (matched by run id; others are
/// listed as not plotted) and a delta table per candidate and level.
pub fn comparison_report(comparison: &Comparison, runs: &[RunResult]) -> String {
    compare::render(comparison, runs)
}
