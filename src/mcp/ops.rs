//! What the benchmark tools do, without the protocol: each returns the tool's
//! output, or a message for the agent (what failed and what to try).

use std::path::Path;
use std::time::Duration;

use super::params::*;
use super::tool_error::{tool_err, ToolError};
use crate::catalog::{normalize, Catalog};
use crate::domain::{LevelResult, RunRecord, RunState, Stats};
use crate::jobs::history::REPORT_HTML;
use crate::jobs::Jobs;
use crate::storage::{read_run_file, RESULTS_JSON};

/// Longest server-side wait of get_status (clients time out calls at ~60 s).
pub(crate) const MAX_WAIT_S: f64 = 50.0;
const POLL_EVERY: Duration = Duration::from_millis(200);

/// The record of `run_id`, or of the newest run.
pub(crate) fn find(jobs: &Jobs, run_id: Option<&str>) -> Result<RunRecord, ToolError> {
    match run_id {
        Some(id) => Ok(jobs.get(id)?),
        None => jobs.list()?.into_iter().next().ok_or_else(|| {
            tool_err!("no benchmark has been started yet; call start_benchmark first")
        }),
    }
}

/// How often a waiting get_status re-reads the record.
pub(crate) const POLL: Duration = POLL_EVERY;

/// The run's record after reconciling, and whether its state left `from`.
pub(crate) fn poll_change(
    jobs: &Jobs,
    run_id: &str,
    from: RunState,
) -> Result<(RunRecord, bool), ToolError> {
    let _ = jobs.reconcile();
    let r = jobs.get(run_id)?;
    let changed = r.status != from;
    Ok((r, changed))
}

pub(crate) fn status(r: &RunRecord, timed_out: bool) -> Status {
    Status {
        run_id: r.run_id.clone(),
        status: r.status.as_str().into(),
        progress: read_progress(Path::new(&r.run_dir)),
        failure: r.failure.clone(),
        timed_out,
        workload: r.workload.clone(),
        target: r.target.clone(),
        engine: r.engine.to_string(),
        cloud_jobs: cloud_jobs(r),
        staging: super::stage::staging(r),
        label: r.label.clone(),
        created_at: r.created_at.clone(),
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
    }
}

/// A SageMaker run's jobs as the record last saw them.
fn cloud_jobs(r: &RunRecord) -> Vec<CloudJobStatus> {
    crate::jobs::refs_of(r)
        .map(|refs| refs.jobs)
        .unwrap_or_default()
        .into_iter()
        .map(|j| CloudJobStatus {
            concurrency: j.concurrency,
            job_name: j.job_name,
            status: j.status,
            failure_reason: j.failure,
            output_warnings: j.output_warnings,
        })
        .collect()
}

pub(crate) fn read_progress(dir: &Path) -> Option<ProgressInfo> {
    let p = crate::storage::read_progress(dir)?;
    Some(ProgressInfo {
        level: p.level_index + 1,
        levels: p.levels,
        completed: p.completed,
        total: p.per_level_requests,
        errors: p.errors,
        elapsed_s: p.level_elapsed_s,
        eta_s: p.eta_s(),
        requests_per_s: p.requests_per_s,
        warming_up: p.warming_up,
        ttft_p50_ms: p.ttft_p50_ms,
        probes: (!p.probes.is_empty())
            .then(|| serde_json::to_value(&p.probes).ok())
            .flatten(),
    })
}

