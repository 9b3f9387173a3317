//! `mcc-bench serve`: the MCP server over stdio, or streamable HTTP with
//! `--http`. Stdout carries only the protocol (stdio) or nothing (HTTP);
//! logs go to stderr.

use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::args::{ServeArgs, ToolsetArg};
use super::CliError;
use crate::catalog::Catalog;
use crate::jobs::{default_home, Jobs};
use crate::mcp::{self, BenchServer, HttpOptions, Shared, Toolset};
use crate::storage::QueryLimits;

/// Serves until the client closes stdin (stdio) or until Ctrl+C (HTTP).
pub(crate) fn serve(args: &ServeArgs, catalog: Catalog) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    let home = args.home.clone().unwrap_or_else(default_home);
    let policy = super::server_config::load(args)?;
    let jobs = Jobs::new(&home, &exe).with_max_active(args.max_active_runs as usize);
    let mut shared = Shared::with_policy(catalog, jobs, policy);
    if let Some(dir) = &args.project {
        let dir = std::fs::canonicalize(dir)
            .map_err(|e| CliError::Input(format!("--project {}: {e}", dir.display())))?;
        if !dir.is_dir() {
            return Err(CliError::Input(format!(
                "--project {}: not a directory",
                dir.display()
            )));
        }
        shared.cwd = Some(dir.clone());
        shared.project = Some(dir);
    }
    shared.query_limits = QueryLimits {
        timeout: std::time::Duration::from_secs(args.query_timeout),
        memory_bytes: args.query_memory_mib << 20,
        ..QueryLimits::default()
    };
    let shared = Arc::new(shared);
    let toolset = match args.toolset {
        ToolsetArg::Catalog => Toolset::Catalog,
        ToolsetArg::Benchmark => Toolset::Benchmark,
        ToolsetArg::All => Toolset::All,
    };
    let read_only = args.read_only;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))?;
    let Some(addr) = args.http else {
        let server = BenchServer::new(Arc::clone(&shared), toolset, read_only);
        rt.block_on(mcp::serve_stdio(server, shared))
            .map_err(CliError::System)?;
        return Ok(ExitCode::SUCCESS);
    };
    let opts = HttpOptions {
        addr,
        auth_token: args.auth_token.clone(),
        allowed_origins: args.allow_origin.clone(),
        keep_alive: std::time::Duration::from_secs(args.keep_alive),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        max_sessions: usize::try_from(args.max_sessions).unwrap_or(usize::MAX),
        header_timeout: std::time::Duration::from_millis(args.header_timeout_ms),
    };
    rt.block_on(async move {
        let listener = mcp::bind_http(&opts)
            .await
            .map_err(|e| CliError::Input(e.to_string()))?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::System(e.to_string()))?;
        eprintln!("mcc-bench MCP server listening on http://{local}/mcp");
        eprintln!("legacy HTTP+SSE clients: http://{local}/sse");
        let stop = CancellationToken::new();
        let signals = tokio::spawn(stop_on_signal(stop.clone()));
        let make_shared = Arc::clone(&shared);
        let make = move || BenchServer::new(Arc::clone(&make_shared), toolset, read_only);
        mcp::serve_http(listener, opts, make, shared, stop).await;
        signals.abort();
        Ok(ExitCode::SUCCESS)
    })
}

async fn stop_on_signal(stop: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    stop.cancel();
}
