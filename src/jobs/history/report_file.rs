//! `report.html` of a run (and of a comparison): the per-request points
//! are read back from each level's `profile_export.jsonl`, then the pure
//! renderer in `report` draws the page.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::domain::{Comparison, LevelResult, RunResult};
use crate::report::{self, ReportContext, RequestPoint};
use crate::storage::{write_atomic, StorageError, AIPERF_JSONL};

/// Name of a run's HTML report.
pub const REPORT_HTML: &str = "report.html";

/// The profiling requests of every level, as the report plots them. A level
/// without a readable export contributes nothing (the report says so by
/// having no points); malformed lines are skipped.
pub fn request_points(result: &RunResult) -> Vec<RequestPoint> {
    let raw: Vec<(i64, RequestPoint)> = result.levels.iter().flat_map(level_points).collect();
    let first = raw.iter().map(|(ns, _)| *ns).min().unwrap_or(0);
    raw.into_iter()
        .map(|(ns, mut p)| {
            p.start_s = (ns - first) as f64 / 1e9;
            p
        })
        .collect()
}

/// The profiling requests of one level with their send times in ns (none
/// when its export is missing; malformed lines are skipped).
pub fn level_points(level: &LevelResult) -> Vec<(i64, RequestPoint)> {
    let path = PathBuf::from(&level.export_dir).join(AIPERF_JSONL);
    let Ok(file) = std::fs::File::open(&path) else {
        return Vec::new();
    };
    let label = level.level.label();
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| point(&line, &label))
        .collect()
}

/// One JSONL line → (send time in ns, point); warmup requests are left out.
fn point(line: &str, level: &str) -> Option<(i64, RequestPoint)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let meta = v.get("metadata")?;
    if meta.get("benchmark_phase").and_then(Value::as_str) == Some("warmup") {
        return None;
    }
    let start = meta.get("request_start_ns")?.as_i64()?;
    let metric = |k: &str| {
        v.get("metrics")
            .and_then(|m| m.get(k))
            .and_then(|m| m.get("value"))
            .and_then(Value::as_f64)
    };
    let end = meta.get("request_end_ns").and_then(Value::as_i64);
    let latency = metric("request_latency")
        .or_else(|| end.map(|e| (e - start) as f64 / 1e6))
        .unwrap_or(0.0);
    let error = v.get("error").filter(|e| !e.is_null()).map(|e| {
        e.get("type")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_owned()
    });
    let level = meta
        .get("level")
        .and_then(Value::as_str)
        .unwrap_or(level)
        .to_owned();
    Some((
        start,
        RequestPoint {
            level,
            start_s: 0.0,
            latency_ms: latency,
            ttft_ms: metric("time_to_first_token"),
            itl_ms: metric("inter_token_latency"),
            error,
        },
    ))
}

/// Renders the run's report into `dir/report.html`; returns its path.
pub fn write_run_report(
    dir: &Path,
    result: &RunResult,
    ctx: &ReportContext,
) -> Result<PathBuf, StorageError> {
    let points = request_points(result);
    let html = report::run_report(result, &points, ctx);
    let path = dir.join(REPORT_HTML);
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

/// Where a comparison's report goes by default:
/// `<home>/comparisons/compare-<baseline>-<UTC time>.html`.
/// The run id is reduced to letters, digits, `-`, `_` and `.` runs that
/// cannot climb (a results file read from elsewhere may hold any text).
pub fn default_comparison_path(home: &Path, baseline: &str) -> PathBuf {
    let safe: String = baseline
        .chars()
        .take(120)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    home.join("comparisons").join(format!(
        "compare-{safe}-{}.html",
        crate::wallclock::compact_utc_now()
    ))
}

/// Renders a comparison report to `path` (`write_atomic` creates its
/// directory).
pub fn comparison_report_file(
    path: &Path,
    comparison: &Comparison,
    runs: &[RunResult],
) -> Result<(), StorageError> {
    let html = report::comparison_report(comparison, runs);
    write_atomic(path, html.as_bytes())
}
