//! One SageMaker run, start to results: check the endpoint, then per level
//! create the workload config and the benchmark job (skipped when the record
//! says they exist), poll with backoff until a terminal status, download a
//! completed job's output once, and aggregate the levels into one result.
//! Every change of a job is handed to `persist` before the flow goes on, so
//! a runner that dies can be replaced by one that resumes where it stopped.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::api::{CloudApi, JobInfo, JobRequest};
use super::fetch::{download_job_output, level_from_exports};
use super::spec::{output_uri, workload_spec};
use super::SageMakerError;
use crate::domain::{CloudJob, LevelResult, RunResult, RunSpec, RunStatus, SageMakerRefs};
use crate::engine::{Backoff, CloudError, CloudErrorKind};
use crate::metrics::key_indicators;
use crate::storage;

/// How long a stopping job is waited for after a cancel.
const STOP_WAIT: Duration = Duration::from_secs(120);

/// Runs (or resumes) every level of `refs` and writes `results.json` to
/// `run_dir`. `persist` records each job change; `stop` cancels.
pub async fn run<A: CloudApi>(
    api: &A,
    spec: &RunSpec,
    refs: &mut SageMakerRefs,
    run_dir: &Path,
    stop: &CancellationToken,
    backoff: Backoff,
    persist: &(dyn Fn(&SageMakerRefs) + Sync),
) -> Result<RunResult, SageMakerError> {
    let started = chrono::Utc::now();
    if refs.jobs.iter().any(|j| j.status.is_none()) {
        check_endpoint(api, refs).await?;
    }
    let mut levels = Vec::new();
    for i in 0..refs.jobs.len() {
        if stop.is_cancelled() {
            break;
        }
        let at = JobStep {
            run_dir,
            stop,
            backoff,
            persist,
        };
        if let Some(level) = run_job(api, spec, refs, i, &at).await? {
            levels.push(level);
        }
    }
    finish(spec, refs, levels, run_dir, stop.is_cancelled(), started)
}

/// Where and how one job runs: the run's directory (the job's output goes
/// to its `dir_name`), the cancel token, the polling backoff and the
/// recorder of job changes.
pub struct JobStep<'a> {
    /// The run's directory.
    pub run_dir: &'a Path,
    /// Cancels the job (it is stopped in the service).
    pub stop: &'a CancellationToken,
    /// Polling backoff.
    pub backoff: Backoff,
    /// Records each change of `refs` before the flow goes on.
    pub persist: &'a (dyn Fn(&SageMakerRefs) + Sync),
}

impl std::fmt::Debug for JobStep<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStep")
            .field("run_dir", &self.run_dir)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// Runs (or resumes) job `i` of `refs` with `spec`'s workload to a terminal
/// status; returns its level when it completed (downloaded once).
pub async fn run_job<A: CloudApi>(
    api: &A,
    spec: &RunSpec,
    refs: &mut SageMakerRefs,
    i: usize,
    at: &JobStep<'_>,
) -> Result<Option<LevelResult>, SageMakerError> {
    run_level(api, spec, refs, i, at.stop, at.backoff, at.persist).await?;
    if refs.jobs[i].status.as_deref() != Some("Completed") {
        return Ok(None);
    }
    collect(api, refs, i, at.run_dir, at.persist)
        .await
        .map(Some)
}

/// Fails unless the run's endpoint exists and is `InService`.
pub async fn check_endpoint<A: CloudApi>(
    api: &A,
    refs: &SageMakerRefs,
) -> Result<(), SageMakerError> {
    let endpoint = &refs.plan.target.endpoint;
    let info = api.describe_endpoint(endpoint).await.map_err(|e| {
        if e.kind == CloudErrorKind::NotFound {
            SageMakerError::Endpoint(format!("endpoint {endpoint} does not exist in this region; deploy it (./do/deploy) or check AWS_REGION"))
        } else {
            e.into()
        }
    })?;
    if info.status != "InService" {
        return Err(SageMakerError::Endpoint(format!(
            "endpoint {endpoint} is {}, not InService; wait until it is InService and start again",
            info.status
        )));
    }
    Ok(())
}

