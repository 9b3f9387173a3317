//! The runner: a detached `mcc-bench runner RUN_ID` process that executes one
//! run — the local engine, or the SageMaker flow following cloud jobs —
//! streams progress into the run directory and keeps the run's record up to
//! date. At most one runner works on a run: a runner that finds another
//! live one for its run exits without touching it.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{JobError, Jobs};
use crate::domain::{RunRecord, RunState, RunStatus, SecretHeaders, StopCondition};
use crate::engine::local::{self, Progress, RunContext};
use crate::sim::{SimConfig, SimServer};
use crate::storage::write_atomic;
use crate::wallclock::Anchor;

/// The hidden subcommand that runs a runner.
pub const RUNNER_COMMAND: &str = "runner";
/// How often progress is written to `progress.json`.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
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

/// True when `pid` is alive and is the runner of `run_id` (not a recycled pid).
pub(super) fn is_our_runner(pid: u32, run_id: &str) -> bool {
    crate::sys::process_alive(pid)
        && crate::sys::process_args(pid).is_some_and(|a| {
            a.get(1).map(String::as_str) == Some(RUNNER_COMMAND)
                && a.get(2).map(String::as_str) == Some(run_id)
        })
}

/// Entry point of `mcc-bench runner RUN_ID`: executes the run to its end.
pub fn run_runner(jobs: &Jobs, run_id: &str) -> Result<RunState, JobError> {
    let now = || Anchor::now().rfc3339(std::time::Instant::now());
    let me = std::process::id();
    let mut other: Option<RunState> = None;
    let record = jobs.set(run_id, |r| {
        if let Some(pid) = r.runner_pid.filter(|p| *p != me) {
            if is_our_runner(pid, &r.run_id) {
                other = Some(r.status);
                return;
            }
        }
        r.status = RunState::Running;
        if r.started_at.is_none() {
            r.started_at = Some(now());
        }
        r.runner_pid = Some(me);
    })?;
    if let Some(state) = other {
        return Ok(state);
    }
    let (state, failure) = match execute(jobs, &record) {
        Ok((status, note)) => match status {
            RunStatus::Completed => (RunState::Completed, note),
            RunStatus::Cancelled => (
                RunState::Cancelled,
                Some("cancelled on request; partial results kept".to_owned()),
            ),
            RunStatus::Failed => (
                RunState::Failed,
                Some("every request failed; see the error summary in the results".to_owned()),
            ),
        },
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
    let outcome = if record.engine == super::SAGEMAKER {
        super::cloud::execute(jobs, record, &rt, &stop)
    } else if record.engine == super::STAGE {
        super::stage::execute(record, &rt, &stop)
    } else {
        execute_local(record, &rt, stop).map(|s| (s, None))
    };
    signals.abort();
    if record.engine != super::STAGE && matches!(outcome, Ok((RunStatus::Completed, _))) {
        // The load is over; adding the run to the history is the collecting step.
        let _ = jobs.set(&record.run_id, |r| r.status = RunState::Collecting);
        rt.block_on(super::history::after_run(&jobs.home, record));
    }
    outcome
}

/// The local engine with a progress writer (and the simulator for `sim`).
fn execute_local(
    record: &RunRecord,
    rt: &tokio::runtime::Runtime,
    stop: CancellationToken,
) -> Result<RunStatus, String> {
    let mut spec = record.spec.clone();
    if let Some(json) = std::env::var_os(SECRETS_ENV) {
        let secrets: RunSecrets = serde_json::from_slice(json.as_encoded_bytes()).map_err(|e| {
            format!("the endpoint credentials handed to the runner are unreadable: {e}")
        })?;
        spec.endpoint.api_key = secrets.api_key;
        spec.endpoint.headers = secrets.headers;
    }
    let sim = if spec.endpoint.simulated {
        let config = SimConfig {
            ttft_ms: 20.0,
            itl_ms: 2.0,
            seed: spec.seed,
            ..SimConfig::default()
        };
        let s = SimServer::start(config).map_err(|e| e.to_string())?;
        spec.endpoint.url = s.url();
        Some(s)
    } else {
        None
    };
    let progress = Arc::new(match spec.stop {
        StopCondition::Requests { count } => Progress::new(spec.levels.len(), count, 0.0),
        StopCondition::Duration { seconds } => Progress::new(spec.levels.len(), 0, seconds),
    });
    let dir = Path::new(&record.run_dir).to_path_buf();
    let writer = ProgressWriter::start(Arc::clone(&progress), dir.join("progress.json"));
    let ctx = RunContext {
        handle: rt.handle().clone(),
        stop,
        progress,
        excluded_cpu: sim.as_ref().and_then(SimServer::cpu_clock),
        output_dir: dir,
    };
    let outcome = local::run(&spec, &ctx);
    writer.finish();
    outcome.map(|r| r.status).map_err(|e| e.to_string())
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

/// Writes the live counters to `progress.json` until finished.
struct ProgressWriter {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressWriter {
    fn start(progress: Arc<Progress>, path: std::path::PathBuf) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("mcc-bench-progress-file".into())
            .spawn(move || loop {
                let last = flag.load(Relaxed);
                let _ = write_atomic(&path, progress_json(&progress).as_bytes());
                if last {
                    return;
                }
                std::thread::sleep(PROGRESS_EVERY);
            })
            .ok();
        Self { done, thread }
    }

    fn finish(mut self) {
        self.done.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn progress_json(p: &Progress) -> String {
    let elapsed = p.level_elapsed();
    let completed = p.completed.load(Relaxed);
    serde_json::json!({
        "level_index": p.level.load(Relaxed),
        "levels": p.levels,
        "warming_up": p.warming_up.load(Relaxed),
        "sent": p.sent.load(Relaxed),
        "completed": completed,
        "errors": p.errors.load(Relaxed),
        "per_level_requests": p.per_level_target,
        "per_level_seconds": p.per_level_seconds,
        "level_elapsed_s": elapsed,
        "requests_per_s": if elapsed > 0.0 { completed as f64 / elapsed } else { 0.0 },
        "ttft_p50_ms": p.ttft.p50(),
    })
    .to_string()
}
