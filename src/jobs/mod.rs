//! Runs that outlive the process that started them. A run is a record in the
//! state file plus a directory; its load is executed by a detached *runner*
//! process (`mcc-bench runner RUN_ID`, in its own process group) that writes
//! progress and results into the directory and updates the record. Any
//! process sharing `$MCC_BENCH_HOME` can report on any run; `reconcile`
//! marks local runs whose runner died as `interrupted`, keeping partial
//! results, and starts a new runner for SageMaker runs, which resumes
//! following their cloud jobs.

mod capacity;
mod clean;
mod cloud;
pub mod compare;
pub mod history;
pub mod local_run;
pub mod query_worker;
mod reconcile;
mod runner;
mod stage;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::domain::{Engine, ResultContext, RunRecord, RunSpec, RunState, Starter};
use crate::storage::{StateFile, StorageError};
use crate::wallclock::Anchor;
pub use clean::{clean, CleanReport, CleanRequest};
pub use cloud::{clean_leftovers, clean_run, initial_refs, refs_of};
pub use runner::{run_runner, RUNNER_COMMAND};
pub use stage::{plan_stage, stage_plan_of, StageRequest, STAGE_PROGRESS_JSON, STAGE_RESULT_JSON};

/// Job-layer failures.
#[derive(Debug, Error)]
pub enum JobError {
    /// No run has that id.
    #[error("no run with id {0:?}; list_benchmarks shows the known runs")]
    UnknownRun(String),
    /// The state file or a run directory failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The runner process could not be started.
    #[error("cannot start the runner process: {0}")]
    Spawn(String),
    /// An argument or file given by the caller cannot be used.
    #[error("{0}")]
    Input(String),
    /// A cloud (SageMaker / S3) step failed.
    #[error("{0}")]
    Cloud(String),
}

/// The home of all runs: `$MCC_BENCH_HOME`, else `$XDG_STATE_HOME/mcc-bench`,
/// else `~/.local/state/mcc-bench`.
pub fn default_home() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("MCC_BENCH_HOME")
        .or_else(|| env("XDG_STATE_HOME").map(|p| p.join("mcc-bench")))
        .or_else(|| env("HOME").map(|h| h.join(".local/state/mcc-bench")))
        .unwrap_or_else(|| PathBuf::from(".mcc-bench"))
}

/// Access to the runs under one home directory.
#[derive(Debug, Clone)]
pub struct Jobs {
    home: PathBuf,
    state: StateFile,
    /// The binary started as runner (normally this executable).
    exe: PathBuf,
    /// Most runs with a live runner at once under this home; a start
    /// beyond it is refused (each runner is a process sending load).
    max_active: usize,
}

/// How long a forced clean waits for a runner to stop before killing it.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs with a live runner at once, by default.
pub const DEFAULT_MAX_ACTIVE_RUNS: usize = 8;

impl Jobs {
    /// Runs under `home`, executed by the binary `exe`.
    /// A relative `home` is made absolute now: runners and records must not
    /// depend on the working directory of whoever started them.
    pub fn new(home: &Path, exe: &Path) -> Self {
        let home = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
        Self {
            state: StateFile::in_home(&home),
            home,
            exe: exe.to_path_buf(),
            max_active: DEFAULT_MAX_ACTIVE_RUNS,
        }
    }

    /// The same runs with at most `n` live runners at once.
    pub fn with_max_active(mut self, n: usize) -> Self {
        self.max_active = n.max(1);
        self
    }

