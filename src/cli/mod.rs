//! The command line: `run`, `sim`, `workloads`. Parses flags, drives the
//! engine, prints results for people (tables) or programs (`--json`).

mod args;
mod call;
mod clean;
mod cloud_run;
mod progress_bar;
mod resolve;
mod results;
mod run;
mod serve;
mod server_config;
mod shape_args;
mod sim_cmd;
mod stage;
mod status;
mod table;
mod text_table;
mod workloads;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use thiserror::Error;

pub use args::{
    CallArgs, CapacityArgs, CleanArgs, CompareArgs, QueryArgs, ReportArgs, RunArgs, ServeArgs,
    SimArgs, StageArgs, StatusArgs,
};

/// Exit codes (documented in the README).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// An error before or outside the measurement (bad input, I/O, setup).
    pub const ERROR: u8 = 1;
    /// Invalid command-line usage (clap's own code).
    pub const USAGE: u8 = 2;
    /// The run finished but every request failed.
    pub const ALL_FAILED: u8 = 3;
    /// Interrupted (Ctrl+C / SIGTERM); partial results were written.
    pub const INTERRUPTED: u8 = 130;
}

/// Benchmark LLM inference endpoints.
#[derive(Debug, Parser)]
#[command(name = "mcc-bench", version, about, long_about = None)]
pub struct Cli {
    /// User workload catalog merged over the built-in one (mcc-bench or
    /// ml-container-creator format).
    #[arg(long, global = true, env = "MCC_BENCH_CATALOG", value_name = "PATH")]
    pub catalog: Option<std::path::PathBuf>,
    /// More log detail on stderr (-v info, -vv debug); RUST_LOG, when set,
    /// decides instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Errors only on stderr's log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a benchmark against an OpenAI-compatible endpoint or the simulator.
    Run(Box<RunArgs>),
    /// Find the highest load the endpoint serves within service-level
    /// targets (--slo): concurrency (or rate) doubled, then bisected.
    Capacity(Box<CapacityArgs>),
    /// Serve the simulated OpenAI-compatible endpoint.
    Sim(SimArgs),
    /// Serve MCP (stdio, or streamable HTTP with --http): the catalog and
    /// benchmark tools for agents.
    Serve(ServeArgs),
    /// Call a tool of an MCP server listed in mcp.json and print the result.
    Call(CallArgs),
    /// Where a recorded run stands (the newest by default), with its
    /// results once it has them.
    Status(StatusArgs),
    /// Put a model's weights into S3 (s3://BUCKET/models/ORG/NAME/) from a
    /// folder, the local Hugging Face cache or the Hub; only what is missing
    /// or changed is uploaded.
    Stage(StageArgs),
    /// Run one SQL query over the results history (table
    /// mlcc_ci.benchmark_results, as in Athena), locally or on Athena.
    Query(QueryArgs),
    /// Compare runs side by side per load level (deltas, verdicts,
    /// validity) and write an HTML report; pin a project's baseline.
    Compare(CompareArgs),
    /// Write a run's self-contained HTML report (plots, validity, errors).
    Report(ReportArgs),
    /// Execute a recorded run (started by the job layer; not for direct use).
    #[command(hide = true)]
    Runner {
        /// The run to execute.
        run_id: String,
    },
    /// Run one history query sent on stdin (started by `query`; not for
    /// direct use).
    #[command(hide = true, name = "query-worker")]
    QueryWorker,
    /// Remove finished runs from the history (one RUN_ID, or --finished for
    /// all), deleting SageMaker runs' jobs and configs; --delete-files also
    /// deletes their directories. Active runs only with --force.
    Clean(CleanArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell) to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// List the workload catalog.
    Workloads {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Failures of a command, each with its exit code.
#[derive(Debug, Error)]
pub enum CliError {
    /// Bad input: flags, catalog names, files.
    #[error("{0}")]
    Input(String),
    /// The engine failed before or outside the measurement.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// The simulator failed.
    #[error(transparent)]
    Sim(#[from] crate::sim::SimError),
    /// The job layer failed.
    #[error(transparent)]
    Job(#[from] crate::jobs::JobError),
    /// Anything else at the system level (runtime, terminal).
    #[error("{0}")]
    System(String),
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let catalog = crate::catalog::Catalog::load(cli.catalog.as_deref());
    for w in catalog.warnings() {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    match cli.command {
        Command::Run(args) => run::run(*args, &catalog),
        Command::Capacity(args) => run::capacity(*args, &catalog),
        Command::Sim(args) => sim_cmd::sim(&args),
        Command::Serve(args) => serve::serve(&args, catalog),
        Command::Call(args) => call::call(&args),
        Command::Status(args) => status::status(&args),
        Command::Stage(args) => stage::stage(&args),
        Command::Workloads { json } => workloads::list(&catalog, json),
        Command::Query(args) => results::query(&args),
        Command::Compare(args) => results::compare(&args),
        Command::Report(args) => results::report(&args),
        Command::Runner { run_id } => runner(&run_id),
        Command::QueryWorker => Ok(crate::jobs::query_worker::serve_one()),
        Command::Clean(args) => clean::clean(&args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "mcc-bench", &mut std::io::stdout());
            Ok(ExitCode::from(exit::OK))
        }
    }
}

impl Cli {
    /// The log filter the flags ask for (`RUST_LOG` overrides it).
    pub fn log_level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "info",
            (false, _) => "debug",
        }
    }
}

/// The runs of `home` (default: `$MCC_BENCH_HOME`, else the XDG state
/// directory), started with this executable.
pub(crate) fn jobs_at(home: Option<&std::path::Path>) -> Result<crate::jobs::Jobs, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    Ok(crate::jobs::Jobs::new(
        &home.map_or_else(crate::jobs::default_home, std::path::Path::to_path_buf),
        &exe,
    ))
}

/// A multi-threaded async runtime for a command's work.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))
}

/// `mcc-bench runner RUN_ID`: executes a recorded run (exit 0 when it
/// completed).
fn runner(run_id: &str) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    let jobs = crate::jobs::Jobs::new(&crate::jobs::default_home(), &exe);
    let state = crate::jobs::run_runner(&jobs, run_id)?;
    Ok(ExitCode::from(
        if state == crate::domain::RunState::Completed {
            exit::OK
        } else {
            exit::ERROR
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::Cli;

    #[test]
    fn the_command_line_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
