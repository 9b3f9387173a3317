//! `query_results` (SQL over the results history, embedded or on Athena)
//! and `compare_results` (runs side by side, with an HTML report).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::allowed::allowed_dir;
use super::params::portable;
use super::server::Shared;
use super::tool_error::{tool_err, ToolError};
use crate::domain::{Comparison, QueryTarget};
use crate::jobs::compare::{compare, CompareRequest};
use crate::jobs::{history, Jobs};
use crate::metrics::DEFAULT_NOISE_PERCENT;
use crate::storage::QueryLimits;
use tokio_util::sync::CancellationToken;

/// Rows returned when no limit is given.
const DEFAULT_ROWS: usize = 100;
/// Most rows one call returns.
const MAX_ROWS: usize = 10_000;
/// Longest SQL text accepted.
const MAX_SQL_BYTES: usize = 64 << 10;

/// `query_results` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryArgs {
    /// One SQL query (SELECT / WITH) over the table
    /// `mlcc_ci.benchmark_results` (ml-container-creator's columns:
    /// model_name, instance_type, adapter_name, concurrency,
    /// output_token_throughput_tps, ttft_p99_ms, e2e_latency_p50_ms, …,
    /// partitions model, instance, target). The same text runs on Athena.
    pub(crate) sql: String,
    /// `local` (default: the embedded engine over this machine's history)
    /// or `athena` (the shared table in AWS).
    pub(crate) target: Option<String>,
    /// Most rows to return (default 100, at most 10000).
    pub(crate) limit: Option<usize>,
}

/// A query's answer.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct QueryOut {
    /// Where it ran: `local` or `athena`.
    pub(crate) target: String,
    /// Column names, in order.
    pub(crate) columns: Vec<String>,
    /// One object per row.
    pub(crate) rows: Vec<Map<String, Value>>,
    /// Rows returned.
    pub(crate) row_count: usize,
    /// True when the query had more rows than the limit.
    pub(crate) truncated: bool,
    /// The local history directory (target local).
    pub(crate) history_dir: Option<String>,
}

/// Runs the query within the server's limits; `cancel` is the request's
/// (cancelled when the client cancels or goes away).
pub(crate) async fn query(
    jobs: &Jobs,
    limits: QueryLimits,
    a: QueryArgs,
    cancel: CancellationToken,
) -> Result<QueryOut, ToolError> {
    if a.sql.len() > MAX_SQL_BYTES {
        return Err(tool_err!(
            "the SQL is {} bytes; at most {MAX_SQL_BYTES} are accepted",
            a.sql.len()
        ));
    }
    let limit = a.limit.unwrap_or(DEFAULT_ROWS).clamp(1, MAX_ROWS);
    let target = QueryTarget::parse(a.target.as_deref())?;
    let (rows, dir) = match target {
        QueryTarget::Local => {
            let rows = jobs.query(&a.sql, limit, limits, cancel).await?;
            let dir = jobs.home().join(crate::storage::HISTORY_DIR);
            (rows, Some(dir.display().to_string()))
        }
        QueryTarget::Athena => (history::athena_query(&a.sql, limit).await?, None),
    };
    Ok(QueryOut {
        target: target.as_str().to_owned(),
        row_count: rows.rows.len(),
        columns: rows.columns,
        rows: rows.rows,
        truncated: rows.truncated,
        history_dir: dir,
    })
}

/// `compare_results` arguments: `run_ids` (the first is the baseline), or
/// `baseline` + `candidates`, or `project_dir` whose pinned baseline
/// (BENCHMARK_PINNED_BASELINE in do/config) is compared with `run_ids`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(transform = portable)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompareArgs {
    /// Runs to compare (ids from list_benchmarks); the first is the
    /// baseline unless baseline is given or the project pins one.
    pub(crate) run_ids: Option<Vec<String>>,
    /// The baseline run.
    pub(crate) baseline: Option<String>,
    /// Runs compared with the baseline.
    pub(crate) candidates: Option<Vec<String>>,
    /// ml-container-creator project whose pinned baseline to use.
    pub(crate) project_dir: Option<String>,
    /// Changes smaller than this percentage count as the same (default 5).
    pub(crate) noise_threshold_percent: Option<f64>,
    /// Repeated runs of the baseline configuration (the first is the
    /// baseline). With candidate_runs and three or more runs on each side,
    /// the gate uses Welch's t-test with 95% confidence intervals.
    pub(crate) baseline_runs: Option<Vec<String>>,
    /// Repeated runs of the candidate configuration.
    pub(crate) candidate_runs: Option<Vec<String>>,
}

/// A comparison and its HTML report.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = crate::domain::schema::nullable_any_of)]
pub(crate) struct CompareOut {
    /// Baseline, candidates, per-level deltas, validity and warnings.
    #[serde(flatten)]
    pub(crate) comparison: Comparison,
    /// Self-contained HTML report of the comparison (plots and tables).
    pub(crate) report: Option<String>,
}

/// Most runs one comparison takes.
const MAX_COMPARED: usize = 32;

/// Compares runs named by id; a read-only server writes no report.
pub(crate) fn compare_runs(
    shared: &Shared,
    read_only: bool,
    a: CompareArgs,
) -> Result<CompareOut, ToolError> {
    let jobs = &shared.jobs;
    let noise = a.noise_threshold_percent.unwrap_or(DEFAULT_NOISE_PERCENT);
    if !(noise.is_finite() && (0.0..=100.0).contains(&noise)) {
        return Err(tool_err!(
            "noise_threshold_percent {noise} must be between 0 and 100"
        ));
    }
    let mut runs = a.run_ids.unwrap_or_default();
    runs.extend(a.candidates.unwrap_or_default());
    if let Some(b) = &a.baseline {
        runs.insert(0, b.clone());
    }
    let repeated = a.baseline_runs.as_ref().map_or(0, Vec::len)
        + a.candidate_runs.as_ref().map_or(0, Vec::len);
    if runs.len().max(repeated) > MAX_COMPARED {
        return Err(tool_err!(
            "{} runs named; compare at most {MAX_COMPARED} at once",
            runs.len()
        ));
    }
    let project_dir = a
        .project_dir
        .map(|d| allowed_dir(shared, &d, "project_dir"))
        .transpose()?;
    let req = CompareRequest {
        runs,
        baseline: a.baseline,
        project_dir,
        noise_percent: noise,
        allow_paths: false,
        baseline_runs: a.baseline_runs.unwrap_or_default(),
        candidate_runs: a.candidate_runs.unwrap_or_default(),
    };
    let (mut comparison, loaded) = compare(jobs, &req)?;
    if read_only {
        comparison
            .warnings
            .push("no report written: this server is read-only".into());
        return Ok(CompareOut {
            comparison,
            report: None,
        });
    }
    let results: Vec<_> = loaded.into_iter().map(|l| l.result).collect();
    let path = history::default_comparison_path(jobs.home(), &comparison.baseline.run_id);
    let report = history::comparison_report_file(&path, &comparison, &results);
    let report = match report {
        Ok(()) => Some(path.display().to_string()),
        Err(e) => {
            comparison.warnings.push(format!("report not written: {e}"));
            None
        }
    };
    Ok(CompareOut { comparison, report })
}
