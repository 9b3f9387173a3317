//! `mcc-bench clean`: the job layer's cleaning from the shell.

use std::process::ExitCode;

use super::args::CleanArgs;
use super::{exit, jobs_at, runtime, CliError};
use crate::jobs::{self, CleanRequest};

/// Removes the runs `args` names and says what was done.
pub(crate) fn clean(args: &CleanArgs) -> Result<ExitCode, CliError> {
    let jobs = jobs_at(None)?;
    let req = CleanRequest {
        run_id: args.run_id.clone(),
        finished: args.finished,
        delete_files: args.delete_files,
        force: args.force,
    };
    let report = runtime()?.block_on(jobs::clean(&jobs, &req))?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::System(format!("cannot print the report: {e}")))?;
        println!("{text}");
    } else {
        println!(
            "removed {} run(s), deleted {} director(ies), {} SageMaker resource(s)",
            report.removed.len(),
            report.deleted_dirs.len(),
            report.cloud_deleted.len()
        );
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(ExitCode::from(exit::OK))
}
