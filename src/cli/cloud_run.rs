//! `mcc-bench run --engine sagemaker`: records a SageMaker run (one
//! benchmark job per concurrency level) in the same state file the MCP
//! tools use, starts its detached runner, and follows it, printing each
//! job's state as it changes. The run does not depend on this process:
//! Ctrl+C only stops following, and says how to check on the run later
//! (`mcc-bench status RUN_ID`), as ml-container-creator's `--status` did.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::args::RunArgs;
use super::resolve::resolve;
use super::run::{exit_code, print_result};
use super::status::{describe, read_result};
use super::{exit, CliError};
use crate::catalog::Catalog;
use crate::domain::{RunRecord, RunSpec, RunState};
use crate::jobs::{default_home, new_run_id, refs_of, Jobs};

/// How often the state file is read while following.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Starts a SageMaker run for the project in `dir` and follows it;
/// `complete` finishes the resolved spec (a capacity search adds itself).
pub(crate) fn run(
    args: &RunArgs,
    catalog: &Catalog,
    dir: &Path,
    complete: impl FnOnce(&mut RunSpec) -> Result<(), CliError>,
) -> Result<ExitCode, CliError> {
    let run_id = new_run_id(args.workload.as_deref());
    let salt = &run_id[run_id.len().saturating_sub(4)..];
    let plan = crate::project::plan_run(dir, args.ic.as_deref(), args.adapter.as_deref(), salt)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let mut spec = resolve(args, catalog, run_id, &plan.target.uri())?;
    // AIPerf in the job names the tokenizer with the model id.
    spec.endpoint.model = Some(args.model.clone().unwrap_or_else(|| plan.tokenizer.clone()));
    complete(&mut spec)?;
    // What the service cannot run (rates, durations) is an input error.
    crate::engine::sagemaker::spec::concurrencies(&spec)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    let jobs = Jobs::new(&default_home(), &exe);
    let record = jobs.start_sagemaker(spec, plan, None)?;
    eprintln!(
        "run {}: SageMaker benchmark of {} started; following it (Ctrl+C stops following, the run goes on)",
        record.run_id, record.target
    );
    match follow(&jobs, &record.run_id)? {
        Some(done) => finish(&done, args.json),
        None => {
            eprintln!(
                "\nstopped following; run {id} keeps running in SageMaker. Check on it with: mcc-bench status {id} (add --wait SECONDS to follow it again)",
                id = record.run_id
            );
            Ok(ExitCode::from(exit::INTERRUPTED))
        }
    }
}

/// Follows the run until it ends (`Some`) or Ctrl+C (`None`).
fn follow(jobs: &Jobs, run_id: &str) -> Result<Option<RunRecord>, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        tokio::select! {
            r = until_done(jobs, run_id) => r.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    })
}

async fn until_done(jobs: &Jobs, run_id: &str) -> Result<RunRecord, CliError> {
    let mut shown = String::new();
    loop {
        // A follower that died is replaced; it resumes polling.
        jobs.reconcile()?;
        let record = jobs.get(run_id)?;
        let now = job_states(&record);
        if now != shown {
            eprintln!("  {now}");
            shown = now;
        }
        if !record.status.is_active() {
            return Ok(record);
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

/// The run's state and each job's, on one line.
fn job_states(r: &RunRecord) -> String {
    let mut s = r.status.as_str().to_owned();
    for j in refs_of(r).map(|refs| refs.jobs).unwrap_or_default() {
        let state = j.status.as_deref().unwrap_or("not created yet");
        s.push_str(&format!("  c{} {state}", j.concurrency));
    }
    s
}

/// Prints the results (or why there are none) and picks the exit code.
fn finish(record: &RunRecord, json: bool) -> Result<ExitCode, CliError> {
    match read_result(record) {
        Some(result) => {
            print_result(&result, json)?;
            Ok(ExitCode::from(exit_code(&result)))
        }
        None => {
            eprint!("{}", describe(record));
            let code = match record.status {
                RunState::Cancelled => exit::INTERRUPTED,
                _ => exit::ERROR,
            };
            Ok(ExitCode::from(code))
        }
    }
}