    /// Runs one SQL query over the results history in a worker process,
    /// within `limits`; cancelling `cancel` stops it.
    pub async fn query(
        &self,
        sql: &str,
        limit: usize,
        limits: crate::storage::QueryLimits,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Result<crate::storage::QueryRows, crate::storage::QueryError> {
        query_worker::run_query(&self.exe, &self.home, sql, limit, limits, cancel).await
    }

    /// The home directory (state file, runs, results history).
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The state file.
    pub fn state(&self) -> &StateFile {
        &self.state
    }

    /// Records a new local run and starts its runner; returns the record.
    /// `context` says what is measured, when a project says it.
    pub fn start(
        &self,
        spec: RunSpec,
        label: Option<String>,
        context: Option<ResultContext>,
    ) -> Result<RunRecord, JobError> {
        let run = NewRun::local(&spec, label, context);
        self.launch(spec, run)
    }

    /// Records a local run this process executes itself (the foreground
    /// `mcc-bench run`, files in `output_dir`) and executes it on the one
    /// local path: a record like any other (engine `local`, started by
    /// `cli`), which `list_benchmarks`, `fetch_results`, `compare_results`
    /// and `clean` see, and which the next reconcile marks `interrupted` if
    /// this process dies.
    pub fn run_foreground(
        &self,
        spec: RunSpec,
        foreground: Foreground,
        rt: &tokio::runtime::Runtime,
        stop: tokio_util::sync::CancellationToken,
        progress: std::sync::Arc<crate::engine::local::Progress>,
    ) -> Result<crate::domain::RunResult, JobError> {
        check_label(foreground.label.as_deref())?;
        let run_dir = std::path::absolute(&foreground.output_dir)
            .unwrap_or_else(|_| foreground.output_dir.clone());
        let run = NewRun::local(&spec, foreground.label, foreground.context);
        let mut record = new_record(spec.clone(), run, &run_dir, Starter::Cli)?;
        record.spec.endpoint.api_key = None;
        runner::take_run(&mut record, std::process::id());
        self.state.update(|doc| doc.runs.push(record.clone()))?;
        let result = local_run::execute(self, &record, spec, rt, stop, progress);
        let outcome = match &result {
            Ok(r) => Ok((r.status, None)),
            Err(e) => Err(e.to_string()),
        };
        runner::finish(self, &record.run_id, outcome)?;
        result
    }

    /// Records a new SageMaker run (one benchmark job per level, names fixed
    /// now) and starts its runner; returns the record.
    pub fn start_sagemaker(
        &self,
        spec: RunSpec,
        plan: crate::domain::SageMakerPlan,
        label: Option<String>,
    ) -> Result<RunRecord, JobError> {
        let target = plan.target.uri();
        let context = crate::project::result_context(
            Path::new(&plan.project_dir),
            None,
            plan.target.adapter.as_deref(),
        )
        .ok();
        let refs = initial_refs(&spec, plan)?;
        let refs = serde_json::to_value(refs).map_err(|e| JobError::Cloud(e.to_string()))?;
        let run = NewRun {
            label,
            engine: Engine::Sagemaker,
            target,
            engine_refs: Some(refs),
            context,
        };
        self.launch(spec, run)
    }

    fn launch(&self, mut spec: RunSpec, run: NewRun) -> Result<RunRecord, JobError> {
        check_label(run.label.as_deref())?;
        let live = self.list()?.iter().filter(|r| self.is_live(r)).count();
        if live >= self.max_active {
            return Err(JobError::Input(format!(
                "{live} runs are active, the most this server runs at once; wait for one to \
                 finish or cancel one (list_benchmarks status=running)"
            )));
        }
        let run_dir = self.home.join("runs").join(&spec.run_id);
        let secrets = runner::RunSecrets {
            api_key: spec.endpoint.api_key.take(),
            headers: std::mem::take(&mut spec.endpoint.headers),
        };
        let record = new_record(spec, run, &run_dir, Starter::Runner)?;
        self.state.update(|doc| doc.runs.push(record.clone()))?;
        let pid = match runner::spawn(&self.exe, &self.home, &record, &secrets) {
            Ok(pid) => pid,
            Err(e) => {
                // Never leave a queued record that nothing will run.
                self.set(&record.run_id, |r| {
                    r.status = RunState::Failed;
                    r.failure = Some(e.to_string());
                })?;
                return Err(e);
            }
        };
        self.set(&record.run_id, |r| {
            if r.runner_pid.is_none() {
                r.runner_pid = Some(pid);
            }
        })
    }

    /// The record of `run_id`.
    pub fn get(&self, run_id: &str) -> Result<RunRecord, JobError> {
        self.state
            .read()?
            .runs
            .into_iter()
            .find(|r| r.run_id == run_id)
            .ok_or_else(|| JobError::UnknownRun(run_id.to_owned()))
    }

    /// Every record, newest first.
    pub fn list(&self) -> Result<Vec<RunRecord>, JobError> {
        let mut runs = self.state.read()?.runs;
        runs.reverse();
        Ok(runs)
    }

    /// True when an active run is really being worked on: its runner lives,
    /// or it was recorded moments ago and its runner may still be starting.
    pub fn is_live(&self, r: &RunRecord) -> bool {
        r.status.is_active() && reconcile::has_runner(r, chrono::Utc::now())
    }

    /// Changes one record under the lock; returns the updated record.
    pub fn set(
        &self,
        run_id: &str,
        change: impl FnOnce(&mut RunRecord),
    ) -> Result<RunRecord, JobError> {
        self.state
            .update(|doc| {
                let r = doc.runs.iter_mut().find(|r| r.run_id == run_id)?;
                change(r);
                Some(r.clone())
            })?
            .ok_or_else(|| JobError::UnknownRun(run_id.to_owned()))
    }

    /// Stops an active run's runner and waits until it is gone: asked
    /// first, killed if it is still there after `STOP_WAIT`.
    pub fn stop_runner(&self, run_id: &str) -> Result<(), JobError> {
        let record = self.get(run_id)?;
        let Some(pid) = record.runner_pid else {
            return Ok(());
        };
        let gone = |wait: std::time::Duration| {
            let deadline = std::time::Instant::now() + wait;
            while runner::is_our_runner(&record) {
                if std::time::Instant::now() > deadline {
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            true
        };
        if runner::is_our_runner(&record) {
            crate::sys::terminate(pid);
        }
        if !gone(STOP_WAIT) {
            crate::sys::kill(pid);
            if !gone(std::time::Duration::from_secs(2)) {
                return Err(JobError::Spawn(format!(
                    "the runner of {run_id} (pid {pid}) does not stop"
                )));
            }
        }
        Ok(())
    }

    /// Asks an active run's runner to stop (it keeps partial results).
    pub fn cancel(&self, run_id: &str) -> Result<RunRecord, JobError> {
        let record = self.get(run_id)?;
        if let (true, Some(pid)) = (record.status.is_active(), record.runner_pid) {
            if runner::is_our_runner(&record) {
                crate::sys::terminate(pid);
            }
        }
        Ok(record)
    }
}

/// What a foreground run records besides its spec.
#[derive(Debug, Clone, Default)]
pub struct Foreground {
    /// Free-form label.
    pub label: Option<String>,
    /// What is measured, when a project says it.
    pub context: Option<ResultContext>,
    /// Where the run's files go.
    pub output_dir: PathBuf,
}

impl NewRun {
    /// A local run of `spec`: the target is `sim` or the endpoint's URL.
    fn local(spec: &RunSpec, label: Option<String>, context: Option<ResultContext>) -> Self {
        let target = if spec.endpoint.simulated {
            "sim".to_owned()
        } else {
            spec.endpoint.url.clone()
        };
        Self {
            label,
            engine: Engine::Local,
            target,
            engine_refs: None,
            context,
        }
    }
}

/// What `launch` records besides the spec.
struct NewRun {
    label: Option<String>,
    engine: Engine,
    target: String,
    engine_refs: Option<serde_json::Value>,
    context: Option<ResultContext>,
}

/// A queued record of a new run whose files go to `run_dir` (created now).
fn new_record(
    spec: RunSpec,
    run: NewRun,
    run_dir: &Path,
    started_by: Starter,
) -> Result<RunRecord, JobError> {
    crate::storage::private_dirs(run_dir).map_err(|source| StorageError::Write {
        path: run_dir.display().to_string(),
        source,
    })?;
    Ok(RunRecord {
        run_id: spec.run_id.clone(),
        label: run.label,
        workload: spec.workload.clone(),
        engine: run.engine,
        started_by,
        runner_started: None,
        target: run.target,
        status: RunState::Queued,
        created_at: Anchor::now().rfc3339(std::time::Instant::now()),
        started_at: None,
        finished_at: None,
        runner_pid: None,
        run_dir: run_dir.display().to_string(),
        failure: None,
        spec,
        engine_refs: run.engine_refs,
        context: run.context,
        respawns: 0,
        respawned_at: None,
    })
}

/// Longest label a run may carry.
pub const MAX_LABEL_CHARS: usize = 200;

fn check_label(label: Option<&str>) -> Result<(), JobError> {
    match label {
        Some(l) if l.chars().count() > MAX_LABEL_CHARS => Err(JobError::Input(format!(
            "the label is {} characters; at most {MAX_LABEL_CHARS} are kept",
            l.chars().count()
        ))),
        Some(l) if l.chars().any(char::is_control) => Err(JobError::Input(
            "the label holds control characters; use plain text".into(),
        )),
        _ => Ok(()),
    }
}

/// `<workload>-<UTC time>-<random>`: unique even for runs started in the
/// same second by different servers.
pub fn new_run_id(workload: Option<&str>) -> String {
    let salt = crate::rng::Rng::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()) << 32,
    )
    .next_u64();
    format!(
        "{}-{}-{:06x}",
        workload.map_or_else(|| "custom".to_owned(), crate::catalog::normalize),
        crate::wallclock::compact_utc_now(),
        salt & 0xFF_FFFF
    )
}
