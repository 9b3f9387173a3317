//! `clean`: removes finished runs' records (and files on request), deletes
//! SageMaker runs' jobs and workload configs first, and with
//! `finished: true` also the project's leftovers found by name prefix. A run
//! whose cloud resources could not be deleted keeps its record, so nothing
//! that names them is lost; the reason comes back as a warning.

use super::params::*;
use super::tool_error::{tool_err, ToolError};
use crate::domain::Engine;
use crate::domain::RunRecord;
use crate::jobs::{self, Jobs};

pub(crate) async fn clean(jobs: &Jobs, a: &CleanArgs) -> Result<Cleaned, ToolError> {
    let all = jobs.list()?;
    let targets: Vec<RunRecord> = match (&a.run_id, a.finished) {
        (Some(id), _) => vec![jobs.get(id)?],
        (None, true) => all
            .iter()
            .filter(|r| !r.status.is_active())
            .cloned()
            .collect(),
        (None, false) => {
            return Err(
                "say what to clean: run_id, or finished: true for every finished run".into(),
            )
        }
    };
    if let Some(active) = targets.iter().find(|r| r.status.is_active() && !a.force) {
        return Err(tool_err!(
            "run {} is {}; cancel it first, or pass force: true",
            active.run_id,
            active.status.as_str()
        ));
    }
    for r in targets.iter().filter(|r| r.status.is_active()) {
        // Its runner must be gone before its record and files are: a
        // runner still writing would bring the directory back.
        let jobs = jobs.clone();
        let id = r.run_id.clone();
        let stopped = tokio::task::spawn_blocking(move || jobs.stop_runner(&id))
            .await
            .map_err(|e| tool_err!("stopping the runner failed: {e}"))?;
        stopped?;
    }
    let mut out = Cleaned::default();
    let mut removable = Vec::new();
    for r in targets {
        if r.engine != Engine::Sagemaker {
            removable.push(r);
            continue;
        }
        match jobs::clean_run(&r).await {
            Ok(deleted) => {
                out.cloud_deleted.extend(deleted);
                removable.push(r);
            }
            Err(e) => out.warnings.push(format!(
                "kept run {}: its SageMaker resources could not be deleted ({e}); run clean again once that is fixed",
                r.run_id
            )),
        }
    }
    if a.finished {
        leftovers(&all, &mut out).await;
    }
    remove(jobs, &removable, a.delete_local_artifacts, &mut out)?;
    Ok(out)
}

/// Deletes leftover jobs and configs of every project with SageMaker runs.
async fn leftovers(all: &[RunRecord], out: &mut Cleaned) {
    let active: Vec<RunRecord> = all
        .iter()
        .filter(|r| r.status.is_active())
        .cloned()
        .collect();
    let mut projects: Vec<(String, Option<String>)> = all
        .iter()
        .filter_map(jobs::refs_of)
        .map(|r| (r.plan.project, r.plan.region))
        .collect();
    projects.sort();
    projects.dedup();
    for (project, region) in projects {
        match jobs::clean_leftovers(&project, region.as_deref(), &active).await {
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
    out: &mut Cleaned,
) -> Result<(), ToolError> {
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
