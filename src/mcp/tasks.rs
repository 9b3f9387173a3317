//! MCP Tasks (`io.modelcontextprotocol/tasks`, the 2026-07-28 extension).
//!
//! For a client that declares the extension, start_benchmark, find_capacity
//! and stage_model answer with a task instead of `{run_id}`. The task *is*
//! the run: its id is the run id, `tasks/get` reads the run record and
//! `tasks/cancel` cancels the run. So a task outlives this server and is seen
//! from every session, as runs are, and nothing here holds state of its own.
//! Clients without the extension keep get_status / fetch_results polling.

use std::path::Path;

use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, CreateTaskResult, DetailedTask, JsonObject,
    Task, TaskPayload, TaskStatus,
};
use rmcp::ErrorData;

use super::ops;
use super::params::ResultsArgs;
use crate::domain::{Engine, RunRecord, RunState};
use crate::jobs::{JobError, Jobs};

/// Tools that run as tasks for a client that declared the extension.
pub(crate) const TASK_TOOLS: [&str; 3] = ["start_benchmark", "find_capacity", "stage_model"];

/// Suggested polling interval: a run's progress file changes about once a
/// second, and a benchmark lasts seconds to hours.
const POLL_INTERVAL_MS: u64 = 2_000;

/// A started run's tool response as a task handle. Other responses (a
/// refusal the agent can act on at once) pass unchanged: the extension lets
/// a server answer a task-eligible call synchronously.
pub(crate) fn into_task(jobs: &Jobs, response: CallToolResponse) -> CallToolResponse {
    let CallToolResponse::Complete(result) = &response else {
        return response;
    };
    if result.is_error == Some(true) {
        return response;
    }
    let run_id = result
        .structured_content
        .as_ref()
        .and_then(|v| v.get("run_id"))
        .and_then(serde_json::Value::as_str);
    match run_id.map(|id| jobs.get(id)) {
        Some(Ok(r)) => CallToolResponse::Task(CreateTaskResult::new(seed(&r))),
        _ => response,
    }
}

/// `tasks/get`: the run's state as a task, with the tool's final result
/// once the run has ended.
pub(crate) fn get(jobs: &Jobs, task_id: &str) -> Result<DetailedTask, ErrorData> {
    let _ = jobs.reconcile();
    let r = record(jobs, task_id)?;
    Ok(DetailedTask::new(seed(&r), payload(jobs, &r)))
}

/// `tasks/cancel`: cancels an active run (partial results are kept, as with
/// cancel_benchmark); a run that already ended is left as it is.
pub(crate) fn cancel(jobs: &Jobs, task_id: &str) -> Result<(), ErrorData> {
    let r = record(jobs, task_id)?;
    if !r.status.is_active() {
        return Ok(());
    }
    match jobs.cancel(&r.run_id) {
        Ok(_) => Ok(()),
        // It ended between the read and the cancel.
        Err(_) if !record(jobs, task_id)?.status.is_active() => Ok(()),
        Err(e) => Err(ErrorData::internal_error(
            format!("cannot cancel run {task_id}: {e}"),
            None,
        )),
    }
}

/// `tasks/update`: these tasks never ask for input, so there is nothing to
/// route; the id must still name a run.
pub(crate) fn update(jobs: &Jobs, task_id: &str) -> Result<(), ErrorData> {
    record(jobs, task_id).map(|_| ())
}

/// The run behind `task_id`; an unknown id is invalid params (-32602), as
/// the extension requires.
fn record(jobs: &Jobs, task_id: &str) -> Result<RunRecord, ErrorData> {
    jobs.get(task_id).map_err(|e| match e {
        JobError::UnknownRun(_) => ErrorData::invalid_params(
            format!("unknown task: {task_id} (a task id is a run id; list_benchmarks lists them)"),
            None,
        ),
        other => ErrorData::internal_error(format!("cannot read run {task_id}: {other}"), None),
    })
}

/// The task's base fields: id, times and what the run is doing.
fn seed(r: &RunRecord) -> Task {
    let updated = r
        .finished_at
        .as_ref()
        .or(r.started_at.as_ref())
        .unwrap_or(&r.created_at);
    let status = if r.status.is_active() {
        TaskStatus::Working
    } else if r.status == RunState::Cancelled {
        TaskStatus::Cancelled
    } else {
        TaskStatus::Completed
    };
    Task::new(&r.run_id, status, &r.created_at, updated)
        .with_poll_interval_ms(POLL_INTERVAL_MS)
        .with_status_message(status_message(r))
}

/// One line an agent or a person can read: the run's progress while it is
/// active, else its final state and failure.
fn status_message(r: &RunRecord) -> String {
    let state = r.status.as_str();
    if r.status.is_active() {
        return match ops::read_progress(Path::new(&r.run_dir)) {
            Some(p) => format!("{state}, {}", ops::progress_line(&p)),
            None => state.to_owned(),
        };
    }
    match &r.failure {
        Some(f) => format!("{state}: {f}"),
        None => state.to_owned(),
    }
}

/// What the task carries for the run's state: nothing while it runs or
/// once cancelled, else the final tool result.
fn payload(jobs: &Jobs, r: &RunRecord) -> TaskPayload {
    if r.status.is_active() {
        return TaskPayload::Working;
    }
    if r.status == RunState::Cancelled {
        return TaskPayload::Cancelled;
    }
    let result = final_result(jobs, r);
    match serde_json::to_value(result) {
        Ok(serde_json::Value::Object(result)) => TaskPayload::Completed { result },
        // A CallToolResult always encodes as an object.
        _ => TaskPayload::Completed {
            result: JsonObject::new(),
        },
    }
}

/// The tool result of an ended run: fetch_results' summary for a benchmark,
/// get_status (with the staging report) for staging. A run that failed or
/// was interrupted is a tool error an agent can act on (`isError: true`),
/// with its partial results when it wrote any.
fn final_result(jobs: &Jobs, r: &RunRecord) -> CallToolResult {
    let ok = r.status == RunState::Completed;
    let mut result = if r.engine == Engine::Stage {
        structured(&ops::status(r, false))
    } else {
        let args = ResultsArgs {
            run_id: r.run_id.clone(),
            detail: None,
        };
        match ops::results(jobs, &args).map(|res| super::server::with_report_link(&res)) {
            Ok(Ok(out)) => out,
            Ok(Err(e)) | Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        }
    };
    if !ok {
        result.is_error = Some(true);
        if let Some(f) = &r.failure {
            let text = format!("run {} is {}: {f}", r.run_id, r.status.as_str());
            result.content.insert(0, ContentBlock::text(text));
        }
    }
    result
}

/// A serialisable output as a structured tool result.
fn structured<T: serde::Serialize>(out: &T) -> CallToolResult {
    match serde_json::to_value(out) {
        Ok(v) => CallToolResult::structured(v),
        Err(e) => CallToolResult::error(vec![ContentBlock::text(format!(
            "cannot encode the run's status: {e}"
        ))]),
    }
}
