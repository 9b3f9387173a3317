//! History queries run in a worker process of their own (`mcc-bench
//! query-worker`), so no query can take a server down or hold it up: the
//! kernel caps the worker's memory (`RLIMIT_DATA`), the engine inside it has
//! a heap limit of the same size for a clean error where it can (a limit
//! that is process-wide, hence one process per query), the worker
//! is killed at the statement timeout or as soon as the caller cancels (an
//! MCP client that cancels or goes away), and its answer is read with a size
//! cap. The worker's threads are not the server's: other sessions stay
//! responsive whatever a query does.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::storage::{query_history, QueryError, QueryLimits, QueryRows};

/// The hidden subcommand that runs one query.
pub const QUERY_WORKER_COMMAND: &str = "query-worker";
/// Largest request a worker reads from its stdin.
const MAX_REQUEST_BYTES: u64 = 1 << 20;
/// Room for the reply's framing beyond the rows' own bytes.
const REPLY_SLACK_BYTES: usize = 1 << 20;
/// Memory a worker may use beyond the engine's pool: the binary's own heap
/// and its threads' stacks.
const WORKER_OVERHEAD_BYTES: u64 = 512 << 20;

/// What a worker is asked.
#[derive(Debug, Serialize, Deserialize)]
struct WorkerRequest {
    home: PathBuf,
    sql: String,
    limit: usize,
    limits: QueryLimits,
}

/// What a worker answers on stdout.
#[derive(Debug, Serialize, Deserialize)]
enum WorkerReply {
    Rows(QueryRows),
    Invalid(String),
    NotReadOnly(String),
    Engine(String),
}

/// Runs `sql` over the history under `home` in a worker process started
/// from `exe`, within `limits`; `cancel` kills it.
pub async fn run_query(
    exe: &Path,
    home: &Path,
    sql: &str,
    limit: usize,
    limits: QueryLimits,
    cancel: CancellationToken,
) -> Result<QueryRows, QueryError> {
    // The text is parsed (and checked) in the worker only: a deeply nested
    // query can exhaust a parser's stack, and only the worker may fall.
    let request = WorkerRequest {
        home: home.to_path_buf(),
        sql: sql.to_owned(),
        limit,
        limits,
    };
    let mut child = tokio::process::Command::new(exe)
        .arg(QUERY_WORKER_COMMAND)
        // The allocator reserves address space in small arenas, not 1 GiB
        // ones, so the memory cap leaves room for the worker's threads.
        .env("MIMALLOC_ARENA_RESERVE", "64MiB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| QueryError::Engine(format!("cannot start the query worker: {e}")))?;
    let talk = exchange(&mut child, &request);
    let reply = tokio::select! {
        r = talk => r,
        () = tokio::time::sleep(limits.timeout) => Err(QueryError::Engine(format!(
            "the query ran longer than the {} s statement timeout and was stopped; narrow it \
             (filters, LIMIT) or ask the operator to raise the timeout",
            limits.timeout.as_secs()
        ))),
        () = cancel.cancelled() => Err(QueryError::Engine("the query was cancelled".into())),
    };
    let _ = child.kill().await;
    reply.map_err(|e| memory_hint(e, &limits))
}

/// Writes the request, reads the reply (capped) and the exit status.
async fn exchange(
    child: &mut tokio::process::Child,
    request: &WorkerRequest,
) -> Result<QueryRows, QueryError> {
    let engine = |m: String| QueryError::Engine(m);
    let body = serde_json::to_vec(request).map_err(|e| engine(e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| engine("no worker stdin".into()))?;
    stdin
        .write_all(&body)
        .await
        .map_err(|e| engine(format!("query worker: {e}")))?;
    drop(stdin);
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| engine("no worker stdout".into()))?;
    let cap = request.limits.max_result_bytes + REPLY_SLACK_BYTES;
    let mut out = Vec::new();
    stdout
        .take(cap as u64 + 1)
        .read_to_end(&mut out)
        .await
        .map_err(|e| engine(format!("query worker: {e}")))?;
    let status = child.wait().await.map_err(|e| engine(e.to_string()))?;
    if out.len() > cap {
        return Err(engine(
            "the query worker's answer is larger than allowed".into(),
        ));
    }
    match serde_json::from_slice::<WorkerReply>(&out) {
        Ok(WorkerReply::Rows(rows)) => Ok(rows),
        Ok(WorkerReply::Invalid(m)) => Err(QueryError::Invalid(m)),
        Ok(WorkerReply::NotReadOnly(m)) => Err(QueryError::NotReadOnly(m)),
        Ok(WorkerReply::Engine(m)) => Err(QueryError::Engine(m)),
        Err(_) => Err(engine(format!(
            "the query worker ended without an answer ({status})"
        ))),
    }
}

/// A worker that died without an answer most likely hit its memory cap.
fn memory_hint(e: QueryError, limits: &QueryLimits) -> QueryError {
    match e {
        QueryError::Engine(m) if m.contains("without an answer") => QueryError::Engine(format!(
            "{m}: it most likely needed more than its {} MiB of memory; narrow the query \
             (filters, LIMIT, fewer or shorter strings)",
            limits.memory_bytes >> 20
        )),
        other => other,
    }
}

/// Entry point of `mcc-bench query-worker`: reads one request on stdin,
/// caps its own memory, runs the query and prints the reply on stdout.
pub fn serve_one() -> std::process::ExitCode {
    let reply = match read_request() {
        Ok(req) => answer(req),
        Err(m) => WorkerReply::Engine(m),
    };
    let text = serde_json::to_string(&reply)
        .unwrap_or_else(|e| format!("{{\"Engine\":{}}}", serde_json::Value::from(e.to_string())));
    print!("{text}");
    std::process::ExitCode::SUCCESS
}

fn read_request() -> Result<WorkerRequest, String> {
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin(), MAX_REQUEST_BYTES),
        &mut text,
    )
    .map_err(|e| format!("cannot read the query request: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("malformed query request: {e}"))
}

fn answer(req: WorkerRequest) -> WorkerReply {
    // The cap also counts the binary's own heap and the Parquet reader's
    // buffers; the engine's heap limit is the size asked for and gives a
    // clean error before the kernel refuses.
    crate::sys::limit_memory(req.limits.memory_bytes + WORKER_OVERHEAD_BYTES);
    match query_history(&req.home, &req.sql, req.limit, &req.limits) {
        Ok(rows) => WorkerReply::Rows(rows),
        Err(QueryError::Invalid(m)) => WorkerReply::Invalid(m),
        Err(QueryError::NotReadOnly(m)) => WorkerReply::NotReadOnly(m),
        Err(QueryError::Engine(m)) => WorkerReply::Engine(m),
    }
}