pub(crate) fn results(jobs: &Jobs, a: &ResultsArgs) -> Result<Results, ToolError> {
    let r = jobs.get(&a.run_id)?;
    if r.engine == crate::domain::Engine::Stage {
        return Err(tool_err!(
            "run {} stages model weights and has no benchmark results; get_status shows its staging report",
            r.run_id
        ));
    }
    let path = Path::new(&r.run_dir).join(RESULTS_JSON);
    if !path.is_file() {
        return Err(match r.status {
            s if s.is_active() => tool_err!(
                "run {} is still {}; call get_status with wait_seconds, then fetch_results",
                r.run_id,
                s.as_str()
            ),
            s => tool_err!(
                "run {} is {} and wrote no results{}",
                r.run_id,
                s.as_str(),
                r.failure.map(|f| format!(": {f}")).unwrap_or_default()
            ),
        });
    }
    let result = crate::storage::read_run_result(Path::new(&r.run_dir))
        .map_err(|e| format!("{e}; the run's results are damaged"))?;
    let levels: Vec<LevelSummary> = result.levels.iter().map(level_summary).collect();
    let files = levels
        .iter()
        .flat_map(|l| {
            ["profile_export_aiperf.json", "profile_export.jsonl"]
                .map(|f| format!("{}/{f}", l.export_dir))
        })
        .chain([path.display().to_string()])
        .collect();
    let run_id = r.run_id.clone();
    Ok(Results {
        run_id: r.run_id,
        status: r.status.as_str().into(),
        model: result.model.clone(),
        capacity: result
            .capacity
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok()),
        levels,
        indicators: serde_json::to_value(&result.indicators).unwrap_or_default(),
        files,
        report: Some(Path::new(&r.run_dir).join(REPORT_HTML))
            .filter(|p| p.is_file())
            .map(|p| p.display().to_string()),
        report_uri: Path::new(&r.run_dir)
            .join(REPORT_HTML)
            .is_file()
            .then(|| format!("mcc-bench://runs/{run_id}/{REPORT_HTML}")),
        history: crate::jobs::history::read_outcome(Path::new(&r.run_dir))
            .and_then(|h| serde_json::to_value(h).ok()),
        full: (a.detail.as_deref() == Some("full"))
            .then(|| serde_json::to_value(&result).ok())
            .flatten(),
    })
}

fn level_summary(l: &LevelResult) -> LevelSummary {
    let m = &l.metrics;
    let pct = |s: &Option<Stats>| {
        s.as_ref().map(|s| Percentiles {
            p50: s.p50,
            p90: s.p90,
            p99: s.p99,
            avg: s.avg,
        })
    };
    LevelSummary {
        level: l.level.label(),
        requests: m.request_count,
        errors: m.error_request_count,
        request_throughput: m.request_throughput,
        output_token_throughput: m.output_token_throughput,
        latency_ms: pct(&m.request_latency),
        ttft_ms: pct(&m.time_to_first_token),
        itl_ms: pct(&m.inter_token_latency),
        client_bound: l.validity.client_bound,
        validity_reasons: l.validity.reasons.clone(),
        validity: serde_json::to_value(&l.validity).unwrap_or_default(),
        error_summary: serde_json::to_value(&l.errors).unwrap_or_default(),
        export_dir: l.export_dir.clone(),
    }
}

pub(crate) fn list(jobs: &Jobs, a: &ListArgs) -> Result<RunList, ToolError> {
    let offset: usize = match &a.cursor {
        None => 0,
        Some(c) => c.parse().map_err(|_| {
            format!("cursor {c:?} is not one this server issued; omit it to start over")
        })?,
    };
    let limit = a.limit.unwrap_or(20).clamp(1, 100);
    let want_workload = a.workload.as_deref().map(normalize);
    let matching: Vec<RunRecord> = jobs
        .list()?
        .into_iter()
        .filter(|r| a.status.as_deref().is_none_or(|s| r.status.as_str() == s))
        .filter(|r| want_workload.is_none() || r.workload == want_workload)
        .filter(|r| a.engine.as_deref().is_none_or(|e| r.engine.as_str() == e))
        .filter(|r| matches_facts(r, a))
        .collect();
    let page: Vec<RunSummary> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| RunSummary {
            run_id: r.run_id.clone(),
            status: r.status.as_str().into(),
            workload: r.workload.clone(),
            engine: r.engine.to_string(),
            target: r.target.clone(),
            label: r.label.clone(),
            model: run_model(r),
            instance: r.context.as_ref().and_then(|c| c.instance_type.clone()),
            adapter: r.context.as_ref().and_then(|c| c.adapter.clone()),
            created_at: r.created_at.clone(),
        })
        .collect();
    let next = offset + page.len();
    Ok(RunList {
        runs: page,
        next_cursor: (next < matching.len()).then(|| next.to_string()),
    })
}

