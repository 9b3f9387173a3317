//! Storage: every file a run writes. Each file is written to a temporary
//! name, synced and renamed into place, so a reader never sees half a file.

mod aiperf_import;
mod aiperf_json;
mod atomic;
mod files;
mod history_db;
mod history_functions;
mod history_parquet;
mod history_shape;
mod history_sql;
mod jsonl;
mod state;

use std::path::Path;

use thiserror::Error;

use crate::domain::{LevelResult, RequestRecord, RunResult, RunSpec};
use crate::metrics::TokenPolicy;
use crate::wallclock::Anchor;
pub use aiperf_import::{import_aiperf_json, ImportError, ImportedLevel};
pub use aiperf_json::aiperf_export;
pub use atomic::{private_dirs, remove_temp_files, write_atomic, write_atomic_with};
pub use files::{files_under, read_run_file};
pub use history_parquet::{
    history_file_path, history_parquet, read_history_file, write_history_file, HISTORY_DIR,
};
pub use history_sql::{check_read_only, query_history, QueryError, QueryLimits, QueryRows};
pub use state::{StateDoc, StateFile, STATE_SCHEMA_VERSION};

/// Name of the AIPerf-compatible aggregate export.
pub const AIPERF_JSON: &str = "profile_export_aiperf.json";
/// Name of the per-request export.
pub const AIPERF_JSONL: &str = "profile_export.jsonl";
/// Name of the resolved run specification.
pub const RUN_SPEC_JSON: &str = "run_spec.json";
/// Name of the full result (all levels, validity, indicators).
pub const RESULTS_JSON: &str = "results.json";

/// Storage failures.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The state file cannot be used.
    #[error("state file {path} {reason}")]
    State {
        /// The file.
        path: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A file could not be read or is malformed.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Parquet or Arrow encoding failed.
    #[error("cannot encode the history file: {0}")]
    Parquet(String),
    /// A value could not be serialised.
    #[error("cannot serialise {what}: {source}")]
    Serialise {
        /// What was being written.
        what: &'static str,
        /// The cause.
        source: serde_json::Error,
    },
}

/// What the exporters need besides the records.
#[derive(Debug, Clone, Copy)]
pub struct ExportContext<'a> {
    /// The run's specification.
    pub spec: &'a RunSpec,
    /// Monotonic → wall clock conversion.
    pub anchor: Anchor,
    /// Token count choice.
    pub policy: TokenPolicy,
    /// The model the requests named (given, or discovered from `/models`).
    pub model: &'a str,
}

/// Name of the live progress snapshot.
pub const PROGRESS_JSON: &str = "progress.json";

/// Writes `progress.json` (atomically: a reader sees one whole snapshot).
pub fn write_progress(dir: &Path, p: &crate::domain::ProgressSnapshot) -> Result<(), StorageError> {
    write_json(&dir.join(PROGRESS_JSON), p, "progress")
}

/// The last progress snapshot of a run, if it wrote a readable one.
pub fn read_progress(dir: &Path) -> Option<crate::domain::ProgressSnapshot> {
    let text = read_run_file(dir, PROGRESS_JSON, 1 << 20).ok()?;
    serde_json::from_str(&text).ok()
}

/// Reads `results.json` of a run directory.
pub fn read_run_result(dir: &Path) -> Result<RunResult, StorageError> {
    let text = read_run_file(dir, RESULTS_JSON, 64 << 20)?;
    serde_json::from_str(&text).map_err(|e| StorageError::Read {
        path: dir.join(RESULTS_JSON).display().to_string(),
        reason: format!("not a results file: {e}"),
    })
}

/// Writes `run_spec.json`.
pub fn write_run_spec(dir: &Path, spec: &RunSpec) -> Result<(), StorageError> {
    write_json(&dir.join(RUN_SPEC_JSON), spec, "run spec")
}

/// Writes `results.json`.
pub fn write_run_result(dir: &Path, result: &RunResult) -> Result<(), StorageError> {
    write_json(&dir.join(RESULTS_JSON), result, "results")
}

/// Writes one level's `profile_export_aiperf.json` and `profile_export.jsonl`
/// (warmup records, if given, lead the JSONL tagged `warmup`).
pub fn write_level_exports(
    dir: &Path,
    level: &LevelResult,
    records: &[RequestRecord],
    warmup: &[RequestRecord],
    ctx: ExportContext<'_>,
) -> Result<(), StorageError> {
    let export = aiperf_export(level, ctx);
    write_json(&dir.join(AIPERF_JSON), &export, "AIPerf export")?;
    let label = level.level.label();
    write_atomic_with(&dir.join(AIPERF_JSONL), |w| {
        jsonl::write_records_jsonl(w, warmup.iter().chain(records), &label, ctx)
    })
}

/// Writes any value as pretty JSON at `path` (atomically).
pub fn write_json_file<T: serde::Serialize>(
    path: &Path,
    value: &T,
    what: &'static str,
) -> Result<(), StorageError> {
    write_json(path, value, what)
}

fn write_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
    what: &'static str,
) -> Result<(), StorageError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|source| StorageError::Serialise { what, source })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}
