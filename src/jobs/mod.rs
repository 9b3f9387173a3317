//! Runs that outlive the process that started them. A run is a record in the
//! state file plus a directory; its load is executed by a detached *runner*
//! process (`mcc-bench runner RUN_ID`, in its own process group) that writes
//! progress and results into the directory and updates the record. Any
//! process sharing `$MCC_BENCH_HOME` can report on any run; `reconcile`
//! marks local runs whose runner died as `interrupted`, keeping partial
//! results, and starts a new runner for SageMaker runs, which resumes
//! following their cloud jobs.

mod cloud;
pub mod compare;
pub mod history;
mod runner;
mod stage;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::domain::{ResultContext, RunRecord, RunSpec, RunState, SecretHeaders};
use crate::storage::{StateFile, StorageError};
use crate::wallclock::Anchor;
pub use cloud::{clean_leftovers, clean_run, initial_refs, refs_of, SAGEMAKER};
pub use runner::{run_runner, RUNNER_COMMAND};
pub use stage::{
    plan_stage, stage_plan_of, StageRequest, STAGE, STAGE_PROGRESS_JSON, STAGE_RESULT_JSON,
};

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
}

impl Jobs {
    /// Runs under `home`, executed by the binary `exe`.
    pub fn new(home: &Path, exe: &Path) -> Self {
        Self {
            home: home.to_path_buf(),
            state: StateFile::in_home(home),
            exe: exe.to_path_buf(),
        }
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
        let target = if spec.endpoint.simulated {
            "sim".to_owned()
        } else {
            spec.endpoint.url.clone()
        };
        let run = NewRun {
            label,
            engine: "local",
            target,
            engine_refs: None,
            context,
        };
        self.launch(spec, run)
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
            engine: SAGEMAKER,
            target,
            engine_refs: Some(refs),
            context,
        };
        self.launch(spec, run)
    }

    fn launch(&self, mut spec: RunSpec, run: NewRun<'_>) -> Result<RunRecord, JobError> {
        let NewRun {
            label,
            engine,
            target,
            engine_refs,
            context,
        } = run;
        let run_dir = self.home.join("runs").join(&spec.run_id);
        std::fs::create_dir_all(&run_dir).map_err(|source| StorageError::Write {
            path: run_dir.display().to_string(),
            source,
        })?;
        spec.endpoint.api_key = None;
        let headers = std::mem::take(&mut spec.endpoint.headers);
        let record = RunRecord {
            run_id: spec.run_id.clone(),
            label,
            workload: spec.workload.clone(),
            engine: engine.to_owned(),
            target,
            status: RunState::Queued,
            created_at: Anchor::now().rfc3339(std::time::Instant::now()),
            started_at: None,
            finished_at: None,
            runner_pid: None,
            run_dir: run_dir.display().to_string(),
            failure: None,
            spec,
            engine_refs,
            context,
        };
        self.state.update(|doc| doc.runs.push(record.clone()))?;
        let pid = match runner::spawn(&self.exe, &self.home, &record, &headers) {
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

    /// Asks an active run's runner to stop (it keeps partial results).
    pub fn cancel(&self, run_id: &str) -> Result<RunRecord, JobError> {
        let record = self.get(run_id)?;
        if let (true, Some(pid)) = (record.status.is_active(), record.runner_pid) {
            if runner::is_our_runner(pid, run_id) {
                crate::sys::terminate(pid);
            }
        }
        Ok(record)
    }

    /// Marks active local runs whose runner is gone as `interrupted` and
    /// starts a new runner for such SageMaker runs (their jobs go on in the
    /// cloud) and staging runs (a new runner uploads only what is missing);
    /// returns the runs it changed.
    pub fn reconcile(&self) -> Result<Vec<String>, JobError> {
        let now = Anchor::now().rfc3339(std::time::Instant::now());
        let (mut changed, resume) = self.state.update(|doc| {
            let mut changed = Vec::new();
            let mut resume = Vec::new();
            for r in doc.runs.iter_mut().filter(|r| r.status.is_active()) {
                let alive = r
                    .runner_pid
                    .is_some_and(|pid| runner::is_our_runner(pid, &r.run_id));
                let resumable = r.engine == SAGEMAKER || r.engine == STAGE;
                if !alive && r.runner_pid.is_some() && resumable {
                    resume.push(r.clone());
                } else if !alive && r.runner_pid.is_some() {
                    r.status = RunState::Interrupted;
                    r.finished_at = Some(now.clone());
                    r.failure = Some(
                        "the runner process exited without finishing; partial results are kept"
                            .into(),
                    );
                    changed.push(r.run_id.clone());
                }
            }
            (changed, resume)
        })?;
        // A runner that finds another live runner for its run exits at once,
        // so two servers resuming the same run start one follower.
        for r in resume {
            match runner::spawn(&self.exe, &self.home, &r, &SecretHeaders::default()) {
                Ok(_) => changed.push(r.run_id),
                Err(e) => tracing::warn!("cannot resume run {}: {e}", r.run_id),
            }
        }
        Ok(changed)
    }
}

/// What `launch` records besides the spec.
struct NewRun<'a> {
    label: Option<String>,
    engine: &'a str,
    target: String,
    engine_refs: Option<serde_json::Value>,
    context: Option<ResultContext>,
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