/// The model a run measures: the project's model id, else the one its
/// requests named.
fn run_model(r: &RunRecord) -> Option<String> {
    r.context
        .as_ref()
        .and_then(|c| c.model_name.clone())
        .or_else(|| r.spec.endpoint.model.clone())
}

/// The model, instance, adapter and label filters of list_benchmarks.
fn matches_facts(r: &RunRecord, a: &ListArgs) -> bool {
    let ctx = r.context.as_ref();
    let model_ok = a.model.as_deref().is_none_or(|want| {
        run_model(r).is_some_and(|m| m.to_lowercase().contains(&want.to_lowercase()))
    });
    let instance_ok = a
        .instance
        .as_deref()
        .is_none_or(|want| ctx.and_then(|c| c.instance_type.as_deref()) == Some(want));
    let adapter = ctx.and_then(|c| c.adapter.as_deref());
    let adapter_ok = match a.adapter.as_deref() {
        None => true,
        Some("none") => adapter.is_none(),
        Some(want) => adapter == Some(want),
    };
    let label_ok = a
        .label
        .as_deref()
        .is_none_or(|want| r.label.as_deref() == Some(want));
    model_ok && instance_ok && adapter_ok && label_ok
}

pub(crate) fn cancel(jobs: &Jobs, run_id: &str) -> Result<Cancelled, ToolError> {
    let r = jobs.get(run_id)?;
    if !r.status.is_active() {
        return Err(tool_err!(
            "run {run_id} already ended ({}); nothing to cancel",
            r.status.as_str()
        ));
    }
    jobs.cancel(run_id)?;
    Ok(Cancelled {
        run_id: run_id.to_owned(),
        status: r.status.as_str().into(),
        message: "dispatch stops now; requests in flight get the grace period, then partial results are written and the run becomes cancelled".into(),
    })
}

/// URI of the catalog resource.
pub(crate) const CATALOG_URI: &str = "mcc-bench://catalog";
/// Runs whose resources are listed (newest first).
const LISTED_RUNS: usize = 50;

/// A resource: URI, name, description.
pub(crate) struct ResourceInfo {
    pub(crate) uri: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) mime: &'static str,
}

/// MIME type of JSON resources.
pub(crate) const JSON_MIME: &str = "application/json";
/// MIME type of the HTML reports.
pub(crate) const HTML_MIME: &str = "text/html";

/// One line of a run's progress: `level 1/3: 120 of 400 requests done, 0
/// errors` (progress notifications, a task's status message).
pub(crate) fn progress_line(p: &ProgressInfo) -> String {
    format!(
        "level {}/{}: {} of {} requests done, {} errors",
        p.level, p.levels, p.completed, p.total, p.errors
    )
}

/// Requests done over the whole run and the run's total (unknown for runs
/// that stop by duration), for progress notifications: the levels before
/// the current one count whole.
pub(crate) fn work_done(p: &ProgressInfo) -> (u64, Option<u64>) {
    let before = p.level.saturating_sub(1) as u64;
    let done = before.saturating_mul(p.total).saturating_add(p.completed);
    let total = (p.total > 0).then(|| p.total.saturating_mul(p.levels as u64));
    (done, total)
}

/// The kinds of run resource, as URI templates (RFC 6570): (template, name,
/// description, MIME type).
pub(crate) const RUN_TEMPLATES: [(&str, &str, &str, &str); 4] = [
    (
        "mcc-bench://runs/{run_id}/status",
        "run status",
        "State and live progress of a run (what get_status returns).",
        JSON_MIME,
    ),
    (
        "mcc-bench://runs/{run_id}/report.html",
        "run report",
        "Self-contained HTML report of a finished run: plots, validity, errors.",
        HTML_MIME,
    ),
    (
        "mcc-bench://runs/{run_id}/profile_export_aiperf.json",
        "run AIPerf export",
        "AIPerf-format aggregate export of a one-level run.",
        JSON_MIME,
    ),
    (
        "mcc-bench://runs/{run_id}/{level}/profile_export_aiperf.json",
        "level AIPerf export",
        "AIPerf-format aggregate export of one level (c8, r12.5, …) of a sweep.",
        JSON_MIME,
    ),
];

