//! Cleaning the history: removes finished runs' records (and their files on
//! request), deletes SageMaker runs' jobs and workload configs first, and
//! with `finished` also the projects' leftovers found by name prefix. A run
//! whose cloud resources could not be deleted keeps its record, so nothing
//! that names them is lost; the reason comes back as a warning. Shared by
//! the `clean` tool and `mcc-bench clean`.

use serde::Serialize;

use super::{cloud, JobError, Jobs};
use crate::domain::{Engine, RunRecord};

/// What to clean.
#[derive(Debug, Clone, Default)]
pub struct CleanRequest {
    /// This run only.
    pub run_id: Option<String>,
    /// Every finished run (and the projects' SageMaker leftovers).
    pub finished: bool,
    /// Also delete the runs' directories.
    pub delete_files: bool,
    /// Also stop and remove an active run.
    pub force: bool,
}

/// What was cleaned.
#[derive(Debug, Default, Serialize)]
pub struct CleanReport {
    /// Runs removed from the history.
    pub removed: Vec<String>,
    /// Directories deleted.
    pub deleted_dirs: Vec<String>,
    /// SageMaker benchmark jobs and workload configs deleted.
    pub cloud_deleted: Vec<String>,
    /// What could not be done, and what to do about it.
    pub warnings: Vec<String>,
}

/// Cleans what `req` names.
pub async fn clean(jobs: &Jobs, req: &CleanRequest) -> Result<CleanReport, JobError> {
    let all = jobs.list()?;
    let targets = targets(jobs, &all, req)?;
    for r in targets.iter().filter(|r| r.status.is_active()) {
        // Its runner must be gone before its record and files are: a
        // runner still writing would bring the directory back.
        let (jobs, id) = (jobs.clone(), r.run_id.clone());
        tokio::task::spawn_blocking(move || jobs.stop_runner(&id))
            .await
            .map_err(|e| JobError::Input(format!("stopping the runner failed: {e}")))??;
    }
    let mut out = CleanReport::default();
    let mut removable = Vec::new();
    for r in targets {
        if r.engine != Engine::Sagemaker {
            removable.push(r);
            continue;
        }
        match cloud::clean_run(&r).await {
            Ok(deleted) => {
                out.cloud_deleted.extend(deleted);
                removable.push(r);
            }
            Err(e) => out.warnings.push(format!(
                "kept run {}: its SageMaker resources could not be deleted ({e}); clean again once that is fixed",
                r.run_id
            )),
        }
    }
    if req.finished {
        leftovers(&all, &mut out).await;
    }
    remove(jobs, &removable, req.delete_files, &mut out)?;
    Ok(out)
}

/// The runs `req` names; an active one only with `force`.
fn targets(jobs: &Jobs, all: &[RunRecord], req: &CleanRequest) -> Result<Vec<RunRecord>, JobError> {
    let targets: Vec<RunRecord> = match (&req.run_id, req.finished) {
        (Some(id), _) => vec![jobs.get(id)?],
        (None, true) => all
            .iter()
            .filter(|r| !r.status.is_active())
            .cloned()
            .collect(),
        (None, false) => {
            return Err(JobError::Input(
                "say what to clean: a run id, or every finished run".into(),
            ))
        }
    };
    if let Some(active) = targets.iter().find(|r| r.status.is_active() && !req.force) {
        return Err(JobError::Input(format!(
            "run {} is {}; cancel it first, or clean it with force",
            active.run_id,
            active.status.as_str()
        )));
    }
    Ok(targets)
}

/// Deletes leftover jobs and configs of every project with SageMaker runs.
async fn leftovers(all: &[RunRecord], out: &mut CleanReport) {
    let active: Vec<RunRecord> = all
        .iter()
        .filter(|r| r.status.is_active())
        .cloned()
        .collect();
    let mut projects: Vec<(String, Option<String>)> = all
        .iter()
        .filter_map(cloud::refs_of)
        .map(|r| (r.plan.project, r.plan.region))
        .collect();
    projects.sort();
    projects.dedup();
    for (project, region) in projects {
        match cloud::clean_leftovers(&project, region.as_deref(), &active).await {
            Ok(deleted) => out.cloud_deleted.extend(deleted),
            Err(e) => out
                .warnings
                .push(format!("leftovers of project {project}: {e}")),
        }
    }
}

fn remove(
    jobs: &Jobs,
    runs: &[RunRecord],
    delete_files: bool,
    out: &mut CleanReport,
) -> Result<(), JobError> {
    let ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    jobs.state()
        .update(|doc| doc.runs.retain(|r| !ids.contains(&r.run_id)))?;
    if delete_files {
        let runs_root = jobs.home().join("runs");
        for r in runs {
            // Only ever a directory of this home's runs (a record could name
            // anything).
            let dir = std::path::Path::new(&r.run_dir);
            if !dir.starts_with(&runs_root) || dir.components().any(|c| c.as_os_str() == "..") {
                out.warnings.push(format!(
                    "kept {}: not a run directory of this home",
                    r.run_dir
                ));
                continue;
            }
            if std::fs::remove_dir_all(dir).is_ok() {
                out.deleted_dirs.push(r.run_dir.clone());
            }
        }
    }
    out.removed = ids;
    Ok(())
}
