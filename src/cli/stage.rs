//! `mcc-bench stage`: starts a staging run (the same tracked run the
//! `stage_model` tool starts) and follows it with a progress line. The
//! upload happens on this machine, so Ctrl+C cancels it: files finished so
//! far stay in S3 and running the command again uploads only the rest.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::args::{StageArgs, StageMode};
use super::{exit, CliError};
use crate::domain::{RunRecord, RunState, StageOutcome, StageReport};
use crate::jobs::{
    default_home, plan_stage, Jobs, StageRequest, STAGE_PROGRESS_JSON, STAGE_RESULT_JSON,
};

/// How often the run's files are read while following.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Starts a staging run and follows it to its end.
pub(crate) fn stage(args: &StageArgs) -> Result<ExitCode, CliError> {
    let req = StageRequest {
        model_id: args.model_id.clone(),
        local_dir: args.local_dir.clone(),
        bucket: args.bucket.clone(),
        revision: args.revision.clone(),
        force: args.force,
        project_dir: args.project.clone(),
        processing_job: args.mode == StageMode::ProcessingJob,
        instance_type: args.instance_type.clone(),
        volume_gb: args.volume_gb,
        image: args.image.clone(),
        allowed_buckets: None,
    };
    let plan = plan_stage(&req).map_err(CliError::Input)?;
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    let jobs = Jobs::new(&default_home(), &exe);
    let record = jobs.start_stage(plan, None)?;
    eprintln!("run {}: staging into {}", record.run_id, record.target);
    let done = follow(&jobs, &record.run_id)?;
    finish(&done, args.json)
}

fn follow(jobs: &Jobs, run_id: &str) -> Result<RunRecord, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let mut cancelled = false;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            // A runner that died is replaced (it uploads only the rest).
            jobs.reconcile()?;
            let record = jobs.get(run_id)?;
            if !record.status.is_active() {
                eprintln!();
                return Ok(record);
            }
            eprint!("\r  {}", progress_line(Path::new(&record.run_dir)));
            tokio::select! {
                () = tokio::time::sleep(FOLLOW_EVERY) => {}
                _ = &mut ctrl_c, if !cancelled => {
                    cancelled = true;
                    eprintln!("\ncancelling; files uploaded so far are kept");
                    jobs.cancel(run_id)?;
                }
            }
        }
    })
}

/// `files 3/12  1.2/4.0 GiB  85.3 MiB/s`.
fn progress_line(dir: &Path) -> String {
    let Some(p) = read_json(&dir.join(STAGE_PROGRESS_JSON)) else {
        return "starting".into();
    };
    let n = |k: &str| p.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let downloaded = n("bytes_downloaded");
    let fetch = if downloaded > 0 && n("files_total") == 0 {
        format!("downloading {:.2} GiB", gib(downloaded))
    } else {
        format!(
            "files {}/{}  {:.2}/{:.2} GiB  {:.1} MiB/s",
            n("files_done"),
            n("files_total"),
            gib(n("bytes_done")),
            gib(n("bytes_total")),
            p.get("mib_per_s")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0)
        )
    };
    format!("{fetch}   ")
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn finish(record: &RunRecord, json: bool) -> Result<ExitCode, CliError> {
    let report: Option<StageReport> =
        read_json(&Path::new(&record.run_dir).join(STAGE_RESULT_JSON))
            .and_then(|v| serde_json::from_value(v).ok());
    match (record.status, report) {
        (RunState::Completed, Some(r)) => {
            print_report(&r, json)?;
            Ok(ExitCode::from(exit::OK))
        }
        (RunState::Cancelled, _) => {
            eprintln!("cancelled: run the same command again to upload the rest");
            Ok(ExitCode::from(exit::INTERRUPTED))
        }
        (state, _) => {
            let why = record.failure.as_deref().unwrap_or("no report was written");
            eprintln!("staging {}: {why}", state.as_str());
            Ok(ExitCode::from(exit::ERROR))
        }
    }
}

fn print_report(r: &StageReport, json: bool) -> Result<(), CliError> {
    if json {
        let text = serde_json::to_string_pretty(r)
            .map_err(|e| CliError::System(format!("cannot serialise the report: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    let verdict = match r.outcome {
        StageOutcome::Staged => "staged",
        StageOutcome::AlreadyStaged => "already staged (nothing uploaded)",
    };
    println!("{} {verdict}", r.s3_uri);
    println!(
        "  files: {} uploaded, {} already there, {} in all ({:.2} GiB)",
        r.files_uploaded,
        r.files_skipped,
        r.files_total,
        r.bytes_total as f64 / (1u64 << 30) as f64
    );
    if r.bytes_uploaded > 0 {
        println!(
            "  uploaded {:.1} MiB in {:.1} s ({:.1} MiB/s)",
            r.bytes_uploaded as f64 / 1_048_576.0,
            r.upload_seconds,
            r.mib_per_s
        );
    }
    if let Some(c) = &r.config_updated {
        println!("  STAGED_MODEL_PATH recorded in {c}");
    }
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
