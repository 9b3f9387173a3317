//! `mcc-bench run`: pick the engine; for the local one, resolve the spec,
//! start the simulator if asked, run with Ctrl+C handling and a progress
//! line, print the result. The SageMaker engine is `cloud_run`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::args::{EngineArg, RunArgs};
use super::progress_bar::ProgressBar;
use super::resolve::resolve;
use super::{exit, table, CliError};
use crate::catalog::Catalog;
use crate::domain::{RunResult, RunSpec, RunStatus, StopCondition};
use crate::engine::local::{self, Progress, RunContext};
use crate::jobs::{self, history};
use crate::sim::{Faults, SimConfig, SimServer};

/// Runs a benchmark from the command line.
pub(crate) fn run(args: RunArgs, catalog: &Catalog) -> Result<ExitCode, CliError> {
    match engine_of(&args)? {
        Engine::Local(url) => run_local(&args, catalog, &url),
        Engine::SageMaker(dir) => super::cloud_run::run(&args, catalog, &dir),
    }
}

enum Engine {
    /// The local engine against this URL.
    Local(String),
    /// SageMaker benchmark jobs for the project in this directory.
    SageMaker(PathBuf),
}

/// `--engine`, or the default: local with `--endpoint`, else SageMaker
/// when the project (`--project`, else the working directory) has an
/// endpoint. Local without `--endpoint` drives the project's endpoint
/// through the SageMaker runtime API.
fn engine_of(args: &RunArgs) -> Result<Engine, CliError> {
    let dir = args.project.clone().unwrap_or_else(|| PathBuf::from("."));
    let endpoint = args.endpoint.as_deref().filter(|e| !e.trim().is_empty());
    let project_err = |e: crate::project::ProjectError| CliError::Input(e.to_string());
    match (args.engine, endpoint) {
        (Some(EngineArg::Local) | None, Some(url)) => Ok(Engine::Local(url.to_owned())),
        (Some(EngineArg::Sagemaker), Some(_)) => Err(CliError::Input(
            "--endpoint is for the local engine; the SageMaker engine benchmarks the project's endpoint (--project DIR, --ic or --adapter)".into(),
        )),
        (Some(EngineArg::Sagemaker), None) => Ok(Engine::SageMaker(dir)),
        (Some(EngineArg::Local), None) => {
            crate::project::runtime_url(&dir, args.ic.as_deref(), args.adapter.as_deref())
                .map(Engine::Local)
                .map_err(project_err)
        }
        (None, None) if crate::project::Project::has_endpoint(&dir) => Ok(Engine::SageMaker(dir)),
        (None, None) => Err(CliError::Input(format!(
            "say what to benchmark: --endpoint URL (or `sim`, the built-in simulator), or --project DIR of an ml-container-creator project with ENDPOINT_NAME in do/config ({} has none)",
            dir.display()
        ))),
    }
}

fn run_local(args: &RunArgs, catalog: &Catalog, url: &str) -> Result<ExitCode, CliError> {
    let run_id = jobs::new_run_id(args.workload.as_deref());
    let mut spec = resolve(args, catalog, run_id, url)?;
    let output_dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| unique_dir(&spec.run_id));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mcc-bench-io")
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))?;
    let sim = start_sim(args, &mut spec)?;
    let stop = CancellationToken::new();
    let signals = rt.spawn(watch_signals(stop.clone(), spec.grace_period_s));
    let progress = Arc::new(progress_for(&spec));
    let show_bar = !args.no_progress && std::io::stderr().is_terminal();
    let bar = show_bar.then(|| ProgressBar::start(Arc::clone(&progress)));
    let ctx = RunContext {
        handle: rt.handle().clone(),
        stop: stop.clone(),
        progress,
        excluded_cpu: sim.as_ref().and_then(SimServer::cpu_clock),
        output_dir,
    };
    let outcome = local::run(&spec, &ctx);
    if let Some(bar) = bar {
        bar.finish();
    }
    signals.abort();
    drop(sim);
    let result = outcome?;
    if result.status == RunStatus::Completed {
        rt.block_on(record_history(args, &result));
    }
    print_result(&result, args.json)?;
    Ok(ExitCode::from(exit_code(&result)))
}

/// Adds a foreground run to the history (`$MCC_BENCH_HOME/results`) and
/// writes its HTML report next to its results; problems are warnings.
async fn record_history(args: &RunArgs, result: &RunResult) {
    let context = args
        .project
        .as_deref()
        .and_then(|d| {
            crate::project::result_context(d, args.ic.as_deref(), args.adapter.as_deref()).ok()
        })
        .unwrap_or_default();
    let dir = PathBuf::from(&result.output_dir);
    let src = history::RowSource {
        result,
        context: &context,
        engine: "local",
        job_names: &[],
    };
    let outcome = history::publish(&jobs::default_home(), src, &dir).await;
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    let target = result.spec.endpoint.url.clone();
    let ctx = history::report_context(&context, None, "local", &target);
    match history::write_run_report(&dir, result, &ctx) {
        Ok(path) => eprintln!("report: {}", path.display()),
        Err(e) => eprintln!("warning: report not written: {e}"),
    }
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

fn start_sim(args: &RunArgs, spec: &mut RunSpec) -> Result<Option<SimServer>, CliError> {
    if !spec.endpoint.simulated {
        return Ok(None);
    }
    let config = SimConfig {
        ttft_ms: args.sim.sim_ttft_ms,
        itl_ms: args.sim.sim_itl_ms,
        itl_jitter_ms: args.sim.sim_itl_jitter_ms,
        seed: args.seed,
        faults: Faults {
            http_500: args.sim.sim_error_rate,
            ..Faults::default()
        },
        ..SimConfig::default()
    };
    let sim = SimServer::start(config)?;
    spec.endpoint.url = sim.url();
    Ok(Some(sim))
}

fn progress_for(spec: &RunSpec) -> Progress {
    match spec.stop {
        StopCondition::Requests { count } => Progress::new(spec.levels.len(), count, 0.0),
        StopCondition::Duration { seconds } => Progress::new(spec.levels.len(), 0, seconds),
    }
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
