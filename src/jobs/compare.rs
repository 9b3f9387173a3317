//! Comparisons of finished runs: each run is found by id in the state file
//! (or, for runs made with `mcc-bench run`, by its output directory or
//! `results.json`), the baseline is the one named, else the project's pinned
//! baseline (`BENCHMARK_PINNED_BASELINE` in `do/config`, as
//! ml-container-creator's `--set-baseline` writes it), else the first run.

use std::path::{Path, PathBuf};

use super::{JobError, Jobs};
use crate::domain::{CandidateComparison, Comparison, RunRecord, RunResult};
use crate::metrics::{compare_levels, gate, run_summary};
use crate::project::Project;
use crate::storage::RESULTS_JSON;

/// The `do/config` variable holding a project's pinned baseline run.
pub const PINNED_BASELINE: &str = "BENCHMARK_PINNED_BASELINE";

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct CompareRequest {
    /// Runs to compare (ids or paths); the first is the baseline unless
    /// `baseline` is given or a project pins one.
    pub runs: Vec<String>,
    /// The baseline, explicitly.
    pub baseline: Option<String>,
    /// Project whose pinned baseline to use when `baseline` is absent.
    pub project_dir: Option<PathBuf>,
    /// Noise threshold in percent.
    pub noise_percent: f64,
    /// Repeated runs of the baseline configuration (the first is the
    /// baseline); with three or more on each side the gate uses a t-test.
    pub baseline_runs: Vec<String>,
    /// Repeated runs of the candidate configuration.
    pub candidate_runs: Vec<String>,
    /// Whether a run may also be named by its output directory or
    /// `results.json` path (the command line, for the operator's own runs);
    /// tool calls name runs by id only.
    pub allow_paths: bool,
}

/// A run loaded for comparison.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// Its results.
    pub result: RunResult,
    /// Its record, when it is in the state file.
    pub record: Option<RunRecord>,
}

/// Builds the comparison and returns it with the loaded runs (baseline first).
pub fn compare(
    jobs: &Jobs,
    req: &CompareRequest,
) -> Result<(Comparison, Vec<LoadedRun>), JobError> {
    if !req.baseline_runs.is_empty() || !req.candidate_runs.is_empty() {
        return compare_repeated(jobs, req);
    }
    compare_point(jobs, req)
}

/// Repeated runs per side: the first baseline against every candidate run,
/// and each gate figure's means compared with Welch's t-test.
fn compare_repeated(
    jobs: &Jobs,
    req: &CompareRequest,
) -> Result<(Comparison, Vec<LoadedRun>), JobError> {
    if req.baseline_runs.is_empty() || req.candidate_runs.is_empty() {
        return Err(JobError::Input(
            "name the repeated runs of both sides: baseline_runs and candidate_runs".into(),
        ));
    }
    let load = |ids: &[String]| -> Result<Vec<LoadedRun>, JobError> {
        ids.iter()
            .map(|id| load_run(jobs, id, req.allow_paths))
            .collect()
    };
    let (base, cand) = (load(&req.baseline_runs)?, load(&req.candidate_runs)?);
    let point = CompareRequest {
        runs: req.baseline_runs[..1]
            .iter()
            .chain(&req.candidate_runs)
            .cloned()
            .collect(),
        baseline: req.baseline_runs.first().cloned(),
        baseline_runs: Vec::new(),
        candidate_runs: Vec::new(),
        ..req.clone()
    };
    let (mut comparison, loaded) = compare_point(jobs, &point)?;
    let results = |runs: &[LoadedRun]| runs.iter().map(|r| r.result.clone()).collect::<Vec<_>>();
    comparison.repeated = gate::repeated(&results(&base), &results(&cand), req.noise_percent);
    if !comparison.repeated.is_empty() {
        comparison.regressed = comparison
            .repeated
            .iter()
            .any(|d| d.verdict == crate::domain::Verdict::Worse);
    } else {
        comparison.warnings.push(format!(
            "fewer than {} runs on a side: the gate compared single runs",
            gate::MIN_REPEATS
        ));
    }
    Ok((comparison, loaded))
}

