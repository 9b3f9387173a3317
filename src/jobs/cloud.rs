//! SageMaker runs in the job layer: recording one (its job and config names
//! fixed up front in `engine_refs`), executing or resuming it in a runner,
//! and deleting its cloud resources on `clean`.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{JobError, Jobs};
use crate::aws::AwsCloud;
use crate::domain::{
    Engine, RunRecord, RunResult, RunSpec, RunStatus, SageMakerPlan, SageMakerRefs,
};
use crate::engine::sagemaker::{self, spec as smspec};
use crate::engine::Backoff;

/// The SageMaker identifiers of a run record, when it is a SageMaker run.
pub fn refs_of(record: &RunRecord) -> Option<SageMakerRefs> {
    if record.engine != Engine::Sagemaker {
        return None;
    }
    record
        .engine_refs
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// The refs a new SageMaker run starts with (names of every level's job
/// and config), or why the spec cannot run on the service.
pub fn initial_refs(spec: &RunSpec, plan: SageMakerPlan) -> Result<SageMakerRefs, JobError> {
    let levels = smspec::concurrencies(spec).map_err(|e| JobError::Cloud(e.to_string()))?;
    Ok(SageMakerRefs {
        jobs: smspec::plan_jobs(&plan, &levels),
        plan,
    })
}

/// Polling backoff of cloud jobs (benchmark and processing jobs): 2 s
/// doubling to `MCC_BENCH_POLL_MAX_S` (default 30 s).
pub(super) fn backoff() -> Backoff {
    let max = std::env::var("MCC_BENCH_POLL_MAX_S")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .map_or(Duration::from_secs(30), Duration::from_secs_f64);
    Backoff {
        first: max.min(Duration::from_secs(2)),
        max,
    }
}

/// Records each change of a run's SageMaker jobs in its run record before
/// the flow goes on (a failed write is logged: the next change retries).
pub(super) fn recorder<'a>(jobs: &'a Jobs, run_id: &'a str) -> impl Fn(&SageMakerRefs) + Sync + 'a {
    move |r: &SageMakerRefs| {
        if let Ok(v) = serde_json::to_value(r) {
            if let Err(e) = jobs.set(run_id, |rec| rec.engine_refs = Some(v)) {
                tracing::warn!("cannot record the SageMaker job state: {e}");
            }
        }
    }
}

/// Executes (or resumes) a SageMaker run; returns its result and, when
/// some levels failed while others completed, a note saying which.
pub(super) fn execute(
    jobs: &Jobs,
    record: &RunRecord,
    rt: &tokio::runtime::Runtime,
    stop: &CancellationToken,
) -> Result<(RunResult, Option<String>), String> {
    if record.spec.capacity.is_some() {
        return super::capacity::run_cloud(jobs, record, rt, stop).map(|r| (r, None));
    }
    let mut refs = refs_of(record)
        .ok_or("the run record has no SageMaker job names (engine_refs); start the run again")?;
    let persist = recorder(jobs, &record.run_id);
    let dir = Path::new(&record.run_dir);
    let result = rt.block_on(async {
        let api = AwsCloud::from_env(refs.plan.region.as_deref()).await;
        sagemaker::run(
            &api,
            &record.spec,
            &mut refs,
            dir,
            stop,
            backoff(),
            &persist,
        )
        .await
    });
    let result = result.map_err(|e| e.to_string())?;
    let failed: Vec<String> = refs
        .jobs
        .iter()
        .filter(|j| matches!(j.status.as_deref(), Some("Failed" | "Stopped")))
        .map(|j| {
            format!(
                "level c{} ({}) {}: {}",
                j.concurrency,
                j.job_name,
                j.status.as_deref().unwrap_or("?"),
                j.failure.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    let note = (!failed.is_empty() && result.status == RunStatus::Completed)
        .then(|| format!("some levels did not complete: {}", failed.join("; ")));
    Ok((result, note))
}

/// Deletes a finished SageMaker run's jobs and workload configs.
pub async fn clean_run(record: &RunRecord) -> Result<Vec<String>, JobError> {
    let Some(refs) = refs_of(record) else {
        return Ok(Vec::new());
    };
    let api = AwsCloud::from_env(refs.plan.region.as_deref()).await;
    sagemaker::clean_run(&api, &refs)
        .await
        .map_err(|e| JobError::Cloud(e.to_string()))
}

/// Deletes leftover finished jobs and configs of `project` found by name
/// prefix, keeping those of `active` runs.
pub async fn clean_leftovers(
    project: &str,
    region: Option<&str>,
    active: &[RunRecord],
) -> Result<Vec<String>, JobError> {
    let keep: Vec<String> = active
        .iter()
        .filter_map(refs_of)
        .flat_map(|r| r.jobs.into_iter().flat_map(|j| [j.job_name, j.config_name]))
        .collect();
    let named = crate::project::resource_name(project, "x");
    let prefix = named.strip_suffix("-x").unwrap_or(&named);
    let api = AwsCloud::from_env(region).await;
    sagemaker::clean_leftovers(&api, prefix, &keep)
        .await
        .map_err(|e| JobError::Cloud(e.to_string()))
}
