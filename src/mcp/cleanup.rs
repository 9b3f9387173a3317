//! `clean`: the job layer's cleaning (`jobs::clean`) with the tool's
//! argument names.

use super::params::*;
use super::tool_error::ToolError;
use crate::jobs::{self, CleanRequest, Jobs};

pub(crate) async fn clean(jobs: &Jobs, a: &CleanArgs) -> Result<Cleaned, ToolError> {
    if a.run_id.is_none() && !a.finished {
        return Err("say what to clean: run_id, or finished: true for every finished run".into());
    }
    let req = CleanRequest {
        run_id: a.run_id.clone(),
        finished: a.finished,
        delete_files: a.delete_local_artifacts,
        force: a.force,
    };
    let r = jobs::clean(jobs, &req).await?;
    Ok(Cleaned {
        removed: r.removed,
        deleted_dirs: r.deleted_dirs,
        cloud_deleted: r.cloud_deleted,
        warnings: r.warnings,
    })
}