/// Each candidate against the baseline, level by level.
fn compare_point(
    jobs: &Jobs,
    req: &CompareRequest,
) -> Result<(Comparison, Vec<LoadedRun>), JobError> {
    let (baseline_ref, source) = baseline_of(req)?;
    let candidates: Vec<&String> = req.runs.iter().filter(|r| **r != baseline_ref).collect();
    if candidates.is_empty() {
        return Err(JobError::Input(format!(
            "nothing to compare with {baseline_ref}: pass at least one more run id (list_benchmarks shows them)"
        )));
    }
    let base = load_run(jobs, &baseline_ref, req.allow_paths)?;
    let mut loaded = vec![base.clone()];
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    for id in candidates {
        let cand = load_run(jobs, id, req.allow_paths)?;
        let (levels, unmatched) = compare_levels(&base.result, &cand.result, req.noise_percent);
        if levels.is_empty() {
            warnings.push(format!(
                "{} shares no load level with the baseline; compare runs of the same levels",
                cand.result.run_id
            ));
        }
        out.push(CandidateComparison {
            run: summary(&cand),
            levels,
            unmatched_levels: unmatched,
        });
        loaded.push(cand);
    }
    let baseline = summary(&base);
    for s in std::iter::once(&baseline).chain(out.iter().map(|c| &c.run)) {
        if !s.valid {
            warnings.push(format!(
                "{} is not a valid measurement of the endpoint: {}",
                s.run_id,
                s.validity_notes.join(" | ")
            ));
        }
    }
    let regressed = out.iter().any(|c| gate::regressed(&c.levels));
    let comparison = Comparison {
        baseline,
        baseline_source: source,
        noise_threshold_percent: req.noise_percent,
        candidates: out,
        warnings,
        regressed,
        repeated: Vec::new(),
    };
    Ok((comparison, loaded))
}

fn summary(run: &LoadedRun) -> crate::domain::RunSummary {
    let r = run.record.as_ref();
    let ctx = r.and_then(|r| r.context.as_ref());
    run_summary(
        &run.result,
        r.and_then(|r| r.label.clone()),
        r.map_or(crate::domain::Engine::Local, |r| r.engine),
        ctx.and_then(|c| c.adapter.clone()),
        ctx.and_then(|c| c.instance_type.clone()),
    )
}

/// The baseline and where it came from.
fn baseline_of(req: &CompareRequest) -> Result<(String, String), JobError> {
    if let Some(b) = &req.baseline {
        return Ok((b.clone(), "argument".into()));
    }
    if let Some(dir) = &req.project_dir {
        let project = Project::load(dir).map_err(|e| JobError::Input(e.to_string()))?;
        if let Some(pinned) = project.config.get(PINNED_BASELINE) {
            return Ok((
                pinned.to_owned(),
                format!("{PINNED_BASELINE} in {}", project.config.path.display()),
            ));
        }
    }
    req.runs
        .first()
        .map(|r| (r.clone(), "first run id".into()))
        .ok_or_else(|| {
            JobError::Input(
                "name the runs to compare (run_ids), or a baseline and candidates".into(),
            )
        })
}

/// Largest `results.json` read (results hold per-level figures, not
/// requests: real ones are kilobytes).
const MAX_RESULTS_BYTES: u64 = 64 << 20;

/// A run by id (state file), or, with `allow_paths`, by its directory or
/// `results.json` path.
pub fn load_run(jobs: &Jobs, id: &str, allow_paths: bool) -> Result<LoadedRun, JobError> {
    match jobs.get(id) {
        Ok(record) => {
            let result = read_result(&Path::new(&record.run_dir).join(RESULTS_JSON), id)?;
            Ok(LoadedRun {
                result,
                record: Some(record),
            })
        }
        Err(JobError::UnknownRun(_)) if allow_paths && Path::new(id).exists() => {
            let p = Path::new(id);
            let file = if p.is_dir() {
                p.join(RESULTS_JSON)
            } else {
                p.to_path_buf()
            };
            Ok(LoadedRun {
                result: read_result(&file, id)?,
                record: None,
            })
        }
        Err(e) => Err(e),
    }
}

/// Reads a results file: a regular file (never a FIFO or device) of at most
/// `MAX_RESULTS_BYTES`.
fn read_result(path: &Path, id: &str) -> Result<RunResult, JobError> {
    let missing = |why: String| {
        JobError::Input(format!(
            "run {id} has no results to compare ({}: {why}); only finished runs can be compared",
            path.display()
        ))
    };
    let meta = std::fs::symlink_metadata(path).map_err(|e| missing(e.to_string()))?;
    if !meta.is_file() || meta.len() > MAX_RESULTS_BYTES {
        return Err(missing(format!(
            "not a regular results file of at most {} MiB",
            MAX_RESULTS_BYTES >> 20
        )));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(|e| missing(e.to_string()))?,
            MAX_RESULTS_BYTES,
        ),
        &mut text,
    )
    .map_err(|e| missing(e.to_string()))?;
    serde_json::from_str(&text)
        .map_err(|e| JobError::Input(format!("{} is not a results file: {e}", path.display())))
}

/// Pins `run_id` as the project's baseline (`None` clears the pin).
pub fn pin_baseline(jobs: &Jobs, project_dir: &Path, run_id: Option<&str>) -> Result<(), JobError> {
    let project = Project::load(project_dir).map_err(|e| JobError::Input(e.to_string()))?;
    let path = &project.config.path;
    let done = match run_id {
        Some(id) => {
            load_run(jobs, id, true)?;
            crate::project::set_config_var(path, PINNED_BASELINE, id)
        }
        None => crate::project::remove_config_var(path, PINNED_BASELINE),
    };
    done.map_err(|e| JobError::Input(e.to_string()))
}