/// The catalog, each recent run's status and each AIPerf export present.
pub(crate) fn resources(jobs: &Jobs) -> Vec<ResourceInfo> {
    let mut out = vec![ResourceInfo {
        uri: CATALOG_URI.into(),
        name: "workload catalog".into(),
        description: "Every workload profile with its numbers (JSON).".into(),
        mime: JSON_MIME,
    }];
    for r in jobs
        .list()
        .unwrap_or_default()
        .into_iter()
        .take(LISTED_RUNS)
    {
        out.push(ResourceInfo {
            uri: format!("mcc-bench://runs/{}/status", r.run_id),
            name: format!("{} status", r.run_id),
            description: format!(
                "State and progress of run {} ({}).",
                r.run_id,
                r.status.as_str()
            ),
            mime: JSON_MIME,
        });
        if Path::new(&r.run_dir).join(REPORT_HTML).is_file() {
            out.push(ResourceInfo {
                uri: format!("mcc-bench://runs/{}/{REPORT_HTML}", r.run_id),
                name: format!("{} report", r.run_id),
                description: "Self-contained HTML report of this run: latency–throughput curve, TTFT and ITL distributions, per-request timeline, validity, errors.".into(),
                mime: HTML_MIME,
            });
        }
        for rel in export_files(Path::new(&r.run_dir)) {
            out.push(ResourceInfo {
                uri: format!("mcc-bench://runs/{}/{rel}", r.run_id),
                name: format!("{} {rel}", r.run_id),
                description: "AIPerf-format aggregate export of this run (level).".into(),
                mime: JSON_MIME,
            });
        }
    }
    out
}

/// `profile_export_aiperf.json` files of a run directory, relative to it.
fn export_files(dir: &Path) -> Vec<String> {
    const NAME: &str = "profile_export_aiperf.json";
    let mut files = Vec::new();
    if dir.join(NAME).is_file() {
        files.push(NAME.to_owned());
    }
    let mut subdirs: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().join(NAME).is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    subdirs.sort();
    files.extend(subdirs.into_iter().map(|d| format!("{d}/{NAME}")));
    files
}

/// Reads a resource: its text and MIME type, or why it cannot be read.
pub(crate) fn read_resource(
    catalog: &Catalog,
    jobs: &Jobs,
    uri: &str,
) -> Result<(String, &'static str), ToolError> {
    const JSON: &str = JSON_MIME;
    if uri == CATALOG_URI {
        let list: Vec<Workload> = catalog.profiles().map(Workload::from).collect();
        return serde_json::to_string_pretty(&serde_json::json!({ "workloads": list }))
            .map(|t| (t, JSON))
            .map_err(|e| tool_err!("{e}"));
    }
    let rest = uri
        .strip_prefix("mcc-bench://runs/")
        .ok_or_else(|| format!("unknown resource {uri:?}; resources/list shows what exists"))?;
    let (run_id, file) = rest
        .split_once('/')
        .ok_or_else(|| format!("unknown resource {uri:?}"))?;
    let r = jobs.get(run_id)?;
    if file == "status" {
        return serde_json::to_string_pretty(&status(&r, false))
            .map(|t| (t, JSON))
            .map_err(|e| tool_err!("{e}"));
    }
    let dir = Path::new(&r.run_dir);
    if file == REPORT_HTML {
        return read_run_file(dir, REPORT_HTML, MAX_RESOURCE_BYTES)
            .map(|t| (t, HTML_MIME))
            .map_err(|e| tool_err!("run {run_id} has no report (yet): {e}"));
    }
    if !export_files(Path::new(&r.run_dir))
        .iter()
        .any(|f| f == file)
    {
        return Err(tool_err!(
            "run {run_id} has no {file:?} (yet); resources/list shows what exists"
        ));
    }
    Ok((read_run_file(dir, file, MAX_RESOURCE_BYTES)?, JSON))
}

/// Largest run file served as a resource.
const MAX_RESOURCE_BYTES: u64 = 32 << 20;
