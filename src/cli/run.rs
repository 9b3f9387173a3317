//! `mcc-bench run`: pick the engine; for the local one, resolve the spec,
//! record the run and execute it in the foreground (the job layer's one
//! local path) with Ctrl+C handling and a progress line, print the result.
//! The SageMaker engine is `cloud_run`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::args::{CapacityArgs, EngineArg, RunArgs, SearchModeArg};
use super::progress_bar::ProgressBar;
use super::resolve::resolve;
use super::{exit, table, CliError};
use crate::catalog::Catalog;
use crate::domain::{CapacitySearch, Engine, RunResult, RunStatus, SearchMode};
use crate::jobs::{self, history, local_run, Foreground, Jobs};
use crate::plan::{choose_engine, EngineChoice, EngineRequest};

/// Runs a benchmark from the command line.
pub(crate) fn run(args: RunArgs, catalog: &Catalog) -> Result<ExitCode, CliError> {
    match engine_of(&args)? {
        EngineChoice::Local(url) => run_local(&args, catalog, &url),
        EngineChoice::SageMaker(dir) => super::cloud_run::run(&args, catalog, &dir, |_| Ok(())),
    }
}

/// `--engine`, or the default (`plan::choose_engine`, shared with the MCP
/// tools); the project is `--project`, else the working directory.
fn engine_of(args: &RunArgs) -> Result<EngineChoice, CliError> {
    let dir = args.project.clone().unwrap_or_else(|| PathBuf::from("."));
    let req = EngineRequest {
        engine: args.engine.map(|e| match e {
            EngineArg::Local => Engine::Local,
            EngineArg::Sagemaker => Engine::Sagemaker,
        }),
        endpoint: args.endpoint.as_deref(),
        ic: args.ic.as_deref(),
        adapter: args.adapter.as_deref(),
    };
    choose_engine(req, &dir).map_err(CliError::Input)
}

/// A local run in the foreground: recorded in the home's state file like
/// any run (so MCP clients see, fetch, compare and clean it), executed on
/// the one local path with Ctrl+C handling and a progress line.
fn run_local(args: &RunArgs, catalog: &Catalog, url: &str) -> Result<ExitCode, CliError> {
    let run_id = jobs::new_run_id(args.workload.as_deref());
    let spec = resolve(args, catalog, run_id, url)?;
    foreground(args, spec)
}

/// `mcc-bench capacity`: the run's flags resolved as for `run`, with the
/// search in place of fixed levels: on the local foreground path, or as a
/// SageMaker run whose probes are benchmark jobs.
pub(crate) fn capacity(args: CapacityArgs, catalog: &Catalog) -> Result<ExitCode, CliError> {
    let url = match engine_of(&args.run)? {
        EngineChoice::Local(url) => url,
        EngineChoice::SageMaker(dir) => {
            let with_search = |spec: &mut crate::domain::RunSpec| search_into(&args, spec);
            return super::cloud_run::run(&args.run, catalog, &dir, with_search);
        }
    };
    let run_id = jobs::new_run_id(args.run.workload.as_deref());
    let mut spec = resolve(&args.run, catalog, run_id, &url)?;
    search_into(&args, &mut spec)?;
    foreground(&args.run, spec)
}

/// Puts the search the flags describe into `spec` (its targets are the
/// run's `--slo`).
fn search_into(args: &CapacityArgs, spec: &mut crate::domain::RunSpec) -> Result<(), CliError> {
    let slo = spec.slo.ok_or_else(|| {
        CliError::Input(
            "give the targets to meet with --slo, e.g. --slo ttft_p99_ms=500,error_rate=0.01"
                .into(),
        )
    })?;
    let (mode, default_max) = match args.mode {
        SearchModeArg::Concurrency => (SearchMode::Concurrency, 256.0),
        SearchModeArg::Rate => (SearchMode::Rate, 1000.0),
    };
    let search = CapacitySearch {
        slo,
        mode,
        min: args.min.unwrap_or(1.0),
        max: args.max.unwrap_or(default_max),
        budget_s: args.budget,
    };
    crate::plan::check_search(&search).map_err(CliError::Input)?;
    spec.capacity = Some(search);
    Ok(())
}

/// Records `spec` as a run and executes it here, with Ctrl+C handling and
/// a progress line; prints the result.
fn foreground(args: &RunArgs, spec: crate::domain::RunSpec) -> Result<ExitCode, CliError> {
    let output_dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| unique_dir(&spec.run_id));
    let exe = std::env::current_exe()
        .map_err(|e| CliError::System(format!("cannot locate this executable: {e}")))?;
    let jobs = Jobs::new(&jobs::default_home(), &exe);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mcc-bench-io")
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))?;
    let stop = CancellationToken::new();
    let signals = rt.spawn(watch_signals(stop.clone(), spec.grace_period_s));
    let progress = Arc::new(local_run::progress_for(&spec));
    let show_bar = !args.no_progress && std::io::stderr().is_terminal();
    let bar = show_bar.then(|| ProgressBar::start(Arc::clone(&progress)));
    let foreground = Foreground {
        label: None,
        context: args.project.as_deref().and_then(|d| {
            crate::project::result_context(d, args.ic.as_deref(), args.adapter.as_deref()).ok()
        }),
        output_dir,
    };
    let outcome = jobs.run_foreground(spec, foreground, &rt, stop, progress);
    if let Some(bar) = bar {
        bar.finish();
    }
    signals.abort();
    let result = outcome?;
    let report = PathBuf::from(&result.output_dir).join(history::REPORT_HTML);
    if report.is_file() {
        eprintln!("report: {}", report.display());
    }
    print_result(&result, args.json)?;
    Ok(ExitCode::from(exit_code(&result)))
}

/// `./artifacts/<run id>`, with a numeric suffix if that already exists.
fn unique_dir(run_id: &str) -> PathBuf {
    let base = PathBuf::from("artifacts").join(run_id);
    (1..)
        .map(|i| {
            if i == 1 {
                base.clone()
            } else {
                PathBuf::from(format!("{}-{i}", base.display()))
            }
        })
        .find(|p| !p.exists())
        .unwrap_or(base)
}

/// First Ctrl+C or SIGTERM: stop dispatching; in-flight requests get the
/// grace period; partial results are written.
async fn watch_signals(stop: CancellationToken, grace_s: f64) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    eprintln!(
        "\ninterrupted: no new requests; in-flight requests have {grace_s:.0} s to finish, then partial results are written"
    );
    stop.cancel();
}

pub(super) fn print_result(result: &RunResult, json: bool) -> Result<(), CliError> {
    let text = if json {
        serde_json::to_string_pretty(result)
            .map_err(|e| CliError::System(format!("cannot serialise the result: {e}")))?
    } else {
        table::render(result)
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .map_err(|e| CliError::System(format!("cannot write to stdout: {e}")))?;
    if !json {
        for l in result.levels.iter().filter(|l| l.validity.client_bound) {
            eprintln!(
                "WARNING: level {} was limited by the client, not the endpoint: {}",
                l.level.label(),
                l.validity.reasons.join("; ")
            );
        }
    }
    Ok(())
}

pub(super) fn exit_code(result: &RunResult) -> u8 {
    match result.status {
        RunStatus::Completed => exit::OK,
        RunStatus::Cancelled => exit::INTERRUPTED,
        RunStatus::Failed => {
            eprintln!(
                "error: every request failed; see the error summary above and {}",
                result.output_dir
            );
            exit::ALL_FAILED
        }
    }
}
