//! `mcc-bench serve`: the MCP server over stdio. Stdout carries only the
//! protocol; logs go to stderr.

use std::process::ExitCode;
use std::sync::Arc;

use super::args::{ServeArgs, ToolsetArg};
use super::CliError;
use crate::catalog::Catalog;
use crate::jobs::{default_home, Jobs};
use crate::mcp::{self, BenchServer, Shared, Toolset};

/// Serves until the client closes stdin.
pub(crate) fn serve(args: &ServeArgs, catalog: Catalog) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    let home = args.home.clone().unwrap_or_else(default_home);
    let shared = Arc::new(Shared {
        catalog,
        jobs: Jobs::new(&home, &exe),
    });
    let toolset = match args.toolset {
        ToolsetArg::Catalog => Toolset::Catalog,
        ToolsetArg::Benchmark => Toolset::Benchmark,
        ToolsetArg::All => Toolset::All,
    };
    let server = BenchServer::new(Arc::clone(&shared), toolset, args.read_only);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(mcp::serve_stdio(server, shared))
        .map_err(CliError::System)?;
    Ok(ExitCode::SUCCESS)
}
