//! A benchmark run as the job layer tracks it: one record in the state file.

use serde::{Deserialize, Serialize};

use super::RunSpec;

/// Lifecycle of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Recorded; its runner has not started measuring yet.
    Queued,
    /// The runner is sending load.
    Running,
    /// Load finished; results are being gathered.
    Collecting,
    /// Finished with results.
    Completed,
    /// Finished without usable results (see `failure`).
    Failed,
    /// Stopped on request; partial results kept.
    Cancelled,
    /// The runner died; partial results kept.
    Interrupted,
}

impl RunState {
    /// Queued, running or collecting.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running | Self::Collecting)
    }

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Collecting => "collecting",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }
}

/// Which engine executes a run. One definition: the run record, the
/// history's `run_type`, list filters and reports all use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// The embedded load generator on this machine.
    Local,
    /// SageMaker AI benchmark jobs.
    Sagemaker,
    /// Model staging into S3 (not a benchmark).
    Stage,
}

impl Engine {
    /// snake_case name, as in the state file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Sagemaker => "sagemaker",
            Self::Stage => "stage",
        }
    }

    /// The engine named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Local, Self::Sagemaker, Self::Stage]
            .into_iter()
            .find(|e| e.as_str() == s)
    }

    /// True for engines whose runner, once dead, is started again and
    /// resumes (their work goes on outside the runner).
    pub fn resumable(self) -> bool {
        matches!(self, Self::Sagemaker | Self::Stage)
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who executes a run's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Starter {
    /// A detached `mcc-bench runner` process (runs started over MCP, or
    /// SageMaker runs from the shell).
    #[default]
    Runner,
    /// The `mcc-bench run` process itself, in the foreground.
    Cli,
}

/// One run in the state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique id (also the run directory's name).
    pub run_id: String,
    /// Free-form label given at start.
    pub label: Option<String>,
    /// Catalog workload, if any.
    pub workload: Option<String>,
    /// Engine that executes it.
    pub engine: Engine,
    /// Who executes it: a detached runner, or the shell's own process.
    #[serde(default)]
    pub started_by: Starter,
    /// What is measured: the endpoint URL or `sim`.
    pub target: String,
    /// Current state.
    pub status: RunState,
    /// RFC 3339 times.
    pub created_at: String,
    /// When the runner started measuring.
    pub started_at: Option<String>,
    /// When it reached a final state.
    pub finished_at: Option<String>,
    /// Process id of the runner (or the foreground `mcc-bench run`) while
    /// it lives.
    pub runner_pid: Option<u32>,
    /// That process's start time (clock ticks since boot): with the pid it
    /// names one process, never a later one that reused the pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_started: Option<u64>,
    /// Directory with the run's files.
    pub run_dir: String,
    /// Why it failed or was interrupted.
    pub failure: Option<String>,
    /// The resolved specification.
    pub spec: RunSpec,
    /// Engine-specific identifiers (cloud job names), when there are any.
    #[serde(default)]
    pub engine_refs: Option<serde_json::Value>,
    /// What the run measures beyond its spec (project, model, instance,
    /// adapter), for the results history and list filters. Set at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<super::ResultContext>,
    /// Runners started again for this run after one died (resumable
    /// engines); reconciliation backs off by it and gives up at a limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub respawns: u32,
    /// When the last runner was started again (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respawned_at: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
