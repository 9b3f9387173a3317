//! `mcc-bench status [RUN_ID]`: where a run stands, for the shell — the
//! `./do/benchmark --status` workflow. It reconciles first, so a SageMaker
//! run whose follower died gets a new one that resumes it (and downloads
//! the results once the job completes); `--wait` follows the run until it
//! ends. Prints the results table when the run has results.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::args::StatusArgs;
use super::{exit, table, CliError};
use crate::domain::{RunRecord, RunResult, RunState};
use crate::jobs::{default_home, refs_of, Jobs};

/// Prints the state of one run (the newest by default).
pub(crate) fn status(args: &StatusArgs) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    let home = args.home.clone().unwrap_or_else(default_home);
    let jobs = Jobs::new(&home, &exe);
    jobs.reconcile()?;
    let mut record = find(&jobs, args.run_id.as_deref())?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.wait.max(0.0));
    while record.status.is_active() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        record = jobs.get(&record.run_id)?;
    }
    let result = read_result(&record);
    if args.json {
        let doc = serde_json::json!({"run": record, "results": result});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!("{}", describe(&record));
        if let Some(r) = &result {
            print!("{}", table::render(r));
        }
    }
    let code = match record.status {
        RunState::Failed | RunState::Interrupted => exit::ERROR,
        _ => exit::OK,
    };
    Ok(ExitCode::from(code))
}

fn find(jobs: &Jobs, run_id: Option<&str>) -> Result<RunRecord, CliError> {
    match run_id {
        Some(id) => Ok(jobs.get(id)?),
        None => jobs.list()?.into_iter().next().ok_or_else(|| {
            CliError::Input(format!(
                "no runs under {}; start one with `mcc-bench run` or the start_benchmark tool",
                jobs.state().path().display()
            ))
        }),
    }
}

pub(super) fn read_result(r: &RunRecord) -> Option<RunResult> {
    crate::storage::read_run_result(std::path::Path::new(&r.run_dir)).ok()
}

/// The run's state in a few lines, with its cloud jobs when it has any.
pub(super) fn describe(r: &RunRecord) -> String {
    let mut s = format!(
        "run {}  {}  target {}  engine {}\n",
        r.run_id,
        r.status.as_str(),
        r.target,
        r.engine
    );
    if let Some(f) = &r.failure {
        s.push_str(&format!("  {f}\n"));
    }
    if let Some(refs) = refs_of(r) {
        for j in &refs.jobs {
            let state = j.status.as_deref().unwrap_or("not created yet");
            s.push_str(&format!(
                "  c{:<4} {}  {state}\n",
                j.concurrency, j.job_name
            ));
        }
    }
    if r.status.is_active() {
        s.push_str(&format!(
            "  still {}; check again with: mcc-bench status {}\n",
            r.status.as_str(),
            r.run_id
        ));
    }
    s
}
