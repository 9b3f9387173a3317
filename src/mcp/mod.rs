//! The MCP surface: the only module that uses rmcp. The handler
//! (`server`) is independent of the transport; `serve_stdio` wires it to
//! stdin/stdout and `http` serves streamable HTTP at `/mcp` and the legacy
//! HTTP+SSE transport at `/sse` (`sse`). Domain failures become tool results with `isError: true`
//! and a message an agent can act on; only protocol faults are JSON-RPC
//! errors.

mod accept;
mod allowed;
mod cleanup;
pub mod client;
mod guard;
mod http;
mod ops;
mod params;
mod prompts;
mod results;
mod server;
mod sse;
mod sse_stream;
mod stage;
mod start;
mod tasks;
mod tool_error;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

pub use http::{
    bind as bind_http, serve as serve_http, HttpError, HttpOptions, DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_SESSIONS, MAX_BODY_BYTES,
};
pub use server::{BenchServer, Shared, Toolset, CATALOG_TOOLS, WRITE_TOOLS};

/// How often the tracker reconciles runs whose runner died.
const TRACK_EVERY: Duration = Duration::from_secs(2);

/// Serves MCP over stdio until the client closes it. Reconciles once at
/// start, then a background tracker keeps doing so.
pub async fn serve_stdio(server: BenchServer, shared: Arc<Shared>) -> Result<(), String> {
    let stop = CancellationToken::new();
    let tracker = tokio::spawn(track(shared, stop.clone()));
    let service = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP handshake failed: {e}"))?;
    let outcome = service
        .waiting()
        .await
        .map(|_| ())
        .map_err(|e| format!("MCP session failed: {e}"));
    stop.cancel();
    let _ = tracker.await;
    outcome
}

/// Marks runs whose runner died as interrupted, until `stop`. The state
/// file's lock and `/proc` are read on a blocking thread, never on the
/// threads that answer clients.
async fn track(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let jobs = shared.jobs.clone();
        match tokio::task::spawn_blocking(move || jobs.reconcile()).await {
            Ok(Err(e)) => tracing::warn!("reconciling runs failed: {e}"),
            Err(e) => tracing::warn!("reconciling runs failed: {e}"),
            Ok(Ok(_)) => {}
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(TRACK_EVERY) => {}
        }
    }
}
