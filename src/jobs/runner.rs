//! The runner: a detached `mcc-bench runner RUN_ID` process that executes one
//! run — the local engine, or the SageMaker flow following cloud jobs —
//! streams progress into the run directory and keeps the run's record up to
//! date. At most one runner works on a run: a runner that finds another
//! live one for its run exits without touching it.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{JobError, Jobs};
use crate::domain::{Engine, RunRecord, RunState, RunStatus, SecretHeaders};
use crate::wallclock::Anchor;

/// The hidden subcommand that runs a runner.
pub const RUNNER_COMMAND: &str = "runner";
/// The environment variable that hands a runner the endpoint's credentials
/// (JSON), which are never written to the run's files. A runner takes no
/// other credential for the endpoint: not even `OPENAI_API_KEY`, which the
/// starter decided to pass or not.
const SECRETS_ENV: &str = "MCC_BENCH_RUN_SECRETS";

/// What a runner may send to its endpoint besides the spec.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct RunSecrets {
    /// Bearer token.
    pub(super) api_key: Option<String>,
    /// Extra request headers.
    pub(super) headers: SecretHeaders,
}

impl RunSecrets {
    fn is_empty(&self) -> bool {
        self.api_key.is_none() && self.headers.is_empty()
    }
}

/// Starts the runner for `record` in its own process group, so it survives
/// the exit of the process that started it. Returns its pid.
pub(super) fn spawn(
    exe: &Path,
    home: &Path,
    record: &RunRecord,
    secrets: &RunSecrets,
) -> Result<u32, JobError> {
    use std::os::unix::process::CommandExt;
    let log_path = Path::new(&record.run_dir).join("runner.log");
    // Appended to: a resumed SageMaker run keeps its earlier runners' logs.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| JobError::Spawn(format!("{}: {e}", log_path.display())))?;
    let mut command = Command::new(exe);
    command
        .env_remove(SECRETS_ENV)
        .env_remove(crate::domain::DEFAULT_KEY_ENV);
    if !secrets.is_empty() {
        let json = serde_json::to_string(secrets).map_err(|e| JobError::Spawn(e.to_string()))?;
        command.env(SECRETS_ENV, json);
    }
    let mut child = command
        .arg(RUNNER_COMMAND)
        .arg(&record.run_id)
        .env("MCC_BENCH_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| JobError::Spawn(format!("{}: {e}", exe.display())))?;
    let pid = child.id();
    // Reap the runner when it exits (while this process lives; after that,
    // init does).
    std::thread::Builder::new()
        .name("mcc-bench-reaper".into())
        .spawn(move || {
            let _ = child.wait();
        })
        .map_err(|e| JobError::Spawn(e.to_string()))?;
    Ok(pid)
}

/// True when the process the record names is alive and is the one that
/// took the run: the same pid *and* start time (a recycled pid has another).
/// Records without a start time (older ones) are matched on the runner's
/// exact arguments instead.
pub(super) fn is_our_runner(r: &RunRecord) -> bool {
    let Some(pid) = r.runner_pid else {
        return false;
    };
    if !crate::sys::process_alive(pid) {
        return false;
    }
    match r.runner_started {
        Some(started) => crate::sys::process_start_ticks(pid) == Some(started),
        None => crate::sys::process_args(pid).is_some_and(|a| {
            a.get(1).map(String::as_str) == Some(RUNNER_COMMAND)
                && a.get(2).map(String::as_str) == Some(r.run_id.as_str())
        }),
    }
}

/// Entry point of `mcc-bench runner RUN_ID`: executes the run to its end.
pub fn run_runner(jobs: &Jobs, run_id: &str) -> Result<RunState, JobError> {
    let me = std::process::id();
    let mut other: Option<RunState> = None;
    let record = jobs.set(run_id, |r| {
        if r.runner_pid.is_some_and(|p| p != me) && is_our_runner(r) {
            other = Some(r.status);
            return;
        }
        take_run(r, me);
    })?;
    if let Some(state) = other {
        return Ok(state);
    }
    let outcome = execute(jobs, &record);
    finish(jobs, run_id, outcome)
}

/// Marks `r` as being executed by process `pid` from now on.
pub(super) fn take_run(r: &mut RunRecord, pid: u32) {
    r.status = RunState::Running;
    if r.started_at.is_none() {
        r.started_at = Some(now());
    }
    r.runner_pid = Some(pid);
    r.runner_started = crate::sys::process_start_ticks(pid);
}

fn now() -> String {
    Anchor::now().rfc3339(std::time::Instant::now())
}

/// Records how a run's execution ended: its final state, when, and why.
pub(super) fn finish(
    jobs: &Jobs,
    run_id: &str,
    outcome: Result<(RunStatus, Option<String>), String>,
) -> Result<RunState, JobError> {
    let (state, failure) = match outcome {
        Ok((RunStatus::Completed, note)) => (RunState::Completed, note),
        Ok((RunStatus::Cancelled, _)) => (
            RunState::Cancelled,
            Some("cancelled on request; partial results kept".to_owned()),
        ),
        Ok((RunStatus::Failed, _)) => (
            RunState::Failed,
            Some("every request failed; see the error summary in the results".to_owned()),
        ),
        Err(e) => (RunState::Failed, Some(e)),
    };
    jobs.set(run_id, |r| {
        r.status = state;
        r.finished_at = Some(now());
        r.failure = failure;
    })?;
    Ok(state)
}

/// Runs the run's engine with signal handling.
fn execute(jobs: &Jobs, record: &RunRecord) -> Result<(RunStatus, Option<String>), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let stop = CancellationToken::new();
    let signals = rt.spawn(stop_on_signal(stop.clone()));
    let outcome = match record.engine {
        Engine::Sagemaker => {
            super::cloud::execute(jobs, record, &rt, &stop).map(|(result, note)| {
                if result.status == RunStatus::Completed {
                    // The load is over; adding the run to the history is the
                    // collecting step.
                    let _ = jobs.set(&record.run_id, |r| r.status = RunState::Collecting);
                    rt.block_on(super::history::after_run(jobs.home(), record, &result));
                }
                (result.status, note)
            })
        }
        Engine::Stage => super::stage::execute(record, &rt, &stop),
        Engine::Local => {
            let spec = with_secrets(record.spec.clone())?;
            let progress = Arc::new(super::local_run::progress_for(&spec));
            super::local_run::execute(jobs, record, spec, &rt, stop, progress)
                .map(|r| (r.status, None))
                .map_err(|e| e.to_string())
        }
    };
    signals.abort();
    outcome
}

/// The spec with the endpoint's credentials the starter handed over.
fn with_secrets(mut spec: crate::domain::RunSpec) -> Result<crate::domain::RunSpec, String> {
    if let Some(json) = std::env::var_os(SECRETS_ENV) {
        let secrets: RunSecrets = serde_json::from_slice(json.as_encoded_bytes()).map_err(|e| {
            format!("the endpoint credentials handed to the runner are unreadable: {e}")
        })?;
        spec.endpoint.api_key = secrets.api_key;
        spec.endpoint.headers = secrets.headers;
    }
    Ok(spec)
}

async fn stop_on_signal(stop: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    stop.cancel();
}
