//! Deleting benchmark resources: a run's own jobs and configs (by the
//! names in its record), and leftovers of a project found by listing name
//! prefixes (jobs still in progress are never deleted).

use super::api::CloudApi;
use super::SageMakerError;
use crate::domain::SageMakerRefs;
use crate::engine::{CloudError, CloudErrorKind};

/// Deletes every job and workload config of a finished run; returns what
/// was deleted. Resources already gone are not an error.
pub async fn clean_run<A: CloudApi>(
    api: &A,
    refs: &SageMakerRefs,
) -> Result<Vec<String>, SageMakerError> {
    let mut deleted = Vec::new();
    for job in refs.jobs.iter().filter(|j| j.status.is_some()) {
        if gone_ok(api.delete_job(&job.job_name).await)? {
            deleted.push(format!("job {}", job.job_name));
        }
        if gone_ok(api.delete_workload_config(&job.config_name).await)? {
            deleted.push(format!("workload config {}", job.config_name));
        }
    }
    Ok(deleted)
}

/// Deletes the project's finished jobs named `<project>-benchmark-…` and its
/// workload configs `<project>-benchmark-config-…`, except `keep` (names
/// of active runs). The service lists by substring, so names are checked to
/// *start* with the prefix: `my-qwen-benchmark-…` is not `qwen`'s.
pub async fn clean_leftovers<A: CloudApi>(
    api: &A,
    project_prefix: &str,
    keep: &[String],
) -> Result<Vec<String>, SageMakerError> {
    let mut deleted = Vec::new();
    let job_prefix = format!("{project_prefix}-benchmark-");
    let jobs = api.list_jobs(&job_prefix).await?;
    let mut busy_configs = Vec::new();
    for job in jobs.into_iter().filter(|j| j.name.starts_with(&job_prefix)) {
        let active = matches!(job.status.as_str(), "InProgress" | "Stopping");
        if active || keep.contains(&job.name) {
            busy_configs.push(job.name.replacen("-benchmark-", "-benchmark-config-", 1));
            continue;
        }
        if gone_ok(api.delete_job(&job.name).await)? {
            deleted.push(format!("job {}", job.name));
        }
    }
    let config_prefix = format!("{project_prefix}-benchmark-config-");
    for config in api.list_workload_configs(&config_prefix).await? {
        let ours = config.starts_with(&config_prefix);
        if !ours || busy_configs.contains(&config) || keep.contains(&config) {
            continue;
        }
        if gone_ok(api.delete_workload_config(&config).await)? {
            deleted.push(format!("workload config {config}"));
        }
    }
    Ok(deleted)
}

/// `Ok(true)` when deleted, `Ok(false)` when it did not exist.
fn gone_ok(r: Result<(), CloudError>) -> Result<bool, SageMakerError> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind == CloudErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}