/// Creates level `i`'s config and job if needed, then follows the job to a
/// terminal status (stopping it on cancel).
async fn run_level<A: CloudApi>(
    api: &A,
    spec: &RunSpec,
    refs: &mut SageMakerRefs,
    i: usize,
    stop: &CancellationToken,
    backoff: Backoff,
    persist: &(dyn Fn(&SageMakerRefs) + Sync),
) -> Result<(), SageMakerError> {
    if refs.jobs[i].status.is_none() {
        create(api, spec, refs, i).await?;
        refs.jobs[i].status = Some("InProgress".into());
        persist(refs);
    }
    let name = refs.jobs[i].job_name.clone();
    let mut wait = backoff.first;
    loop {
        let info = api.describe_job(&name).await?;
        record(refs, i, &info, persist);
        if info.is_terminal() {
            return Ok(());
        }
        tokio::select! {
            () = stop.cancelled() => return stop_job(api, refs, i, persist).await,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(backoff.max);
    }
}

async fn create<A: CloudApi>(
    api: &A,
    spec: &RunSpec,
    refs: &SageMakerRefs,
    i: usize,
) -> Result<(), SageMakerError> {
    let job = &refs.jobs[i];
    let plan = &refs.plan;
    let body = workload_spec(spec, plan, job.concurrency);
    tolerate_existing(api.create_workload_config(&job.config_name, &body).await)?;
    let req = JobRequest {
        job_name: job.job_name.clone(),
        config_name: job.config_name.clone(),
        endpoint: plan.target.endpoint.clone(),
        inference_component: plan.target.inference_component.clone(),
        output_s3: output_uri(plan),
        role_arn: plan.role_arn.clone(),
    };
    tolerate_existing(api.create_job(&req).await)
}

/// A resource that already exists was created by an earlier runner of
/// this run that died before recording it: carry on with it.
fn tolerate_existing(r: Result<(), CloudError>) -> Result<(), SageMakerError> {
    match r {
        Err(e) if e.message.contains("ResourceInUse") || e.message.contains("already exists") => {
            Ok(())
        }
        other => other.map_err(Into::into),
    }
}

fn record(
    refs: &mut SageMakerRefs,
    i: usize,
    info: &JobInfo,
    persist: &(dyn Fn(&SageMakerRefs) + Sync),
) {
    let job = &mut refs.jobs[i];
    let failure = info.failure_reason.clone();
    if job.status.as_deref() != Some(info.status.as_str()) || job.failure != failure {
        job.status = Some(info.status.clone());
        job.failure = failure;
        persist(refs);
    }
}

async fn stop_job<A: CloudApi>(
    api: &A,
    refs: &mut SageMakerRefs,
    i: usize,
    persist: &(dyn Fn(&SageMakerRefs) + Sync),
) -> Result<(), SageMakerError> {
    let name = refs.jobs[i].job_name.clone();
    // The job may have ended between the last poll and this call; its
    // status, read next, is what counts.
    if let Err(e) = api.stop_job(&name).await {
        tracing::warn!("stopping {name}: {e}");
    }
    let deadline = tokio::time::Instant::now() + STOP_WAIT;
    loop {
        let info = api.describe_job(&name).await?;
        record(refs, i, &info, persist);
        if info.is_terminal() || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Downloads a completed level once, then reads its exports.
async fn collect<A: CloudApi>(
    api: &A,
    refs: &mut SageMakerRefs,
    i: usize,
    run_dir: &Path,
    persist: &(dyn Fn(&SageMakerRefs) + Sync),
) -> Result<LevelResult, SageMakerError> {
    let job: CloudJob = refs.jobs[i].clone();
    let level_dir = run_dir.join(job.dir_name());
    if !job.downloaded {
        let info = api.describe_job(&job.job_name).await?;
        let location = info.output_s3.unwrap_or_else(|| output_uri(&refs.plan));
        let skipped = download_job_output(api, &location, &job.job_name, &level_dir).await?;
        for w in &skipped {
            tracing::warn!("output of {}: {w}", job.job_name);
        }
        refs.jobs[i].output_warnings = skipped;
        refs.jobs[i].downloaded = true;
        persist(refs);
    }
    level_from_exports(&level_dir, job.concurrency, &refs.plan.tokenizer)
}

fn finish(
    spec: &RunSpec,
    refs: &SageMakerRefs,
    levels: Vec<LevelResult>,
    run_dir: &Path,
    cancelled: bool,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<RunResult, SageMakerError> {
    let failed: Vec<String> = refs
        .jobs
        .iter()
        .filter(|j| matches!(j.status.as_deref(), Some("Failed" | "Stopped")) && !cancelled)
        .map(|j| {
            format!(
                "{} (c{}): {} — {}",
                j.job_name,
                j.concurrency,
                j.status.as_deref().unwrap_or("?"),
                j.failure.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    if levels.is_empty() && !cancelled {
        return Err(SageMakerError::JobFailed(failed.join("; ")));
    }
    let status = if cancelled {
        RunStatus::Cancelled
    } else {
        RunStatus::Completed
    };
    let result = RunResult {
        run_id: spec.run_id.clone(),
        status,
        model: refs.plan.tokenizer.clone(),
        indicators: key_indicators(&levels),
        levels,
        output_dir: run_dir.display().to_string(),
        start_time: started.to_rfc3339(),
        end_time: chrono::Utc::now().to_rfc3339(),
        spec: spec.clone(),
        capacity: None,
    };
    storage::write_run_result(run_dir, &result)?;
    if !failed.is_empty() {
        tracing::warn!("some levels did not complete: {}", failed.join("; "));
    }
    Ok(result)
}
